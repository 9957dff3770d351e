import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { IpcError } from "../../errors.ts";
import { isTlsErrorCode } from "../../net/tls-errors.ts";
import { pathOf } from "../../transport/address.ts";
import type { Address, RemoteAddress, SocketEvents, TlsInfo, TransportSocket } from "../../transport/contract.ts";
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
  return new NodeSocket(socket, address);
}

/** The adapter of each socket, for the listeners below, which are called with the socket as `this`. */
const adapters = new WeakMap<Socket, NodeSocket>();

/**
 * One class and module-level listeners rather than closures per socket: a server holds thousands
 * of sockets, and each closure (with its context) costs memory for as long as the socket lives.
 */
class NodeSocket implements TransportSocket {
  readonly remoteAddress: RemoteAddress | undefined;
  readonly tls: TlsInfo | undefined;
  readonly #socket: Socket;
  readonly #path: string | undefined;
  readonly #isTls: boolean;
  #events: SocketEvents | undefined;
  #failure: IpcError | undefined;
  #waiting: { resolve(): void; reject(error: IpcError): void } | undefined;

  constructor(socket: Socket, address: Address) {
    this.#socket = socket;
    this.#path = pathOf(address);
    this.#isTls = address.transport === "tls";
    this.remoteAddress =
      address.transport === "unix" ? undefined : { host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    this.tls = this.#isTls ? tlsInfoOf(socket as TLSSocket) : undefined;
    adapters.set(socket, this);
    // Listened for at once: an accepted socket may wait to be opened, and an unheard error would crash.
    socket.on("error", onError);
  }

  open(events: SocketEvents): void {
    const socket = this.#socket;
    this.#events = events;
    socket.pause();
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.once("close", onClose);
    // Closed while it waited to be opened (a peer that left at once): say so now.
    if (socket.closed) queueMicrotask(() => events.onClose(this.#failure));
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  write(data: Uint8Array | string): Promise<void> | undefined {
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) {
      throw this.#failure ?? new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing", { path: this.#path });
    }
    if (this.#isTls) {
      // Nothing to probe under TLS: an empty write is done at once.
      return data.length === 0 ? undefined : this.#writeAndWait(data);
    }
    socket.write(data);
    if (socket.writableLength === 0 && !socket.destroyed) return undefined;
    return this.#writeAndWait(NOTHING);
  }

  shutdown(): Promise<void> {
    const socket = this.#socket;
    return new Promise<void>((resolve) => {
      if (socket.destroyed || socket.writableFinished) return resolve();
      socket.once("close", resolve);
      socket.end(() => {
        socket.off("close", resolve);
        resolve();
      });
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  /** Writes `data`; the promise settles once Node has written it (a closure only on this slow path). */
  #writeAndWait(data: Uint8Array | string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(data, (error?: Error | null) => this.written(error));
    });
  }

  /**
   * The write waited for is done: a TLS write, or the zero-length write queued behind bytes Node
   * could not write at once (it completes after them, in order).
   */
  written(error: Error | null | undefined): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    this.#waiting = undefined;
    // Node reports a write cut short by destroy() as done: a destroyed socket wrote nothing more.
    if (error || this.#socket.destroyed) {
      waiting.reject(
        this.#failure ??
          (error
            ? toIpcError(error, this.#path)
            : new IpcError("ERR_IPC_CLOSED", "the socket is closed", { path: this.#path })),
      );
    } else waiting.resolve();
  }

  failed(error: Error): void {
    this.#failure ??= toIpcError(error, this.#path);
    // Node closes a socket after an error; closing it now keeps a TLS alert from reading as a clean end.
    this.#socket.destroy();
  }

  received(chunk: Buffer): void {
    this.#events?.onData(new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.byteLength));
  }

  ended(): void {
    // Bun reports the end of a socket that broke too; the close that follows says why.
    if (this.#failure === undefined) this.#events?.onEnd();
  }

  closed(): void {
    const failure = this.#failure;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting.reject(failure ?? new IpcError("ERR_IPC_CLOSED", "the socket is closed", { path: this.#path }));
    }
    this.#events?.onClose(failure);
  }
}

function onError(this: Socket, error: Error): void {
  adapters.get(this)?.failed(error);
}

function onData(this: Socket, chunk: Buffer): void {
  adapters.get(this)?.received(chunk);
}

function onEnd(this: Socket): void {
  adapters.get(this)?.ended();
}

function onClose(this: Socket): void {
  adapters.get(this)?.closed();
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
