// node-ipc peer for the socket benchmark (node-ipc 14 on Node 22, node-ipc 9 on Node 20), written
// the way node-ipc's README writes servers and clients.
//
//   node node-ipc.mjs --version 14|9 --role server|client --path <socket>
//                     [--mode round-trips|one-way|latency --warmup <ms> --duration <ms>]
//                     [--max-connections <n> --report-ms <ms>]   (server, idle benchmark)
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { exit, parseArgs, reportConnections, runClient, scriptArgs, writeLine } from "./workload.mjs";

const options = parseArgs(scriptArgs());
const packageDir = fileURLToPath(new URL(`../../node_modules/node-ipc-${options.version}/`, import.meta.url));
// node-ipc 9 is CommonJS; 14 is ESM only.
const ipc =
  options.version === "9"
    ? createRequire(import.meta.url)(`${packageDir}node-ipc.js`)
    : (await import(`${packageDir}node-ipc.js`)).default;

ipc.config.silent = true;
ipc.config.stopRetrying = true;
if (options["max-connections"]) ipc.config.maxConnections = Number(options["max-connections"]);

if (options.role === "server") {
  ipc.serve(options.path, () => {
    let count = 0;
    ipc.server.on("echo", (data, socket) => ipc.server.emit(socket, "echo", data));
    ipc.server.on("one", () => {
      count++;
    });
    ipc.server.on("sync", (_data, socket) => ipc.server.emit(socket, "count", { count }));
    void writeLine({ ready: true });
    if (options["report-ms"]) reportConnections(Number(options["report-ms"]), () => ipc.server.sockets.length);
  });
  ipc.server.start();
} else {
  ipc.connectTo("bench", options.path, () => {
    const client = ipc.of.bench;
    const transport = {
      onMessage: undefined,
      // node-ipc's emit has no backpressure of its own; the socket's does.
      send(type, data) {
        client.emit(type, data);
        if (client.socket.writableNeedDrain) return new Promise((resolve) => client.socket.once("drain", resolve));
        return undefined;
      },
    };
    client.on("echo", (data) => transport.onMessage("echo", data));
    client.on("count", (data) => transport.onMessage("count", data));
    client.on("connect", async () => {
      try {
        const result = await runClient(transport, {
          mode: options.mode,
          warmupMs: Number(options.warmup),
          durationMs: Number(options.duration),
        });
        await writeLine({ result });
        await exit(0);
      } catch (error) {
        await writeLine({ error: `client: ${error?.stack ?? error}` });
        await exit(1);
      }
    });
  });
}
