import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "runtimes/node/index": "src/runtimes/node/index.ts",
    "runtimes/bun/index": "src/runtimes/bun/index.ts",
    "runtimes/deno/index": "src/runtimes/deno/index.ts",
  },
  format: ["esm"],
  target: "es2022",
  dts: true,
  clean: true,
  splitting: true,
  sourcemap: false,
  treeshake: true,
  external: ["bun"],
  // Keep `node:` specifiers as written (tsup strips them by default); Deno needs the prefix.
  removeNodeProtocol: false,
});
