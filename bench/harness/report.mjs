// Turns the raw per-round measurements into medians, ratios and Markdown tables.
import { BASELINE, MODES, TARGET_MODES, TARGETS } from "./peers.mjs";
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
      const ratios = rounds.map((run, round) => {
        const base = runs[BASELINE]?.[mode]?.[round]?.result;
        return run?.result && base ? run.result.rate / base.rate : undefined;
      });
      const rates = ok.map((result) => result.rate);
      summary[lane.id][mode] = {
        runs: rounds.length,
        ok: ok.length,
        errors,
        rate: median(rates),
        min: rates.length ? Math.min(...rates) : undefined,
        max: rates.length ? Math.max(...rates) : undefined,
        ratio: median(ratios),
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

/** Target verdicts: ratio targets per mode, then the RSS target. */
export function evaluateTargets(lanes, summary, missing) {
  const verdicts = [];
  const laneIds = new Set(lanes.map((lane) => lane.id));
  const baseline = summary[BASELINE];
  for (const target of TARGETS) {
    if (!laneIds.has(target.lane)) continue;
    for (const mode of TARGET_MODES) {
      const cell = summary[target.lane]?.[mode];
      const status =
        missing.has(target.lane) || missing.has(BASELINE)
          ? "n/a (lane missing)"
          : cell?.ratio === undefined
            ? "n/a (no successful run)"
            : cell.ratio >= target.ratio
              ? "met"
              : "not met";
      verdicts.push({
        lane: target.lane,
        what: `${mode} ≥ ${target.ratio}× node-ipc 14`,
        value: cell?.ratio,
        status,
        kind: "ratio",
      });
    }
    for (const mode of TARGET_MODES) {
      const cell = summary[target.lane]?.[mode];
      const base = baseline?.[mode]?.serverRssKiB;
      const status =
        missing.has(target.lane) || missing.has(BASELINE)
          ? "n/a (lane missing)"
          : cell?.serverRssKiB === undefined || base === undefined
            ? "n/a (no RSS figure)"
            : cell.serverRssKiB <= base
              ? "met"
              : "not met";
      verdicts.push({
        lane: target.lane,
        what: `server peak RSS ≤ node-ipc 14's (${mode})`,
        value: cell?.serverRssKiB,
        base,
        status,
        kind: "rss",
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
        "| lane (client → server) | median /s | min–max /s | × node-ipc 14 | server peak RSS | server CPU/msg | client CPU/msg |",
      );
      out.push("|---|---:|---:|---:|---:|---:|---:|");
    }
    for (const lane of lanes) {
      if (lane.modes !== undefined && !lane.modes.includes(mode)) continue;
      const cell = summary[lane.id][mode];
      const problem = status(cell, missing.get(lane.id));
      const name = laneLabel(lane, peers);
      if (problem && cell.ok === 0) {
        out.push(`| ${name} | ${escapeCell(problem)} |${" |".repeat(5)}`);
        continue;
      }
      const note = problem ? ` (${escapeCell(problem)})` : "";
      if (mode === "latency") {
        out.push(
          `| ${name}${note} | ${us(cell.p50, 1)} | ${us(cell.p99, 1)} | ${us(cell.p999, 0)} | ${rate(cell.rate)} | ${ratio(cell.ratio)} | ${mib(cell.serverRssKiB)} |`,
        );
      } else {
        out.push(
          `| ${name}${note} | ${rate(cell.rate)} | ${rate(cell.min)}–${rate(cell.max)} | ${ratio(cell.ratio)} | ${mib(cell.serverRssKiB)} | ${us(cell.serverCpuUs)} | ${us(cell.clientCpuUs)} |`,
        );
      }
    }
    out.push("");
  }
  verdicts = verdicts.filter((verdict) => modes.some((mode) => verdict.what.includes(mode)));
  if (verdicts.length) {
    out.push(`### Targets (informational)${over}`, "");
    out.push("| lane | target | median | verdict |", "|---|---|---:|---|");
    for (const verdict of verdicts) {
      const lane = lanes.find((candidate) => candidate.id === verdict.lane);
      const value = verdict.kind === "ratio" ? ratio(verdict.value) : `${mib(verdict.value)} vs ${mib(verdict.base)}`;
      out.push(`| ${peers.get(lane.client).label} | ${verdict.what} | ${value} | **${verdict.status}** |`);
    }
    out.push("");
  }
  return out.join("\n");
}
