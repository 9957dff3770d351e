/**
 * The contract between the shared code and a runtime adapter (`src/runtimes/<name>`). Everything
 * a runtime must do is here: open, accept and wrap Unix sockets, and a few file-system calls.
 * Everything else (framing, paths, stale-socket handling, streams) is shared.
 *
 * @module
 */

/**
 * Write coalescing, the same in every adapter: the frames written during one tick leave in a few
 * OS writes, not one each. The first write goes as soon as this many frames are waiting, each
 * next one after twice as many as the one before, and whatever is left at the end of the tick.
 * A burst of replies thus reaches the peer early, so both processes work at once instead of
 * taking turns, while a long burst still costs few system calls (BENCHMARKS.md has the
 * measurements behind the number).
 */
export const FIRST_WRITE_FRAMES = 16;

/** One connected socket. Adapters hand it over fresh; the shared code owns it from then on. */
export interface ByteChannel {
  /**
   * The next chunk of bytes, or `null` once the peer has ended its side. Called again only after
   * the previous call settled, and only when the consumer wants data: an adapter reads from the OS
   * only while a `read()` is pending or its small read-ahead is not full. Rejects with an
   * `IpcError` when the socket breaks. The chunk must not be reused by the adapter.
   */
  read(): Promise<Uint8Array<ArrayBuffer> | null>;
  /**
   * Sends bytes, in order; a string is sent as its UTF-8 encoding (the JSON codec hands over its
   * frames as text so that an adapter can encode them straight into its write batch, or let the
   * runtime encode them natively, without a `Uint8Array` per message). Returns `undefined` when
   * the transport took them and can take more, or a promise that resolves once it can take more
   * (backpressure). Throws or rejects with an `IpcError` when the socket is broken.
   */
  write(data: Uint8Array | string): Promise<void> | undefined;
  /** Half-closes: sends end-of-stream after every byte written so far. */
  end(): Promise<void>;
  /** Closes both directions at once, dropping unsent bytes. Idempotent. */
  destroy(): void;
  /**
   * Settles (never rejects) when the socket is closed in both directions and released. That
   * includes a peer that is gone entirely: once `read()` returned `null`, the adapter tells a peer
   * that merely half-closed (it may still read) from one that closed, exited or crashed, and
   * releases the socket in the second case without waiting for a write to fail.
   */
  readonly closed: Promise<void>;
}

/** What `lstat` says about a path, as far as the shared code needs it. */
export interface PathInfo {
  readonly kind: "socket" | "directory" | "symlink" | "other";
  readonly uid: number;
  /** Permission bits (`mode & 0o7777`). */
  readonly mode: number;
}

/** A bound, listening Unix socket. */
export interface SocketListener {
  /** Stops accepting and releases the socket; the shared code removes the socket file. */
  close(): Promise<void>;
}

/** Facts from the environment that node-ipc 14's default socket root depends on. */
export interface SocketRootEnvironment {
  /** `$XDG_RUNTIME_DIR`, when set. */
  readonly xdgRuntimeDir: string | undefined;
  /** The temporary directory (`os.tmpdir()`, which honours `$TMPDIR`). */
  readonly tmpdir: string;
  /** The numeric user id. */
  readonly uid: number;
}

/** Everything a runtime adapter provides. */
export interface Runtime {
  /** `"node"`, `"bun"` or `"deno"`. */
  readonly name: string;
  /** The longest socket path the OS accepts, in bytes, without the terminating NUL. */
  readonly maxSocketPathBytes: number;
  /** Reads the environment for the default socket root. */
  socketRootEnvironment(): SocketRootEnvironment;
  /**
   * Connects to a Unix socket. Rejects with `IpcError` `ERR_IPC_NO_SERVER` when nobody listens
   * there (no file, or a stale socket), `ERR_IPC_SYSTEM` for anything else.
   */
  connect(path: string): Promise<ByteChannel>;
  /**
   * Binds and listens on a Unix socket; `onChannel` receives each accepted connection. Rejects
   * with `ERR_IPC_ADDRESS_IN_USE` if the path exists, `ERR_IPC_SYSTEM` otherwise.
   */
  listen(path: string, onChannel: (channel: ByteChannel) => void): Promise<SocketListener>;
  /** `lstat`, or `undefined` when nothing is at `path`. */
  pathInfo(path: string): Promise<PathInfo | undefined>;
  /** `mkdir -p` with `mode` for the directories it creates. */
  makeDirectory(path: string, mode: number): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  removeFile(path: string): Promise<void>;
  /** Sets the permission bits of a path. */
  changeMode(path: string, mode: number): Promise<void>;
}
