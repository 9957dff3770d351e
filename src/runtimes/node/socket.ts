import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { IpcError } from "../../errors.ts";
import { isTlsErrorCode } from "../../net/tls-errors.ts";
import { pathOf } from "../../transport/address.ts";
import type { Address, SocketEvents, TransportSocket } from "../../transport/contract.ts";
import { tlsInfoOf } from "./tls.ts";

const NOTHING = new Uint8Array(0);

/**
 * A connected `net.Socket` or `tls.TLSSocket` (made with `allowHalfOpen: true`; a TLS one after
 * its handshake) as a {@link TransportSocket}. Node tries every write at once; when the kernel
 * took it all, the bytes have left Node's buffer before `socket.write` returns, and there is
 * nothing to wait for. Otherwise the write is done once Node has written the rest, which the
 * callback of an empty write queued behind it tells. A TLS socket encrypts and writes later, and
 * Deno's refuses empty writes, so there each write waits for its own callback.
 */
export function nodeSocket(socket: Socket, address: Address): TransportSocket {
  const path = pathOf(address);
  let failure: IpcError | undefined;
  let waiting: { resolve(): void; reject(error: IpcError): void } | undefined;
  // Called once the write waited for is done: a TLS write, or the zero-length write queued behind
  // bytes Node could not write at once (it completes after them, in order).
  const onWritten = (error?: Error | null) => {
    if (waiting === undefined) return;
    const { resolve, reject } = waiting;
    waiting = undefined;
    // Node reports a write cut short by destroy() as done: a destroyed socket wrote nothing more.
    if (error || socket.destroyed) {
      reject(
        failure ?? (error ? toIpcError(error, path) : new IpcError("ERR_IPC_CLOSED", "the socket is closed", { path })),
      );
    } else resolve();
  };
  /** Writes `data`; the promise settles with its `onWritten`. */
  const writeAndWait = (data: Uint8Array | string) =>
    new Promise<void>((resolve, reject) => {
      waiting = { resolve, reject };
      socket.write(data, onWritten);
    });
  // Listened for at once: an accepted socket may wait to be opened, and an unheard error would crash.
  socket.on("error", (error: Error) => {
    failure ??= toIpcError(error, path);
    // Node closes a socket after an error; closing it now keeps a TLS alert from reading as a clean end.
    socket.destroy();
  });
  const network = address.transport !== "unix";
  const isTls = address.transport === "tls";
  return {
    ...(network && { remoteAddress: { host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 } }),
    ...(isTls && { tls: tlsInfoOf(socket as TLSSocket) }),
    open(events: SocketEvents) {
      socket.pause();
      socket.on("data", (chunk: Buffer) => {
        events.onData(new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.byteLength));
      });
      // Bun reports the end of a socket that broke too; the close that follows says why.
      socket.on("end", () => {
        if (failure === undefined) events.onEnd();
      });
      socket.once("close", () => {
        const error = failure ?? new IpcError("ERR_IPC_CLOSED", "the socket is closed", { path });
        if (waiting !== undefined) {
          const { reject } = waiting;
          waiting = undefined;
          reject(error);
        }
        events.onClose(failure);
      });
      // Closed while it waited to be opened (a peer that left at once): say so now.
      if (socket.closed) queueMicrotask(() => events.onClose(failure));
    },
    pause() {
      socket.pause();
    },
    resume() {
      socket.resume();
    },
    write(data) {
      if (socket.destroyed || socket.writableEnded) {
        throw failure ?? new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing", { path });
      }
      if (isTls) {
        // Nothing to probe under TLS: an empty write is done at once.
        return data.length === 0 ? undefined : writeAndWait(data);
      }
      socket.write(data);
      if (socket.writableLength === 0 && !socket.destroyed) return undefined;
      return writeAndWait(NOTHING);
    },
    shutdown() {
      return new Promise<void>((resolve) => {
        if (socket.destroyed || socket.writableFinished) return resolve();
        socket.once("close", resolve);
        socket.end(() => {
          socket.off("close", resolve);
          resolve();
        });
      });
    },
    close() {
      socket.destroy();
    },
  };
}

/**
 * A socket error as an `IpcError`: a broken pipe means the peer is gone; a TLS alert after the
 * handshake (with TLS 1.3, a server refuses a client's certificate only then) is `ERR_IPC_TLS`.
 */
function toIpcError(error: NodeJS.ErrnoException, path: string | undefined): IpcError {
  const code = error.code ?? error.message;
  if (code === "EPIPE" || code === "ERR_STREAM_DESTROYED") {
    return new IpcError("ERR_IPC_CLOSED", `the peer is gone (${code})`, { path, cause: error });
  }
  if (isTlsErrorCode(code)) {
    return new IpcError("ERR_IPC_TLS", `the peer ended the TLS session: ${error.message}`, { path, cause: error });
  }
  return new IpcError("ERR_IPC_CONNECTION_RESET", `socket error: ${code}`, { path, cause: error });
}
