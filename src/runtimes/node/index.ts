/**
 * ipc-streams for Node.js: `serve()` and `connect()` over `node:net` Unix sockets, plus the whole
 * runtime-free API.
 *
 * @module
 */
import { type ConnectFunction, createApi, type ReconnectFunction, type ServeFunction } from "../../index.ts";
import { nodeRuntime } from "./runtime.ts";

export * from "../../index.ts";
export { nodeRuntime as runtime };

const api = createApi(nodeRuntime);

/** {@inheritDoc Api.connect} */
export const connect: ConnectFunction = api.connect;

/** {@inheritDoc Api.serve} */
export const serve: ServeFunction = api.serve;

/** {@inheritDoc Api.reconnect} */
export const reconnect: ReconnectFunction = api.reconnect;
