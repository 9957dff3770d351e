import { chmod, lstat, mkdir, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import type { Socket, SocketHandler } from "bun";
import { IpcError } from "../../errors.ts";
import type { PathInfo, Runtime } from "../../runtime.ts";
import { BunChannel, channelHandlers } from "./channel.ts";

/**
 * `SocketOptions.socket` is typed for the default `binaryType` ("buffer") only; our handlers
 * set and expect "uint8array", so they are checked against that and then passed as this.
 */
type Handlers = SocketHandler<BunChannel>;

/** Callbacks of client sockets: the channel is handed over in `Bun.connect`'s `data`. */
const connectHandlers = {
  ...channelHandlers,
  open(socket) {
    socket.data.attach(socket);
  },
  connectError() {
    // Bun.connect rejects right after this; connect() maps that error.
  },
} satisfies SocketHandler<BunChannel, "uint8array"> as unknown as Handlers;

/**
 * The Bun runtime adapter: `Bun.listen`/`Bun.connect` Unix sockets (half-open allowed) and
 * `node:fs/promises`. `serve()` and `connect()` of `ipc-streams/bun` use it; it is exported as
 * `runtime` for code written against the {@link Runtime} contract.
 *
 * @example
 * ```ts
 * import { runtime } from "ipc-streams/bun";
 *
 * const channel = await runtime.connect("/tmp/app.world"); // a raw ByteChannel
 * channel.write(new TextEncoder().encode('{"type":"hello","data":{}}\f'));
 * await channel.end();
 * ```
 */
export const bunRuntime: Runtime = {
  name: "bun",
  maxSocketPathBytes: process.platform === "linux" ? 107 : 103,

  socketRootEnvironment() {
    return {
      xdgRuntimeDir: process.env.XDG_RUNTIME_DIR || undefined,
      tmpdir: tmpdir(),
      uid: process.getuid?.() ?? 0,
    };
  },

  async connect(path) {
    const channel = new BunChannel(path);
    try {
      await Bun.connect<BunChannel>({ unix: path, allowHalfOpen: true, data: channel, socket: connectHandlers });
    } catch (error) {
      throw systemError(error as ErrnoError, path, "connect to", true);
    }
    return channel;
  },

  listen(path, onChannel) {
    let listener: { stop(closeActiveConnections?: boolean): void };
    try {
      listener = Bun.listen<BunChannel>({
        unix: path,
        allowHalfOpen: true,
        socket: {
          ...channelHandlers,
          open(socket: Socket<BunChannel>) {
            // Each accepted socket gets its own channel in `data`.
            const channel = new BunChannel(path);
            channel.attach(socket);
            socket.data = channel;
            onChannel(channel);
          },
        } satisfies SocketHandler<BunChannel, "uint8array"> as unknown as Handlers,
      });
    } catch (error) {
      // Bun.listen binds synchronously and throws.
      return Promise.reject(systemError(error as ErrnoError, path, "listen on", false));
    }
    return Promise.resolve({
      close() {
        // Stops accepting at once; live connections are closed by the shared code. Bun also
        // unlinks the socket file here; the shared code's removal then finds nothing to do.
        listener.stop(false);
        return Promise.resolve();
      },
    });
  },

  async pathInfo(path) {
    try {
      const stats = await lstat(path);
      const kind: PathInfo["kind"] = stats.isSocket()
        ? "socket"
        : stats.isDirectory()
          ? "directory"
          : stats.isSymbolicLink()
            ? "symlink"
            : "other";
      return { kind, uid: stats.uid, mode: stats.mode & 0o7777 };
    } catch (error) {
      if ((error as ErrnoError).code === "ENOENT") return undefined;
      throw systemError(error as ErrnoError, path, "inspect", false);
    }
  },

  async makeDirectory(path, mode) {
    try {
      await mkdir(path, { recursive: true, mode });
    } catch (error) {
      throw systemError(error as ErrnoError, path, "create directory", false);
    }
  },

  async removeFile(path) {
    try {
      await unlink(path);
    } catch (error) {
      if ((error as ErrnoError).code !== "ENOENT") throw systemError(error as ErrnoError, path, "remove", false);
    }
  },

  async changeMode(path, mode) {
    try {
      await chmod(path, mode);
    } catch (error) {
      throw systemError(error as ErrnoError, path, "change mode of", false);
    }
  },
};

/** The shape of the errors Bun and `node:fs` throw for failed system calls. */
interface ErrnoError extends Error {
  readonly code?: string;
}

/**
 * Maps a failed system call to an `IpcError`. Only a connect can mean "no server": `ENOENT` (no
 * file) or `ECONNREFUSED` (a stale socket, or not a socket).
 */
function systemError(error: ErrnoError, path: string, action: string, connecting: boolean): IpcError {
  const code = error.code ?? "";
  const details = { path, cause: error };
  if (connecting && (code === "ENOENT" || code === "ECONNREFUSED")) {
    return new IpcError("ERR_IPC_NO_SERVER", `cannot ${action} ${path}: no server is listening (${code})`, details);
  }
  if (code === "EADDRINUSE") {
    return new IpcError("ERR_IPC_ADDRESS_IN_USE", `cannot ${action} ${path}: address in use`, details);
  }
  return new IpcError("ERR_IPC_SYSTEM", `cannot ${action} ${path}: ${code || error.message}`, details);
}
