#!/usr/bin/env node
/**
 * `npm run demo`: builds the package, then runs the hello/world pair of examples/ (server.mjs and
 * client.mjs, which import "ipc-streams" as a user would) on Node, on Bun and on Deno, and finally
 * across runtimes, printing what each side said. Exits 1 if any run fails.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules", ".bin");
const runtimes = {
  node: [process.execPath],
  bun: [join(bin, "bun")],
  deno: [join(bin, "deno"), "run", "-A"],
};
const STEP_TIMEOUT_MS = 60_000;

/**
 * Starts a process. `lines` collects its output lines (stdout and stderr), also appended to
 * `transcript` in arrival order; `exited` resolves with its exit code.
 */
function start(argv, transcript = []) {
  const [file, ...args] = argv;
  const child = spawn(file, args, {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  const lines = [];
  let wake;
  let partial = "";
  const onText = (text) => {
    partial += text;
    const parts = partial.split("\n");
    partial = parts.pop();
    lines.push(...parts);
    transcript.push(...parts);
    wake?.();
  };
  child.stdout.setEncoding("utf8").on("data", onText);
  child.stderr.setEncoding("utf8").on("data", onText);
  const exited = new Promise((resolve) => {
    child.on("error", (error) => {
      lines.push(String(error));
      resolve(1);
    });
    child.on("close", (code, signal) => {
      if (partial) {
        lines.push(partial);
        transcript.push(partial);
      }
      wake?.();
      resolve(code ?? signal);
    });
  });
  /** Resolves with the first line matching `pattern`, waiting for output as it comes. */
  const waitFor = async (pattern) => {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (let seen = 0; ; ) {
      for (; seen < lines.length; seen++) if (pattern.test(lines[seen])) return lines[seen];
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`${file} ${args.join(" ")} never printed ${pattern}:\n${lines.join("\n")}`);
      }
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, 1000);
      });
    }
  };
  return { child, lines, exited, waitFor };
}

async function build() {
  const began = Date.now();
  const tsup = start([process.execPath, join(root, "node_modules", "tsup", "dist", "cli-default.js")]);
  const code = await tsup.exited;
  if (code !== 0) throw new Error(`build failed:\n${tsup.lines.join("\n")}`);
  console.log(`built dist/ with tsup in ${((Date.now() - began) / 1000).toFixed(1)}s\n`);
}

/** Runs examples/server.mjs in one runtime and examples/client.mjs in another; prints both sides. */
async function pair(serverRuntime, clientRuntime) {
  const transcript = [];
  const server = start([...runtimes[serverRuntime], "examples/server.mjs"], transcript);
  try {
    const listening = await server.waitFor(/^server: listening/);
    console.log(
      `${serverRuntime} server, ${clientRuntime} client (${listening.replace(/^server: listening on /, "")}):`,
    );
    const client = start([...runtimes[clientRuntime], "examples/client.mjs"], transcript);
    const clientCode = await client.exited;
    await server.waitFor(/^server: got hello/);
    server.child.kill("SIGINT");
    const serverCode = await server.exited;
    // The exchange itself; the server's start and close lines are checked, not shown.
    for (const line of transcript) if (!/^server: (listening|closed)/.test(line)) console.log(`  ${line}`);
    if (clientCode !== 0 || serverCode !== 0 || !server.lines.includes("server: closed")) {
      throw new Error(`exit codes: server ${serverCode}, client ${clientCode}\n${transcript.join("\n")}`);
    }
  } finally {
    server.child.kill("SIGKILL");
  }
}

try {
  await build();
  for (const runtime of Object.keys(runtimes)) await pair(runtime, runtime);
  await pair("node", "deno");
  await pair("deno", "bun");
  await pair("bun", "node");
  console.log("\nall runs exchanged hello/world");
} catch (error) {
  console.error(`\ndemo failed: ${error.message}`);
  process.exit(1);
}
