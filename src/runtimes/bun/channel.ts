import type { Socket, SocketHandler } from "bun";
import { IpcError } from "../../errors.ts";
import { type ByteChannel, FIRST_WRITE_FRAMES } from "../../runtime.ts";

/**
 * How many received bytes a channel may hold for its reader before it pauses the socket. Past it
 * Bun stops polling the socket, so a fast peer is held back by the kernel's buffer (and, once that
 * is full, by its own writes blocking). The queue holds at most this plus one chunk from Bun.
 */
const READ_AHEAD_BYTES = 64 * 1024;

/**
 * Byte writes up to this size are copied into a per-channel batch and sent together (see
 * {@link FIRST_WRITE_FRAMES}): each `socket.write` outside a Bun callback is its own system call,
 * and small frames (node-ipc events are typically under 1 KiB) would otherwise cost one each.
 * Larger byte writes go straight to the socket, uncopied. Text is batched whatever its size.
 */
const SMALL_WRITE_BYTES = 8 * 1024;

const textEncoder = new TextEncoder();

/** The batch's size (bytes, or UTF-16 units of text): a full batch is flushed at once. */
const BATCH_BYTES = 32 * 1024;

function flushScheduledBatch(channel: BunChannel): void {
  channel.flushBatch();
}

/**
 * One Bun socket as a {@link ByteChannel}. Bun delivers data by callback; the channel queues it for
 * `read()` and pauses the socket (`socket.pause()`) as soon as the queue reaches
 * {@link READ_AHEAD_BYTES} with no read pending, resuming it when the reader catches up.
 * `socket.write()` takes what the kernel can take and returns how many bytes that was; the rest
 * waits, in order, for Bun's `drain` callback. Writes are batched per tick (text concatenated
 * into one string that Bun encodes as it writes; small byte writes copied, see
 * {@link SMALL_WRITE_BYTES}), the batch leaving early after {@link FIRST_WRITE_FRAMES} frames (then
 * twice as many, and so on), so at most one batch is held beyond what the kernel took. Once Bun
 * refuses a write (the socket closed, or the peer is gone), that write and every later one fail
 * with `ERR_IPC_CLOSED` at once, before Bun reports the close.
 *
 * The channel is created before its socket exists (a connect may still fail) and is attached in the
 * `open` callback; the handlers below reach it through `socket.data`.
 *
 * @internal Used by the Bun runtime adapter only; user code gets channels from `bunRuntime`.
 */
export class BunChannel implements ByteChannel {
  readonly closed: Promise<void>;
  readonly #path: string;
  #socket: Socket<BunChannel> | undefined;
  #resolveClosed!: () => void;

  // Reading.
  readonly #received: Uint8Array<ArrayBuffer>[] = [];
  #receivedBytes = 0;
  #paused = false;
  /** The peer ended its side, or the socket is gone. */
  #readEnded = false;
  #failure: IpcError | undefined;
  #resolveRead: ((chunk: Uint8Array<ArrayBuffer> | null) => void) | undefined;
  #rejectRead: ((error: IpcError) => void) | undefined;

  // Writing.
  /** Bytes the kernel has not taken yet, in order; the head may be partly written. */
  readonly #unsent: Uint8Array[] = [];
  /** How much of `#unsent[0]` is already written. */
  #unsentOffset = 0;
  #drain: Promise<void> | undefined;
  #resolveDrain: (() => void) | undefined;
  #rejectDrain: ((error: IpcError) => void) | undefined;
  /**
   * The batch: this tick's text writes as one string (Bun encodes it natively as it writes), or
   * its small byte writes copied into `#batch`; never both (switching kinds sends the batch).
   */
  #text = "";
  #batch: Uint8Array | undefined;
  #batched = 0;
  /** Writes in the batch; the batch is sent before the tick ends once they reach `#batchLimit`. */
  #batchedWrites = 0;
  /** {@link FIRST_WRITE_FRAMES} at the start of a tick, doubled at each batch sent early. */
  #batchLimit = FIRST_WRITE_FRAMES;
  #flushScheduled = false;
  #ending: Promise<void> | undefined;
  #resolveEnding: (() => void) | undefined;
  #writeClosed = false;
  /**
   * Bun refused a write (`socket.write` returned -1): the socket is closed, or its peer is gone
   * (a broken pipe). Bun reports the close itself only on a later turn of the event loop.
   */
  #refused = false;

  #isClosed = false;
  #destroyed = false;

