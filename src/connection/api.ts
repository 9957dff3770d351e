import { type CodecOptions, createCodec } from "../codec/codec.ts";
import { IpcError } from "../errors.ts";
import { Channel, DEFAULT_HALF_OPEN_TIMEOUT } from "../transport/channel.ts";
import type { Runtime, TransportSocket } from "../transport/contract.ts";
import type { SocketPathOptions } from "../unix/paths.ts";
import { bindSocket, prepareSocketDirectory, resolveSocketPath } from "../unix/socket-file.ts";
import { Connection } from "./connection.ts";
import { DEFAULT_MAX_CONNECTIONS, Server } from "./server.ts";

/** The byte chunks of raw mode. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Options both `connect()` and `serve()` take for each connection. */
export interface ConnectionOptions extends CodecOptions {
  /**
   * Once the peer has ended its side (half-closed, closed, exited), our side is ended too when
   * nothing was sent for this many milliseconds, and the connection is released. So a peer that
   * is gone is noticed on any transport, even one that cannot tell a half-closed peer from a gone
   * one. Sending keeps it open; `Infinity` keeps it open until closed.
   * @default 2000
   */
  readonly halfOpenTimeout?: number;
}

/** Options of `connect()`. */
export interface ConnectOptions extends SocketPathOptions, ConnectionOptions {
  /**
   * Cancels the connection attempt (rejecting with `ERR_IPC_ABORTED`); aborting after it
   * succeeded destroys the connection at once (see `Connection.destroy`).
   * @default undefined
   */
  readonly signal?: AbortSignal;
}

/** Options of `serve()`. */
export interface ServeOptions extends SocketPathOptions, ConnectionOptions {
  /**
   * The most live connections; past it a new peer is accepted and closed at once, as node-ipc does.
   * @default 100 (node-ipc's default)
   */
  readonly maxConnections?: number;
  /**
   * Make the socket file readable by everyone (node-ipc's `readableAll`).
   * @default false (owner only)
   */
  readonly readableAll?: boolean;
  /**
   * Make the socket file writable by everyone, so any user can connect (node-ipc's `writableAll`).
   * @default false (owner only)
   */
  readonly writableAll?: boolean;
  /**
   * Cancels serving (rejecting with `ERR_IPC_ABORTED`, leaving no socket file); aborting after
   * the server started destroys it at once (see `Server.destroy`).
   * @default undefined
   */
  readonly signal?: AbortSignal;
}

/** `connect()`: raw mode gives byte chunks, framed mode JSON messages (typed by the caller). */
export interface ConnectFunction {
  (options: ConnectOptions & { readonly raw: true }): Promise<Connection<Bytes, Uint8Array>>;
  <In = unknown, Out = In>(options: ConnectOptions): Promise<Connection<In, Out>>;
}

/** `serve()`: raw mode gives byte chunks, framed mode JSON messages (typed by the caller). */
export interface ServeFunction {
  (options: ServeOptions & { readonly raw: true }): Promise<Server<Bytes, Uint8Array>>;
  <In = unknown, Out = In>(options: ServeOptions): Promise<Server<In, Out>>;
}

/** The functions a runtime entry exports, made by {@link createApi}. */
export interface Api {
  /**
   * Connects to a server by `id` (socket path `socketRoot + appspace + id`) or by `path`.
   * Resolves with the {@link Connection} once connected; rejects with `IpcError`
   * `ERR_IPC_NO_SERVER` when nobody listens there, and with `ERR_IPC_INVALID_OPTION`, before
   * anything is opened, for an option that cannot work.
   *
   * @example
   * ```ts
   * import { connect } from "ipc-streams";
   *
   * const connection = await connect({ id: "world" });
   * await connection.emit("hello", { name: "client" });
   * await connection.close();
   * ```
   */
  readonly connect: ConnectFunction;
  /**
   * Serves on a Unix socket named by `id` (socket path `socketRoot + appspace + id`) or by `path`.
   * Resolves with the {@link Server} once it is bound and accepting. Every option is checked
   * first (`ERR_IPC_INVALID_OPTION`), before any file or socket is made.
   *
   * @example
   * ```ts
   * import { serve } from "ipc-streams";
   *
   * const server = await serve({ id: "world" });
   * for await (const connection of server.connections) {
   *   connection.readable.pipeTo(connection.writable).catch(() => connection.destroy()); // echo
   * }
   * ```
   */
  readonly serve: ServeFunction;
}

/**
 * `serve()` and `connect()` on a runtime adapter. Every option is checked before anything is
 * opened or created.
 *
 * @param runtime the adapter (`runtime` of `ipc-streams/node`, `/bun` or `/deno`)
 */
