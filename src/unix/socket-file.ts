/**
 * The Unix socket-file policy: where a socket file goes, the directory it needs, and binding it
 * so that a live server is never stolen, a stale socket is replaced atomically, and closing never
 * removes a file that is no longer ours. Other transports have no files and need none of it.
 *
 * @module
 */
import { IpcError } from "../errors.ts";
import type { Listener, PathInfo, Runtime, TransportSocket } from "../transport/contract.ts";
import { checkSocketPathLength, directoryOf, type SocketPathOptions, secureSocketRoot, socketPath } from "./paths.ts";

/** Attempts at taking the path before giving up (each lost race to a stale socket costs one). */
const BIND_ATTEMPTS = 8;

/** The socket path for `options`, checked against the OS limit. */
export function resolveSocketPath(runtime: Runtime, options: SocketPathOptions): string {
  // The environment is read only when the default root is needed.
  const root =
    options.path === undefined && options.socketRoot === undefined
      ? secureSocketRoot(runtime.socketRootEnvironment())
      : "";
  const path = socketPath(options, root);
  checkSocketPathLength(path, runtime.maxSocketPathBytes);
  return path;
}

/**
 * Makes sure the socket's directory exists. The default secure root is created owner-only and must
 * be a real directory owned by us with no group or other permissions: it is verified, never
 * chmod-ed (a shared directory is refused, not changed). An explicit root is only created if
 * missing; an explicit `path` is used as is.
 */
export async function prepareSocketDirectory(runtime: Runtime, options: SocketPathOptions): Promise<void> {
  if (options.path !== undefined) return;
  const files = runtime.files;
  if (options.socketRoot !== undefined) {
    // The directory part of the path, whatever the id (the appspace may hold a "/" too).
    const directory = directoryOf(`${options.socketRoot}${options.appspace ?? ""}x`);
    if (directory !== undefined) await files.makeDirectory(directory, 0o700);
    return;
  }
  const environment = runtime.socketRootEnvironment();
  const root = secureSocketRoot(environment).slice(0, -1);
  // Only a missing root is created; whatever is there already is checked as it is.
  let info = await files.pathInfo(root);
  if (info === undefined) {
    await files.makeDirectory(root, 0o700);
    info = await files.pathInfo(root);
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

/** A socket file we bound: the listener, and the way to give the path back. */
export interface BoundSocket {
  /** Removes the socket file if it is still ours, then stops listening. Rejects if removal failed. */
  unbind(): Promise<void>;
}

/**
 * Binds a Unix socket at `path` with permission bits `mode`. The socket is bound under a private
 * name in the same directory, given its mode, then hard-linked into place: a link never replaces
 * anything, so of two servers racing for one path exactly one wins, and the path never shows a
 * socket with the wrong mode. What is in the way is handled as documented for `serve()`: a live
 * server is never stolen (`ERR_IPC_ADDRESS_IN_USE`), a stale socket is removed (only the very file
 * found stale), and anything that is not a socket is left alone (`ERR_IPC_NOT_A_SOCKET`).
 *
 * @param check called between steps; throws to abandon (an abort), undoing what was done
 */
export async function bindSocket(
  runtime: Runtime,
  path: string,
  mode: number,
  onSocket: (socket: TransportSocket) => void,
  check: () => void,
): Promise<BoundSocket> {
  const files = runtime.files;
  const privatePath = privateName(path, runtime.maxSocketPathBytes);
  const bindPath = privatePath ?? path;
  // Bound at the path itself, what is in the way goes first; else the link step deals with it.
  if (privatePath === undefined) await clearStaleSocket(runtime, path, path);
  else refuseNonSocket(await files.pathInfo(path), path);
  check();
  const listener = await runtime.listen({ transport: "unix", path: bindPath }, onSocket);
  let ours: PathInfo | undefined;
  try {
    await files.changeMode(bindPath, mode);
    check();
    if (privatePath !== undefined) await linkIntoPlace(runtime, privatePath, path, check);
    ours = await files.pathInfo(path);
  } catch (error) {
    await listener.close();
    if (privatePath === undefined) await files.removeFile(path).catch(() => {});
    throw error;
  } finally {
    if (privatePath !== undefined) await files.removeFile(privatePath).catch(() => {});
  }
  return { unbind: () => unbind(runtime, path, ours, listener) };
}

/** Throws `ERR_IPC_NOT_A_SOCKET` when `info` (what is at `path`) is something else than a socket. */
function refuseNonSocket(info: PathInfo | undefined, path: string): void {
  if (info !== undefined && info.kind !== "socket") {
    throw new IpcError("ERR_IPC_NOT_A_SOCKET", `${path} exists and is a ${info.kind}, not a socket; it is left alone`, {
      path,
    });
  }
}

/** Links the bound socket at `privatePath` to `path`, clearing a stale socket in the way. */
async function linkIntoPlace(runtime: Runtime, privatePath: string, path: string, check: () => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await runtime.files.link(privatePath, path);
      return;
    } catch (error) {
      if (!(error instanceof IpcError && error.code === "ERR_IPC_ADDRESS_IN_USE") || attempt === BIND_ATTEMPTS) {
        throw error;
      }
    }
    await clearStaleSocket(runtime, path, privatePath);
    check();
  }
}

