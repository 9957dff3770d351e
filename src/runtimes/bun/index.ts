/**
 * ipc-streams for Bun: `serve()` and `connect()` over Bun's native sockets (`Bun.listen`,
 * `Bun.connect`), plus the whole runtime-free API.
 *
 * @module
 */
import { type Api, createApi } from "../../index.ts";
import { bunRuntime } from "./runtime.ts";

export * from "../../index.ts";
export { bunRuntime as runtime };

/** `connect()` and `serve()` on this runtime (documented on {@link Api}). */
export const { connect, serve }: Api = createApi(bunRuntime);
