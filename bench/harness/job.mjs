// Runs one measurement: a fresh server process, a fresh client process, one mode. The client
// announces the start of its measured window and its result on stdout; the harness samples both
// processes' CPU time from /proc at those two moments and the server's peak RSS (VmHWM) at the end.
// Over TCP and TLS the server listens on port 0 and names the port it got in its ready line.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientEndpoint, serverEndpoint } from "./transport.mjs";

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;

/** utime + stime of a live process, in seconds, or undefined. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Peak resident set size (VmHWM) of a live process, in KiB, or undefined. */
function peakRssKiB(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Peers still running, and the jobs' socket directories. Should the harness end before a job
 * cleans up (an exception, Ctrl-C, SIGTERM from outside), the peers are killed and the directories
 * removed on its way out, so no server keeps a port or a socket file.
 */
const running = new Set();
const socketDirs = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of socketDirs) rmSync(dir, { recursive: true, force: true });
});

/** Spawns a peer; collects its stdout as JSON lines (`{ text }` for others) and its stderr's tail. */
export function start(command, cwd, env) {
  const child = spawn(command.file, command.args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const state = { child, stderr: "", lines: [], listeners: [], exited: undefined };
  let pending = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (text) => {
    pending += text;
    for (let end = pending.indexOf("\n"); end !== -1; end = pending.indexOf("\n")) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        message = { text: line };
      }
      state.lines.push(message);
      for (const listener of state.listeners) listener(message);
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text) => {
    state.stderr = (state.stderr + text.replace(/\x1b\[[0-9;]*m/g, "")).slice(-4000);
  });
  state.exit = new Promise((resolve) => {
    child.on("error", (error) => {
      running.delete(child);
      state.exited = { error };
      resolve(state.exited);
    });
    child.on("exit", (code, signal) => {
      running.delete(child);
      state.exited = { code, signal };
      resolve(state.exited);
    });
  });
  return state;
}

/** Resolves with the first stdout message matching `test`; rejects on exit or timeout. */
export function waitFor(proc, test, ms, what) {
  return new Promise((resolve, reject) => {
    const found = proc.lines.find(test);
    if (found) return resolve(found);
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    proc.listeners.push((message) => {
      if (message.error) {
        clearTimeout(timer);
        reject(new Error(message.error));
      } else if (test(message)) {
        clearTimeout(timer);
        resolve(message);
      }
    });
    proc.exit.then((exited) => {
      clearTimeout(timer);
      const error = proc.lines.find((message) => message.error)?.error;
      reject(
        new Error(
          error ??
            `${what}: process ended (${exited.error?.message ?? `code ${exited.code}, signal ${exited.signal}`})` +
              (proc.stderr ? `: ${proc.stderr.trim().split("\n").slice(-3).join(" | ")}` : ""),
        ),
      );
    });
  });
}

/** SIGTERM, then SIGKILL if the process is still there after 2 s. */
export async function stop(proc) {
  if (proc.exited) return;
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 2000);
  await proc.exit;
  clearTimeout(timer);
}

/**
 * Runs `mode` between `client` and `server` peers over `transport` ("unix", "tcp" or "tls"; TLS
 * needs `tls`, the certificate files from `tlsFiles()`). Returns the client's result plus resource
 * figures, or throws with what went wrong.
 */
