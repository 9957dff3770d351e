// The stream floor, a server for the socket benchmark (Node and Bun): the least any library must
// do to hand each message to its user as one chunk of a ReadableStream, and nothing else. It cuts
// frames at the delimiter but parses no JSON: a "one" event becomes one shared object, an "echo"
// event its own bytes, written back unchanged. The consumer is `for await` over the stream, as in
// the ipc-streams server. Its rate and peak RSS are what the web-streams machinery of the runtime
// costs by itself, the part of a server that no parser or adapter can save.
//
//   <runtime> stream-floor.mjs --role server --path <socket>
//                              | --transport tcp|tls --host <ip> --port 0 [--cert <pem> --key <pem>]
// Over TCP and TLS it listens on the port it is given (0: a free one) and prints the port it got in
// its ready line; sockets get TCP_NODELAY, as in the ipc-streams adapters.
import { endpointOf, exit, parseArgs, scriptArgs, writeLine } from "./workload.mjs";

const options = parseArgs(scriptArgs());
if (options.role !== "server") {
  await writeLine({ error: "stream-floor is a server only" });
  await exit(1);
}
const endpoint = await endpointOf(options);
const network = endpoint.transport !== "unix";

const DELIMITER = 0x0c;
/** Every event the workload sends starts with these bytes (type first); the next one tells it apart. */
const PREFIX = '{"type":"';
/** Values waiting in the stream before the socket is paused. */
const HIGH_WATER_MARK = 64;
/** As `FIRST_WRITE_FRAMES` in src/transport/channel.ts. */
const FIRST_WRITE_FRAMES = 16;
const ONE = {};
const SYNC = {};

/**
 * Serves one connection. `socket` is this file's small view of a runtime socket: `pause()`,
 * `resume()` and `write(bytes)`. Returns the function that takes each received chunk.
 */
function serveConnection(socket) {
  let count = 0;
  /** The frame begun at the end of the previous chunk (copied), without its delimiter. */
  let carry = new Uint8Array(0);
  let paused = false;
  /**
   * Echoes written this tick. Like the ipc-streams adapters, the first write leaves once 16 are
   * waiting, the next after twice as many, and the rest when the tick ends.
   */
  let out = [];
  let outLimit = FIRST_WRITE_FRAMES;
  let tickEndScheduled = false;
  let controller;
  const readable = new ReadableStream(
    {
      start(c) {
        controller = c;
      },
      pull() {
        if (paused) {
          paused = false;
          socket.resume();
        }
      },
    },
    { highWaterMark: HIGH_WATER_MARK },
  );
  const flush = () => {
    if (out.length === 0) return;
    const bytes = concat(out);
    out = [];
    socket.write(bytes);
  };
  const endTick = () => {
    tickEndScheduled = false;
    outLimit = FIRST_WRITE_FRAMES;
    flush();
  };
  const echo = (frame) => {
    if (!tickEndScheduled) {
      tickEndScheduled = true;
      process.nextTick(endTick);
    }
    out.push(frame);
    if (out.length === outLimit) {
      outLimit *= 2;
      flush();
    }
  };
  const text = new TextEncoder();
  (async () => {
    for await (const message of readable) {
      if (message === ONE) count++;
      else if (message === SYNC) echo(text.encode(`{"type":"count","data":{"count":${count}}}\f`));
      else echo(message);
    }
  })().catch(async (error) => {
    await writeLine({ error: `server: ${error?.stack ?? error}` });
    await exit(1);
  });

  /** `frame` includes its delimiter; `kind` is the first byte of its type. */
  const deliver = (frame, kind) => {
    if (kind === 0x6f /* o */) controller.enqueue(ONE);
    else if (kind === 0x73 /* s */) controller.enqueue(SYNC);
    else controller.enqueue(frame);
  };
  return (chunk) => {
    let start = 0;
    for (let end = chunk.indexOf(DELIMITER); end !== -1; end = chunk.indexOf(DELIMITER, start)) {
      if (carry.length > 0) {
        const frame = concat([carry, chunk.subarray(0, end + 1)]);
        carry = new Uint8Array(0);
        deliver(frame, kindOf(frame));
      } else {
        deliver(chunk.subarray(start, end + 1), kindOf(chunk, start));
      }
      start = end + 1;
    }
    if (start < chunk.length) carry = concat([carry, chunk.subarray(start)]);
    if (controller.desiredSize <= 0 && !paused) {
      paused = true;
      socket.pause();
    }
  };
}

function kindOf(bytes, start = 0) {
  for (let i = 0; i < PREFIX.length; i++) {
    if (bytes[start + i] !== PREFIX.charCodeAt(i)) throw new Error("stream-floor: an event must start with its type");
  }
  return bytes[start + PREFIX.length];
}

function concat(parts) {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const part of parts) length += part.length;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

if (globalThis.Bun) {
  // Bun's own sockets, as the ipc-streams Bun adapter uses. A write the kernel does not take whole
  // waits for `drain`, in order.
  const listener = globalThis.Bun.listen({
    ...(network ? { hostname: endpoint.host, port: endpoint.port } : { unix: endpoint.path }),
    ...(endpoint.transport === "tls" ? { tls: { cert: endpoint.cert, key: endpoint.key } } : {}),
    socket: {
      binaryType: "uint8array",
      open(socket) {
        if (network) socket.setNoDelay(true);
        const unsent = [];
        const send = () => {
          while (unsent.length > 0) {
            const head = unsent[0];
            const written = socket.write(head);
            if (written < 0) return;
            if (written < head.length) {
              unsent[0] = head.subarray(written);
              return;
            }
            unsent.shift();
          }
        };
        socket.data = {
          unsent,
          send,
          onChunk: serveConnection({
            pause: () => socket.pause(),
            resume: () => socket.resume(),
            write: (bytes) => {
              unsent.push(bytes);
              if (unsent.length === 1) send();
            },
          }),
        };
      },
      data(socket, chunk) {
        socket.data.onChunk(chunk);
      },
      drain(socket) {
        socket.data.send();
      },
      error() {},
    },
  });
  await writeLine(network ? { ready: true, port: listener.port } : { ready: true });
} else {
  const onSocket = (socket) => {
    if (network) socket.setNoDelay(true);
    const onChunk = serveConnection({
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      write: (bytes) => socket.write(bytes),
    });
    socket.on("data", onChunk);
    socket.on("error", () => {});
  };
  const server =
    endpoint.transport === "tls"
      ? (await import("node:tls")).createServer({ cert: endpoint.cert, key: endpoint.key }, onSocket)
      : (await import("node:net")).createServer(onSocket);
  const ready = () => void writeLine(network ? { ready: true, port: server.address().port } : { ready: true });
  if (network) server.listen(endpoint.port, endpoint.host, ready);
  else server.listen(endpoint.path, ready);
}
