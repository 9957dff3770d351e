/**
 * ipc-streams for Bun: `serve()` and `connect()` over Bun's native sockets (`Bun.listen`,
 * `Bun.connect`), plus the whole runtime-free API.
 *
 * @module
 */
import { type ConnectFunction, createApi, type ReconnectFunction, type ServeFunction } from "../../index.ts";
import { bunRuntime } from "./runtime.ts";

export * from "../../index.ts";
export { bunRuntime as runtime };

const api = createApi(bunRuntime);

/** {@inheritDoc Api.connect} */
export const connect: ConnectFunction = api.connect;

/** {@inheritDoc Api.serve} */
export const serve: ServeFunction = api.serve;

/** {@inheritDoc Api.reconnect} */
export const reconnect: ReconnectFunction = api.reconnect;
