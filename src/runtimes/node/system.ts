import { chmod, link, lstat, mkdir, rename, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { IpcError } from "../../errors.ts";
import { isTlsErrorCode } from "../../net/tls-errors.ts";
import { describeAddress, pathOf } from "../../transport/address.ts";
import type { Address, FileSystem, PathInfo, SocketRootEnvironment, UdpAddress } from "../../transport/contract.ts";

/**
 * The parts of a runtime adapter that only need `node:fs`, `node:os` and `process`: shared by the
 * Node adapter and the Bun adapter (Bun implements these modules natively).
 */
export const nodeSystem = {
  // A pipe name may be 256 characters long.
  maxSocketPathBytes: process.platform === "linux" ? 107 : process.platform === "win32" ? 256 : 103,
  windowsPipes: process.platform === "win32",

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
 * file), `ECONNREFUSED` (a stale socket, not a socket, or a closed port) or an unreachable host.
 * TLS failures are `ERR_IPC_TLS`.
 *
 * @param where the socket path or the address concerned
 * @param action what was attempted, for the message ("connect to", "listen on", …)
 */
export function systemError(error: unknown, where: string | Address | UdpAddress, action: string): IpcError {
  const code = (error as ErrnoError).code ?? "";
  const path = typeof where === "string" ? where : pathOf(where);
  const name = typeof where === "string" ? where : describeAddress(where);
  const details = { path, cause: error };
  const reason = code || (error instanceof Error ? error.message : String(error));
  if (action === "connect to" && NO_SERVER_CODES.has(code)) {
    return new IpcError("ERR_IPC_NO_SERVER", `cannot ${action} ${name}: no server is listening (${code})`, details);
  }
  if (action === "connect to" && code === "EAGAIN") {
    // A Unix socket whose server has a full queue of pending connections: Bun reports it refused.
    return new IpcError(
      "ERR_IPC_NO_SERVER",
      `cannot ${action} ${name}: the server takes no more connections (${code})`,
      details,
    );
  }
  if (action === "connect to" && code === "ECONNRESET") {
    return new IpcError("ERR_IPC_CONNECTION_RESET", `cannot ${action} ${name}: the server reset it (${code})`, details);
  }
  if (isTlsErrorCode(code)) {
    const message = error instanceof Error && error.message !== code ? `${code}: ${error.message}` : code;
    return new IpcError("ERR_IPC_TLS", `TLS handshake with ${name} failed: ${message}`, details);
  }
  if (code === "EADDRINUSE" || code === "EEXIST") {
    return new IpcError("ERR_IPC_ADDRESS_IN_USE", `cannot ${action} ${name}: address in use`, details);
  }
  return new IpcError("ERR_IPC_SYSTEM", `cannot ${action} ${name}: ${reason}`, details);
}

/** Connect errors that mean nobody answers there. */
const NO_SERVER_CODES = new Set(["ENOENT", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"]);
