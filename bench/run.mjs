#!/usr/bin/env node
// Socket benchmark: ipc-streams on Node 20, Node 22, Bun and Deno, side by side with node-ipc 14
// and 9 and a C oracle, over Unix sockets, TCP or TLS, then the scale lane (1,000 connections on one
// server). The targets are those of issue 17; docs/benchmarks.md says how everything is measured.
//
//   npm run bench                      full run (5 rounds, 1 s warm-up + 3 s measured per run, then
//                                      the scale lane, 5 rounds)
//   npm run bench -- --quick           1 round, 0.3 s + 0.7 s, scale lane 1 round (1.5 min per transport)
//   options: --rounds N --warmup MS --duration MS --lanes a,b --modes m,n
//            --transport unix|tcp|tls, or a list (unix,tcp,tls): one set of tables per transport,
//            ratios to node-ipc 14 over the same transport (TCP and TLS on 127.0.0.1, port 0;
//            TLS server-authenticated with the certificates of test/fixtures/tls/)
//            --write (the summary block of BENCHMARKS.md, the tables block of docs/benchmarks.md
//            and benchmarks.svg; with --scale, the scale block of docs/benchmarks.md)
//            --markdown (print the Markdown only) --json FILE
//            --build DIR (run the ipc-streams peers from DIR, a dist/-like tree, for A/B experiments)
//            --scale (the scale lane only: 1,000 connections from 4 driver processes to one server,
//            memory per idle connection, refused connects, aggregate round trips and p99, over
//            each --transport) --no-scale (a full run without the scale lane)
//            --profile (instead of a benchmark: CPU profiles of ipc-streams on Node 22 and Bun and of
//            node-ipc 14, and system calls per message; with --write the profile blocks)
//            --ab DIR (instead: the ipc-streams lanes from build A = DIR and build B = the build, in
//            alternating rounds; reports the median of rate(B)/rate(A) per lane and mode)
//            --idle (instead: server RSS per idle connection at 1,000 connections, 2 rounds by
//            default; --lanes picks servers, --send one|none what each connection sends)
// Every run writes its raw results and an SVG chart of the ratios to .bench-results/.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { abCompare, abLanes } from "./harness/ab.mjs";
import { prepareBuild } from "./harness/build.mjs";
import { ratioChart } from "./harness/chart.mjs";
import { idleMemory } from "./harness/idle.mjs";
import { runJob } from "./harness/job.mjs";
import { BASELINE, buildOracle, describePeers, LANES, MODES, TARGETS } from "./harness/peers.mjs";
import { profile } from "./harness/profile.mjs";
import { evaluateTargets, markdownTables, summarize, summaryTable } from "./harness/report.mjs";
import {
  evaluateScale,
  runScale,
  SCALE_METHOD,
  SCALE_TRANSPORTS,
  scaleTable,
  summarizeScale,
} from "./harness/scale.mjs";
import { TRANSPORTS, tlsFiles } from "./harness/transport.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where --write puts the short results and the full tables, and the chart a full run draws. */
const SUMMARY_FILE = join(root, "BENCHMARKS.md");
const DETAIL_FILE = join(root, "docs", "benchmarks.md");
const CHART_FILE = join(root, "benchmarks.svg");

