/**
 * ipc-streams for Deno: `serve()`, `connect()` and `reconnect()` over `Deno.listen`/`Deno.connect`
 * for Unix sockets and TCP, `node:tls` for TLS and `node:dgram` for UDP, plus the whole
 * runtime-free API. Unix sockets need `--allow-read --allow-write --allow-net`; the default socket
 * root (neither `socketRoot` nor `path` given) also `--allow-env` and `--allow-sys=uid`; TCP, TLS
 * and UDP need `--allow-net`.
 *
 * @module
 */
import { type ConnectFunction, createApi, type ReconnectFunction, type ServeFunction } from "../../index.ts";
import { denoRuntime } from "./runtime.ts";

export * from "../../index.ts";
export { denoRuntime as runtime };

const api = createApi(denoRuntime);

/**
 * Connects to a server by `id` or `path` (a Unix socket), or by `port` and `host` (TCP, TLS with
 * `tls`, UDP with `transport`); resolves with the {@link Connection}. See {@link Api.connect}.
 *
 * @example
 * ```ts
 * import { connect } from "ipc-streams/deno";
 *
 * const connection = await connect({ id: "world" });
 * await connection.emit("hello", { from: "client" });
 * await connection.close();
 * ```
 */
export const connect: ConnectFunction = api.connect;

/**
 * Serves on a Unix socket named by `id` or `path`, or on a `port` (TCP, TLS with `tls`, UDP with
 * `transport`); resolves with the {@link Server}. See {@link Api.serve}.
 *
 * @example
 * ```ts
 * import { serve } from "ipc-streams/deno";
 *
 * const server = await serve({ id: "world" });
 * for await (const connection of server.connections) {
 *   connection.readable.pipeTo(connection.writable).catch(() => connection.destroy()); // echo
 * }
 * ```
 */
export const serve: ServeFunction = api.serve;

/**
 * Connections to one server, one after the other: each read closes the previous connection and
 * connects again, retrying while the server is away. See {@link Api.reconnect}.
 *
 * @example
 * ```ts
 * import { reconnect } from "ipc-streams/deno";
 *
 * for await (const connection of reconnect({ id: "world", retry: 1000 })) {
 *   await connection.emit("hello", { from: "client" });
 *   for await (const message of connection.readable) console.log(message);
 * }
 * ```
 */
export const reconnect: ReconnectFunction = api.reconnect;
