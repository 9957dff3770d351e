// The benchmark workload, shared by every JavaScript peer so that each implementation does exactly
// the same application work per message. A peer plugs in a transport:
//   send(type, data)  -> sends one {type, data} event; returns a promise while the transport wants
//                        the sender to wait (backpressure), anything else otherwise.
//   transport.onMessage(type, data) is set here and must be called by the peer for every event.
//
// Protocol between client and server (plain node-ipc events):
//   "echo" {seq, payload}  -> the server emits it back unchanged        (round trips, latency)
//   "one"  {seq, payload}  -> the server counts it, no answer           (one-way stream)
//   "sync" {}              -> the server answers "count" {count}        (end of a one-way phase)
//
// A client prints JSON lines on stdout for the harness: {"phase":"measure"} when the measured
// window starts (after the warm-up) and {"result":{...}} at the end.

/** 64 bytes of payload, the same in every message, checked on every echo. */
export const PAYLOAD = "ipc-streams/bench:0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
if (PAYLOAD.length !== 64) throw new Error("payload must be 64 bytes");

/** Messages in flight in round-trip mode. */
export const WINDOW = 64;

export function writeLine(object) {
  const line = `${JSON.stringify(object)}\n`;
  if (globalThis.Deno) {
    const bytes = new TextEncoder().encode(line);
    let written = 0;
    while (written < bytes.length) written += globalThis.Deno.stdout.writeSync(bytes.subarray(written));
    return Promise.resolve();
  }
  return new Promise((resolve) => process.stdout.write(line, () => resolve()));
}

// The harness stops servers with SIGTERM; exiting normally lets `node --cpu-prof` write its profile.
if (globalThis.Deno) globalThis.Deno.addSignalListener("SIGTERM", () => globalThis.Deno.exit(0));
else process.on("SIGTERM", () => process.exit(0));

export async function exit(code) {
  if (globalThis.Deno) globalThis.Deno.exit(code);
  else process.exit(code);
}

/**
 * For the idle-connection and scale benchmarks (`--report-ms`): every `ms`, a full garbage collection
 * where the runtime exposes one (Bun always, Node and Deno with `--expose-gc`), then
 * `{"connections":n}` on stdout, so the harness reads RSS after the server has settled and knows how
 * many it accepted. SIGUSR2 stops the reports, so that no forced collection runs while the scale
 * benchmark measures round trips.
 */
export function reportConnections(ms, count) {
  const gc = globalThis.Bun ? () => globalThis.Bun.gc(true) : globalThis.gc;
  const timer = setInterval(() => {
    gc?.();
    void writeLine({ connections: count(), gc: gc !== undefined });
  }, ms);
  const stopReports = () => clearInterval(timer);
  if (globalThis.Deno) globalThis.Deno.addSignalListener("SIGUSR2", stopReports);
  else process.on("SIGUSR2", stopReports);
}

/** Parses `--name value` pairs after the script name. */
export function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("--")) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) options[arg.slice(2)] = true;
      else {
        options[arg.slice(2)] = next;
        i++;
      }
    }
  }
  return options;
}

export function scriptArgs() {
  return globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
}

/**
 * Where a peer listens or connects, from its arguments (see bench/harness/transport.mjs):
 * `--path <socket>` for a Unix socket, or `--transport tcp|tls --host <ip> --port <n>` with, for
 * TLS, `--cert <pem> --key <pem>` (server) or `--ca <pem>` (client). Certificate files come back as
 * their PEM text.
 */
export async function endpointOf(options) {
  const transport = options.transport ?? "unix";
  if (transport === "unix") return { transport, path: options.path };
  if (transport !== "tcp" && transport !== "tls") throw new Error(`unknown transport ${transport}`);
  const port = Number(options.port);
  if (!(Number.isInteger(port) && port >= 0 && typeof options.host === "string")) {
    throw new Error("a tcp or tls peer needs --host and --port");
  }
  const endpoint = { transport, host: options.host, port, files: {} };
  for (const name of ["cert", "key", "ca"]) {
    if (typeof options[name] !== "string") continue;
    endpoint.files[name] = options[name];
    endpoint[name] = await readText(options[name]);
  }
  return endpoint;
}

async function readText(path) {
  if (globalThis.Deno) return globalThis.Deno.readTextFileSync(path);
  const { readFileSync } = await import("node:fs");
  return readFileSync(path, "utf8");
}

class BenchFailure extends Error {}

function fail(message) {
  throw new BenchFailure(message);
}

/**
 * Runs one mode against a connected transport: a warm-up of `warmupMs`, then a measured window of
 * `durationMs`. Returns the result object the harness expects.
 */
