import { type CodecOptions, createCodec } from "../codec/codec.ts";
import { toDelimiter } from "../codec/delimiter.ts";
import { IpcError } from "../errors.ts";
import { datagramTarget, isDatagram, isNetwork, type NetworkOptions, networkAddress } from "../net/options.ts";
import { describeAddress, pathOf } from "../transport/address.ts";
import { Channel, DEFAULT_HALF_OPEN_TIMEOUT } from "../transport/channel.ts";
import type { Address, Runtime, TransportSocket, UdpAddress, UnixAddress } from "../transport/contract.ts";
import {
  connectDatagrams,
  type DatagramChannelOptions,
  type DatagramPeers,
  serveDatagrams,
} from "../transport/datagram.ts";
import type { SocketPathOptions } from "../unix/paths.ts";
import { bindSocket, prepareSocketDirectory, resolveSocketPath } from "../unix/socket-file.ts";
import { Connection } from "./connection.ts";
import { type ReconnectFunction, type ReconnectOptions, reconnecting } from "./reconnect.ts";
import { DEFAULT_MAX_CONNECTIONS, Server, type ServerAddress } from "./server.ts";

/**
 * How long `connect()` waits for a connection (and its TLS handshake) by default, in ms.
 *
 * @example
 * ```ts
 * import { connect, DEFAULT_CONNECT_TIMEOUT } from "ipc-streams";
 *
 * // A server known to be slow to accept: wait three times as long as by default.
 * const connection = await connect({ port: 8000, connectTimeout: 3 * DEFAULT_CONNECT_TIMEOUT });
 * ```
 */
export const DEFAULT_CONNECT_TIMEOUT = 20_000;

/**
 * The byte chunks of raw mode.
 *
 * @example
 * ```ts
 * import { type Bytes, connect } from "ipc-streams";
 *
 * const connection = await connect({ id: "world", raw: true });
 * for await (const chunk of connection.readable) {
 *   const bytes: Bytes = chunk; // whatever the OS delivered, no framing
 *   console.log(bytes.byteLength);
 * }
 * ```
 */
export type Bytes = Uint8Array<ArrayBuffer>;

/**
 * Options both `connect()` and `serve()` take for each connection.
 *
 * @example
 * ```ts
 * import { type ConnectionOptions, connect, serve } from "ipc-streams";
 *
 * // What both sides of one protocol agree on, shared by the server and its clients.
 * const protocol: ConnectionOptions = { delimiter: "\n", maxFrameSize: 64 * 1024, halfOpenTimeout: 5000 };
 * const server = await serve({ id: "lines", ...protocol });
 * const client = await connect({ id: "lines", ...protocol });
 * ```
 */
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

/**
 * Options of `connect()`: a Unix socket by `id` or `path`, or a TCP server by `port` (and
 * `host`), TLS with `tls`.
 *
 * @example
 * ```ts
 * import { type ConnectOptions, connect } from "ipc-streams";
 *
 * const options: ConnectOptions = { id: "world", connectTimeout: 5000, signal: AbortSignal.timeout(10_000) };
 * const connection = await connect(options);
 * ```
 */
export interface ConnectOptions extends SocketPathOptions, NetworkOptions, ConnectionOptions {
  /**
   * Gives up a connection attempt (and its TLS handshake) after this many milliseconds, rejecting
   * with `ERR_IPC_CONNECT_TIMEOUT`; `Infinity` waits as long as the OS does.
   * @default 20000
   */
  readonly connectTimeout?: number;
  /**
   * node-ipc's `sync` client mode: a message (through `emit` or `writable`) leaves only once a
   * message from the peer arrived after the previous one left. A message arrives when the
   * connection decodes it, which it does as `readable` is read (one message ahead), so read it.
   * Sends resolve in order; the messages still waiting when no reply can come any more (the
   * connection closes or fails, the peer ends its side, reading stops) reject with `ERR_IPC_CLOSED`
   * (or the connection's failure).
   * @default false
   */
  readonly sync?: boolean;
  /**
   * Cancels the connection attempt (rejecting with `ERR_IPC_ABORTED`); aborting after it
   * succeeded destroys the connection at once (see `Connection.destroy`).
   * @default undefined
   */
  readonly signal?: AbortSignal;
}

