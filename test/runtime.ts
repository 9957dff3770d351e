/**
 * The adapter under test: the one of the runtime executing the suite. Every socket test imports
 * `serve`/`connect` from here, so the same file proves the same behaviour on Node, Bun and Deno.
 */
import type * as Api from "../src/runtimes/node/index.ts";

type RuntimeName = "node" | "bun" | "deno";

export const runtimeName: RuntimeName = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

async function load(name: RuntimeName): Promise<typeof Api> {
  switch (name) {
    case "bun":
      return (await import("../src/runtimes/bun/index.ts")) as unknown as typeof Api;
    case "deno":
      return (await import("../src/runtimes/deno/index.ts")) as unknown as typeof Api;
    default:
      return await import("../src/runtimes/node/index.ts");
  }
}

export const ipc: typeof Api = await load(runtimeName);