export function createApi(runtime: Runtime): Api {
  const connect = async <In, Out>(options: ConnectOptions): Promise<Connection<In, Out>> => {
    const settings = checkConnectionOptions(options);
    const path = resolveSocketPath(runtime, options);
    const { signal } = settings;
    throwIfAborted(signal);
    const socket = await untilAborted(runtime.connect({ transport: "unix", path }), signal, (late) => late.close());
    const connection = new Connection<In, Out>(channelFor(runtime, socket, path, settings), path, options);
    destroyOnAbort(signal, (reason) => connection.destroy(reason), connection.closed);
    return connection;
  };

  // Each step is local and quick, so an abort is acted on between steps rather than raced: when
  // `serve()` rejects with ERR_IPC_ABORTED, nothing it made is left (no listener, no socket file).
  const serve = async <In, Out>(options: ServeOptions): Promise<Server<In, Out>> => {
    const settings = checkConnectionOptions(options);
    const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!(Number.isSafeInteger(maxConnections) && maxConnections > 0)) {
      throw new IpcError("ERR_IPC_INVALID_OPTION", "maxConnections must be a positive integer", {
        limit: Number(maxConnections),
      });
    }
    for (const name of ["readableAll", "writableAll"] as const) checkBoolean(options[name], name);
    const path = resolveSocketPath(runtime, options);
    const { signal } = settings;
    const check = () => throwIfAborted(signal);
    check();
    await prepareSocketDirectory(runtime, options);
    check();

    let server: Server<In, Out> | undefined;
    const waiting: TransportSocket[] = [];
    const mode = 0o600 | (options.readableAll ? 0o044 : 0) | (options.writableAll ? 0o022 : 0);
    const refuseWaiting = () => {
      for (const socket of waiting.splice(0)) socket.close();
    };
    let bound: Awaited<ReturnType<typeof bindSocket>>;
    try {
      bound = await bindSocket(
        runtime,
        path,
        mode,
        (socket) => (server ? server.accept(socket) : waiting.push(socket)),
        check,
      );
    } catch (error) {
      refuseWaiting();
      throw error;
    }
    if (signal?.aborted) {
      refuseWaiting();
      await bound.unbind().catch(() => {});
      throw abortedError(signal);
    }
    server = new Server<In, Out>({
      path,
      maxConnections,
      connection: (socket) => new Connection<In, Out>(channelFor(runtime, socket, path, settings), path, options),
      unbind: () => bound.unbind(),
    });
    for (const socket of waiting) server.accept(socket);
    const started = server;
    destroyOnAbort(signal, (reason) => void started.destroy(reason), started.closed);
    return server;
  };

  return { connect: connect as ConnectFunction, serve: serve as ServeFunction };
}

/** The options every connection uses, checked. */
interface ConnectionSettings {
  readonly halfOpenTimeout: number;
  readonly signal: AbortSignal | undefined;
}

/** Checks the options that concern each connection; throws `ERR_IPC_INVALID_OPTION`. */
function checkConnectionOptions(options: ConnectOptions | ServeOptions): ConnectionSettings {
  if (options === null || typeof options !== "object") {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "options must be an object");
  }
  // The codec checks delimiter, maxFrameSize and validate; it is made again per connection.
  createCodec(options);
  checkBoolean(options.raw, "raw");
  const halfOpenTimeout = options.halfOpenTimeout ?? DEFAULT_HALF_OPEN_TIMEOUT;
  if (!(typeof halfOpenTimeout === "number" && halfOpenTimeout >= 0 && !Number.isNaN(halfOpenTimeout))) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "halfOpenTimeout must be a number of milliseconds, or Infinity");
  }
  const { signal } = options;
  if (signal !== undefined && !(typeof signal === "object" && signal !== null && "aborted" in signal)) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "signal must be an AbortSignal");
  }
  return { halfOpenTimeout, signal };
}

function checkBoolean(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new IpcError("ERR_IPC_INVALID_OPTION", `${name} must be true or false`);
  }
}

function channelFor(runtime: Runtime, socket: TransportSocket, path: string, settings: ConnectionSettings): Channel {
  return new Channel(socket, { path, afterTick: runtime.afterTick, halfOpenTimeout: settings.halfOpenTimeout });
}

function abortedError(signal: AbortSignal): IpcError {
  return new IpcError("ERR_IPC_ABORTED", "the operation was aborted", { cause: signal.reason });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/** Waits for `work`, or rejects with `ERR_IPC_ABORTED` when `signal` aborts first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, discard: (late: T) => unknown): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(abortedError(signal));
      work.then(discard, () => {});
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Destroys on abort; the listener goes once `closed` settles, so a long-lived signal does not collect them. */
function destroyOnAbort(
  signal: AbortSignal | undefined,
  destroy: (reason: unknown) => void,
  closed: Promise<void>,
): void {
  if (signal === undefined) return;
  const onAbort = () => destroy(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const forget = () => signal.removeEventListener("abort", onAbort);
  closed.then(forget, forget);
}
