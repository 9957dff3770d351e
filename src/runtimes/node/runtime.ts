import { chmod, lstat, mkdir, unlink } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { IpcError } from "../../errors.ts";
import type { PathInfo, Runtime } from "../../runtime.ts";
import { socketChannel } from "./channel.ts";

/** The Node.js runtime adapter: `node:net` Unix sockets and `node:fs`. */
export const nodeRuntime: Runtime = {
  name: "node",
  maxSocketPathBytes: process.platform === "linux" ? 107 : 103,

  socketRootEnvironment() {
    return {
      xdgRuntimeDir: process.env.XDG_RUNTIME_DIR || undefined,
      tmpdir: tmpdir(),
      uid: process.getuid?.() ?? 0,
    };
  },

  connect(path) {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path, allowHalfOpen: true });
      const onError = (error: NodeJS.ErrnoException) => reject(systemError(error, path, "connect to"));
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(socketChannel(socket, path));
      });
    });
  },

  listen(path, onChannel) {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
        onChannel(socketChannel(socket, path));
      });
      server.once("error", (error: NodeJS.ErrnoException) => reject(systemError(error, path, "listen on")));
      server.listen(path, () => {
        server.on("error", () => {});
        resolve({
          close: () =>
            new Promise<void>((done) => {
              // Stops accepting at once; live connections are closed by the shared code.
              server.close();
              done();
            }),
        });
      });
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
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw systemError(error as NodeJS.ErrnoException, path, "inspect");
    }
  },

  async makeDirectory(path, mode) {
    try {
      await mkdir(path, { recursive: true, mode });
    } catch (error) {
      throw systemError(error as NodeJS.ErrnoException, path, "create directory");
    }
  },

  async removeFile(path) {
    try {
      await unlink(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw systemError(error as NodeJS.ErrnoException, path, "remove");
      }
    }
  },

  async changeMode(path, mode) {
    try {
      await chmod(path, mode);
    } catch (error) {
      throw systemError(error as NodeJS.ErrnoException, path, "change mode of");
    }
  },
};

function systemError(error: NodeJS.ErrnoException, path: string, action: string): IpcError {
  const code = error.code ?? "";
  const details = { path, cause: error };
  if (action === "connect to" && (code === "ENOENT" || code === "ECONNREFUSED")) {
    return new IpcError("ERR_IPC_NO_SERVER", `cannot ${action} ${path}: no server is listening (${code})`, details);
  }
  if (code === "EADDRINUSE") {
    return new IpcError("ERR_IPC_ADDRESS_IN_USE", `cannot ${action} ${path}: address in use`, details);
  }
  return new IpcError("ERR_IPC_SYSTEM", `cannot ${action} ${path}: ${code || error.message}`, details);
}