export async function runJob({
  client,
  server,
  mode,
  warmup,
  duration,
  cwd,
  transport = "unix",
  tls,
  serverFlags = [],
  clientFlags = [],
  env,
  onMeasure,
}) {
  for (const peer of [server, client]) {
    const reason = peer.unsupported?.(transport);
    if (reason) throw new Error(`missing: ${reason}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "ipcb-"));
  socketDirs.add(dir);
  const path = join(dir, "s");
  const processEnv = { ...process.env, NO_COLOR: "1", ...env };
  let serverProc;
  let clientProc;
  try {
    const listen = serverEndpoint(transport, { path, tls });
    serverProc = start(server.command({ role: "server", endpoint: listen }, serverFlags), cwd, processEnv);
    const ready = await waitFor(serverProc, (message) => message.ready, 30_000, "the server to listen");
    const endpoint = clientEndpoint(listen, ready, { tls });
    const job = { role: "client", endpoint, mode, warmup, duration };
    clientProc = start(client.command(job, clientFlags), cwd, processEnv);
    const limit = warmup + duration + 30_000;
    await waitFor(clientProc, (message) => message.phase === "measure", limit, "the warm-up");
    const before = { server: cpuSeconds(serverProc.child.pid), client: cpuSeconds(clientProc.child.pid) };
    const watcher = onMeasure?.({ server: serverProc.child.pid, client: clientProc.child.pid });
    const { result } = await waitFor(clientProc, (message) => message.result, limit, "the result");
    const after = { server: cpuSeconds(serverProc.child.pid), client: cpuSeconds(clientProc.child.pid) };
    const watched = await watcher?.stop();
    const serverRssKiB = peakRssKiB(serverProc.child.pid);
    const clientRssKiB = peakRssKiB(clientProc.child.pid);
    const exited = await Promise.race([clientProc.exit, new Promise((r) => setTimeout(r, 10_000))]);
    if (exited === undefined) throw new Error("the client did not exit after its result");
    if (exited.code !== 0) throw new Error(`the client exited with code ${exited.code}: ${clientProc.stderr.trim()}`);
    if (serverProc.exited) throw new Error(`the server died: ${serverProc.stderr.trim()}`);
    const perMessage = (side) =>
      before[side] === undefined || after[side] === undefined
        ? undefined
        : ((after[side] - before[side]) / result.messages) * 1e6;
    return {
      ...result,
      serverRssKiB,
      clientRssKiB,
      serverCpuUs: perMessage("server"),
      clientCpuUs: perMessage("client"),
      serverCpuShare: after.server === undefined ? undefined : (after.server - before.server) / result.seconds,
      clientCpuShare: after.client === undefined ? undefined : (after.client - before.client) / result.seconds,
      ...(watched === undefined ? {} : { watched }),
    };
  } finally {
    if (clientProc) await stop(clientProc);
    if (serverProc) await stop(serverProc);
    rmSync(dir, { recursive: true, force: true });
    socketDirs.delete(dir);
  }
}

const SYSCALLS = ["read", "recvfrom", "recvmsg", "write", "writev", "sendto", "sendmsg"];
const READS = new Set(["read", "recvfrom", "recvmsg"]);
export const isReadSyscall = (name) => READS.has(name);

/**
 * An `onMeasure` hook that counts system calls of both peers with `perf stat` over the measured
 * window. Resolves to `{ server: {read, write, …}, client: {…} }`, or undefined without perf.
 */
export function countSyscalls() {
  if (spawnSync("perf", ["--version"]).status !== 0) return undefined;
  return (pids) => {
    const events = SYSCALLS.map((name) => `syscalls:sys_enter_${name}`).join(",");
    const watch = (pid) => {
      const perf = spawn("perf", ["stat", "-x", ",", "-e", events, "-p", String(pid)], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let output = "";
      perf.stderr.setEncoding("utf8");
      perf.stderr.on("data", (text) => {
        output += text;
      });
      const done = new Promise((resolve) => perf.on("exit", () => resolve(output)));
      return { perf, done };
    };
    const watchers = { server: watch(pids.server), client: watch(pids.client) };
    return {
      async stop() {
        const counts = {};
        for (const [side, { perf, done }] of Object.entries(watchers)) {
          perf.kill("SIGINT");
          const output = await done;
          counts[side] = {};
          for (const line of output.split("\n")) {
            const [value, , event] = line.split(",");
            const name = event?.replace("syscalls:sys_enter_", "");
            if (name && SYSCALLS.includes(name) && /^\d+$/.test(value)) counts[side][name] = Number(value);
          }
        }
        return counts;
      },
    };
  };
}