function parseOptions(argv) {
  const options = {
    quick: false,
    write: false,
    markdown: false,
    profile: false,
    idle: false,
    scale: undefined,
    send: "one",
    transport: "unix",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    if (arg === "--quick") options.quick = true;
    else if (arg === "--write") options.write = true;
    else if (arg === "--markdown") options.markdown = true;
    else if (arg === "--profile") options.profile = true;
    else if (arg === "--rounds") options.rounds = Number(value());
    else if (arg === "--warmup") options.warmup = Number(value());
    else if (arg === "--duration") options.duration = Number(value());
    else if (arg === "--lanes") options.lanes = value().replaceAll(":", ">").split(",");
    else if (arg === "--modes") options.modes = value().split(",");
    else if (arg === "--transport") options.transport = value();
    else if (arg === "--json") options.json = value();
    else if (arg === "--build") options.build = value();
    else if (arg === "--ab") options.ab = value();
    else if (arg === "--idle") options.idle = true;
    else if (arg === "--scale") options.scale = "only";
    else if (arg === "--no-scale") options.scale = false;
    else if (arg === "--send") options.send = value();
    else if (arg === "--help" || arg === "-h") usage();
    else usage(`unknown option ${arg}`);
  }
  options.transports = [...new Set(options.transport.split(","))];
  for (const transport of options.transports) {
    if (!TRANSPORTS.includes(transport)) usage(`unknown transport ${transport} (${TRANSPORTS.join(", ")})`);
  }
  if ((options.profile || options.idle) && options.transport !== "unix") {
    usage(`--${options.profile ? "profile" : "idle"} runs over Unix sockets only (leave out --transport)`);
  }
  if (options.ab && options.transports.length > 1) usage("--ab takes one transport");
  if (!["one", "none"].includes(options.send)) usage("--send must be one or none");
  options.scale ??= true;
  options.rounds ??= options.idle ? 2 : options.quick ? 1 : 5;
  options.warmup ??= options.quick ? 300 : 1000;
  options.duration ??= options.quick ? 700 : 3000;
  for (const key of ["rounds", "warmup", "duration"]) {
    if (!(Number.isInteger(options[key]) && options[key] > 0)) usage(`--${key} must be a positive integer`);
  }
  options.modes ??= MODES;
  for (const mode of options.modes) if (!MODES.includes(mode)) usage(`unknown mode ${mode} (${MODES.join(", ")})`);
  return options;
}