export async function runClient(transport, { mode, warmupMs, durationMs }) {
  const state = { nextSend: 0, nextReceive: 0, handler: undefined, problem: undefined };
  transport.onMessage = (type, data) => {
    try {
      if (state.handler === undefined) fail(`unexpected ${type} event between phases`);
      state.handler(type, data);
    } catch (error) {
      state.problem ??= error;
      const abort = state.abort;
      state.abort = undefined;
      abort?.(error);
    }
  };
  const phase = { "round-trips": roundTrips, "one-way": oneWay, latency }[mode];
  if (phase === undefined) fail(`unknown mode ${mode}`);
  await phase(transport, state, warmupMs, false);
  await writeLine({ phase: "measure" });
  const result = await phase(transport, state, durationMs, true);
  if (state.problem) throw state.problem;
  return { mode, ...result };
}

/**
 * Waits for the message handler: `arm(resolve)` hands it the function that ends the wait. A failure
 * in the handler rejects the wait instead. Each wait registers with `state` and nothing else, so
 * waiting once per message retains nothing (racing every wait against one long-lived "aborted"
 * promise would keep a reaction per message until the run ends).
 */
function waitFor(state, arm) {
  if (state.problem) return Promise.reject(state.problem);
  return new Promise((resolve, reject) => {
    state.abort = reject;
    arm(resolve);
  });
}

function checkEcho(state, type, data) {
  if (type !== "echo") fail(`expected an echo, got ${type}`);
  if (data === null || typeof data !== "object") fail(`echo without data: ${JSON.stringify(data)}`);
  if (data.seq !== state.nextReceive) fail(`echo out of order: got seq ${data.seq}, expected ${state.nextReceive}`);
  if (data.payload !== PAYLOAD) fail(`echo payload corrupted at seq ${data.seq}`);
  state.nextReceive++;
}

async function roundTrips(transport, state, durationMs) {
  let slot;
  let drained;
  let stopped = false;
  state.handler = (type, data) => {
    checkEcho(state, type, data);
    if (slot !== undefined) {
      const release = slot;
      slot = undefined;
      release();
    } else if (stopped && state.nextReceive === state.nextSend) drained?.();
  };
  const first = state.nextSend;
  const start = performance.now();
  const deadline = start + durationMs;
  while (performance.now() < deadline) {
    if (state.nextSend - state.nextReceive >= WINDOW) {
      await waitFor(state, (resolve) => (slot = resolve));
      continue;
    }
    await transport.send("echo", { seq: state.nextSend++, payload: PAYLOAD });
  }
  stopped = true;
  if (state.nextReceive < state.nextSend) {
    await waitFor(state, (resolve) => (drained = resolve));
  }
  const seconds = (performance.now() - start) / 1000;
  state.handler = undefined;
  const messages = state.nextSend - first;
  return { messages, seconds, rate: messages / seconds };
}

async function latency(transport, state, durationMs, measured) {
  let reply;
  state.handler = (type, data) => {
    checkEcho(state, type, data);
    const resolve = reply;
    reply = undefined;
    resolve?.();
  };
  const samples = [];
  const start = performance.now();
  const deadline = start + durationMs;
  let now = start;
  while (now < deadline) {
    const sent = now;
    // Armed before sending: the echo may arrive before the send settles.
    const replied = waitFor(state, (resolve) => (reply = resolve));
    replied.catch(() => {});
    await transport.send("echo", { seq: state.nextSend++, payload: PAYLOAD });
    await replied;
    now = performance.now();
    samples.push(now - sent);
  }
  const seconds = (now - start) / 1000;
  state.handler = undefined;
  if (!measured) return {};
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] * 1000;
  return {
    messages: samples.length,
    seconds,
    rate: samples.length / seconds,
    latencyUs: { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: samples[samples.length - 1] * 1000 },
  };
}

async function oneWay(transport, state, durationMs) {
  let counted;
  state.handler = (type, data) => {
    if (type !== "count") fail(`expected a count, got ${type}`);
    const resolve = counted;
    counted = undefined;
    if (resolve === undefined) fail("count without a sync");
    resolve(data?.count);
  };
  const first = state.nextSend;
  const start = performance.now();
  const deadline = start + durationMs;
  // Reading the clock every 64 events keeps it out of the per-message cost.
  while (performance.now() < deadline) {
    for (let i = 0; i < 64; i++) await transport.send("one", { seq: state.nextSend++, payload: PAYLOAD });
  }
  const reply = waitFor(state, (resolve) => (counted = resolve));
  reply.catch(() => {});
  await transport.send("sync", {});
  const count = await reply;
  const seconds = (performance.now() - start) / 1000;
  state.handler = undefined;
  if (count !== state.nextSend) fail(`server counted ${count} events, client sent ${state.nextSend}`);
  const messages = state.nextSend - first;
  return { messages, seconds, rate: messages / seconds };
}

/**
 * The server side of the workload for transports without streams (node-ipc): what to do with one
 * event. `reply(type, data)` emits to the client.
 */
export function serverHandler(reply) {
  let count = 0;
  return (type, data) => {
    if (type === "one") count++;
    else if (type === "sync") reply("count", { count });
    else reply(type, data);
  };
}
