// `--profile`: runs the ipc-streams Node 22 lane (and the node-ipc 14 baseline for comparison) with
// `node --cpu-prof` on both peers, then says where the CPU time goes per message: the share of
// each group of code in the profile, scaled by the CPU time per message measured in the same run.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { countSyscalls, isReadSyscall, runJob } from "./job.mjs";

/** Self time (µs) per profile node. */
function selfTimes(profile) {
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const delta = timeDeltas[i + 1] ?? 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + delta);
  }
  return self;
}

/** Which part of the stack a frame belongs to. */
export function groupOf({ functionName, url }) {
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "garbage collection";
  if (functionName === "(program)") return "native (V8/libuv, unattributed)";
  if (url === "" && /^(writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString)$/.test(functionName)) {
    return "socket write system calls (Node native)";
  }
  if (url === "") return `builtin: ${functionName || "(anonymous)"}`;
  if (url.includes("/bench/peers/")) return "benchmark workload";
  if (/\/dist\/|ipc-bench-.*\/dist\//.test(url)) return "ipc-streams";
  if (url.includes("node-ipc")) return "node-ipc";
  if (url.includes("node_modules")) return "node-ipc dependencies";
  if (url.startsWith("node:internal/webstreams")) return "Node web streams";
  if (url.startsWith("node:internal/process/task_queues") || url.startsWith("node:internal/process/promises")) {
    return "Node microtask/promise queue";
  }
  if (url.startsWith("node:internal/encoding") || url.startsWith("node:internal/util")) return "Node encoding/util";
  if (/^node:(net|stream|internal\/(streams|stream_base_commons|net))/.test(url))
    return "Node net/streams (socket I/O)";
  if (url.startsWith("node:")) return `Node other (${url.replace(/^node:(internal\/)?/, "")})`;
  return url;
}

function summarizeProfile(file) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const self = selfTimes(profile);
  const byGroup = new Map();
  const byFunction = new Map();
  let busy = 0;
  for (const node of profile.nodes) {
    const time = self.get(node.id) ?? 0;
    if (time === 0) continue;
    const group = groupOf(node.callFrame);
    if (group === "idle") continue;
    busy += time;
    byGroup.set(group, (byGroup.get(group) ?? 0) + time);
    const { functionName, url, lineNumber } = node.callFrame;
    const name =
      `${functionName || "(anonymous)"} ${url ? `${url.split("/").slice(-2).join("/")}:${lineNumber + 1}` : ""}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]).map(([name, time]) => ({ name, share: time / busy }));
  return { busyMs: busy / 1000, groups: sorted(byGroup), functions: sorted(byFunction) };
}

function newestProfile(dir) {
  const files = readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"));
  if (files.length !== 1) throw new Error(`expected one profile in ${dir}, found ${files.length}`);
  return join(dir, files[0]);
}

export async function profile({ peers, work, options, log, root }) {
  const duration = options.duration ?? 3000;
  const warmup = options.warmup ?? 500;
  const lines = [];
  /** The short form: per lane, mode and side, the CPU time per message and its biggest parts. */
  const short = ["| peers | mode | side | CPU/msg | the biggest parts, µs per message |", "|---|---|---|---:|---|"];
  const lanes = [
    ["ips-node22", "ipc-streams on Node 22"],
    ["nipc14", "node-ipc 14 on Node 22"],
    ["ips-bun", "ipc-streams on Bun"],
  ].filter(([id]) => options.lanes === undefined || options.lanes.includes(id));
  // Deno has no CPU-profile flag (only V8's --prof log), so it is not profiled here.
  const flags = (runtime, dir) =>
    runtime === "bun" ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : ["--cpu-prof", "--cpu-prof-dir", dir];
  for (const [id, title] of lanes) {
    const peer = peers.get(id);
    if (peer.missing) {
      log(`profile: ${title} missing: ${peer.missing}`);
      continue;
    }
    for (const mode of options.modes?.filter((m) => m !== "latency") ?? ["round-trips", "one-way"]) {
      const serverDir = join(work, `prof-${id}-${mode}-server`);
      const clientDir = join(work, `prof-${id}-${mode}-client`);
      const result = await runJob({
        client: peer,
        server: peer,
        mode,
        warmup,
        duration,
        cwd: root,
        serverFlags: flags(peer.runtime, serverDir),
        clientFlags: flags(peer.runtime, clientDir),
      });
      log(`profile: ${title} ${mode}: ${Math.round(result.rate).toLocaleString("en-US")}/s under the profiler`);
      lines.push(`#### ${title}, ${mode} (${Math.round(result.rate / 1000)} k/s under the profiler)`, "");
      for (const [side, dir, cpuUs] of [
        ["server", serverDir, result.serverCpuUs],
        ["client", clientDir, result.clientCpuUs],
      ]) {
        const summary = summarizeProfile(newestProfile(dir));
        const parts = summary.groups
          .slice(0, 5)
          .map(
            (group) =>
              `${group.name} ${cpuUs === undefined ? `${(group.share * 100).toFixed(0)} %` : (group.share * cpuUs).toFixed(2)}`,
          )
          .join(" · ");
        short.push(
          `| ${title} | ${mode} | ${side} | ${cpuUs?.toFixed(2) ?? "?"} µs | ${parts.replaceAll("|", "\\|")} |`,
        );
        lines.push(
          `${side}: ${cpuUs?.toFixed(2) ?? "?"} µs CPU per message in the measured window; share of the profile's busy time (whole process life):`,
          "",
          "| where | share | ≈ µs/msg |",
          "|---|---:|---:|",
        );
        for (const group of summary.groups.slice(0, 10)) {
          lines.push(
            `| ${group.name} | ${(group.share * 100).toFixed(1)} % | ${cpuUs === undefined ? "?" : (group.share * cpuUs).toFixed(2)} |`,
          );
        }
        lines.push(
          "",
          `<details><summary>${side}: top functions by self time</summary>`,
          "",
          "| function | share |",
          "|---|---:|",
        );
        for (const fn of summary.functions.slice(0, 15)) {
          lines.push(`| \`${fn.name.replaceAll("|", "\\|")}\` | ${(fn.share * 100).toFixed(1)} % |`);
        }
        lines.push("", "</details>", "");
      }
    }
  }
  lines.push(...(await syscallTable({ peers, options, log, root, duration, warmup })));
  const markdown = lines.join("\n");
  console.log(markdown);
  return { markdown, summary: short.join("\n") };
}