function usage(problem) {
  const lines = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n");
  // The comment at the top, after the #! line.
  const end = lines.findIndex((line, index) => index > 0 && !line.startsWith("//"));
  const text = lines
    .slice(1, end)
    .join("\n")
    .replace(/^\/\/ ?/gm, "");
  if (problem) {
    console.error(`bench: ${problem}\n`);
    console.error(text);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

const options = parseOptions(process.argv.slice(2));
const log = options.markdown ? (...args) => console.error(...args) : (...args) => console.log(...args);
const work = mkdtempSync(join(tmpdir(), "ipc-bench-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

const startedAt = new Date();
// The source the build was made from, as it is now (before the build is snapshotted).
const git = (...args) => (spawnSync("git", args, { cwd: root, encoding: "utf8" }).stdout ?? "").trim();
const commit = git("rev-parse", "--short", "HEAD") || "(no git)";
const dirty = git("status", "--porcelain", "--", "src");
const loadStart = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const build = options.build
  ? { dir: options.build, notes: [`ipc-streams peers run from ${options.build} (--build)`] }
  : await prepareBuild(root, join(work, "dist"), log);
const oracle = buildOracle(root, work);
const { peers, versions } = describePeers(root, { build: build.dir, oracle });
// The TLS certificate files, copied into the run's directory.
const tls = options.transports.includes("tls") ? tlsFiles(root, join(work, "tls")) : undefined;
if (tls?.missing) usage(`--transport tls: ${tls.missing}`);

if (options.profile) {
  const { markdown, summary } = await profile({ root, peers, work, options, log });
  log(`\nWhere the time goes per message (the short form):\n\n${summary}\n`);
  const note =
    `Generated by \`node bench/run.mjs ${process.argv.slice(2).join(" ")}\` on ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC ` +
    `(load average ${loadStart} at start), ipc-streams ${commit}${dirty ? " + uncommitted src/ changes" : ""}: ` +
    `\`--cpu-prof\` on both peers (Node 22, Bun), ${options.duration ?? 3000} ms measured.`;
  if (options.write) {
    writeSection(SUMMARY_FILE, `${note}\n\n${summary}`, "profile-summary");
    writeSection(DETAIL_FILE, `${note}\n\n${markdown}`, "sockets-profile");
    log("BENCHMARKS.md: profile-summary block updated; docs/benchmarks.md: sockets-profile block updated");
  }
  process.exit(0);
}

if (options.ab || options.idle) {
  const kind = options.ab ? "sockets-ab" : "sockets-idle";
  const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  let result;
  let what;
  if (options.ab) {
    // Without --lanes, the same-runtime lanes that have targets; --lanes picks any ipc-streams lane.
    const wanted = options.lanes ?? TARGETS.map((target) => target.lane);
    const abRun = abLanes(LANES, peers).filter((lane) =>
      wanted.some((id) => lane.id === id || lane.client === id || lane.server === id),
    );
    const builds = {
      A: { dir: options.ab, peers: describePeers(root, { build: options.ab, oracle }).peers },
      B: { dir: build.dir, peers },
    };
    log(
      `ab: A = ${options.ab}, B = ${build.dir}; ${abRun.length} lanes × ${options.modes.length} modes × ${options.rounds} rounds`,
    );
    result = await abCompare({
      root,
      lanes: abRun,
      builds,
      options,
      log,
      network: { transport: options.transport, tls },
    });
    what =
      `A = \`${options.ab}\`, B = ${options.build ? `\`${options.build}\`` : `${commit}${dirty ? " + uncommitted src/ changes" : ""} (${build.notes[0].split("\n")[0]})`}; ` +
      (options.transport === "unix" ? "" : `transport ${options.transport}; `) +
      `${options.rounds} round(s), ${options.warmup} ms warm-up + ${options.duration} ms measured per run, A and B back to back ` +
      "in fresh processes (A first in odd rounds, B first in even ones), jobs in alternating order. " +
      "B/A is the median of per-round rate ratios; CPU/msg B/A the same for server + client CPU time per message " +
      "(below 1: B costs less).";
  } else {
    result = await idleMemory({ root, peers, options, log });
    what =
      `ipc-streams ${commit}${dirty ? " + uncommitted src/ changes" : ""} (${build.notes[0].split("\n")[0]}); ` +
      `${options.rounds} round(s); 1,000 connections from one Node ${versions.node20} node:net driver, ` +
      `each sending ${options.send === "one" ? "one small event" : "nothing"}; VmRSS after full GCs, before and after.`;
  }
  const minutes = ((Date.now() - startedAt) / 60000).toFixed(1);
  const markdown =
    `Generated by \`node bench/run.mjs ${process.argv.slice(2).join(" ")}\` on ` +
    `${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC (${minutes} min; load average ${loadStart} at start, ` +
    `${load()} at end): ${what}\n\n${result.markdown}\n`;
  if (options.markdown) console.log(markdown);
  else log(`\n${markdown}`);
  saveRaw(kind, { startedAt, options, versions, build: build.notes, runs: result.runs });
  if (options.write) {
    writeSection(DETAIL_FILE, markdown, kind);
    log(`docs/benchmarks.md: ${kind} block updated`);
  }
  process.exit(0);
}

const scaleOnly = options.scale === "only";
// The scale lane alone runs no throughput lanes; otherwise --lanes picks lanes (the baseline always).
const lanes = scaleOnly
  ? []
  : LANES.filter(
      (lane) =>
        options.lanes === undefined ||
        lane.id === BASELINE ||
        options.lanes.some((wanted) => lane.id === wanted || lane.client === wanted || lane.server === wanted),
    );
const { transports } = options;
const multiple = transports.length > 1;
const scaleTransports = options.scale ? transports.filter((transport) => SCALE_TRANSPORTS.includes(transport)) : [];
/** Per transport, the lanes that cannot run and why: a missing peer, or one without that transport. */
const missing = {};
for (const transport of transports) {
  missing[transport] = new Map();
  for (const lane of lanes) {
    const reasons = [
      ...new Set(
        [lane.client, lane.server].flatMap((id) => [peers.get(id).missing, peers.get(id).unsupported?.(transport)]),
      ),
    ].filter(Boolean);
    if (reasons.length) missing[transport].set(lane.id, reasons.join("; "));
  }
}

log(
  `bench: ${lanes.length} lanes × ${options.modes.length} modes × ${options.rounds} round(s), ` +
    `warm-up ${options.warmup} ms + ${options.duration} ms measured, transport ${transports.join(", ")}` +
    (scaleTransports.length
      ? `; then the scale lane, ${options.rounds} round(s) over ${scaleTransports.join(", ")}`
      : ""),
);
for (const note of build.notes) log(`build: ${note.split("\n")[0]}`);
for (const transport of transports) {
  for (const [id, reason] of missing[transport])
    log(`missing lane ${id}${multiple ? ` (${transport})` : ""}: ${reason}`);
}

// Jobs alternate direction each round, so slow drift (thermal, other load) spreads evenly. Each
// round runs every transport, so each transport's ratios compare runs close in time.
const runs = Object.fromEntries(transports.map((transport) => [transport, {}]));
const jobs = transports.flatMap((transport) =>
  lanes
    .filter((lane) => !missing[transport].has(lane.id))
    .flatMap((lane) =>
      options.modes.filter((mode) => lane.modes?.includes(mode) ?? true).map((mode) => ({ transport, lane, mode })),
    ),
);
for (let round = 0; jobs.length > 0 && round < options.rounds; round++) {
  const order = round % 2 === 0 ? jobs : [...jobs].reverse();
  for (const { transport, lane, mode } of order) {
    const started = performance.now();
    let run;
    try {
      run = {
        result: await runJob({
          client: peers.get(lane.client),
          server: peers.get(lane.server),
          mode,
          warmup: options.warmup,
          duration: options.duration,
          cwd: root,
          transport,
          tls,
        }),
      };
    } catch (error) {
      run = { error: error.message.split("\n")[0] };
    }
    runs[transport][lane.id] ??= {};
    runs[transport][lane.id][mode] ??= [];
    runs[transport][lane.id][mode][round] = run;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const what = run.result ? `${Math.round(run.result.rate).toLocaleString("en-US")}/s` : `FAILED ${run.error}`;
    const where = multiple ? `${transport.padEnd(5)} ` : "";
    log(`round ${round + 1}/${options.rounds} ${where}${lane.id.padEnd(24)} ${mode.padEnd(11)} ${what} (${seconds} s)`);
  }
}

const scaleRuns = scaleTransports.length
  ? await runScale({
      root,
      peers,
      transports: scaleTransports,
      rounds: options.rounds,
      wanted: options.lanes,
      tls,
      log,
    })
  : {};

const results = {};
for (const transport of transports) {
  const summary = summarize(lanes, Object.fromEntries(lanes.map((lane) => [lane.id, runs[transport][lane.id] ?? {}])));
  results[transport] = { summary, verdicts: evaluateTargets(lanes, summary, missing[transport], options.modes) };
  if (scaleRuns[transport]) {
    const scaleSummary = summarizeScale(scaleRuns[transport]);
    results[transport].scale = { summary: scaleSummary, verdicts: evaluateScale(scaleSummary) };
  }
}
const finishedAt = new Date();
const loadEnd = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const kernel = (spawnSync("uname", ["-r"], { encoding: "utf8" }).stdout ?? "").trim();
const minutes = ((finishedAt - startedAt) / 60000).toFixed(1);
const command = `node bench/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`;
const when = `${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`;
const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Linux ${kernel}; load average ${loadStart} at start, ${loadEnd} at end`;
const versionLine =
  `ipc-streams ${commit}${dirty ? " + uncommitted src/ changes" : ""} (${build.notes.map((note) => note.split("\n")[0]).join("; ")}), ` +
  `Node ${versions.node20 ?? "–"} and ${versions.node22 ?? "–"}, Bun ${versions.bun ?? "–"}, Deno ${versions.deno ?? "–"}, ` +
  `node-ipc ${versions.nodeIpc14 ?? "–"} and ${versions.nodeIpc9 ?? "–"}, oracle ${versions.gcc ?? "–"}`;

const header = [
  `Generated by \`${command}\` on ${when} (${minutes} min): ` +
    (lanes.length
      ? `${options.rounds} round(s) × ${options.modes.length} mode(s), each run in fresh processes with ${options.warmup} ms warm-up and ${options.duration} ms measured, lanes in alternating order; ` +
        (multiple ? `transports ${transports.join(", ")}, each in every round.` : `transport ${transports[0]}.`)
      : "") +
    (scaleTransports.length
      ? ` Scale lane: ${options.rounds} round(s) over ${scaleTransports.join(", ")}, servers in alternating order; ${SCALE_METHOD}`
      : "") +
    (transports.some((transport) => transport !== "unix")
      ? " TCP and TLS run on 127.0.0.1, each server on a free port (port 0; node-ipc, which cannot listen on port 0, on a port its peer probes first)."
      : "") +
    (tls && lanes.length
      ? " TLS is server-authenticated: the server presents test/fixtures/tls/server.pem, the client verifies it against ca.pem and sends no certificate (node-ipc: `config.tls` with `public`/`private` on the server, `trustedConnections` on the client)."
      : ""),
  "",
  `Machine: ${machine}.`,
  "",
  `Versions: ${versionLine}.`,
  "",
  "Rates are medians over rounds; × node-ipc 14 is the median of per-round ratios to node-ipc 14 → node-ipc 14 in the same round" +
    (transports.length > 1 || transports[0] !== "unix" ? " over the same transport" : "") +
    ". Peak RSS is the server's VmHWM (reported, not a target); CPU/msg is utime+stime (from /proc) over the measured window divided by messages.",
  "",
].join("\n");
const tables = transports.map((transport) =>
  [
    lanes.length
      ? markdownTables({
          lanes,
          peers,
          summary: results[transport].summary,
          missing: missing[transport],
          verdicts: results[transport].verdicts,
          modes: options.modes,
          // Over Unix sockets alone the titles stay as they were; otherwise each says its transport.
          transport: multiple || transport !== "unix" ? transport : undefined,
        })
      : "",
    scaleRuns[transport]
      ? scaleTable({ summary: results[transport].scale.summary, runs: scaleRuns[transport], peers, transport })
      : "",
  ]
    .filter(Boolean)
    .join("\n"),
);
const markdown = `${header}\n${tables.join("\n")}`;
const summary = summaryTable({ transports, results, peers });

if (options.markdown) console.log(`${markdown}\n### Targets of issue 17\n\n${summary}`);
else log(`\n${markdown}\n### Targets of issue 17\n\n${summary}`);

const kind = `${scaleOnly ? "scale" : "sockets"}-${transports.join("-")}`;
const raw = {
  startedAt,
  finishedAt,
  options,
  versions,
  build: build.notes,
  lanes,
  transports,
  missing: Object.fromEntries(transports.map((transport) => [transport, [...missing[transport]]])),
  runs,
  scaleRuns,
  results,
};
const rawFile = saveRaw(kind, raw);
const caption = `${command} on ${when}, ipc-streams ${commit}${dirty ? " + uncommitted src/ changes" : ""}; ${cpus().length} cores, load average ${loadStart} → ${loadEnd}`;
const chart = ratioChart({
  groups: transports.map((transport) => ({
    transport,
    verdicts: [...results[transport].verdicts, ...(results[transport].scale?.verdicts ?? [])],
  })),
  peers,
  caption,
});
const chartFile = rawFile.replace(/\.json$/, ".svg");
writeFileSync(chartFile, chart);
log(`chart: ${chartFile}`);

if (options.write) {
  if (scaleOnly) {
    writeSection(DETAIL_FILE, markdown, "sockets-scale");
    log("docs/benchmarks.md: sockets-scale block updated");
  } else {
    const short = [
      `Generated by \`${command}\` on ${when} (${minutes} min): ${options.rounds} round(s), ${options.warmup} ms warm-up + ` +
        `${options.duration} ms measured per run${options.quick ? " (a quick run: it shows that the harness works, not where the targets stand)" : ""}; ` +
        "in brackets, the lowest and highest per-round ratio. " +
        `To repeat it: \`npm run bench --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}\`.`,
      "",
      `Machine: ${machine}. Versions: ${versionLine}.`,
      "",
      summary,
      "![Ratios to node-ipc 14 and the targets](benchmarks.svg)",
      "",
      "Every lane, mode and figure of this run: [docs/benchmarks.md](docs/benchmarks.md#tables-of-the-latest-run).",
    ].join("\n");
    writeSection(SUMMARY_FILE, short, "summary");
    writeSection(DETAIL_FILE, markdown, "sockets");
    writeFileSync(CHART_FILE, chart);
    log("BENCHMARKS.md: summary block updated; docs/benchmarks.md: sockets block updated; benchmarks.svg written");
  }
}

/** Writes a run's raw results to --json FILE or .bench-results/ (git-ignored); returns the file. */
function saveRaw(kind, raw) {
  const resultsDir = join(root, ".bench-results");
  mkdirSync(resultsDir, { recursive: true });
  const file = options.json ?? join(resultsDir, `${kind}-${startedAt.toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(file, JSON.stringify(raw, null, 2));
  log(`raw results: ${file}`);
  return file;
}

/**
 * Replaces the generated block `name` of `file` (between `<!-- name:begin … -->` and
 * `<!-- name:end -->`), keeping everything else as it is; a block not there yet goes at the end.
 */
function writeSection(file, body, name) {
  const begin = `<!-- ${name}:begin (generated by bench/run.mjs --write; do not edit by hand) -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const from = text.indexOf(`<!-- ${name}:begin`);
  const to = text.indexOf(end);
  if (from !== -1 && to > from) text = text.slice(0, from) + block + text.slice(to + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}
