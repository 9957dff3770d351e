// One of the drivers of the scale benchmark (`--scale`): plain node:net, no ipc library, so that the
// driver costs little per message. Opens `--count` connections to `--path` (a Unix socket) or to
// `--host`/`--port` (TCP; TLS with `--ca`, the PEM file that verifies the server) all at once, as a
// burst; a connect that fails is counted. Then it opens
// the refused ones again, one at a time (up to 50 tries each, 20 ms apart), so that every server
// is measured with the same number of connections. Each connection sends one small node-ipc event
// (counted by the server, no reply) and idles. When every connect has settled it prints
// {"opened":n,"refused":m,"errors":{code:count},"connectMs":t}: `refused` and `errors` are the
// burst's, `opened` the connections open at the end.
//
// On SIGUSR2 every open connection does `--trips` round trips, one after another (one echo in
// flight per connection, all connections at once), checking each echo. Then it prints
// {"result":{"trips","failed","startedAt","endedAt","latenciesUs":[…]}} (times in ms since the
// epoch, from the high-resolution clock, so the harness can put several drivers on one time line)
// and holds the connections until SIGTERM.
//
//   node scale-client.mjs --path <socket> | --host <ip> --port <n> [--ca <pem>]   [--count 250 --trips 20]
import { readFileSync } from "node:fs";
import { connect as connectNet } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { connect as connectTls } from "node:tls";
import { PAYLOAD, parseArgs, writeLine } from "./workload.mjs";

const options = parseArgs(process.argv.slice(2));
const count = Number(options.count ?? 250);
const trips = Number(options.trips ?? 20);
const target = options.path ? { path: options.path } : { host: options.host, port: Number(options.port) };
const ca = typeof options.ca === "string" ? readFileSync(options.ca, "utf8") : undefined;
/** A socket, and the event that says it is ready for the first write. */
const connect = () =>
  ca === undefined ? [connectNet(target), "connect"] : [connectTls({ ...target, ca }), "secureConnect"];
const DELIMITER = "\f";

const now = () => performance.timeOrigin + performance.now();
const echo = (seq) => `{"type":"echo","data":{"seq":${seq},"payload":"${PAYLOAD}"}}${DELIMITER}`;

/** Per connection: the socket, the text of a frame not yet complete, and the round trip in flight. */
const connections = [];
const errors = {};
let refused = 0;

/** Opens one connection; resolves with whether it connected, counting a failure if `tally`. */
function open(tally = true) {
  return new Promise((resolve) => {
    const [socket, ready] = connect();
    socket.once(ready, () => {
      socket.removeAllListeners("error");
      socket.setNoDelay?.(true);
      const state = { socket, pending: "", seq: 0, sentAt: 0, done: undefined };
      // A later error or close (the server going away) ends this connection's round trips.
      socket.on("error", () => {});
      socket.on("close", () => state.done?.(false));
      socket.setEncoding("utf8");
      socket.on("data", (text) => receive(state, text));
      socket.write('{"type":"one","data":{}}\f');
      connections.push(state);
      resolve(true);
    });
    socket.once("error", (error) => {
      if (tally) {
        refused++;
        errors[error.code] = (errors[error.code] ?? 0) + 1;
      }
      resolve(false);
    });
  });
}

const latenciesUs = [];

function receive(state, text) {
  state.pending += text;
  for (let end = state.pending.indexOf(DELIMITER); end !== -1; end = state.pending.indexOf(DELIMITER)) {
    const frame = state.pending.slice(0, end);
    state.pending = state.pending.slice(end + 1);
    let ok = false;
    try {
      const message = JSON.parse(frame);
      ok = message.type === "echo" && message.data?.seq === state.seq && message.data?.payload === PAYLOAD;
    } catch {}
    if (!ok || state.done === undefined) {
      state.done?.(false);
      continue;
    }
    latenciesUs.push(Math.round((now() - state.sentAt) * 1000));
    state.seq++;
    if (state.seq === trips) state.done(true);
    else send(state);
  }
}

function send(state) {
  state.sentAt = now();
  state.socket.write(echo(state.seq));
}

/** Every connection's round trips, all at once; resolves when every connection is done or gone. */
async function roundTrips() {
  const startedAt = now();
  const outcomes = await Promise.all(
    connections.map(
      (state) =>
        new Promise((resolve) => {
          state.done = (ok) => {
            state.done = undefined;
            resolve(ok);
          };
          if (state.socket.destroyed) state.done(false);
          else send(state);
        }),
    ),
  );
  const endedAt = now();
  const failed = outcomes.filter((ok) => !ok).length;
  await writeLine({ result: { trips: latenciesUs.length, failed, startedAt, endedAt, latenciesUs } });
}

process.on("SIGUSR2", () => {
  roundTrips().catch(async (error) => writeLine({ error: `scale client: ${error?.stack ?? error}` }));
});

const started = performance.now();
await Promise.all(Array.from({ length: count }, () => open()));
for (let missing = count - connections.length; missing > 0; missing--) {
  for (let tries = 0; tries < 50 && !(await open(false)); tries++) await sleep(20);
}
await writeLine({ opened: connections.length, refused, errors, connectMs: performance.now() - started });
// Idle: the open sockets keep the process alive until the harness stops it.
