// ipc-streams peer for the socket benchmark, written the way a user would write it with the public
// API. Runs on Node, Bun and Deno from the build: the harness passes the runtime entry of dist/.
//
//   <runtime> ipc-streams.mjs --role server|client --path <socket> --lib <dist/runtimes/x/index.js>
//                             [--mode round-trips|one-way|latency --warmup <ms> --duration <ms>]
//                             [--max-connections <n> --report-ms <ms>]   (server, idle benchmark)
import { exit, parseArgs, reportConnections, runClient, scriptArgs, writeLine } from "./workload.mjs";

const options = parseArgs(scriptArgs());
const { connect, serve } = await import(new URL(options.lib, `file://${cwd()}/`).href);

function cwd() {
  return globalThis.Deno ? globalThis.Deno.cwd() : process.cwd();
}

if (options.role === "server") {
  const maxConnections = options["max-connections"] && Number(options["max-connections"]);
  const server = await serve({ path: options.path, ...(maxConnections ? { maxConnections } : {}) });
  await writeLine({ ready: true });
  let open = 0;
  if (options["report-ms"]) reportConnections(Number(options["report-ms"]), () => open);
  for await (const connection of server.connections) {
    open++;
    handle(connection)
      .finally(() => open--)
      .catch(async (error) => {
        await writeLine({ error: `server: ${error?.stack ?? error}` });
        await exit(1);
      });
  }
} else {
  const connection = await connect({ path: options.path });
  const transport = { onMessage: undefined, send: undefined };
  // Incoming events: one reader for the life of the connection.
  const reading = (async () => {
    for await (const message of connection.readable) transport.onMessage(message.type, message.data);
  })();
  reading.catch(() => {});
  if (options.mode === "one-way") {
    // A one-way stream is what the writable is for: wait for `ready`, then write without awaiting
    // each write, so backpressure (not per-message round trips) paces the sender.
    const writer = connection.writable.getWriter();
    transport.send = async (type, data) => {
      await writer.ready;
      writer.write({ type, data }).catch(() => {});
    };
  } else {
    transport.send = (type, data) => connection.emit(type, data);
  }
  try {
    const result = await Promise.race([
      runClient(transport, {
        mode: options.mode,
        warmupMs: Number(options.warmup),
        durationMs: Number(options.duration),
      }),
      reading.then(() => {
        throw new Error("the server ended the connection");
      }),
    ]);
    await writeLine({ result });
  } catch (error) {
    await writeLine({ error: `client: ${error?.stack ?? error}` });
    await exit(1);
  }
  await exit(0);
}

async function handle(connection) {
  let count = 0;
  for await (const message of connection.readable) {
    if (message.type === "one") count++;
    else if (message.type === "sync") await connection.emit("count", { count });
    else await connection.emit(message.type, message.data);
  }
}