/** Leaves `path` free: a stale socket is removed; a live server or a file that is not a socket is refused. */
async function clearStaleSocket(runtime: Runtime, path: string, near: string): Promise<void> {
  const stale = await runtime.files.pathInfo(path);
  refuseNonSocket(stale, path);
  if (stale === undefined) return;
  if (await isAnswering(runtime, path)) {
    throw new IpcError("ERR_IPC_ADDRESS_IN_USE", `another server is listening on ${path}`, { path });
  }
  await removeIfSame(runtime, path, stale, near);
}

/** Whether a server answers at `path` (a stale socket refuses). */
async function isAnswering(runtime: Runtime, path: string): Promise<boolean> {
  let probe: TransportSocket;
  try {
    probe = await runtime.connect({ transport: "unix", path });
  } catch (error) {
    if (error instanceof IpcError && error.code === "ERR_IPC_NO_SERVER") return false;
    throw error;
  }
  probe.close();
  return true;
}

/**
 * Removes the file at `path` only if it is still `expected` (same device and inode): it is first
 * moved aside atomically, then checked; a different file (one another server has just linked
 * there) is put back.
 */
async function removeIfSame(runtime: Runtime, path: string, expected: PathInfo, near: string): Promise<void> {
  const files = runtime.files;
  const aside = `${near}~`;
  try {
    await files.rename(path, aside);
  } catch (error) {
    // Gone or replaced in the meantime: someone else dealt with it, and the next link attempt decides.
    const now = await files.pathInfo(path);
    if (now === undefined || !isSameFile(now, expected)) return;
    throw error;
  }
  const moved = await files.pathInfo(aside);
  if (moved !== undefined && !isSameFile(moved, expected)) {
    await files.link(aside, path).catch(() => {});
  }
  await files.removeFile(aside);
}

async function unbind(runtime: Runtime, path: string, ours: PathInfo | undefined, listener: Listener): Promise<void> {
  // The file is removed while we still listen, so nobody can take it for stale in between.
  let problem: unknown;
  try {
    const now = await runtime.files.pathInfo(path);
    if (now !== undefined && ours !== undefined && isSameFile(now, ours)) await runtime.files.removeFile(path);
  } catch (error) {
    problem = error;
  }
  await listener.close();
  if (problem !== undefined) throw problem;
}

function isSameFile(a: PathInfo, b: PathInfo): boolean {
  return a.inode === b.inode && a.device === b.device;
}

/**
 * A fresh name beside `path` for binding before the link, or `undefined` when no such name fits
 * the OS limit (the socket is then bound at `path` itself).
 */
function privateName(path: string, maxBytes: number): string | undefined {
  const directory = directoryOf(path);
  const prefix = directory === undefined ? "" : directory === "/" ? "/" : `${directory}/`;
  const random = Math.random().toString(36).slice(2, 10).padEnd(8, "0");
  const name = `${prefix}.ipc-${random}`;
  return new TextEncoder().encode(name).byteLength <= maxBytes ? name : undefined;
}
