// Turns the raw per-round measurements into medians, ratios and Markdown tables.
import { BASELINE, CPU_TARGET, MODES, TARGET_MODES, TARGETS } from "./peers.mjs";
import { TRANSPORT_TITLES } from "./transport.mjs";

export function median(values) {
  const sorted = values.filter((value) => value !== undefined && Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * `runs[laneId][mode]` is an array indexed by round of `{ result }` or `{ error }`.
 * Returns one summary per lane and mode.
 */
export function summarize(lanes, runs) {
  const summary = {};
  for (const lane of lanes) {
    summary[lane.id] = {};
    for (const mode of MODES) {
      const rounds = runs[lane.id]?.[mode] ?? [];
      const ok = rounds.filter((run) => run?.result).map((run) => run.result);
      const errors = rounds.filter((run) => run?.error).map((run) => run.error);
      const perRound = (value) =>
        rounds.map((run, round) => {
          const base = runs[BASELINE]?.[mode]?.[round]?.result;
          const ours = run?.result && value(run.result);
          const theirs = base && value(base);
          return ours !== undefined && theirs ? ours / theirs : undefined;
        });
      const ratios = perRound((result) => result.rate).filter((value) => value !== undefined);
      // Server + client CPU time per message, against node-ipc 14's in the same round.
      const cpuRatios = perRound((result) =>
        result.serverCpuUs === undefined || result.clientCpuUs === undefined
          ? undefined
          : result.serverCpuUs + result.clientCpuUs,
      ).filter((value) => value !== undefined);
      const rates = ok.map((result) => result.rate);
      summary[lane.id][mode] = {
        runs: rounds.length,
        ok: ok.length,
        errors,
        rate: median(rates),
        min: rates.length ? Math.min(...rates) : undefined,
        max: rates.length ? Math.max(...rates) : undefined,
        ratio: median(ratios),
        ratioMin: ratios.length ? Math.min(...ratios) : undefined,
        ratioMax: ratios.length ? Math.max(...ratios) : undefined,
        cpuRatio: median(cpuRatios),
        cpuRatioMin: cpuRatios.length ? Math.min(...cpuRatios) : undefined,
        cpuRatioMax: cpuRatios.length ? Math.max(...cpuRatios) : undefined,
        serverRssKiB: median(ok.map((result) => result.serverRssKiB)),
        serverCpuUs: median(ok.map((result) => result.serverCpuUs)),
        clientCpuUs: median(ok.map((result) => result.clientCpuUs)),
        p50: median(ok.map((result) => result.latencyUs?.p50)),
        p99: median(ok.map((result) => result.latencyUs?.p99)),
        p999: median(ok.map((result) => result.latencyUs?.p999)),
      };
    }
  }
  return summary;
}

/**
 * Target verdicts, one per target lane and mode run: the rate ratio, then CPU time per message. Peak RSS
 * is reported in the tables, not judged. A verdict is `{ lane, runtime, metric, title, what, value,
 * spread, target, higher, status }`; `higher` says whether a value above the target meets it.
 */
export function evaluateTargets(lanes, summary, missing, modes = MODES) {
  const verdicts = [];
  const laneIds = new Set(lanes.map((lane) => lane.id));
  const judge = (lane, value, ok) =>
    missing.has(lane) || missing.has(BASELINE)
      ? "n/a (lane missing)"
      : value === undefined
        ? "n/a (no successful run)"
        : ok
          ? "met"
          : "not met";
  for (const target of TARGETS) {
    if (!laneIds.has(target.lane)) continue;
    const runtime = lanes.find((lane) => lane.id === target.lane).client;
    for (const mode of TARGET_MODES.filter((wanted) => modes.includes(wanted))) {
      const cell = summary[target.lane]?.[mode];
      const wanted = target.ratios[mode];
      verdicts.push({
        lane: target.lane,
        runtime,
        mode,
        metric: mode,
        title: mode === "round-trips" ? "round trips" : "one-way",
        what: `≥ ${wanted}× node-ipc 14`,
        value: cell?.ratio,
        spread: [cell?.ratioMin, cell?.ratioMax],
        target: wanted,
        higher: true,
        status: judge(target.lane, cell?.ratio, cell?.ratio >= wanted),
      });
    }
    for (const mode of TARGET_MODES.filter((wanted) => modes.includes(wanted))) {
      const cell = summary[target.lane]?.[mode];
      verdicts.push({
        lane: target.lane,
        runtime,
        mode,
        metric: `cpu-${mode}`,
        title: `CPU/msg, ${mode === "round-trips" ? "round trips" : "one-way"}`,
        what: `≤ ${CPU_TARGET}× node-ipc 14's`,
        value: cell?.cpuRatio,
        spread: [cell?.cpuRatioMin, cell?.cpuRatioMax],
        target: CPU_TARGET,
        higher: false,
        status: judge(target.lane, cell?.cpuRatio, cell?.cpuRatio <= CPU_TARGET),
      });
    }
  }
  return verdicts;
}

const rate = (value) =>
  value === undefined
    ? "–"
    : value >= 1e6
      ? `${(value / 1e6).toFixed(2)} M`
      : `${(value / 1e3).toFixed(value >= 1e5 ? 0 : 1)} k`;
const mib = (kib) => (kib === undefined ? "–" : `${(kib / 1024).toFixed(1)} MiB`);
const us = (value, digits = 2) => (value === undefined ? "–" : `${value.toFixed(digits)} µs`);
const ratio = (value) => (value === undefined ? "–" : `${value.toFixed(2)}×`);
const spreadText = (spread) =>
  spread?.[0] === undefined || spread[0] === spread[1] ? "" : ` (${spread[0].toFixed(2)}–${spread[1].toFixed(2)})`;

function laneLabel(lane, peers) {
  const client = peers.get(lane.client);
  const server = peers.get(lane.server);
  const label = lane.client === lane.server ? `${client.label} → same` : `${client.label} → ${server.label}`;
  return lane.note ? `${label} *(${lane.note})*` : label;
}

function status(cell, missingReason) {
  if (missingReason) return `missing: ${missingReason}`;
  if (cell.ok === 0) return `failed: ${cell.errors[0] ?? "not run"}`;
  if (cell.errors.length) return `${cell.errors.length}/${cell.runs} runs failed: ${cell.errors[0]}`;
  return undefined;
}

function escapeCell(text) {
  return String(text).replaceAll("|", "\\|").replaceAll("\n", " ").slice(0, 300);
}

/**
 * The Markdown tables (also printed to the console). With `transport`, each title says which one
 * ("Round trips over TCP (127.0.0.1) …"); without, the titles are as they were before transports.
 */
export function markdownTables({ lanes, peers, summary, missing, verdicts, modes = MODES, transport }) {
  const out = [];
  const over = transport === undefined ? "" : ` over ${TRANSPORT_TITLES[transport]}`;
  const titles = {
    "round-trips": `Round trips${over} (64 in flight, 64-byte payload): round trips per second`,
    "one-way": `One-way stream${over} (backpressure respected): events per second`,
    latency: `Latency${over} (one in flight): microseconds per round trip`,
  };
  for (const mode of modes) {
    out.push(`### ${titles[mode]}`, "");
    if (mode === "latency") {
      out.push("| lane (client → server) | p50 | p99 | p99.9 | round trips/s | × node-ipc 14 | server peak RSS |");
      out.push("|---|---:|---:|---:|---:|---:|---:|");
    } else {
      out.push(
        "| lane (client → server) | median /s | min–max /s | × node-ipc 14 | server peak RSS | server CPU/msg | client CPU/msg | CPU/msg × node-ipc 14 |",
      );
      out.push("|---|---:|---:|---:|---:|---:|---:|---:|");
    }
    for (const lane of lanes) {
      if (lane.modes !== undefined && !lane.modes.includes(mode)) continue;
      const cell = summary[lane.id][mode];
      const problem = status(cell, missing.get(lane.id));
      const name = laneLabel(lane, peers);
      if (problem && cell.ok === 0) {
        out.push(`| ${name} | ${escapeCell(problem)} |${" |".repeat(mode === "latency" ? 5 : 6)}`);
        continue;
      }
      const note = problem ? ` (${escapeCell(problem)})` : "";
      if (mode === "latency") {
        out.push(
          `| ${name}${note} | ${us(cell.p50, 1)} | ${us(cell.p99, 1)} | ${us(cell.p999, 0)} | ${rate(cell.rate)} | ${ratio(cell.ratio)} | ${mib(cell.serverRssKiB)} |`,
        );
      } else {
        out.push(
          `| ${name}${note} | ${rate(cell.rate)} | ${rate(cell.min)}–${rate(cell.max)} | ${ratio(cell.ratio)} | ${mib(cell.serverRssKiB)} | ${us(cell.serverCpuUs)} | ${us(cell.clientCpuUs)} | ${ratio(cell.cpuRatio)} |`,
        );
      }
    }
    out.push("");
  }
  verdicts = verdicts.filter((verdict) => modes.includes(verdict.mode));
  if (verdicts.length) {
    out.push(`### Targets${over}`, "");
    out.push("| lane | target | median (min–max over rounds) | verdict |", "|---|---|---:|---|");
    for (const verdict of verdicts) {
      out.push(
        `| ${peers.get(verdict.runtime).label} | ${verdict.title} ${verdict.what} | ${ratio(verdict.value)}${spreadText(verdict.spread)} | **${verdict.status}** |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

/** The columns of the short table, in order; a column without verdicts in the run is left out. */
const SUMMARY_METRICS = [
  "round-trips",
  "one-way",
  "cpu-round-trips",
  "cpu-one-way",
  "scale-rate",
  "scale-p99",
  "scale-memory",
  "scale-refused",
];
const SUMMARY_RUNTIMES = ["ips-node20", "ips-node22", "ips-deno", "ips-bun"];

const targetText = (verdict) =>
  verdict.metric === "scale-refused" ? `${verdict.target}` : `${verdict.higher ? "≥" : "≤"} ${verdict.target}×`;

/** One cell of the short table: the figure, its spread over rounds, the target and the verdict. */
function verdictCell(verdict, showTarget) {
  if (verdict === undefined) return "–";
  const judged = verdict.status.startsWith("n/a") ? verdict.status : `**${verdict.status}**`;
  if (verdict.metric === "scale-refused") return `${judged}: ${verdict.value ?? "–"}`;
  const absolute =
    verdict.absolute === undefined
      ? ""
      : verdict.metric === "scale-p99"
        ? `${(verdict.absolute / 1000).toFixed(1)} ms = `
        : `${verdict.absolute.toFixed(1)} KiB = `;
  const target = showTarget ? `, target ${targetText(verdict)}` : "";
  return `${judged}: ${absolute}${ratio(verdict.value)}${spreadText(verdict.spread)}${target}`;
}

/**
 * The short table of a run, one per transport: a row per target, node-ipc 14's own figure (which
 * the ratios are taken against), then per ipc-streams runtime the figure, its spread over rounds,
 * the target and the verdict. `results[transport]` is `{ summary, verdicts, scale? }` (scale:
 * `{ summary, verdicts }`).
 */
export function summaryTable({ transports, results, peers }) {
  const out = [];
  for (const transport of transports) {
    const { summary, verdicts, scale } = results[transport];
    const all = [...verdicts, ...(scale?.verdicts ?? [])];
    const metrics = SUMMARY_METRICS.filter((metric) => all.some((verdict) => verdict.metric === metric));
    if (metrics.length === 0) continue;
    const runtimes = SUMMARY_RUNTIMES.filter((runtime) => all.some((verdict) => verdict.runtime === runtime));
    const titles = Object.fromEntries(all.map((verdict) => [verdict.metric, verdict.title]));
    const base = summary[BASELINE];
    const scaleBase = scale?.summary.nipc14;
    const cpu = (cell) =>
      cell?.serverCpuUs === undefined || cell?.clientCpuUs === undefined
        ? undefined
        : cell.serverCpuUs + cell.clientCpuUs;
    const baseline = {
      "round-trips": `${rate(base?.["round-trips"]?.rate)}/s`,
      "one-way": `${rate(base?.["one-way"]?.rate)}/s`,
      "cpu-round-trips": us(cpu(base?.["round-trips"])),
      "cpu-one-way": us(cpu(base?.["one-way"])),
      "scale-rate": scaleBase?.rate === undefined ? "–" : `${rate(scaleBase.rate)}/s`,
      "scale-p99": scaleBase?.p99Us === undefined ? "–" : `${(scaleBase.p99Us / 1000).toFixed(1)} ms`,
      "scale-memory": scaleBase?.perConnection === undefined ? "–" : `${scaleBase.perConnection.toFixed(1)} KiB`,
      "scale-refused": scaleBase?.refused ?? "–",
    };
    if (transports.length > 1 || transport !== "unix") out.push(`**Over ${TRANSPORT_TITLES[transport]}**`, "");
    const names = runtimes.map((runtime) => peers.get(runtime).label.replace("ipc-streams ", "").replace(/[()]/g, ""));
    out.push(`| target | node-ipc 14 | ${names.join(" | ")} |`, `|---|---:|${runtimes.map(() => "---").join("|")}|`);
    for (const metric of metrics) {
      const row = runtimes.map((runtime) =>
        all.find((verdict) => verdict.runtime === runtime && verdict.metric === metric),
      );
      // One target for every runtime goes in the row's title, else in each cell.
      const targets = new Set(row.filter(Boolean).map(targetText));
      const title = targets.size === 1 ? `${titles[metric]} (target ${[...targets][0]})` : titles[metric];
      const cells = row.map((verdict) => verdictCell(verdict, targets.size > 1));
      out.push(`| ${title} | ${baseline[metric]} | ${cells.join(" | ")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}
