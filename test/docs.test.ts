/**
 * The code blocks of README.md and docs/*.md marked runnable (info string `js runnable`) run on
 * this lane's runtime as a child process, importing this runtime's entry in place of
 * "ipc-streams", and must exit 0 without writing to stderr. The other `ts`/`js` blocks are
 * type-checked by `deno check --doc-only` (a static check of scripts/test-all.mjs).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { repositoryRoot, spawnChild } from "./fixtures/children.ts";
import { nodeBundle } from "./fixtures/node-bundle.ts";
import { runtimeName } from "./runtime.ts";

const RUN_MS = 20_000;

interface Block {
  readonly file: string;
  readonly line: number;
  readonly code: string;
}

/** Every ```js runnable block of one Markdown file, with the line its fence opens on. */
function runnableBlocks(file: string): Block[] {
  const lines = readFileSync(join(repositoryRoot, file), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let at = 0; at < lines.length; at++) {
    if (!/^```js runnable\s*$/.test(lines[at] ?? "")) continue;
    const end = lines.findIndex((text, index) => index > at && text.startsWith("```"));
    if (end === -1) throw new Error(`${file}:${at + 1}: unclosed code block`);
    blocks.push({ file, line: at + 1, code: lines.slice(at + 1, end).join("\n") });
    at = end;
  }
  return blocks;
}

const pages = [
  "README.md",
  ...readdirSync(join(repositoryRoot, "docs")).flatMap((name) => (name.endsWith(".md") ? [`docs/${name}`] : [])),
];
const blocks = pages.flatMap(runnableBlocks);

let entry = "";
let scratch = "";

beforeAll(async () => {
  entry =
    runtimeName === "node"
      ? pathToFileURL(await nodeBundle()).href
      : pathToFileURL(join(repositoryRoot, "src", "runtimes", runtimeName, "index.ts")).href;
  scratch = mkdtempSync(join(tmpdir(), "ipc-docs-"));
}, 120_000);

afterAll(() => {
  if (scratch !== "") rmSync(scratch, { recursive: true, force: true });
});

describe(`docs on ${runtimeName}: runnable code blocks`, () => {
  test("README.md has runnable blocks", () => {
    expect(blocks.filter((block) => block.file === "README.md").length).toBeGreaterThan(0);
  });

  for (const block of blocks) {
    test(
      `${block.file}:${block.line} runs and exits 0`,
      async () => {
        const script = block.code.replace(
          /from "ipc-streams(?:\/(?:node|bun|deno|core))?"/g,
          `from ${JSON.stringify(entry)}`,
        );
        const directory = mkdtempSync(join(scratch, "block-"));
        const file = join(directory, "block.mjs");
        writeFileSync(file, script);
        // Its own default socket root: $XDG_RUNTIME_DIR/node-ipc/.
        const child = spawnChild(runtimeName, file, [], { XDG_RUNTIME_DIR: directory });
        const timer = setTimeout(() => void child.kill(), RUN_MS);
        try {
          const exit = await child.exited;
          expect({ exit, stderr: child.stderr() }).toEqual({ exit: 0, stderr: "" });
        } finally {
          clearTimeout(timer);
          await child.kill();
        }
      },
      RUN_MS + 5_000,
    );
  }
});
