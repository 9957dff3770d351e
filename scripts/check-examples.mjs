#!/usr/bin/env node
/**
 * Fails when an export of the package's entries has no `@example` in its TSDoc. It reads what
 * `deno doc --json` sees in the four entries (the same view as `npm run docs`); a re-export is
 * checked where it is declared. `deno check --doc` (a step of scripts/test-all.mjs) then
 * type-checks the examples themselves.
 *
 *   node scripts/check-examples.mjs [entry.ts ...]   default: the four entries of the package
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const localDeno = join(root, "node_modules", ".bin", "deno");
const deno = existsSync(localDeno) ? localDeno : "deno";
const entries = process.argv.slice(2);
if (entries.length === 0) {
  entries.push("src/index.ts", "src/runtimes/node/index.ts", "src/runtimes/bun/index.ts", "src/runtimes/deno/index.ts");
}

const run = spawnSync(deno, ["doc", "--json", ...entries], {
  cwd: root,
  encoding: "utf8",
  maxBuffer: 256 * 1024 * 1024,
});
let doc;
try {
  doc = JSON.parse(run.stdout);
} catch {
  console.error(`no JSON from deno doc (exit ${run.status ?? run.signal}): ${run.stderr.trim().split("\n").at(-1)}`);
  process.exit(1);
}

/** The module → symbols map of `deno doc --json` (its format with `version` and `nodes`). */
function symbolsByFile(json) {
  return Object.fromEntries(Object.entries(json.nodes ?? {}).map(([file, node]) => [file, node.symbols ?? []]));
}

const hasExample = (declaration) => (declaration.jsDoc?.tags ?? []).some((tag) => tag.kind === "example");
const missing = [];
let checked = 0;
for (const [file, symbols] of Object.entries(symbolsByFile(doc))) {
  for (const symbol of symbols) {
    // A re-export (`export * from`, `export { x }`) is a reference: its declaration is checked itself.
    const declarations = symbol.declarations.filter((declaration) => declaration.kind !== "reference");
    if (declarations.length === 0) continue;
    checked++;
    if (declarations.some(hasExample)) continue;
    const at = declarations[0].location;
    const where = at ? `${relative(root, fileURLToPath(at.filename))}:${at.line}` : file;
    missing.push(`${where}: ${declarations[0].kind} ${symbol.name} has no @example`);
  }
}

for (const line of missing) console.log(line);
if (checked === 0) {
  console.log("no exported symbols found (did deno doc change its JSON?)");
  process.exit(1);
}
console.log(`${checked} exported symbols, ${missing.length} without an @example`);
process.exit(missing.length === 0 ? 0 : 1);
