/**
 * ipc-streams for Deno: `serve()` and `connect()` over `Deno.listen`/`Deno.connect`, plus the whole
 * runtime-free API. Unix sockets need `--allow-read --allow-write --allow-net`; the default socket
 * root (neither `socketRoot` nor `path` given) also `--allow-env` and `--allow-sys=uid`.
 *
 * @module
 */
import { type ConnectFunction, createApi, type ReconnectFunction, type ServeFunction } from "../../index.ts";
import { denoRuntime } from "./runtime.ts";

export * from "../../index.ts";
export { denoRuntime as runtime };

const api = createApi(denoRuntime);

/** {@inheritDoc Api.connect} */
export const connect: ConnectFunction = api.connect;

/** {@inheritDoc Api.serve} */
export const serve: ServeFunction = api.serve;

/** {@inheritDoc Api.reconnect} */
export const reconnect: ReconnectFunction = api.reconnect;
