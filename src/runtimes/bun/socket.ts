import type { Socket, SocketHandler } from "bun";
import { IpcError } from "../../errors.ts";
import { pathOf } from "../../transport/address.ts";
import type { Address, RemoteAddress, SocketEvents, TransportSocket } from "../../transport/contract.ts";

const textEncoder = new TextEncoder();

/**
 * One Bun socket as a {@link TransportSocket}. `socket.write` takes what the kernel can take and
 * says how much that was; the rest waits for Bun's `drain` callback. Bun delivers data, end and
 * close by callback (the handlers below reach this object through `socket.data`); what comes
 * before `open()` is kept and replayed.
 *
 * @internal Used by the Bun runtime adapter only.
 */
export class BunSocket implements TransportSocket {
  readonly #path: string | undefined;
  readonly #network: boolean;
  #socket: Socket<BunSocket> | undefined;
  #events: SocketEvents | undefined;
  /** Callbacks that came before `open()`, in order. */
  #early: ((events: SocketEvents) => void)[] = [];
  #isClosed = false;
  /** Bun refused a write (-1): the socket is closed or its peer gone; Bun reports the close later. */
  #refused = false;
  #failure: IpcError | undefined;
  /** The part of a write the kernel has not taken yet, waiting for `drain`. */
  #unsent: Uint8Array | undefined;
  #resolveWrite: (() => void) | undefined;
  #rejectWrite: ((error: IpcError) => void) | undefined;

  /** @param address where it connects or was accepted, for errors and information */
  constructor(address: Address) {
    this.#path = pathOf(address);
    this.#network = address.transport !== "unix";
  }

  /** Binds this object to its Bun socket; called from the `open` callback. */
  attach(socket: Socket<BunSocket>): void {
    this.#socket = socket;
    if (this.#network) socket.setNoDelay(true);
  }

  get remoteAddress(): RemoteAddress | undefined {
    const socket = this.#socket;
    if (!this.#network || socket === undefined) return undefined;
    return { host: socket.remoteAddress, port: socket.remotePort };
  }

  open(events: SocketEvents): void {
    this.#events = events;
    this.#socket?.pause();
    for (const replay of this.#early.splice(0)) replay(events);
  }

  pause(): void {
    this.#socket?.pause();
  }

  resume(): void {
    this.#socket?.resume();
  }

  write(data: Uint8Array | string): Promise<void> | undefined {
    const socket = this.#socket;
    if (socket === undefined || this.#isClosed || this.#refused) throw this.#closedError();
    const written = socket.write(data);
    if (written < 0) {
      this.#refused = true;
      throw this.#closedError();
    }
    const length = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
    if (written === length) return undefined;
    const bytes = typeof data === "string" ? textEncoder.encode(data) : data;
    this.#unsent = bytes.subarray(written);
    return new Promise<void>((resolve, reject) => {
      this.#resolveWrite = resolve;
      this.#rejectWrite = reject;
    });
  }

  shutdown(): Promise<void> {
    // With the peer's side already ended, Bun closes the socket from inside shutdown().
    if (!this.#isClosed) this.#socket?.shutdown();
    return Promise.resolve();
  }

  close(): void {
    if (this.#isClosed) return;
    const socket = this.#socket;
    // Bun calls the `close` handler from inside terminate(), or never for a socket not yet open.
    if (socket === undefined) this.#onClose();
    else if (!this.#network) socket.terminate();
    else {
      // terminate() resets a TCP connection, which drops what the kernel has not sent yet; end()
      // closes it after that (Bun holds no unsent bytes of ours: they are in #unsent).
      socket.end();
      this.#onClose();
    }
  }

  #closedError(): IpcError {
    return this.#failure ?? new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing", { path: this.#path });
  }

  /** Forwards a callback to the events, or keeps it until `open()`. */
  #report(callback: (events: SocketEvents) => void): void {
    if (this.#events !== undefined) callback(this.#events);
    else this.#early.push(callback);
  }

  /** Bun's `drain` callback: the kernel can take more. */
  onDrain(): void {
    const unsent = this.#unsent;
    const socket = this.#socket;
    if (unsent === undefined || socket === undefined) return;
    const written = socket.write(unsent);
    if (written < 0) {
      this.#refused = true;
      return; // The close that follows rejects the write.
    }
    if (written < unsent.byteLength) {
      this.#unsent = unsent.subarray(written);
      return;
    }
    const resolve = this.#resolveWrite;
    this.#unsent = this.#resolveWrite = this.#rejectWrite = undefined;
    resolve?.();
  }

  /** Bun's `data` callback. */
  onData(chunk: Uint8Array<ArrayBuffer>): void {
    if (this.#isClosed) return;
    this.#report((events) => events.onData(chunk));
  }

  /** Bun's `end` callback: the peer sent its FIN. */
  onEnd(): void {
    if (this.#isClosed) return;
    this.#report((events) => events.onEnd());
  }

  /** Bun's `close` and `error` callbacks: the socket is gone, with `error` if it broke. */
  onClose(error?: Error): void {
    if (error !== undefined) this.#failure ??= toIpcError(error, this.#path);
    this.#onClose();
  }

  #onClose(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const reject = this.#rejectWrite;
    this.#unsent = this.#resolveWrite = this.#rejectWrite = undefined;
    reject?.(this.#closedError());
    const failure = this.#failure;
    this.#report((events) => events.onClose(failure));
  }
}

/** A socket error as an `IpcError`: a broken pipe means the peer is gone. */
function toIpcError(error: Error, path: string | undefined): IpcError {
  const code = (error as { code?: string }).code ?? error.message;
  if (code === "EPIPE") return new IpcError("ERR_IPC_CLOSED", `the peer is gone (${code})`, { path, cause: error });
  return new IpcError("ERR_IPC_CONNECTION_RESET", `socket error: ${code}`, { path, cause: error });
}

/**
 * The socket callbacks every Bun socket shares: each forwards to the {@link BunSocket} in
 * `socket.data`. Bun hands `data` a fresh `Uint8Array` per call (`binaryType: "uint8array"`).
 *
 * @internal Used by the Bun runtime adapter only.
 */
export const socketHandlers = {
  binaryType: "uint8array",
  data(socket, chunk) {
    socket.data.onData(chunk);
  },
  end(socket) {
    socket.data.onEnd();
  },
  drain(socket) {
    socket.data.onDrain();
  },
  close(socket, error) {
    socket.data.onClose(error);
  },
  error(socket, error) {
    socket.data.onClose(error);
  },
} satisfies SocketHandler<BunSocket, "uint8array">;