/**
 * Options of `serve()`: a Unix socket by `id` or `path`, or a TCP port (and `host`), TLS with
 * `tls` (which then needs `cert` and `key`).
 *
 * @example
 * ```ts
 * import { type ServeOptions, serve } from "ipc-streams";
 *
 * const options: ServeOptions = { id: "world", maxConnections: 10, validate: true };
 * const server = await serve(options);
 * ```
 */
export interface ServeOptions extends SocketPathOptions, NetworkOptions, ConnectionOptions {
  /**
   * The most live connections; past it a new peer is accepted and closed at once, as node-ipc does.
   * @default 100 (node-ipc's default)
   */
  readonly maxConnections?: number;
  /**
   * Unix sockets only: make the socket file readable by everyone (node-ipc's `readableAll`).
   * @default false (owner only)
   */
  readonly readableAll?: boolean;
  /**
   * Unix sockets only: make the socket file writable by everyone, so any user can connect
   * (node-ipc's `writableAll`).
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

/**
 * `connect()`: raw mode gives byte chunks, framed mode JSON messages (typed by the caller).
 *
 * @example
 * ```ts
 * import { type ConnectFunction, connect, type EventOf } from "ipc-streams";
 *
 * type In = EventOf<{ world: { to: string } }>;
 * type Out = EventOf<{ hello: { from: string } }>;
 * const open: ConnectFunction = connect;
 * const connection = await open<In, Out>({ id: "world" }); // typed messages both ways
 * await connection.emit("hello", { from: "client" });
 * ```
 */
export interface ConnectFunction {
  (options: ConnectOptions & { readonly raw: true }): Promise<Connection<Bytes, Uint8Array>>;
  <In = unknown, Out = In>(options: ConnectOptions): Promise<Connection<In, Out>>;
}

/**
 * `serve()`: raw mode gives byte chunks, framed mode JSON messages (typed by the caller).
 *
 * @example
 * ```ts
 * import { type EventOf, type ServeFunction, serve } from "ipc-streams";
 *
 * type Hello = EventOf<{ hello: { from: string } }>;
 * const listen: ServeFunction = serve;
 * const server = await listen<Hello>({ id: "world" }); // connections of Hello messages both ways
 * ```
 */
export interface ServeFunction {
  (options: ServeOptions & { readonly raw: true }): Promise<Server<Bytes, Uint8Array>>;
  <In = unknown, Out = In>(options: ServeOptions): Promise<Server<In, Out>>;
}

/**
 * The functions a runtime entry exports, made by {@link createApi}.
 *
 * @example
 * ```ts
 * import { type Api, createApi } from "ipc-streams";
 * import { runtime } from "ipc-streams/node";
 *
 * const api: Api = createApi(runtime);
 * const server = await api.serve({ id: "world" });
 * const client = await api.connect({ id: "world" });
 * await client.close();
 * await server.close();
 * ```
 */
export interface Api {
  /**
   * Connects to a server by `id` (socket path `socketRoot + appspace + id`) or by `path`, or over
   * TCP by `port` and `host` (TLS with `tls`). Resolves with the {@link Connection} once connected
   * (on TLS, once the server's certificate verified); rejects with `IpcError` `ERR_IPC_NO_SERVER`
   * when nobody listens there, `ERR_IPC_TLS` when the handshake fails, `ERR_IPC_CONNECT_TIMEOUT`
   * after `connectTimeout`, and with `ERR_IPC_INVALID_OPTION`, before anything is opened, for an
   * option that cannot work.
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
   * Serves on a Unix socket named by `id` (socket path `socketRoot + appspace + id`) or by `path`,
   * or on a TCP `port` and `host` (TLS with `tls`). Resolves with the {@link Server} once it is
   * bound and accepting. Every option is checked first (`ERR_IPC_INVALID_OPTION`), before any
   * file or socket is made.
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
  /**
   * Connections to one server, one after the other, as node-ipc's client retries: each read of
   * the stream closes the connection the read before gave (waiting until it is closed), then
   * connects, retrying every `retry` ms (growing with `backoff`) while the failure is one a retry
   * can get past (`ERR_IPC_NO_SERVER`, `ERR_IPC_CONNECTION_RESET`, `ERR_IPC_CONNECT_TIMEOUT`).
   * Nothing connects ahead of a read. The stream errors with the failure after `maxRetries + 1`
   * failures in a row, or at once with one no retry can help (an invalid option, a path,
   * permission or TLS problem). Cancelling it (or `break` out of `for await`) and aborting
   * `signal` stop at once: no timer or attempt is left, the live connection is closed. Messages
   * are never carried over: a send on a connection that ended rejects; send them again on the
   * next one. Throws `ERR_IPC_INVALID_OPTION` synchronously for an invalid `retry`, `maxRetries`,
   * `backoff` or `signal`; `connect`'s own options are checked by the first attempt.
   *
   * @example
   * ```ts
   * import { reconnect } from "ipc-streams";
   *
   * for await (const connection of reconnect({ id: "world" })) {
   *   await connection.emit("hello", { from: "client" });
   *   for await (const message of connection.readable) console.log(message);
   * } // each time the server goes away, the loop comes back with the next connection
   * ```
   */
  readonly reconnect: ReconnectFunction;
}

/**
 * `serve()` and `connect()` on a runtime adapter. Every option is checked before anything is
 * opened or created.
 *
 * @param runtime the adapter (`runtime` of `ipc-streams/node`, `/bun` or `/deno`)
 *
 * @example
 * ```ts
 * import { createApi } from "ipc-streams/core";
 * import { runtime } from "ipc-streams/bun";
 *
 * // What `ipc-streams/bun` exports, made by hand: pick an adapter explicitly.
 * const { serve, connect, reconnect } = createApi(runtime);
 * ```
 */
export function createApi(runtime: Runtime): Api {
  const newConnection = <In, Out>(
    socket: TransportSocket,
    path: string | undefined,
    settings: ConnectionSettings,
    options: ConnectOptions | ServeOptions,
    sync = false,
  ): Connection<In, Out> => {
    const channel = new Channel(socket, {
      path,
      afterTick: runtime.afterTick,
      halfOpenTimeout: settings.halfOpenTimeout,
      probeOnEnd: path !== undefined,
    });
    return new Connection<In, Out>(channel, { path, remoteAddress: socket.remoteAddress, tls: socket.tls }, options, {
      sync,
    });
  };

  const connect = async <In, Out>(options: ConnectOptions): Promise<Connection<In, Out>> => {
    const settings = checkConnectionOptions(options);
    checkBoolean(options.sync, "sync");
    const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    if (!(typeof connectTimeout === "number" && connectTimeout > 0)) {
      throw new IpcError(
        "ERR_IPC_INVALID_OPTION",
        "connectTimeout must be a positive number of milliseconds, or Infinity",
      );
    }
    if (isDatagram(options)) return connectDatagram<In, Out>(runtime, options, settings);
    const address: Address = isNetwork(options)
      ? networkAddress(options, "client")
      : { transport: "unix", path: resolveSocketPath(runtime, options) };
    const { signal } = settings;
    throwIfAborted(signal);
    const socket = await attempt(
      (attemptSignal) => runtime.connect(address, attemptSignal),
      signal,
      connectTimeout,
      () =>
        new IpcError(
          "ERR_IPC_CONNECT_TIMEOUT",
          `no connection to ${describeAddress(address)} within ${connectTimeout} ms`,
        ),
    );
    const connection = newConnection<In, Out>(socket, pathOf(address), settings, options, options.sync === true);
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
    const network = isNetwork(options);
    if (network && (options.readableAll !== undefined || options.writableAll !== undefined)) {
      throw new IpcError("ERR_IPC_INVALID_OPTION", "readableAll and writableAll are options of Unix sockets");
    }
    if (isDatagram(options)) return serveDatagram<In, Out>(runtime, options, settings, maxConnections);
    const address: Address = network
      ? networkAddress(options, "server")
      : { transport: "unix", path: resolveSocketPath(runtime, options) };
    const { signal } = settings;
    const check = () => throwIfAborted(signal);
    check();

    let server: Server<In, Out> | undefined;
    const waiting: TransportSocket[] = [];
    const take = (socket: TransportSocket) => {
      const taken = (server as Server<In, Out>).accept(() =>
        newConnection<In, Out>(socket, pathOf(address), settings, options),
      );
      if (!taken) socket.close();
    };
    const onSocket = (socket: TransportSocket) => (server ? take(socket) : waiting.push(socket));
    const refuseWaiting = () => {
      for (const socket of waiting.splice(0)) socket.close();
    };
    let bound: { readonly address: ServerAddress; unbind(): Promise<void> };
    try {
      bound =
        address.transport !== "unix"
          ? await listenNetwork(runtime, address, onSocket)
          : runtime.windowsPipes
            ? await listenPipe(runtime, address, onSocket)
            : await bindUnix(runtime, address.path, options, onSocket, check);
    } catch (error) {
      refuseWaiting();
      throw error;
    }
    if (signal?.aborted) {
      refuseWaiting();
      await bound.unbind().catch(() => {});
      throw abortedError(signal);
    }
    server = new Server<In, Out>({ address: bound.address, maxConnections, unbind: () => bound.unbind() });
    for (const socket of waiting) take(socket);
    const started = server;
    destroyOnAbort(signal, (reason) => void started.destroy(reason), started.closed);
    return server;
  };

  return {
    connect: connect as ConnectFunction,
    serve: serve as ServeFunction,
    reconnect: ((options: ReconnectOptions) => reconnecting(connect, options)) as ReconnectFunction,
  };
}

/** Binds a Unix socket file: its directory made, its mode set, a stale socket replaced. */
async function bindUnix(
  runtime: Runtime,
  path: string,
  options: ServeOptions,
  onSocket: (socket: TransportSocket) => void,
  check: () => void,
): Promise<{ readonly address: ServerAddress; unbind(): Promise<void> }> {
  await prepareSocketDirectory(runtime, options);
  check();
  const mode = 0o600 | (options.readableAll ? 0o044 : 0) | (options.writableAll ? 0o022 : 0);
  const bound = await bindSocket(runtime, path, mode, onSocket, check);
  return { address: { transport: "unix", path }, unbind: () => bound.unbind() };
}

/** Listens on a Windows named pipe: no socket file to make, check or remove. */
async function listenPipe(
  runtime: Runtime,
  address: UnixAddress,
  onSocket: (socket: TransportSocket) => void,
): Promise<{ readonly address: ServerAddress; unbind(): Promise<void> }> {
  const listener = await runtime.listen(address, onSocket);
  return { address, unbind: () => listener.close() };
}

/** Listens on a TCP or TLS port. */
async function listenNetwork(
  runtime: Runtime,
  address: Exclude<Address, { transport: "unix" }>,
  onSocket: (socket: TransportSocket) => void,
): Promise<{ readonly address: ServerAddress; unbind(): Promise<void> }> {
  const listener = await runtime.listen(address, onSocket);
  const port = listener.port ?? address.port;
  return { address: { transport: address.transport, host: address.host, port }, unbind: () => listener.close() };
}

/** Connects a UDP socket to the server: binding a free local port is all there is to it. */
async function connectDatagram<In, Out>(
  runtime: Runtime,
  options: ConnectOptions,
  settings: ConnectionSettings,
): Promise<Connection<In, Out>> {
  const { address, maxDatagramSize } = datagramTarget(options, "client");
  checkDatagramOptions(options);
  const { signal } = settings;
  throwIfAborted(signal);
  const local: UdpAddress = {
    transport: address.transport,
    host: address.transport === "udp6" ? "::" : "0.0.0.0",
    port: 0,
  };
  const socket = await runtime.bindDatagram(local, { host: address.host, port: address.port });
  if (signal?.aborted) {
    await socket.close();
    throw abortedError(signal);
  }
  const channel = connectDatagrams(socket, datagramOptions(runtime, options, maxDatagramSize));
  const peer = { path: undefined, remoteAddress: socket.remote, tls: undefined };
  const connection = new Connection<In, Out>(channel, peer, options, {
    datagramSize: maxDatagramSize,
    sync: options.sync === true,
  });
  destroyOnAbort(signal, (reason) => connection.destroy(reason), connection.closed);
  return connection;
}

/** Serves on a UDP port: each remote address and port that sends becomes a connection. */
async function serveDatagram<In, Out>(
  runtime: Runtime,
  options: ServeOptions,
  settings: ConnectionSettings,
  maxConnections: number,
): Promise<Server<In, Out>> {
  const { address, maxDatagramSize } = datagramTarget(options, "server");
  checkDatagramOptions(options);
  const { signal } = settings;
  throwIfAborted(signal);
  const socket = await runtime.bindDatagram(address);
  if (signal?.aborted) {
    await socket.close();
    throw abortedError(signal);
  }
  let peers: DatagramPeers | undefined;
  const server = new Server<In, Out>({
    address: { transport: address.transport, host: address.host, port: socket.port },
    maxConnections,
    unbind: () => (peers as DatagramPeers).unbind(),
    stopAccepting: () => (peers as DatagramPeers).stop(),
  });
  peers = serveDatagrams(socket, datagramOptions(runtime, options, maxDatagramSize), (channel, from) =>
    server.accept(
      () =>
        new Connection<In, Out>(channel, { path: undefined, remoteAddress: from, tls: undefined }, options, {
          datagramSize: maxDatagramSize,
        }),
    ),
  );
  destroyOnAbort(signal, (reason) => void server.destroy(reason), server.closed);
  return server;
}

/** Refuses the options that mean nothing on UDP. */
function checkDatagramOptions(options: ConnectOptions | ServeOptions): void {
  if (options.halfOpenTimeout !== undefined) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "halfOpenTimeout does not apply to UDP, which has no end of stream");
  }
}