  /** @param path the socket path, for errors */
  constructor(path: string) {
    this.#path = path;
    this.closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Binds the channel to its socket; called from the `open` callback. */
  attach(socket: Socket<BunChannel>): void {
    this.#socket = socket;
  }

  read(): Promise<Uint8Array<ArrayBuffer> | null> {
    const chunk = this.#received.shift();
    if (chunk !== undefined) {
      this.#receivedBytes -= chunk.byteLength;
      if (this.#paused && this.#receivedBytes < READ_AHEAD_BYTES) this.#resume();
      return Promise.resolve(chunk);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#readEnded) return Promise.resolve(null);
    if (this.#paused) this.#resume();
    return new Promise((resolve, reject) => {
      this.#resolveRead = resolve;
      this.#rejectRead = reject;
    });
  }

  write(data: Uint8Array | string): Promise<void> | undefined {
    if (this.#failure) throw this.#failure;
    if (this.#writeClosed || this.#isClosed || this.#refused) throw this.#closedForWriting();
    const drained = typeof data === "string" ? this.#writeText(data) : this.#writeBytes(data);
    // Bun refused this write, or the batch it sent: the socket takes nothing more. Until Bun reports
    // the close, on a later turn of the event loop, every write would seem to succeed, and a writer
    // whose writes all resolve at once would never reach that turn. So the write fails now.
    if (this.#refused) throw this.#closedForWriting();
    return drained;
  }

  #closedForWriting(): IpcError {
    return new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing", { path: this.#path });
  }

  #writeText(data: string): Promise<void> | undefined {
    if (this.#batched > 0) this.#flushBatch();
    if (this.#unsent.length > 0) {
      // Waiting for `drain` already: queue behind the bytes the kernel has not taken.
      this.#unsent.push(textEncoder.encode(data));
      return this.#waitForDrain();
    }
    this.#text += data;
    if (this.#text.length >= BATCH_BYTES) this.#flushBatch();
    else this.#batchedWrite();
    return this.#unsent.length > 0 ? this.#waitForDrain() : undefined;
  }

  #writeBytes(bytes: Uint8Array): Promise<void> | undefined {
    if (this.#text.length > 0) this.#flushBatch();
    if (this.#unsent.length > 0) {
      // Waiting for `drain` already: queue behind the bytes the kernel has not taken.
      this.#unsent.push(bytes);
      return this.#waitForDrain();
    }
    const length = bytes.byteLength;
    if (length <= SMALL_WRITE_BYTES) {
      if (this.#batched + length > BATCH_BYTES && !this.#flushBatch()) {
        this.#unsent.push(bytes);
        return this.#waitForDrain();
      }
      this.#batch ??= new Uint8Array(BATCH_BYTES);
      this.#batch.set(bytes, this.#batched);
      this.#batched += length;
      this.#batchedWrite();
      return undefined;
    }
    if (this.#batched > 0 && !this.#flushBatch()) {
      this.#unsent.push(bytes);
      return this.#waitForDrain();
    }
    const written = (this.#socket as Socket<BunChannel>).write(bytes);
    if (written === length) return undefined;
    if (written < 0) {
      this.#refused = true;
      return undefined;
    }
    this.#unsentOffset = written;
    this.#unsent.push(bytes);
    return this.#waitForDrain();
  }

  /**
   * Called after a write joined the batch: the batch leaves on `nextTick`, once the current run of
   * microtasks is done, or now if it holds `#batchLimit` writes (see {@link FIRST_WRITE_FRAMES}).
   * A batch sent early that the kernel does not take whole queues its rest for `drain`, and later
   * writes queue behind it.
   */
  #batchedWrite(): void {
    if (++this.#batchedWrites === this.#batchLimit) {
      this.#batchLimit *= 2;
      this.#flushBatch();
    }
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(flushScheduledBatch, this);
  }

  end(): Promise<void> {
    this.#ending ??= new Promise<void>((resolve) => {
      this.#writeClosed = true;
      this.#resolveEnding = resolve;
      if (this.#text.length > 0 || this.#batched > 0) this.#flushBatch();
      if (this.#unsent.length === 0) this.#shutdown();
    });
    return this.#ending;
  }

  /**
   * Sends the batch in one system call. True when the kernel took it all; else the rest is queued
   * for `drain` (copied out: the batch buffer is reused).
   * @internal
   */
  flushBatch(): boolean {
    this.#flushScheduled = false;
    this.#batchLimit = FIRST_WRITE_FRAMES;
    return (this.#text.length === 0 && this.#batched === 0) || this.#flushBatch();
  }

  #flushBatch(): boolean {
    this.#batchedWrites = 0;
    if (this.#text.length > 0) return this.#flushText();
    const batched = this.#batched;
    this.#batched = 0;
    if (this.#isClosed) return false;
    const batch = this.#batch as Uint8Array;
    const written = (this.#socket as Socket<BunChannel>).write(batch, 0, batched);
    if (written === batched) return true;
    // Refused (written < 0): those bytes are lost with the socket, as with any unsent bytes.
    if (written < 0) {
      this.#refused = true;
      return false;
    }
    this.#unsentOffset = 0;
    this.#unsent.push(batch.slice(written, batched));
    this.#waitForDrain();
    return false;
  }

  #flushText(): boolean {
    const text = this.#text;
    this.#text = "";
    if (this.#isClosed) return false;
    const written = (this.#socket as Socket<BunChannel>).write(text);
    // Refused (written < 0): those bytes are lost with the socket, as with any unsent bytes.
    if (written < 0) {
      this.#refused = true;
      return false;
    }
    if (written === Buffer.byteLength(text)) return true;
    this.#unsentOffset = written;
    this.#unsent.push(textEncoder.encode(text));
    this.#waitForDrain();
    return false;
  }

  /** The promise every writer waits on until `#unsent` is flushed. */
  #waitForDrain(): Promise<void> {
    if (this.#drain === undefined) {
      this.#drain = new Promise<void>((resolve, reject) => {
        this.#resolveDrain = resolve;
        this.#rejectDrain = reject;
      });
      // A batch flushed on its own tick may create this with no writer waiting yet.
      this.#drain.catch(() => {});
    }
    return this.#drain;
  }

  destroy(): void {
    if (this.#isClosed) return;
    this.#destroyed = true;
    this.#received.length = 0;
    this.#receivedBytes = 0;
    this.#text = "";
    this.#batched = 0;
    this.#batchedWrites = 0;
    // Bun calls the `close` handler from inside terminate(); onClose settles everything.
    this.#socket?.terminate();
  }

  /** Bun's `data` callback. */
  onData(chunk: Uint8Array<ArrayBuffer>): void {
    const resolve = this.#resolveRead;
    if (resolve !== undefined) {
      this.#resolveRead = undefined;
      this.#rejectRead = undefined;
      resolve(chunk);
      return;
    }
    this.#received.push(chunk);
    this.#receivedBytes += chunk.byteLength;
    if (!this.#paused && this.#receivedBytes >= READ_AHEAD_BYTES) {
      this.#paused = true;
      this.#socket?.pause();
    }
  }

  /** Bun's `end` callback: the peer sent its FIN. */
  onEnd(): void {
    this.#readEnded = true;
    this.#settleRead();
  }

  /** Bun's `drain` callback: the kernel can take more. */
  onDrain(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    const unsent = this.#unsent;
    while (unsent.length > 0) {
      const head = unsent[0] as Uint8Array;
      const left = head.byteLength - this.#unsentOffset;
      const written = socket.write(head, this.#unsentOffset, left);
      if (written < 0) {
        // Refused: the waiters are settled by onClose, which Bun calls on a later turn.
        this.#refused = true;
        return;
      }
      if (written < left) {
        this.#unsentOffset += written;
        return;
      }
      unsent.shift();
      this.#unsentOffset = 0;
    }
    const resolve = this.#resolveDrain;
    this.#drain = this.#resolveDrain = this.#rejectDrain = undefined;
    resolve?.();
    if (this.#resolveEnding !== undefined) this.#shutdown();
  }

  /** Bun's `close` callback (also `error`): the socket is gone, with `error` if it broke. */
  onClose(error?: Error): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#readEnded = true;
    if (error !== undefined && !this.#destroyed) {
      const code = (error as { code?: string }).code;
      this.#failure ??= new IpcError("ERR_IPC_CONNECTION_RESET", `socket error: ${code ?? error.message}`, {
        path: this.#path,
        cause: error,
      });
    }
    this.#settleRead();
    const rejectDrain = this.#rejectDrain;
    if (rejectDrain !== undefined) {
      const lost = this.#unsent.reduce((sum, bytes) => sum + bytes.byteLength, -this.#unsentOffset);
      this.#unsent.length = 0;
      this.#drain = this.#resolveDrain = this.#rejectDrain = undefined;
      rejectDrain(
        this.#failure ??
          (this.#destroyed
            ? new IpcError("ERR_IPC_CLOSED", `the socket was closed with ${lost} bytes unsent`, { path: this.#path })
            : new IpcError("ERR_IPC_CONNECTION_RESET", `the peer closed with ${lost} bytes unsent`, {
                path: this.#path,
              })),
      );
    }
    this.#resolveEnding?.();
    this.#resolveEnding = undefined;
    this.#resolveClosed();
  }

  /** Error from a handler: treated as a broken socket. */
  onError(error: Error): void {
    this.#failure ??= new IpcError("ERR_IPC_CONNECTION_RESET", `socket error: ${error.message}`, {
      path: this.#path,
      cause: error,
    });
    this.#settleRead();
    this.#socket?.terminate();
  }

  /** Hands a pending read the end of input (or the failure), once the queue is empty. */
  #settleRead(): void {
    const resolve = this.#resolveRead;
    const reject = this.#rejectRead;
    if (resolve === undefined || reject === undefined) return;
    this.#resolveRead = this.#rejectRead = undefined;
    if (this.#failure) reject(this.#failure);
    else resolve(null);
  }

  #resume(): void {
    this.#paused = false;
    this.#socket?.resume();
  }

  #shutdown(): void {
    const resolve = this.#resolveEnding;
    this.#resolveEnding = undefined;
    // With the peer's side already ended, Bun closes the socket from inside shutdown().
    if (!this.#isClosed) this.#socket?.shutdown();
    resolve?.();
  }
}

/**
 * The socket callbacks every channel shares: each forwards to the channel in `socket.data`. Bun
 * hands `data` a fresh `Uint8Array` per call (`binaryType: "uint8array"`), never reused.
 *
 * @internal Used by the Bun runtime adapter only.
 */
export const channelHandlers = {
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
    socket.data.onError(error);
  },
} satisfies SocketHandler<BunChannel, "uint8array">;
