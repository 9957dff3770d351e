import type { CodecOptions } from "./codec.ts";
import { Connection } from "./connection.ts";
import { IpcError } from "./errors.ts";
import { checkSocketPathLength, directoryOf, type SocketPathOptions, secureSocketRoot, socketPath } from "./paths.ts";
import type { ByteChannel, Runtime } from "./runtime.ts";
import { DEFAULT_MAX_CONNECTIONS, Server } from "./server.ts";

/** The byte chunks of raw mode. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Options of `connect()`. */
export interface ConnectOptions extends SocketPathOptions, CodecOptions {
  /**
   * Cancels the connection attempt; aborting after it succeeded closes the connection.
   * @default undefined
   */
  readonly signal?: AbortSignal;
}

/** Options of `serve()`. */
export interface ServeOptions extends SocketPathOptions, CodecOptions {
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
   * Cancels serving; aborting after the server started closes it.
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

/** `connect()` on a given runtime. */
export async function connectWith<In, Out>(runtime: Runtime, options: ConnectOptions): Promise<Connection<In, Out>> {
  const path = resolvePath(runtime, options);
  const { signal } = options;
  throwIfAborted(signal);
  const channel = await untilAborted(runtime.connect(path), signal, (late) => late.destroy());
  const connection = new Connection<In, Out>(channel, path, options);
  closeOnAbort(signal, () => connection.close(signal?.reason), connection.closed);
  return connection;
}

/**
 * `serve()` on a given runtime. Each step is local and quick, so an abort is acted on between
 * steps rather than raced: when `serve()` rejects with `ERR_IPC_ABORTED`, nothing it made is left
 * (no listener, no socket file).
 */
export async function serveWith<In, Out>(runtime: Runtime, options: ServeOptions): Promise<Server<In, Out>> {
  const path = resolvePath(runtime, options);
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!(Number.isSafeInteger(maxConnections) && maxConnections > 0)) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "maxConnections must be a positive integer", {
      limit: maxConnections,
    });
  }
  const { signal } = options;
  throwIfAborted(signal);
  await prepareSocketDirectory(runtime, options);
  throwIfAborted(signal);
  await clearStaleSocket(runtime, path);
  throwIfAborted(signal);

  let server: Server<In, Out> | undefined;
  const waiting: ByteChannel[] = [];
  const listener = await runtime.listen(path, (channel) => (server ? server.accept(channel) : waiting.push(channel)));
  const unbind = async () => {
    await listener.close();
    await runtime.removeFile(path);
  };
  try {
    const mode = 0o600 | (options.readableAll ? 0o044 : 0) | (options.writableAll ? 0o022 : 0);
    await runtime.changeMode(path, mode);
    throwIfAborted(signal);
  } catch (error) {
    for (const channel of waiting) channel.destroy();
    await unbind().catch(() => {});
    throw error;
  }
  server = new Server<In, Out>(path, options, maxConnections, () => runtime.removeFile(path));
  server.attach(listener);
  for (const channel of waiting) server.accept(channel);
  const started = server;
  closeOnAbort(signal, () => started.close(), started.closed);
  return server;
}

function resolvePath(runtime: Runtime, options: SocketPathOptions): string {
  const path = socketPath(options, defaultSocketRoot(runtime, options));
  checkSocketPathLength(path, runtime.maxSocketPathBytes);
  return path;
}

function defaultSocketRoot(runtime: Runtime, options: SocketPathOptions): string {
  // Read the environment only when the default is needed.
  return options.path === undefined && options.socketRoot === undefined
    ? secureSocketRoot(runtime.socketRootEnvironment())
    : "";
}

/**
 * Makes sure the socket's directory exists. The default secure root is created owner-only and must
 * be a real directory owned by us with no group or other permissions: it is verified, never
 * chmod-ed (a shared directory is refused, not changed). An explicit root is only created if
 * missing; an explicit `path` is used as is.
 */
async function prepareSocketDirectory(runtime: Runtime, options: ServeOptions): Promise<void> {
  if (options.path !== undefined) return;
  if (options.socketRoot !== undefined) {
    // The directory part of the path, whatever the id (the appspace may hold a "/" too).
    const directory = directoryOf(`${options.socketRoot}${options.appspace ?? ""}x`);
    if (directory !== undefined) await runtime.makeDirectory(directory, 0o700);
    return;
  }
  const environment = runtime.socketRootEnvironment();
  const root = secureSocketRoot(environment).slice(0, -1);
  // Only a missing root is created; whatever is there already is checked as it is.
  let info = await runtime.pathInfo(root);
  if (info === undefined) {
    await runtime.makeDirectory(root, 0o700);
    info = await runtime.pathInfo(root);
  }
  const problem =
    info === undefined
      ? "does not exist"
      : info.kind !== "directory"
        ? `is a ${info.kind}, not a directory`
        : info.uid !== environment.uid
          ? `is owned by uid ${info.uid}, not by us (uid ${environment.uid})`
          : (info.mode & 0o077) !== 0
            ? `has group/other permissions (mode ${info.mode.toString(8)}); it must be 700`
            : undefined;
  if (problem !== undefined) {
    throw new IpcError("ERR_IPC_SOCKET_ROOT", `the socket root ${root} ${problem}`, { path: root });
  }
}

/**
 * Leaves `path` free to bind: a stale socket (nobody answers) is removed; a live server is never
 * stolen (`ERR_IPC_ADDRESS_IN_USE`); anything that is not a socket is never deleted
 * (`ERR_IPC_NOT_A_SOCKET`).
 */
async function clearStaleSocket(runtime: Runtime, path: string): Promise<void> {
  const info = await runtime.pathInfo(path);
  if (info === undefined) return;
  if (info.kind !== "socket") {
    throw new IpcError("ERR_IPC_NOT_A_SOCKET", `${path} exists and is a ${info.kind}, not a socket; it is left alone`, {
      path,
    });
  }
  try {
    const probe = await runtime.connect(path);
    probe.destroy();
  } catch (error) {
    if (error instanceof IpcError && error.code === "ERR_IPC_NO_SERVER") {
      await runtime.removeFile(path);
      return;
    }
    throw error;
  }
  throw new IpcError("ERR_IPC_ADDRESS_IN_USE", `another server is listening on ${path}`, { path });
}

function abortedError(signal: AbortSignal): IpcError {
  return new IpcError("ERR_IPC_ABORTED", "the operation was aborted", { cause: signal.reason });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/** Waits for `work`, or rejects with `ERR_IPC_ABORTED` when `signal` aborts first. */
function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  discard?: (late: T) => unknown,
): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(abortedError(signal));
      work.then(
        (late) => discard?.(late),
        () => {},
      );
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

/** Closes on abort; the listener goes once `closed` settles, so a long-lived signal does not collect them. */
function closeOnAbort(signal: AbortSignal | undefined, close: () => Promise<void>, closed: Promise<void>): void {
  if (signal === undefined) return;
  const onAbort = () => void close().catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  const forget = () => signal.removeEventListener("abort", onAbort);
  closed.then(forget, forget);
}
