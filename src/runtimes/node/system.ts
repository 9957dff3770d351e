import { chmod, link, lstat, mkdir, rename, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { IpcError } from "../../errors.ts";
import type { FileSystem, PathInfo, SocketRootEnvironment } from "../../transport/contract.ts";

/**
 * The parts of a runtime adapter that only need `node:fs`, `node:os` and `process`: shared by the
 * Node adapter and the Bun adapter (Bun implements these modules natively).
 */
export const nodeSystem = {
  maxSocketPathBytes: process.platform === "linux" ? 107 : 103,

  socketRootEnvironment(): SocketRootEnvironment {
    return {
      xdgRuntimeDir: process.env.XDG_RUNTIME_DIR || undefined,
      tmpdir: tmpdir(),
      uid: process.getuid?.() ?? 0,
    };
  },

  afterTick(callback: () => void): void {
    process.nextTick(callback);
  },

  files: {
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
        return { kind, uid: stats.uid, mode: stats.mode & 0o7777, device: stats.dev, inode: stats.ino };
      } catch (error) {
        if ((error as ErrnoError).code === "ENOENT") return undefined;
        throw systemError(error, path, "inspect");
      }
    },

    async makeDirectory(path, mode) {
      try {
        await mkdir(path, { recursive: true, mode });
      } catch (error) {
        throw systemError(error, path, "create directory");
      }
    },

    async removeFile(path) {
      try {
        await unlink(path);
      } catch (error) {
        if ((error as ErrnoError).code !== "ENOENT") throw systemError(error, path, "remove");
      }
    },

    async changeMode(path, mode) {
      try {
        await chmod(path, mode);
      } catch (error) {
        throw systemError(error, path, "change mode of");
      }
    },

    async link(from, to) {
      try {
        await link(from, to);
      } catch (error) {
        throw systemError(error, to, "link");
      }
    },

    async rename(from, to) {
      try {
        await rename(from, to);
      } catch (error) {
        throw systemError(error, from, "rename");
      }
    },
  } satisfies FileSystem,
};

/** The shape of the errors Node, Bun and `node:fs` throw for failed system calls. */
interface ErrnoError extends Error {
  readonly code?: string;
}

/**
 * Maps a failed system call to an `IpcError`. Only a connect can mean "no server": `ENOENT` (no
 * file) or `ECONNREFUSED` (a stale socket, or not a socket).
 *
 * @param action what was attempted, for the message ("connect to", "listen on", …)
 */
export function systemError(error: unknown, path: string, action: string): IpcError {
  const code = (error as ErrnoError).code ?? "";
  const details = { path, cause: error };
  if (action === "connect to" && (code === "ENOENT" || code === "ECONNREFUSED")) {
    return new IpcError("ERR_IPC_NO_SERVER", `cannot ${action} ${path}: no server is listening (${code})`, details);
  }
  if (code === "EADDRINUSE" || code === "EEXIST") {
    return new IpcError("ERR_IPC_ADDRESS_IN_USE", `cannot ${action} ${path}: address in use`, details);
  }
  const reason = code || (error instanceof Error ? error.message : String(error));
  return new IpcError("ERR_IPC_SYSTEM", `cannot ${action} ${path}: ${reason}`, details);
}
