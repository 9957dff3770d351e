/**
 * ipc-streams for Deno: `serve()` and `connect()` over `Deno.listen`/`Deno.connect` Unix
 * sockets, plus the whole runtime-free API.
 *
 * Permissions: `--allow-read --allow-write --allow-net` for the sockets; the default socket root
 * (when neither `socketRoot` nor `path` is given) also needs `--allow-env` and `--allow-sys=uid`.
 *
 * @module
 */
import { type ConnectFunction, connectWith, type ServeFunction, serveWith } from "../../api.ts";
import { denoRuntime } from "./runtime.ts";

export * from "../../index.ts";
export { denoRuntime as runtime };

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
  connectWith(denoRuntime, options) as never;

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
export const serve: ServeFunction = (options: Parameters<ServeFunction>[0]) => serveWith(denoRuntime, options) as never;