/**
 * Without a profiler: each peer's CPU share (CPU seconds per wall second, 1.0 = one core busy) and
 * its system calls per message over the measured window, counted by `perf stat`. It shows how
 * writes are batched and whether the two processes run in parallel or take turns.
 */
async function syscallTable({ peers, options, log, root, duration, warmup }) {
  const onMeasure = countSyscalls();
  const lines = [
    "#### CPU share and system calls per message (no profiler)",
    "",
    onMeasure
      ? "CPU share = CPU seconds per wall-clock second over the measured window (1.00 = one core busy). Reads (read/recvfrom/recvmsg) and writes (write/writev/sendto/sendmsg) per 1000 messages, from `perf stat` on the syscall tracepoints."
      : "perf is not available: system calls not counted.",
    "",
    "| lane | mode | rate | server CPU share | server reads / writes per 1000 msgs | client CPU share | client reads / writes per 1000 msgs |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  const ids = ["nipc14", "ips-node22", "ips-bun", "ips-deno"].filter(
    (id) => options.lanes === undefined || options.lanes.includes(id),
  );
  for (const id of ids) {
    const peer = peers.get(id);
    if (peer.missing) continue;
    for (const mode of options.modes?.filter((m) => m !== "latency") ?? ["round-trips", "one-way"]) {
      let result;
      try {
        result = await runJob({ client: peer, server: peer, mode, warmup, duration, cwd: root, onMeasure });
      } catch (error) {
        lines.push(`| ${peer.label} | ${mode} | failed: ${String(error.message).split("\n")[0]} | | | | |`);
        continue;
      }
      log(`syscalls: ${peer.label} ${mode}: ${Math.round(result.rate).toLocaleString("en-US")}/s`);
      const per = (side) => {
        const counts = result.watched?.[side];
        if (!counts) return "–";
        const k = 1000 / result.messages;
        let reads = 0;
        let writes = 0;
        for (const [name, count] of Object.entries(counts)) {
          if (isReadSyscall(name)) reads += count;
          else writes += count;
        }
        return `${(reads * k).toFixed(1)} / ${(writes * k).toFixed(1)}`;
      };
      lines.push(
        `| ${peer.label} | ${mode} | ${Math.round(result.rate / 1000)} k/s | ${result.serverCpuShare?.toFixed(2) ?? "–"} | ${per("server")} | ${result.clientCpuShare?.toFixed(2) ?? "–"} | ${per("client")} |`,
      );
    }
  }
  lines.push("");
  return lines;
}
