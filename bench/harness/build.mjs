// Gets the build the ipc-streams peers run from: dist/, rebuilt with `npx tsup` when older than
// src/, then copied into the run's temporary directory so that another `tsup` run (which cleans
// dist/) cannot pull it away mid-benchmark. If tsup fails (for example while a runtime adapter is
// still being written), the entries that do exist are built with esbuild, tsup's own bundler, with
// tsup's settings, and the report says so.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const RUNTIME_ENTRIES = ["node", "bun", "deno"];

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function distEntry(dist, runtime) {
  return join(dist, "runtimes", runtime, "index.js");
}

/** Which dist entries are missing or older than src/. */
function staleEntries(root) {
  const dist = join(root, "dist");
  const sourceTime = newestMtime(join(root, "src"));
  return RUNTIME_ENTRIES.filter((runtime) => {
    if (!existsSync(join(root, "src", "runtimes", runtime, "index.ts"))) return false;
    const entry = distEntry(dist, runtime);
    return !existsSync(entry) || statSync(entry).mtimeMs < sourceTime;
  });
}

/**
 * Returns `{ dir, notes }`: `dir` holds `runtimes/<runtime>/index.js` for every runtime whose
 * adapter could be built.
 */
export async function prepareBuild(root, snapshotDir, log) {
  const notes = [];
  const stale = staleEntries(root);
  if (stale.length > 0) {
    log(`build: dist/ is stale or incomplete (${stale.join(", ")}); running npx tsup`);
    const tsup = spawnSync("npx", ["--no-install", "tsup"], { cwd: root, encoding: "utf8" });
    if (tsup.status !== 0) {
      const output = `${tsup.stdout}\n${tsup.stderr}`.trim().split("\n").slice(-6).join("\n");
      notes.push(`npx tsup failed; built the existing entries with esbuild instead. tsup said:\n${output}`);
      log(`build: npx tsup failed, falling back to esbuild:\n${output}`);
      await esbuildFallback(root, snapshotDir);
      return { dir: snapshotDir, notes };
    }
    notes.push("rebuilt dist/ with npx tsup");
  } else {
    notes.push("dist/ was up to date");
  }
  cpSync(join(root, "dist"), snapshotDir, { recursive: true });
  return { dir: snapshotDir, notes };
}

async function esbuildFallback(root, outdir) {
  const { build } = await import("esbuild");
  const entryPoints = { index: join(root, "src", "index.ts") };
  for (const runtime of RUNTIME_ENTRIES) {
    const source = join(root, "src", "runtimes", runtime, "index.ts");
    if (existsSync(source)) entryPoints[`runtimes/${runtime}/index`] = source;
  }
  // The same settings as tsup.config.ts (tsup bundles with esbuild), without declarations.
  const settings = {
    outdir,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    treeShaking: true,
    external: ["bun"],
    logLevel: "silent",
  };
  try {
    await build({ ...settings, entryPoints, splitting: true });
  } catch {
    // One adapter does not build yet: build the others one by one, so their lanes still run.
    for (const [name, source] of Object.entries(entryPoints)) {
      await build({ ...settings, entryPoints: { [name]: source } }).catch(() => {});
    }
  }
}

export function builtRuntime(buildDir, runtime) {
  const entry = distEntry(buildDir, runtime);
  return existsSync(entry) ? entry : undefined;
}
