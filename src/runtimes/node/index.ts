/**
 * ipc-streams for Node.js: `serve()` and `connect()` over `node:net` Unix sockets, plus the whole
 * runtime-free API.
 *
 * @module
 */
import { type Api, createApi } from "../../index.ts";
import { nodeRuntime } from "./runtime.ts";

export * from "../../index.ts";
export { nodeRuntime as runtime };

/** `connect()` and `serve()` on this runtime (documented on {@link Api}). */
export const { connect, serve }: Api = createApi(nodeRuntime);