function datagramOptions(runtime: Runtime, options: CodecOptions, maxDatagramSize: number): DatagramChannelOptions {
  const delimiter = options.raw ? undefined : toDelimiter(options.delimiter).bytes;
  return { maxDatagramSize, delimiter, afterTick: runtime.afterTick };
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

function abortedError(signal: AbortSignal): IpcError {
  return new IpcError("ERR_IPC_ABORTED", "the operation was aborted", { cause: signal.reason });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/**
 * Runs `work` with a signal of its own, which aborts when `signal` does (rejecting with
 * `ERR_IPC_ABORTED`) or after `timeout` ms (rejecting with `timedOut()`); the work is told to give
 * up, and a socket it still delivers afterwards is closed.
 */
function attempt(
  work: (signal: AbortSignal) => Promise<TransportSocket>,
  signal: AbortSignal | undefined,
  timeout: number,
  timedOut: () => IpcError,
): Promise<TransportSocket> {
  const controller = new AbortController();
  return new Promise<TransportSocket>((resolve, reject) => {
    const giveUp = (error: IpcError) => {
      controller.abort(error);
      reject(error);
    };
    const onAbort = () => giveUp(abortedError(signal as AbortSignal));
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = Number.isFinite(timeout) ? setTimeout(() => giveUp(timedOut()), timeout) : undefined;
    const settle = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    work(controller.signal).then(
      (socket) => {
        settle();
        if (controller.signal.aborted) socket.close();
        else resolve(socket);
      },
      (error: unknown) => {
        settle();
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
