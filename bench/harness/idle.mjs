// `--idle`: the server's memory per idle connection. Each server (ipc-streams on Node 22, Node 20, Bun
// and Deno from the build; node-ipc 14 on Node 22 as the baseline) starts with maxConnections 2000 and
// reports its connection count every REPORT_MS after a full GC. The harness reads its VmRSS once it has
// settled, has one Node 20 driver (bench/peers/idle-client.mjs) open CONNECTIONS connections, waits until
// the server reports them all, lets it settle again and reads VmRSS again:
// per connection = (after − before) / connections the server reports.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start, stop, waitFor } from "./job.mjs";
import { systemNode } from "./peers.mjs";
import { median } from "./report.mjs";

export const IDLE_SERVERS = ["ips-node22", "ips-node20", "ips-bun", "ips-deno", "nipc14"];
const CONNECTIONS = 1000;
const REPORT_MS = 250;
/** GC'd reports to wait for before each reading (about a second). */
const SETTLE_REPORTS = 4;
/** Flags that expose a GC to the server (Bun's `Bun.gc` needs none). */
export const GC_FLAGS = { node: ["--expose-gc"], deno: ["--v8-flags=--expose-gc"], bun: [] };

export const rssKiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
const openFilesLimit = (pid) => /Max open files\s+(\S+)/.exec(readFileSync(`/proc/${pid}/limits`, "utf8"))?.[1];

/**
 * Node raises its soft open-files limit to the hard one at startup and the peers inherit it. Only
 * when that is too low for the connections do the peers run under `ulimit -n` (raising a hard limit
 * needs the privilege to); a limit still too low is an error.
 */
const FILES_NEEDED = CONNECTIONS + 100;
const ownLimit = openFilesLimit("self");
const raiseLimit = ownLimit !== "unlimited" && Number(ownLimit) < FILES_NEEDED;
export const withFileLimit = ({ file, args }) =>
  raiseLimit ? { file: "bash", args: ["-c", 'ulimit -n 8192 && exec "$@"', "bash", file, ...args] } : { file, args };

export function checkFileLimit(proc, what) {
  const limit = openFilesLimit(proc.child.pid);
  if (limit !== "unlimited" && Number(limit) < FILES_NEEDED) {
    throw new Error(`the ${what}'s open-files limit is ${limit}, too low for ${CONNECTIONS} connections (ulimit -Hn)`);
  }
  return limit;
}

export const lastReport = (server) => server.lines.findLast((message) => message.connections !== undefined);

/** The server's next connection report (after the ones already seen) that passes `test`. */
export function nextReport(server, test = () => true, ms = 10_000) {
  const seen = server.lines.length;
  const fresh = (message) => message.connections !== undefined && server.lines.indexOf(message) >= seen;
  return waitFor(server, (message) => fresh(message) && test(message), ms, "the server's connection report");
}

export async function settle(server) {
  for (let i = 0; i < SETTLE_REPORTS; i++) await nextReport(server);
}

async function measure(peer, { root, send }) {
  const dir = mkdtempSync(join(tmpdir(), "ipci-"));
  const path = join(dir, "s");
  const env = { ...process.env, NO_COLOR: "1" };
  let server;
  let driver;
  try {
    const command = peer.command({ role: "server", path }, GC_FLAGS[peer.runtime]);
    command.args.push("--max-connections", "2000", "--report-ms", String(REPORT_MS));
    server = start(withFileLimit(command), root, env);
    await waitFor(server, (message) => message.ready, 30_000, "the server to listen");
    const limits = { server: checkFileLimit(server, "server") };
    await settle(server);
    const before = rssKiB(server.child.pid);
    const script = join(root, "bench", "peers", "idle-client.mjs");
    const args = [script, "--path", path, "--count", String(CONNECTIONS), "--send", send];
    const started = performance.now();
    driver = start(withFileLimit({ file: systemNode(), args }), root, env);
    limits.driver = checkFileLimit(driver, "driver");
    const { opened, refused, errors } = await waitFor(driver, (m) => m.opened !== undefined, 60_000, "the connects");
    const connectSeconds = (performance.now() - started) / 1000;
    // A server that never reports them all is measured anyway; the table shows how many it had.
    await nextReport(server, (message) => message.connections >= opened, 30_000).catch(() => {});
    await settle(server);
    const after = rssKiB(server.child.pid);
    const { connections, gc } = lastReport(server);
    if (server.exited) throw new Error(`the server died: ${server.stderr.trim()}`);
    const perConnection = connections > 0 ? (after - before) / connections : undefined;
    return { before, after, connections, opened, refused, errors, gc, limits, connectSeconds, perConnection };
  } finally {
    if (driver) await stop(driver);
    if (server) await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs every server for `options.rounds` rounds (alternating order). Returns `{ runs, markdown }`. */
export async function idleMemory({ root, peers, options, log }) {
  const ids = IDLE_SERVERS.filter((id) => options.lanes === undefined || options.lanes.includes(id));
  const runs = Object.fromEntries(ids.map((id) => [id, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const id of round % 2 === 0 ? ids : [...ids].reverse()) {
      const peer = peers.get(id);
      let run;
      try {
        if (peer.missing) throw new Error(`missing: ${peer.missing}`);
        run = await measure(peer, { root, send: options.send });
      } catch (error) {
        run = { error: error.message.split("\n")[0] };
      }
      runs[id][round] = run;
      const what = run.error
        ? `FAILED ${run.error}`
        : `${run.perConnection?.toFixed(1) ?? "–"} KiB/conn (RSS ${run.before} → ${run.after} KiB, ` +
          `${run.connections}/${run.opened} accepted, ${run.refused} refused, connects ${run.connectSeconds.toFixed(1)} s)`;
      log(`round ${round + 1}/${options.rounds} ${id.padEnd(12)} ${what}`);
    }
  }
  return { runs, markdown: idleTable(ids, peers, runs) };
}

function idleTable(ids, peers, runs) {
  const mib = (kib) => (kib / 1024).toFixed(1);
  const out = [
    "| server | KiB per idle connection (median; per round) | RSS before → after, MiB (per round) | accepted / refused | GC before reading | open-files limit (server, driver) |",
    "|---|---:|---|---|---|---|",
  ];
  for (const id of ids) {
    const ok = runs[id].filter((run) => !run.error);
    const failed = runs[id].filter((run) => run.error);
    const note = failed.length
      ? ` (${failed.length} failed: ${failed[0].error.replaceAll("|", "\\|").slice(0, 120)})`
      : "";
    if (ok.length === 0) {
      out.push(`| ${peers.get(id).label}${note} | – | – | – | – | – |`);
      continue;
    }
    const perRound = ok.map((run) => run.perConnection?.toFixed(1) ?? "–").join(", ");
    out.push(
      `| ${peers.get(id).label}${note} | **${median(ok.map((run) => run.perConnection))?.toFixed(1) ?? "–"}**; ${perRound} | ` +
        `${ok.map((run) => `${mib(run.before)} → ${mib(run.after)}`).join("; ")} | ` +
        `${ok.map((run) => `${run.connections} / ${run.refused}`).join("; ")} | ${ok[0].gc ? "yes" : "no"} | ` +
        `${ok[0].limits.server}, ${ok[0].limits.driver} |`,
    );
  }
  return out.join("\n");
}
