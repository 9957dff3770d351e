/**
 * What `import … from "ipc-streams"` means when deno.doc-check.json type-checks the code
 * blocks of README.md and docs/: the types of a runtime entry, without loading an adapter, so that
 * a block is checked against the public API alone.
 */
import type { ConnectFunction, ReconnectFunction, Runtime, ServeFunction } from "../src/index.ts";

export * from "../src/index.ts";
export declare const serve: ServeFunction;
export declare const connect: ConnectFunction;
export declare const reconnect: ReconnectFunction;
export declare const runtime: Runtime;
