/**
 * ipc-streams for Node.js: `serve()` and `connect()` over `node:net` Unix sockets, plus the whole
 * runtime-free API.
 *
 * @module
 */
import { type ConnectFunction, connectWith, type ServeFunction, serveWith } from "../../api.ts";
import { nodeRuntime } from "./runtime.ts";

export * from "../../index.ts";
export { nodeRuntime as runtime };

/**
 * Connects to a server by `id` (socket path `socketRoot + appspace + id`) or by `path`.
 * Resolves with the {@link Connection} once connected; rejects with `IpcError`
 * `ERR_IPC_NO_SERVER` when nobody listens there.
 *
 * @example
 * ```ts
 * import { connect } from "ipc-streams";
 *
 * const connection = await connect({ id: "world" });
 * await connection.emit("hello", { name: "client" });
 * ```
 */
export const connect: ConnectFunction = (options: Parameters<ConnectFunction>[0]) =>
  connectWith(nodeRuntime, options) as never;

/**
 * Serves on a Unix socket named by `id` (socket path `socketRoot + appspace + id`) or by `path`.
 * Resolves with the {@link Server} once it is bound and accepting.
 *
 * @example
 * ```ts
 * import { serve } from "ipc-streams";
 *
 * const server = await serve({ id: "world" });
 * for await (const connection of server.connections) {
 *   connection.readable.pipeTo(connection.writable); // echo
 * }
 * ```
 */
export const serve: ServeFunction = (options: Parameters<ServeFunction>[0]) => serveWith(nodeRuntime, options) as never;
