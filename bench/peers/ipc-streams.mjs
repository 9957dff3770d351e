// ipc-streams peer for the socket benchmark, written the way a user would write it with the public
// API. Runs on Node, Bun and Deno from the build: the harness passes the runtime entry of dist/.
//
//   <runtime> ipc-streams.mjs --role server|client --lib <dist/runtimes/x/index.js>
//                             --path <socket> | --transport tcp|tls --host <ip> --port <n>
//                                               [--cert <pem> --key <pem> (server) | --ca <pem> (client)]
//                             [--mode round-trips|one-way|latency --warmup <ms> --duration <ms>]
//                             [--max-connections <n> --report-ms <ms>]   (server, idle benchmark)
// A TCP or TLS server is given port 0 and prints the port it got in its ready line.
import { endpointOf, exit, parseArgs, reportConnections, runClient, scriptArgs, writeLine } from "./workload.mjs";

const options = parseArgs(scriptArgs());
const { connect, serve } = await import(new URL(options.lib, `file://${cwd()}/`).href);
const endpoint = await endpointOf(options);
/** The address options of `serve()` and `connect()`, as the README gives them. */
const address =
  endpoint.transport === "unix"
    ? { path: endpoint.path }
    : {
        host: endpoint.host,
        port: endpoint.port,
        ...(endpoint.transport === "tls"
          ? { tls: options.role === "server" ? { cert: endpoint.cert, key: endpoint.key } : { ca: endpoint.ca } }
          : {}),
      };

function cwd() {
  return globalThis.Deno ? globalThis.Deno.cwd() : process.cwd();
}

/** `serve()` or `connect()`; if it throws (say, a transport this runtime's adapter lacks), says why and exits. */
async function open(role, make) {
  try {
    return await make();
  } catch (error) {
    await writeLine({ error: `${role}: ${error?.code ? `${error.code}: ` : ""}${error?.message ?? error}` });
    return exit(1);
  }
}

if (options.role === "server") {
  const maxConnections = options["max-connections"] && Number(options["max-connections"]);
  const server = await open("server", () => serve({ ...address, ...(maxConnections ? { maxConnections } : {}) }));
  const port = server.address?.port;
  await writeLine(port === undefined ? { ready: true } : { ready: true, port });
  let connections = 0;
  if (options["report-ms"]) reportConnections(Number(options["report-ms"]), () => connections);
  for await (const connection of server.connections) {
    connections++;
    handle(connection)
      .finally(() => connections--)
      .catch(async (error) => {
        await writeLine({ error: `server: ${error?.stack ?? error}` });
        await exit(1);
      });
  }
} else {
  const connection = await open("client", () => connect(address));
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
