#!/usr/bin/env node
/**
 * Renders the node-ipc interoperation results as a Markdown table and writes it into docs/interop.md
 * between `<!-- interop:start -->` and `<!-- interop:end -->`.
 *
 *   node scripts/interop-table.mjs
 *
 * Input: test-results/interop-*.json (or $IPC_STREAMS_RESULTS_DIR), written by the interop test
 * files in each lane (test/peers/outcomes.ts); the files of one runtime are merged. Rows are
 * node-ipc line × transport (Unix socket, TCP, TLS, UDP) × direction, columns are runtimes, a cell is passed/total scenarios; a scenario that never ran
 * counts as failed. Scenarios marked `limitation` check something a node-ipc line cannot do; they
 * count like the others and are also listed under "Known limitations". Nothing here is typed by
 * hand: every number and name comes from those files (a record without `transport` is Unix).
 *
 * docs/interop.md is rewritten only when the results differ from the ones it shows (the date line
 * aside). When it lacks the markers the table is printed and the file is left alone (exit 0). When
 * there are no result files at all it exits 1: the table would have nothing to show.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const resultsDir = process.env.IPC_STREAMS_RESULTS_DIR || join(root, "test-results");
const tablePath = join(root, "docs", "interop.md");
const START = "<!-- interop:start -->";
/** Starts the line that dates the table: the run that last changed it (see the end of this file). */
const DATED = "Results last changed by the run of";
const END = "<!-- interop:end -->";

/** Lanes in display order; any other runtime found in the results is appended. */
const LANES = [
  ["node20", "Node 20"],
  ["node22", "Node 22"],
  ["bun", "Bun"],
  ["deno", "Deno"],
];
const LINES = [
  ["9", "node-ipc-9"],
  ["10", "node-ipc-10"],
  ["12", "node-ipc-12"],
  ["14", "node-ipc-14"],
];
const MAX_LISTED_FAILURES = 30;
const DIRECTIONS = ["node-ipc client → our server", "our client → node-ipc server"];
/** Transports in display order, with their labels. */
const TRANSPORTS = [
  ["unix", "Unix socket"],
  ["tcp", "TCP"],
  ["tls", "TLS"],
  ["udp4", "UDP (udp4)"],
  ["udp6", "UDP (udp6)"],
];

const transportOf = (scenario) => scenario.transport ?? "unix";
const transportLabel = (id) => TRANSPORTS.find(([known]) => known === id)?.[1] ?? id;

/** One report per runtime: the files of one lane (one per interop test file) are merged. */
function readReports() {
  if (!existsSync(resultsDir)) return [];
  const byRuntime = new Map();
  const names = readdirSync(resultsDir)
    .filter((name) => /^interop-.+\.json$/.test(name))
    .sort();
  for (const name of names) {
    const report = JSON.parse(readFileSync(join(resultsDir, name), "utf8"));
    const merged = byRuntime.get(report.runtime);
    if (merged === undefined) {
      byRuntime.set(report.runtime, { ...report, scenarios: [...report.scenarios] });
      continue;
    }
    merged.scenarios.push(...report.scenarios);
    merged.peerNode = { ...merged.peerNode, ...report.peerNode };
    if (report.finished > merged.finished) merged.finished = report.finished;
  }
  return [...byRuntime.values()];
}

/** "node-ipc 9.2.1", "@achrinza/node-ipc 10.1.11"… from the installed package. */
function packageLabel(line, folder) {
  try {
    const manifest = JSON.parse(readFileSync(join(root, "node_modules", folder, "package.json"), "utf8"));
    return `${manifest.name} ${manifest.version}`;
  } catch {
    return `node-ipc ${line}`;
  }
}

