import { IpcError } from "../errors.ts";
import type { SocketRootEnvironment } from "../transport/contract.ts";

/**
 * node-ipc's default `appspace`, the prefix put before the id.
 *
 * @example
 * ```ts
 * import { DEFAULT_APPSPACE, socketPath } from "ipc-streams";
 *
 * socketPath({ id: "world", appspace: DEFAULT_APPSPACE }, "/tmp/"); // "/tmp/app.world"
 * ```
 */
export const DEFAULT_APPSPACE = "app.";

/**
 * The socket root of node-ipc 9, 10 and 12: `/tmp/`. Pass it as `socketRoot` to meet a peer of
 * those versions running with its defaults.
 *
 * @example
 * ```ts
 * import { LEGACY_SOCKET_ROOT, connect } from "ipc-streams";
 *
 * const connection = await connect({ id: "world", socketRoot: LEGACY_SOCKET_ROOT }); // /tmp/app.world
 * ```
 */
export const LEGACY_SOCKET_ROOT = "/tmp/";

/**
 * The options that decide a socket path.
 *
 * @example
 * ```ts
 * import { type SocketPathOptions, serve } from "ipc-streams";
 *
 * const where: SocketPathOptions = { id: "world", appspace: "my-app.", socketRoot: "/run/my-app/" };
 * const server = await serve(where); // listens on /run/my-app/my-app.world
 * ```
 */
export interface SocketPathOptions {
  /**
   * The id of the server: the last part of the path. Required unless `path` is given.
   */
  readonly id?: string;
  /**
   * An explicit socket path; it replaces the whole `socketRoot + appspace + id` formula.
   */
  readonly path?: string;
  /**
   * The prefix before the id.
   * @default "app."
   */
  readonly appspace?: string;
  /**
   * The directory of the socket, with its trailing slash: the string is concatenated as is,
   * exactly as node-ipc does. Use {@link LEGACY_SOCKET_ROOT} (`/tmp/`) for node-ipc 9–12 peers.
   * @default node-ipc 14's secure root: `$XDG_RUNTIME_DIR/node-ipc/` when that variable is set,
   * else `<tmpdir>/node-ipc-<uid>/`; created owner-only (0700) and verified before serving.
   */
  readonly socketRoot?: string;
}

/**
 * node-ipc 14's default socket root for an environment: `$XDG_RUNTIME_DIR/node-ipc/` when the
 * variable is set and non-empty, else `<tmpdir>/node-ipc-<uid>/`, both normalised like Node's
 * `path.join` and ending in `/`.
 *
 * @example
 * ```ts
 * import { secureSocketRoot } from "ipc-streams";
 *
 * secureSocketRoot({ xdgRuntimeDir: undefined, tmpdir: "/tmp", uid: 1000 }); // "/tmp/node-ipc-1000/"
 * ```
 */
export function secureSocketRoot(environment: SocketRootEnvironment): string {
  const base = environment.xdgRuntimeDir
    ? `${environment.xdgRuntimeDir}/node-ipc`
    : `${environment.tmpdir}/node-ipc-${environment.uid}`;
  return `${normalizePosix(base)}/`;
}

/**
 * The socket path for a set of options: `path` when given, else `socketRoot + appspace + id`,
 * plain concatenation as node-ipc computes it.
 *
 * @param defaultSocketRoot the root to use when `options.socketRoot` is not set
 * @example
 * ```ts
 * import { socketPath } from "ipc-streams";
 *
 * socketPath({ id: "world", socketRoot: "/tmp/" }, "/unused/"); // "/tmp/app.world"
 * ```
 */
export function socketPath(options: SocketPathOptions, defaultSocketRoot: string): string {
  if (options.path !== undefined) {
    if (typeof options.path !== "string" || options.path.length === 0) {
      throw new IpcError("ERR_IPC_INVALID_OPTION", "path must be a non-empty string");
    }
    return options.path;
  }
  if (typeof options.id !== "string" || options.id.length === 0) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "id must be a non-empty string (or give an explicit path)");
  }
  const appspace = options.appspace ?? DEFAULT_APPSPACE;
  const socketRoot = options.socketRoot ?? defaultSocketRoot;
  if (typeof appspace !== "string" || typeof socketRoot !== "string") {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "appspace and socketRoot must be strings");
  }
  return socketRoot + appspace + options.id;
}

/** Throws `ERR_IPC_PATH_TOO_LONG` when the OS cannot bind or connect to `path`. */
export function checkSocketPathLength(path: string, maxBytes: number): void {
  const bytes = new TextEncoder().encode(path).byteLength;
  if (bytes > maxBytes) {
    throw new IpcError(
      "ERR_IPC_PATH_TOO_LONG",
      `socket path is ${bytes} bytes, the OS allows at most ${maxBytes}: ${path}`,
      { path, limit: maxBytes },
    );
  }
}

/** POSIX path normalisation as Node's `path.posix.normalize`, without a trailing slash. */
function normalizePosix(path: string): string {
  const absolute = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
      else if (!absolute) parts.push("..");
    } else {
      parts.push(part);
    }
  }
  const joined = parts.join("/");
  return absolute ? `/${joined}` : joined || ".";
}

/** The directory part of a path (everything before the last `/`), or `undefined` for none. */
export function directoryOf(path: string): string | undefined {
  const slash = path.lastIndexOf("/");
  if (slash <= 0) return slash === 0 ? "/" : undefined;
  return path.slice(0, slash);
}
