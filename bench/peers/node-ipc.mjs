// node-ipc peer for the socket benchmark (node-ipc 14 on Node 22, node-ipc 9 on Node 20), written
// the way node-ipc's README writes servers and clients.
//
//   node node-ipc.mjs --version 14|9 --role server|client
//                     --path <socket> | --transport tcp|tls --host <ip> --port <n>
//                                       [--cert <pem> --key <pem> (server) | --ca <pem> (client)]
//                     [--mode round-trips|one-way|latency --warmup <ms> --duration <ms>]
//                     [--max-connections <n> --report-ms <ms>]   (server, idle benchmark)
//
// Over TCP and TLS: `ipc.serveNet(host, port)` and `ipc.connectToNet(id, host, port)`. node-ipc
// cannot listen on port 0 (it takes a zero port for "none" and the host for a Unix socket path), so
// a server given port 0 picks a free port itself and prints it in its ready line. TLS is
// `ipc.config.tls` with file paths: the server's certificate and key (`public`, `private`), and on
// the client the CA (`trustedConnections`) to verify the server with. The server gets no
// `trustedConnections`: with them node-ipc 14 would require client certificates (mutual TLS).

import { createRequire } from "node:module";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { endpointOf, exit, parseArgs, reportConnections, runClient, scriptArgs, writeLine } from "./workload.mjs";

const options = parseArgs(scriptArgs());
const endpoint = await endpointOf(options);
const packageDir = fileURLToPath(new URL(`../../node_modules/node-ipc-${options.version}/`, import.meta.url));
// node-ipc 9 is CommonJS; 14 is ESM only.
const ipc =
  options.version === "9"
    ? createRequire(import.meta.url)(`${packageDir}node-ipc.js`)
    : (await import(`${packageDir}node-ipc.js`)).default;

ipc.config.silent = true;
ipc.config.stopRetrying = true;
if (options["max-connections"]) ipc.config.maxConnections = Number(options["max-connections"]);

if (endpoint.transport === "tls") {
  ipc.config.tls =
    options.role === "server"
      ? { public: endpoint.files.cert, private: endpoint.files.key }
      : { trustedConnections: [endpoint.files.ca], rejectUnauthorized: true };
}

/** A port nothing listens on at `host` now (the kernel's pick for port 0). */
function freePort(host) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

if (options.role === "server") {
  let port;
  let tries = 0;
  let listening = false;
  const started = () => {
    listening = true;
    let count = 0;
    ipc.server.on("echo", (data, socket) => ipc.server.emit(socket, "echo", data));
    ipc.server.on("one", () => {
      count++;
    });
    ipc.server.on("sync", (_data, socket) => ipc.server.emit(socket, "count", { count }));
    void writeLine(port === undefined ? { ready: true } : { ready: true, port });
    if (options["report-ms"]) reportConnections(Number(options["report-ms"]), () => ipc.server.sockets.length);
  };
  const listen = async () => {
    if (endpoint.transport === "unix") {
      ipc.serve(endpoint.path, started);
    } else {
      port = endpoint.port || (await freePort(endpoint.host));
      ipc.serveNet(endpoint.host, port, started);
    }
    // A listen error (once listening, errors are a client's socket's, and the server carries on).
    // Another process may take the free port before node-ipc binds it: then try another one.
    ipc.server.on("error", (error) => {
      if (listening) return;
      if (error?.code === "EADDRINUSE" && endpoint.transport !== "unix" && !endpoint.port && ++tries < 5) {
        ipc.server.stop();
        void listen();
      } else void writeLine({ error: `server: ${error?.stack ?? error}` }).then(() => exit(1));
    });
    ipc.server.start();
  };
  await listen();
} else {
  const connected = (callback) =>
    endpoint.transport === "unix"
      ? ipc.connectTo("bench", endpoint.path, callback)
      : ipc.connectToNet("bench", endpoint.host, endpoint.port, callback);
  connected(() => {
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
