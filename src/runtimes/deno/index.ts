/**
 * ipc-streams for Deno: `serve()` and `connect()` over `Deno.listen`/`Deno.connect`, plus the whole
 * runtime-free API. Unix sockets need `--allow-read --allow-write --allow-net`; the default socket
 * root (neither `socketRoot` nor `path` given) also `--allow-env` and `--allow-sys=uid`.
 *
 * @module
 */
import { type Api, createApi } from "../../index.ts";
import { denoRuntime } from "./runtime.ts";

export * from "../../index.ts";
export { denoRuntime as runtime };

/** `connect()` and `serve()` on this runtime (documented on {@link Api}). */
export const { connect, serve }: Api = createApi(denoRuntime);
