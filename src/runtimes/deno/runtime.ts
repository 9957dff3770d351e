import { nextTick } from "node:process";
import { IpcError } from "../../errors.ts";
import { describeAddress, pathOf } from "../../transport/address.ts";
import type {
  Address,
  FileSystem,
  Listener,
  PathInfo,
  Runtime,
  SocketRootEnvironment,
  TransportSocket,
} from "../../transport/contract.ts";
import { nodeBindDatagram } from "../node/dgram.ts";
import { nodeConnect, nodeListen } from "../node/net.ts";
import { denoSocket } from "./socket.ts";
import { pauseDenoTlsLikeNode } from "./tls.ts";

const onWindows = Deno.build.os === "windows";

/** How long the accept loop pauses after an unexpected error (out of file descriptors, say). */
const ACCEPT_RETRY_DELAY_MS = 50;

/**
 * The Deno runtime adapter: `Deno.listen`/`Deno.connect` sockets for Unix sockets and TCP,
 * Deno's `node:tls` for TLS (`Deno.listenTls` cannot ask for client certificates, and
 * `Deno.connectTls` does not show the server's), and `Deno` file-system calls.
 * Unix sockets need `--allow-read --allow-write --allow-net`; the default socket root also reads
 * the environment (`--allow-env`) and the user id (`--allow-sys=uid`).
 *
 * @example
 * ```ts
 * import { runtime } from "ipc-streams/deno";
 *
 * const socket = await runtime.connect({ transport: "unix", path: "/tmp/app.world" });
 * socket.open({ onData() {}, onEnd() {}, onClose() {} });
 * await socket.write('{"type":"hello","data":{}}\f');
 * socket.close();
 * ```
 */
