#!/usr/bin/env node
/**
 * The `ipc-streams` command: picks the adapter of the runtime running it (Bun, Deno or Node),
 * wires the process's stdin, stdout, stderr, files and signals to `main`, and exits with its code.
 * Everything here is `node:` built-ins, which Node, Bun and Deno all provide.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { parseArgs } from "node:util";
import type { Api } from "../connection/api.ts";
import { main } from "./main.ts";

const api: Api =
  "Bun" in globalThis
    ? await import("../runtimes/bun/index.ts")
    : "Deno" in globalThis
      ? await import("../runtimes/deno/index.ts")
      : await import("../runtimes/node/index.ts");

/** Stdin as a byte stream, read only as fast as the command pulls (and not at all until it does). */
function stdin(): ReadableStream<Uint8Array> {
  let chunks: AsyncIterator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        chunks ??= process.stdin[Symbol.asyncIterator]();
        const { done, value } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel() {
        process.stdin.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}

/** Stdout; a write resolves once the runtime has flushed it, and fails once stdout is closed. */
const stdout = new WritableStream<Uint8Array>({
  write: (chunk) =>
    new Promise<void>((resolve, reject) => {
      process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()));
    }),
});
// A closed pipe is reported to the write that hit it; without a listener it would also crash us.
process.stdout.on("error", () => {});

const interrupted = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    // A second signal while closing does not wait any longer.
    if (interrupted.signal.aborted) process.exit(130);
    interrupted.abort(signal);
  });
}

const code = await main(process.argv.slice(2), {
  api,
  parseArgs,
  stdin,
  stdout,
  stderr: (line) => process.stderr.write(`${line}\n`),
  readFile: (path) => readFile(path),
  signal: interrupted.signal,
});
process.exit(code);
