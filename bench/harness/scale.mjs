// The scale lane (`--scale`, and part of a full run): one server, 1,000 connections. Each server
// (ipc-streams on Node 22, Node 20, Bun and Deno from the build, the user-style server of
// bench/peers/ipc-streams.mjs; node-ipc 14 on Node 22 as the baseline) starts with the same
// maxConnections and reports its connection count after a full GC, as in the idle lane. Then:
//   1. DRIVERS Node processes (bench/peers/scale-client.mjs) open CONNECTIONS connections between
//      them, all at once; failed connects are counted, then opened again one at a time, so that
//      every server carries the same connections in steps 2 and 3.
//   2. Once the server reports them and has settled, the server's VmRSS after the burst minus its
//      VmRSS before it, divided by the connections it reports, is its memory per idle connection.
//   3. The server stops its GC reports; every connection does TRIPS round trips, one after another,
//      all connections at once. Aggregate rate = round trips / (last driver's end − first driver's
//      start); p50 and p99 over every round trip of every driver.
// Ratios are per round against node-ipc 14 in the same round and over the same transport.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkFileLimit, GC_FLAGS, lastReport, nextReport, rssKiB, settle, withFileLimit } from "./idle.mjs";
import { cpuSeconds, start, stop, waitFor } from "./job.mjs";
import { systemNode } from "./peers.mjs";
import { median } from "./report.mjs";
import { clientEndpoint, serverEndpoint, TRANSPORT_TITLES } from "./transport.mjs";

export const SCALE_SERVERS = ["nipc14", "ips-node20", "ips-node22", "ips-deno", "ips-bun"];
export const SCALE_BASELINE = "nipc14";
export const SCALE_TRANSPORTS = ["unix", "tcp", "tls"];
const CONNECTIONS = 1000;
const DRIVERS = 4;
const TRIPS = 20;
const MAX_CONNECTIONS = 2000;
const REPORT_MS = 250;

/** The scale targets, each against node-ipc 14's figure in the same run. */
export const SCALE_TARGETS = { rate: 1.5, p99: 1, memory: 1, refused: 0 };

/** The servers a run measures: node-ipc 14 always, the others unless `--lanes` leaves them out. */
export function scaleServers(wanted) {
  return SCALE_SERVERS.filter(
    (id) => id === SCALE_BASELINE || wanted === undefined || wanted.some((w) => w === id || w === `${id}>${id}`),
  );
}