export const denoRuntime: Runtime = {
  name: "deno",
  maxSocketPathBytes: Deno.build.os === "linux" ? 107 : onWindows ? 256 : 103,
  windowsPipes: onWindows,
  // UDP through node:dgram, which needs only --allow-net (Deno.listenDatagram needs --unstable-net).
  bindDatagram: nodeBindDatagram,

  socketRootEnvironment(): SocketRootEnvironment {
    // Getters, so that only what the path needs is read (and needs a permission).
    return {
      get xdgRuntimeDir() {
        return readEnv("XDG_RUNTIME_DIR") || undefined;
      },
      get tmpdir() {
        return tmpdir();
      },
      get uid() {
        return userId();
      },
    };
  },

  async connect(address, signal) {
    if (address.transport === "tls") return nodeConnect(address, signal, pauseDenoTlsLikeNode);
    // Deno opens Windows named pipes through node:net only.
    if (address.transport === "unix" && onWindows) return nodeConnect(address, signal);
    try {
      const conn =
        address.transport === "unix"
          ? await Deno.connect({ transport: "unix", path: address.path })
          : await Deno.connect({ hostname: address.host, port: address.port, ...(signal && { signal }) });
      return denoSocket(conn, address);
    } catch (error) {
      throw systemError(error, describeAddress(address), "connect to", pathOf(address));
    }
  },

  listen(address, onSocket) {
    if (address.transport === "tls") return nodeListen(address, onSocket, pauseDenoTlsLikeNode);
    if (address.transport === "unix" && onWindows) return nodeListen(address, onSocket);
    let listener: Deno.Listener;
    try {
      listener =
        address.transport === "unix"
          ? Deno.listen({ transport: "unix", path: address.path })
          : Deno.listen({ hostname: address.host, port: address.port });
    } catch (error) {
      return Promise.reject(systemError(error, describeAddress(address), "listen on", pathOf(address)));
    }
    const port = listener.addr.transport === "tcp" ? listener.addr.port : undefined;
    return Promise.resolve({ ...acceptLoop(listener, address, onSocket), ...(port !== undefined && { port }) });
  },

  afterTick(callback) {
    nextTick(callback);
  },

  files: {
    async pathInfo(path) {
      let info: Deno.FileInfo;
      try {
        info = await Deno.lstat(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw systemError(error, path, "inspect");
      }
      const kind: PathInfo["kind"] = info.isSymlink
        ? "symlink"
        : info.isDirectory
          ? "directory"
          : info.isSocket
            ? "socket"
            : "other";
      return {
        kind,
        uid: info.uid ?? -1,
        mode: (info.mode ?? 0) & 0o7777,
        device: info.dev,
        inode: info.ino ?? -1,
      };
    },

    async makeDirectory(path, mode) {
      try {
        await Deno.mkdir(path, { recursive: true, mode });
      } catch (error) {
        throw systemError(error, path, "create directory");
      }
    },

    async removeFile(path) {
      try {
        await Deno.remove(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw systemError(error, path, "remove");
      }
    },

    async changeMode(path, mode) {
      try {
        await Deno.chmod(path, mode);
      } catch (error) {
        throw systemError(error, path, "change mode of");
      }
    },

    async link(from, to) {
      try {
        await Deno.link(from, to);
      } catch (error) {
        throw systemError(error, to, "link");
      }
    },

    async rename(from, to) {
      try {
        await Deno.rename(from, to);
      } catch (error) {
        throw systemError(error, from, "rename");
      }
    },
  } satisfies FileSystem,
};

/** Accepts connections until closed; `close()` ends the loop and never rejects. */
function acceptLoop(listener: Deno.Listener, address: Address, onSocket: (socket: TransportSocket) => void): Listener {
  let closing = false;
  const loop = (async () => {
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        // Closing rejects the pending accept (BadResource or Interrupted); a closed listener
        // cannot accept again either way.
        if (closing || error instanceof Deno.errors.BadResource) return;
        if (!(error instanceof Deno.errors.ConnectionAborted)) await delay(ACCEPT_RETRY_DELAY_MS);
        continue;
      }
      const socket = denoSocket(conn, address);
      if (closing) socket.close();
      else onSocket(socket);
    }
  })();
  return {
    close() {
      if (!closing) {
        closing = true;
        try {
          listener.close();
        } catch {
          // Already closed: the loop has ended or is ending.
        }
      }
      return loop;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    throw permissionError(error, `reading $${name}`, "--allow-env=XDG_RUNTIME_DIR,TMPDIR,TMP,TEMP");
  }
}

/** `os.tmpdir()` on POSIX: `$TMPDIR`, `$TMP`, `$TEMP` or `/tmp`, without a trailing slash. */
function tmpdir(): string {
  const directory = readEnv("TMPDIR") || readEnv("TMP") || readEnv("TEMP") || "/tmp";
  return directory.length > 1 && directory.endsWith("/") ? directory.slice(0, -1) : directory;
}

function userId(): number {
  try {
    return Deno.uid() ?? 0;
  } catch (error) {
    throw permissionError(error, "reading the user id", "--allow-sys=uid");
  }
}

function permissionError(error: unknown, what: string, flag: string): IpcError {
  return new IpcError(
    "ERR_IPC_SYSTEM",
    `${what} for the default socket root needs ${flag} (or pass socketRoot or path): ${describe(error)}`,
    { cause: error },
  );
}

function systemError(error: unknown, path: string, action: string, filePath: string | undefined = path): IpcError {
  const details = { path: filePath, cause: error };
  if (
    action === "connect to" &&
    (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.ConnectionRefused)
  ) {
    return new IpcError(
      "ERR_IPC_NO_SERVER",
      `cannot ${action} ${path}: no server is listening (${errorCode(error)})`,
      details,
    );
  }
  if (action === "connect to" && error instanceof Deno.errors.WouldBlock) {
    // A Unix socket whose server has a full queue of pending connections: Bun reports it refused.
    return new IpcError(
      "ERR_IPC_NO_SERVER",
      `cannot ${action} ${path}: the server takes no more connections (${errorCode(error)})`,
      details,
    );
  }
  if (action === "connect to" && error instanceof Deno.errors.ConnectionReset) {
    return new IpcError("ERR_IPC_CONNECTION_RESET", `cannot ${action} ${path}: the server reset it`, details);
  }
  if (error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.AlreadyExists) {
    return new IpcError("ERR_IPC_ADDRESS_IN_USE", `cannot ${action} ${path}: address in use`, details);
  }
  return new IpcError("ERR_IPC_SYSTEM", `cannot ${action} ${path}: ${describe(error)}`, details);
}

function errorCode(error: Error): string {
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : error.name;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