function render(reports) {
  const byRuntime = new Map(reports.map((report) => [report.runtime, report]));
  const lanes = [...LANES];
  for (const runtime of byRuntime.keys()) if (!lanes.some(([id]) => id === runtime)) lanes.push([runtime, runtime]);

  const header = lanes.map(([id, label]) => {
    const report = byRuntime.get(id);
    return report ? `${label} (${report.runtimeVersion})` : label;
  });
  const rows = [
    `| node-ipc line | transport | direction | ${header.join(" | ")} |`,
    `|---|---|---|${lanes.map(() => "---").join("|")}|`,
  ];
  const failures = [];
  let passedAll = 0;
  let totalAll = 0;
  const transports = [...TRANSPORTS.map(([id]) => id)];
  for (const report of reports) {
    for (const s of report.scenarios) if (!transports.includes(transportOf(s))) transports.push(transportOf(s));
  }
  const recorded = (line, transport, direction) =>
    reports.some((report) =>
      report.scenarios.some((s) => s.line === line && transportOf(s) === transport && s.direction === direction),
    );
  for (const [line, folder] of LINES) {
    for (const transport of transports) {
      for (const direction of DIRECTIONS) {
        // A combination no lane has results for is left out rather than shown as "no results".
        if (!recorded(line, transport, direction)) continue;
        const cells = lanes.map(([id, label]) => {
          const report = byRuntime.get(id);
          if (!report) return "no results";
          const scenarios = report.scenarios.filter(
            (s) => s.line === line && transportOf(s) === transport && s.direction === direction,
          );
          const passed = scenarios.filter((s) => s.passed).length;
          passedAll += passed;
          totalAll += scenarios.length;
          for (const s of scenarios.filter((s) => !s.passed)) {
            failures.push(
              `${packageLabel(line, folder)}, ${label}, ${transportLabel(transport)}, ${direction}: ${s.scenario}${s.ran ? "" : " (did not run)"}`,
            );
          }
          if (scenarios.length === 0) return "no results";
          return `${passed}/${scenarios.length}${passed === scenarios.length ? "" : " ❌"}`;
        });
        rows.push(
          `| ${packageLabel(line, folder)} | ${transportLabel(transport)} | ${direction} | ${cells.join(" | ")} |`,
        );
      }
    }
  }

  const peerNodes = new Set(
    LINES.flatMap(([line]) =>
      reports
        .map((report) => report.peerNode?.[line])
        .filter(Boolean)
        .map((v) => `${line}: ${v}`),
    ),
  );
  const latest =
    reports
      .map((report) => report.finished)
      .sort()
      .at(-1) ?? "";
  const lines = [
    `Cell = scenarios passed / scenarios run for that node-ipc line, transport, direction and runtime (${passedAll}/${totalAll} in all).`,
    `Each node-ipc peer ran in its own Node process (${[...peerNodes].join(", ") || "none"}).`,
    `${DATED} ${latest.slice(0, 10)}, from \`test-results/interop-*.json\` written by the interop test files.`,
    "",
    ...rows,
    "",
  ];
  if (failures.length > 0) {
    const shown = failures.slice(0, MAX_LISTED_FAILURES).map((failure) => `- ${failure}`);
    if (failures.length > shown.length) shown.push(`- … and ${failures.length - shown.length} more`);
    lines.push("Failed scenarios:", "", ...shown, "");
  }
  /** (transport, direction) → scenario name → the node-ipc lines it runs against, in order seen. */
  const catalogue = (keep) => {
    const groups = [];
    for (const transport of transports) {
      for (const direction of DIRECTIONS) {
        const scenarios = new Map();
        for (const report of reports) {
          for (const s of report.scenarios) {
            if (transportOf(s) !== transport || s.direction !== direction || !keep(s)) continue;
            if (!scenarios.has(s.scenario)) scenarios.set(s.scenario, new Set());
            scenarios.get(s.scenario).add(s.line);
          }
        }
        if (scenarios.size > 0) groups.push({ transport, direction, scenarios });
      }
    }
    return groups;
  };
  const lineList = (lineSet) =>
    LINES.filter(([line]) => lineSet.has(line))
      .map(([line, folder]) => packageLabel(line, folder))
      .join(", ");

  const limitations = catalogue((s) => s.limitation === true);
  if (limitations.length > 0) {
    lines.push(
      "Known limitations of node-ipc lines, each checked by a scenario that passes when the line behaves as described (counted in the table):",
      "",
    );
    for (const { transport, direction, scenarios } of limitations) {
      for (const [name, lineSet] of scenarios) {
        lines.push(`- ${lineList(lineSet)} · ${transportLabel(transport)} · ${direction}: ${name}`);
      }
    }
    lines.push("");
  }

  lines.push("<details><summary>Scenarios</summary>", "");
  for (const { transport, direction, scenarios } of catalogue(() => true)) {
    lines.push(`**${transportLabel(transport)} · ${direction}**`, "");
    for (const [name, lineSet] of scenarios) {
      const only = lineSet.size === LINES.length ? "" : ` (node-ipc ${[...lineSet].join(", ")} only)`;
      lines.push(`- ${name}${only}`);
    }
    lines.push("");
  }
  lines.push("</details>");
  return lines.join("\n");
}

const reports = readReports();
if (reports.length === 0) {
  console.error(`interop-table: no interop-*.json in ${resultsDir}; run the interop suite first`);
  process.exit(1);
}
const table = render(reports);
console.log(table);

const page = existsSync(tablePath) ? readFileSync(tablePath, "utf8") : "";
const start = page.indexOf(START);
const end = page.indexOf(END);
if (start === -1 || end === -1 || end < start) {
  console.error("interop-table: docs/interop.md has no interop markers; printed only");
  process.exit(0);
}
const current = page.slice(start + START.length + 1, end - 1);
// A run whose results are the ones already shown leaves docs/interop.md untouched, date included, so that
// running the suite does not change a tracked file.
const undated = (text) =>
  text
    .split("\n")
    .filter((line) => !line.startsWith(DATED))
    .join("\n");
if (undated(current) === undated(table)) {
  console.error("interop-table: docs/interop.md already shows these results");
  process.exit(0);
}
writeFileSync(tablePath, `${page.slice(0, start + START.length)}\n${table}\n${page.slice(end)}`);
console.error(`interop-table: docs/interop.md updated from ${reports.length} result file(s)`);
