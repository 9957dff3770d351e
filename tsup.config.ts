import { defineConfig } from "tsup";

const library = {
  index: "src/index.ts",
  "runtimes/node/index": "src/runtimes/node/index.ts",
  "runtimes/bun/index": "src/runtimes/bun/index.ts",
  "runtimes/deno/index": "src/runtimes/deno/index.ts",
};

export default defineConfig({
  // The `ipc-streams` command (package.json `bin`) loads the runtime entries it needs as chunks.
  entry: { ...library, cli: "src/cli/bin.ts" },
  format: ["esm"],
  target: "es2022",
  dts: { entry: library },
  clean: true,
  splitting: true,
  sourcemap: false,
  treeshake: true,
  external: ["bun"],
  // Keep `node:` specifiers as written (tsup strips them by default); Deno needs the prefix.
  removeNodeProtocol: false,
});