async function measure(peer, { root, transport, tls }) {
  const dir = mkdtempSync(join(tmpdir(), "ipcs-"));
  const env = { ...process.env, NO_COLOR: "1" };
  let server;
  const drivers = [];
  try {
    const listen = serverEndpoint(transport, { path: join(dir, "s"), tls });
    const command = peer.command({ role: "server", endpoint: listen }, GC_FLAGS[peer.runtime]);
    command.args.push("--max-connections", String(MAX_CONNECTIONS), "--report-ms", String(REPORT_MS));
    server = start(withFileLimit(command), root, env);
    const ready = await waitFor(server, (message) => message.ready, 30_000, "the server to listen");
    checkFileLimit(server, "server");
    await settle(server);
    const before = rssKiB(server.child.pid);

    // 1. The burst: every driver opens its share at once.
    const endpoint = clientEndpoint(listen, ready, { tls });
    const at =
      endpoint.transport === "unix"
        ? ["--path", endpoint.path]
        : [
            "--host",
            endpoint.host,
            "--port",
            String(endpoint.port),
            ...(endpoint.transport === "tls" ? ["--ca", tls.ca] : []),
          ];
    const script = join(root, "bench", "peers", "scale-client.mjs");
    for (let i = 0; i < DRIVERS; i++) {
      const share = Math.floor(CONNECTIONS / DRIVERS) + (i < CONNECTIONS % DRIVERS ? 1 : 0);
      const args = [script, ...at, "--count", String(share), "--trips", String(TRIPS)];
      drivers.push(start(withFileLimit({ file: systemNode() ?? process.execPath, args }), root, env));
    }
    const connects = await Promise.all(
      drivers.map((driver) => waitFor(driver, (message) => message.opened !== undefined, 60_000, "the connects")),
    );
    const opened = connects.reduce((sum, c) => sum + c.opened, 0);
    const refused = connects.reduce((sum, c) => sum + c.refused, 0);
    const errors = {};
    for (const c of connects) for (const [code, n] of Object.entries(c.errors)) errors[code] = (errors[code] ?? 0) + n;
    const connectMs = Math.max(...connects.map((c) => c.connectMs));

    // 2. Idle memory, read as in the idle lane.
    await nextReport(server, (message) => message.connections >= opened, 30_000).catch(() => {});
    await settle(server);
    const after = rssKiB(server.child.pid);
    const { connections } = lastReport(server);
    const perConnection = connections > 0 ? (after - before) / connections : undefined;

    // 3. Round trips on every connection at once, without the server's forced collections.
    server.child.kill("SIGUSR2");
    await new Promise((resolve) => setTimeout(resolve, 2 * REPORT_MS));
    const cpuBefore = cpuSeconds(server.child.pid);
    for (const driver of drivers) driver.child.kill("SIGUSR2");
    const results = await Promise.all(
      drivers.map(
        async (driver) => (await waitFor(driver, (message) => message.result, 60_000, "the round trips")).result,
      ),
    );
    const cpuAfter = cpuSeconds(server.child.pid);
    if (server.exited) {
      const { code, signal } = server.exited;
      throw new Error(`the server died (code ${code}, signal ${signal}): ${server.stderr.trim()}`);
    }
    const trips = results.reduce((sum, r) => sum + r.trips, 0);
    const failed = results.reduce((sum, r) => sum + r.failed, 0);
    const seconds = (Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt))) / 1000;
    const latencies = results.flatMap((r) => r.latenciesUs).sort((a, b) => a - b);
    const quantile = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    return {
      connections,
      opened,
      refused,
      errors,
      connectMs,
      before,
      after,
      perConnection,
      trips,
      failed,
      seconds,
      rate: trips / seconds,
      p50Us: quantile(0.5),
      p99Us: quantile(0.99),
      maxUs: latencies.at(-1),
      serverCpuUs:
        cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) / trips) * 1e6,
    };
  } finally {
    await Promise.all(drivers.map((driver) => stop(driver)));
    if (server) await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the lane for `rounds` rounds over each of `transports` (servers in alternating order).
 * Returns `runs[transport][serverId][round]`, each `{ …figures }` or `{ error }`.
 */
export async function runScale({ root, peers, transports, rounds, wanted, tls, log }) {
  const ids = scaleServers(wanted);
  const runs = {};
  for (const transport of transports) runs[transport] = Object.fromEntries(ids.map((id) => [id, []]));
  for (let round = 0; round < rounds; round++) {
    for (const transport of transports) {
      for (const id of round % 2 === 0 ? ids : [...ids].reverse()) {
        const peer = peers.get(id);
        let run;
        try {
          if (!SCALE_TRANSPORTS.includes(transport))
            throw new Error(`missing: the scale lane runs over ${SCALE_TRANSPORTS.join(" and ")} only`);
          if (peer.missing) throw new Error(`missing: ${peer.missing}`);
          run = await measure(peer, { root, transport, tls });
        } catch (error) {
          run = { error: error.message.split("\n")[0] };
        }
        runs[transport][id][round] = run;
        const what = run.error
          ? `FAILED ${run.error}`
          : `${Math.round(run.rate).toLocaleString("en-US")} round trips/s, p99 ${(run.p99Us / 1000).toFixed(1)} ms, ` +
            `${run.perConnection?.toFixed(1) ?? "–"} KiB/conn, ${run.connections}/${run.opened} accepted, ` +
            `${run.refused} refused, ${run.failed} failed`;
        log(`scale round ${round + 1}/${rounds} ${transport.padEnd(5)} ${id.padEnd(12)} ${what}`);
      }
    }
  }
  return runs;
}

/** Medians over rounds per server, with per-round ratios to node-ipc 14. */
export function summarizeScale(runs) {
  const summary = {};
  const base = runs[SCALE_BASELINE] ?? [];
  for (const [id, rounds] of Object.entries(runs)) {
    const ok = rounds.filter((run) => run && !run.error);
    const perRound = (key) =>
      rounds.map((run, round) =>
        run && !run.error && base[round] && !base[round].error ? run[key] / base[round][key] : undefined,
      );
    const rateRatios = perRound("rate").filter((value) => value !== undefined);
    const p99Ratios = perRound("p99Us").filter((value) => value !== undefined);
    summary[id] = {
      runs: rounds.length,
      ok: ok.length,
      errors: rounds.filter((run) => run?.error).map((run) => run.error),
      perConnection: median(ok.map((run) => run.perConnection)),
      rate: median(ok.map((run) => run.rate)),
      ratio: median(rateRatios),
      ratioMin: rateRatios.length ? Math.min(...rateRatios) : undefined,
      ratioMax: rateRatios.length ? Math.max(...rateRatios) : undefined,
      p50Us: median(ok.map((run) => run.p50Us)),
      p99Us: median(ok.map((run) => run.p99Us)),
      p99Ratio: median(p99Ratios),
      p99RatioMin: p99Ratios.length ? Math.min(...p99Ratios) : undefined,
      p99RatioMax: p99Ratios.length ? Math.max(...p99Ratios) : undefined,
      serverCpuUs: median(ok.map((run) => run.serverCpuUs)),
      refused: ok.length ? Math.max(...ok.map((run) => run.refused)) : undefined,
      failed: ok.length ? Math.max(...ok.map((run) => run.failed)) : undefined,
      connections: ok.length ? Math.min(...ok.map((run) => run.connections)) : undefined,
    };
  }
  return summary;
}

/** One verdict per target and ipc-streams server (same shape as report.mjs's verdicts). */
export function evaluateScale(summary) {
  const verdicts = [];
  const base = summary[SCALE_BASELINE];
  const judge = (value, ok) => (value === undefined ? "n/a (no successful run)" : ok ? "met" : "not met");
  for (const [id, cell] of Object.entries(summary)) {
    if (id === SCALE_BASELINE) continue;
    const memoryRatio =
      cell.perConnection !== undefined && base?.perConnection > 0 ? cell.perConnection / base.perConnection : undefined;
    verdicts.push(
      {
        runtime: id,
        metric: "scale-rate",
        title: "scale: aggregate round trips/s",
        what: `≥ ${SCALE_TARGETS.rate}× node-ipc 14`,
        value: cell.ratio,
        spread: [cell.ratioMin, cell.ratioMax],
        target: SCALE_TARGETS.rate,
        higher: true,
        status: judge(cell.ratio, cell.ratio >= SCALE_TARGETS.rate),
      },
      {
        runtime: id,
        metric: "scale-p99",
        title: "scale: p99 latency",
        what: "≤ node-ipc 14's",
        value: cell.p99Ratio,
        spread: [cell.p99RatioMin, cell.p99RatioMax],
        absolute: cell.p99Us,
        target: SCALE_TARGETS.p99,
        higher: false,
        status: judge(cell.p99Ratio, cell.p99Ratio <= SCALE_TARGETS.p99),
      },
      {
        runtime: id,
        metric: "scale-memory",
        title: "scale: memory per idle connection",
        what: "≤ node-ipc 14's",
        value: memoryRatio,
        absolute: cell.perConnection,
        target: SCALE_TARGETS.memory,
        higher: false,
        status: judge(memoryRatio, memoryRatio <= SCALE_TARGETS.memory),
      },
      {
        runtime: id,
        metric: "scale-refused",
        title: "scale: refused connects (burst of 1,000)",
        what: "0 in every round",
        value: cell.refused,
        target: SCALE_TARGETS.refused,
        higher: false,
        status: judge(cell.refused, cell.refused === 0),
      },
    );
  }
  return verdicts;
}

/** The full scale table of one transport. */
export function scaleTable({ summary, runs, peers, transport }) {
  const ms = (us) => (us === undefined ? "–" : `${(us / 1000).toFixed(1)} ms`);
  const out = [
    `### Scale over ${TRANSPORT_TITLES[transport]}: ${CONNECTIONS.toLocaleString("en-US")} connections from ${DRIVERS} driver processes, then ${TRIPS} round trips each, all at once`,
    "",
    "| server | KiB per idle connection | aggregate round trips/s | × node-ipc 14 (min–max) | p50 | p99 | p99 × node-ipc 14 | server CPU/round trip | accepted (fewest) / refused per round | connections failed in the round trips (most) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [id, cell] of Object.entries(summary)) {
    const failures = cell.errors.length
      ? ` (${cell.errors.length}/${cell.runs} rounds failed: ${cell.errors[0].replaceAll("|", "\\|").slice(0, 120)})`
      : "";
    if (cell.ok === 0) {
      out.push(`| ${peers.get(id).label}${failures} |${" – |".repeat(9)}`);
      continue;
    }
    const spread =
      cell.ratioMin === undefined || cell.ratioMin === cell.ratioMax
        ? ""
        : ` (${cell.ratioMin.toFixed(2)}–${cell.ratioMax.toFixed(2)})`;
    // Refused connects per round, with the error codes the drivers saw.
    const refused = runs[id]
      .filter((run) => run && !run.error)
      .map((run) => {
        const codes = Object.entries(run.errors).map(([code, n]) => `${code} ${n}`);
        return codes.length ? `${run.refused} (${codes.join(", ")})` : String(run.refused);
      });
    out.push(
      `| ${peers.get(id).label}${failures} | ${cell.perConnection?.toFixed(1) ?? "–"} | ` +
        `${Math.round(cell.rate).toLocaleString("en-US")} | ${cell.ratio?.toFixed(2) ?? "–"}×${spread} | ` +
        `${ms(cell.p50Us)} | ${ms(cell.p99Us)} | ${cell.p99Ratio?.toFixed(2) ?? "–"}× | ${cell.serverCpuUs === undefined ? "–" : `${cell.serverCpuUs.toFixed(1)} µs`} | ` +
        `${cell.connections} / ${refused.join(", ")} | ${cell.failed} |`,
    );
  }
  out.push("");
  return out.join("\n");
}

export const SCALE_METHOD =
  `${CONNECTIONS} connections opened in one burst by ${DRIVERS} Node driver processes (bench/peers/scale-client.mjs), ` +
  "each sending one small event and idling; refused connects counted, then opened again one at a time; " +
  `server maxConnections ${MAX_CONNECTIONS}; memory per idle connection = ` +
  `(VmRSS after − VmRSS before the burst) / connections, each read after full GCs; then ${TRIPS} round trips per connection, ` +
  "one after another, all connections at once; rate = round trips / (last driver's end − first driver's start).";
