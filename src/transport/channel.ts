/**
 * The one channel every connection goes through, whatever the runtime and the transport: read-ahead,
 * write batching, who owns a written buffer, and how a gone peer is noticed are decided here, on
 * top of a runtime's small {@link TransportSocket}.
 *
 * @module
 */
import { IpcError } from "../errors.ts";
import type { SocketEvents, TransportSocket } from "./contract.ts";

/**
 * Frames a batch may gather before it is written even though its tick is not over; doubled at
 * each such early write and reset when the tick ends. A burst of replies thus reaches the peer
 * early, so both processes work at once, while a long burst still costs few system calls.
 */
export const FIRST_WRITE_FRAMES = 16;
/** Byte writes smaller than this are copied into a batch; larger ones are written by reference. */
const COPY_LIMIT = 16 * 1024;
/** The capacity of one batch, in bytes (or UTF-16 units of text). */
const BATCH_BYTES = 64 * 1024;
/** Unwritten bytes past which every send waits for the OS, even one with more to follow. */
const HIGH_WATER_BYTES = 64 * 1024;
/** Spare batch buffers kept for any channel to take, so an idle connection holds none. */
const POOL_BUFFERS = 16;
/** Written when the peer ends its side (`probeOnEnd`). */
const EMPTY = new Uint8Array(0);

const spareBuffers: Uint8Array[] = [];

/**
 * How long a connection whose peer ended its side stays open with nothing sent (`halfOpenTimeout`), in ms.
 *
 * @example
 * ```ts
 * import { DEFAULT_HALF_OPEN_TIMEOUT, serve } from "ipc-streams";
 *
 * // Answers that may take up to 10 s after a client ended its side: keep the connection that long.
 * const server = await serve({ id: "world", halfOpenTimeout: 5 * DEFAULT_HALF_OPEN_TIMEOUT });
 * ```
 */
export const DEFAULT_HALF_OPEN_TIMEOUT = 2000;

/**
 * When a send goes to the OS: `"now"` when nothing else is being written (a single `emit`, whose
 * caller often waits for it); `"tick"` with the other sends of its tick (a stream write, whose
 * stream waits for it before handing over the next message); `"more"` likewise, but its promise
 * resolves once it is batched, since another message is queued right behind it.
 */
export type SendTiming = "now" | "tick" | "more";

/**
 * What a connection needs of the channel under it: a byte stream's {@link Channel}, or one UDP
 * peer's `DatagramChannel` (`./datagram.ts`).
 */
export interface MessageChannel {
  /** Settles (never rejects) once the channel is closed and its socket or peer released. */
  readonly closed: Promise<void>;
  /** Why it broke, if it did. */
  readonly failure: IpcError | undefined;
  /** The next chunk received, or `null` at the end; rejects with the failure. Call again only after it settled. */
  read(): Promise<Uint8Array<ArrayBuffer> | null>;
  /** Drops what was received and whatever follows, while still noticing the end. */
  discard(): void;
  /** Sends whole frames (or raw bytes); throws an `IpcError` when it cannot. */
  send(data: Uint8Array | string, timing?: SendTiming): Promise<void> | undefined;
  /** Sends everything still pending, then ends our side. Idempotent. */
  end(): Promise<void>;
  /** Closes at once, dropping what was not sent. Idempotent. */
  destroy(): void;
}

/** How a channel behaves; set by the connection that owns it. */
export interface ChannelOptions {
  /** The socket path, for errors, on a Unix socket. */
  readonly path: string | undefined;
  /** Runs a callback once the current run of microtasks is done (the runtime's `nextTick`). */
  readonly afterTick: (callback: () => void) => void;
  /**
   * After the peer ended its side, our side is ended too once nothing was sent for this many
   * milliseconds; `Infinity` keeps it open until closed.
   */
  readonly halfOpenTimeout: number;
  /**
   * When the peer ends its side, write zero bytes to learn at once whether it is gone entirely:
   * on a Unix socket that fails when it is; TCP cannot tell, so there it is off.
   */
  readonly probeOnEnd: boolean;
}

/** Bytes waiting to be written together: text, copied bytes, or one large chunk by reference. */
interface Batch {
  readonly kind: "text" | "bytes" | "reference";
  text: string;
  /** The copy buffer (kind "bytes") or the caller's chunk (kind "reference"). */
  readonly bytes: Uint8Array | undefined;
  /** Bytes of `bytes` in use, or UTF-16 units of `text`. */
  size: number;
  frames: number;
  /** Handed to the socket: nothing more joins it. */
  sealed: boolean;
  /** The OS took every byte. */
  done: boolean;
  /** Why it was not written, once it cannot be. */
  error: IpcError | undefined;
  /** Settles when the batch is written; made only when a sender waits for it. */
  written: Promise<void> | undefined;
  resolve: (() => void) | undefined;
  reject: ((error: IpcError) => void) | undefined;
}

/**
 * One connected socket with the shared policy on top:
 * - **Reading**: the socket is read only while a `read()` waits; a chunk that arrives with nobody
 *   waiting (a runtime may deliver one more) pauses it, so a fast peer is held back by the kernel's
 *   buffer, not ours, and the next read takes what gathered there at once.
 * - **Writing** (see {@link SendTiming}): a send timed `"now"` when nothing is being written goes
 *   to the OS at once; later sends of the same run of synchronous code join a batch that leaves
 *   when that run is over. Sends timed `"tick"` or `"more"` join a batch that leaves when the tick
 *   ends, or once it holds {@link FIRST_WRITE_FRAMES} frames (then twice as many). Sends made
 *   while a write is in flight leave together once it completes. A send's promise resolves once
 *   the OS took its bytes, except a `"more"` send's, which resolves once it is batched: the
 *   message queued right behind it covers it.
 * - **Buffer ownership**: text is immutable; bytes under 16 KiB are copied at once, so the caller
 *   may reuse its buffer as soon as `send` returns; a larger chunk is held by reference and its
 *   promise always waits for the OS, so the caller may reuse it once the promise resolved.
 * - **A gone peer**: when the peer ends its side, a zero-byte write asks the OS whether it is gone
 *   entirely (a Unix socket answers at once). On any transport, once the peer has ended and nothing
 *   was sent for `halfOpenTimeout`, our side is ended too and the socket released.
 */
export class Channel implements SocketEvents, MessageChannel {
  /** Settles (never rejects) once the socket is closed and released. */
  readonly closed: Promise<void>;

  readonly #socket: TransportSocket;
  readonly #options: ChannelOptions;
  #resolveClosed!: () => void;
  #isClosed = false;
  #destroyed = false;
  /** Why the socket broke, when it did: reads and sends report it. */
  #failure: IpcError | undefined;

  readonly #received: Uint8Array<ArrayBuffer>[] = [];
  #paused = true;
  #readEnded = false;
  /** The reader is gone: data is dropped, but the socket is still read to notice its end. */
  #discarding = false;
  #resolveRead: ((chunk: Uint8Array<ArrayBuffer> | null) => void) | undefined;
  #rejectRead: ((error: IpcError) => void) | undefined;

  readonly #queue: Batch[] = [];
  #unwrittenBytes = 0;
  #inFlight = false;
  /**
   * A send went to the OS during the current run of synchronous code: later sends of that run join
   * a batch that leaves when it is over (a microtask), so a loop of sends costs two OS writes.
   */
  #inRun = false;
  /** A batch of sends timed `"tick"` or `"more"` waits; it leaves by the end of the tick at the latest. */
  #inTick = false;
  #frameLimit = FIRST_WRITE_FRAMES;
  /** The first write error: every later send fails with it. */
  #writeError: IpcError | undefined;
  #ending: Promise<void> | undefined;
  #writeEnded = false;
  #resolveAllWritten: (() => void) | undefined;
  #halfOpenTimer: ReturnType<typeof setTimeout> | undefined;
  #lastSend = 0;

  /**
   * @param socket a connected socket from a runtime adapter, owned by the channel from now on
   * @param options how it behaves
   */
  constructor(socket: TransportSocket, options: ChannelOptions) {
    this.#socket = socket;
    this.#options = options;
    this.closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    socket.open(this);
  }

  /** Why the socket broke, if it did. */
  get failure(): IpcError | undefined {
    return this.#failure;
  }

  /**
   * The next chunk received, or `null` once the peer ended its side (or the socket closed).
   * Rejects with the failure when the socket broke. Call again only after it settled.
   */
  read(): Promise<Uint8Array<ArrayBuffer> | null> {
    const chunk = this.#received.shift();
    if (chunk !== undefined) {
      return Promise.resolve(chunk);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#readEnded || this.#isClosed) return Promise.resolve(null);
    if (this.#paused) this.#resume();
    return new Promise((resolve, reject) => {
      this.#resolveRead = resolve;
      this.#rejectRead = reject;
    });
  }

  /**
   * Stops delivering data: what was received is dropped and so is whatever follows, but the
   * socket is still read, so that the peer's end (and a gone peer) is noticed.
   */
  discard(): void {
    this.#discarding = true;
    this.#received.length = 0;
    if (this.#paused && !this.#readEnded) this.#resume();
  }

  /**
   * Sends `data` (text as UTF-8) after everything sent before. Returns `undefined` when nothing is
   * left to wait for, else a promise that resolves once the OS took the bytes (see the class
   * notes for the timings and for buffer ownership). Throws an `IpcError` when the channel cannot
   * send.
   */
  send(data: Uint8Array | string, timing: SendTiming = "now"): Promise<void> | undefined {
    if (this.#writeError) throw this.#writeError;
    if (this.#ending !== undefined || this.#isClosed) throw this.#closedForWriting();
    if (this.#readEnded) this.#lastSend = Date.now();
    const batch = this.#append(data);
    if (!this.#inFlight) {
      if (timing !== "now") {
        this.#startTick();
        if (batch.frames >= this.#frameLimit || this.#queue.length > 1) {
          this.#frameLimit *= 2;
          this.#writeNext();
        }
      } else if (!this.#inRun) {
        this.#inRun = true;
        queueMicrotask(this.#endRun);
        this.#writeNext();
      }
    }
    if (batch.done) return undefined;
    if (timing === "more" && batch.kind !== "reference" && this.#unwrittenBytes < HIGH_WATER_BYTES) return undefined;
    return this.#writtenOf(batch);
  }

  /**
   * Half-closes: writes everything sent, then sends end-of-stream. Once the peer has ended its
   * side too, the socket is released. Idempotent.
   */
  end(): Promise<void> {
    this.#ending ??= this.#end();
    return this.#ending;
  }

  /** Closes both directions at once, dropping unsent bytes. Idempotent. */
  destroy(): void {
    if (this.#isClosed) return;
    this.#destroyed = true;
    this.#socket.close();
  }

  async #end(): Promise<void> {
    this.#stopHalfOpenTimer();
    if (!this.#inFlight) this.#writeNext();
    if (this.#queue.length > 0 && !this.#isClosed) {
      await new Promise<void>((resolve) => {
        this.#resolveAllWritten = resolve;
      });
    }
    if (this.#writeError) throw this.#writeError;
    if (this.#isClosed) return;
    await this.#socket.shutdown();
    this.#writeEnded = true;
    if (this.#readEnded) this.#socket.close();
  }

  /** The socket's `onData`. @internal */
  onData(chunk: Uint8Array<ArrayBuffer>): void {
    if (this.#discarding) return;
    const resolve = this.#resolveRead;
    if (resolve !== undefined) {
      this.#resolveRead = this.#rejectRead = undefined;
      resolve(chunk);
      return;
    }
    // Nobody is reading: the socket is paused, so what follows gathers in the kernel and the next
    // read takes it in one chunk, however many small writes the peer made.
    this.#received.push(chunk);
    if (!this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  /** The socket's `onEnd`. @internal */
  onEnd(): void {
    this.#readEnded = true;
    this.#settleRead();
    if (this.#writeEnded) {
      this.#socket.close();
      return;
    }
    if (this.#ending !== undefined) return;
    if (this.#options.probeOnEnd && !this.#inFlight && this.#queue.length === 0) this.#probe();
    if (this.#options.halfOpenTimeout !== Number.POSITIVE_INFINITY) {
      this.#lastSend = Date.now();
      this.#armHalfOpenTimer(this.#options.halfOpenTimeout);
    }
  }

  /** The socket's `onClose`. @internal */
  onClose(error?: IpcError): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#stopHalfOpenTimer();
    // A broken pipe once the peer has ended only says that it is gone; after destroy() nothing broke.
    if (error !== undefined && !this.#destroyed && !(this.#readEnded && error.code === "ERR_IPC_CLOSED")) {
      this.#failure ??= error;
    }
    // What was received is still read, then the end or the failure: a peer may send its last
    // messages and then reset (exiting with bytes of ours unread). After destroy() it is dropped.
    if (this.#destroyed) this.#received.length = 0;
    this.#settleRead();
    this.#refuseUnwritten(this.#failure ?? this.#closedForWriting());
    this.#resolveClosed();
  }

  #closedForWriting(): IpcError {
    return new IpcError("ERR_IPC_CLOSED", "the connection is closed for writing", { path: this.#options.path });
  }

  #resume(): void {
    this.#paused = false;
    this.#socket.resume();
  }

  /** Hands a waiting reader the end of input (or the failure). */
  #settleRead(): void {
    const resolve = this.#resolveRead;
    const reject = this.#rejectRead;
    if (resolve === undefined || reject === undefined) return;
    this.#resolveRead = this.#rejectRead = undefined;
    if (this.#failure) reject(this.#failure);
    else resolve(null);
  }

  /** Adds `data` to the batch at the end of the queue, or to a new one when it does not fit. */
  #append(data: Uint8Array | string): Batch {
    const queue = this.#queue;
    const size = typeof data === "string" ? data.length : data.byteLength;
    let batch = queue[queue.length - 1];
    if (typeof data === "string") {
      if (batch?.kind !== "text" || batch.sealed || batch.size + size > BATCH_BYTES) {
        batch = newBatch("text", undefined);
        queue.push(batch);
      }
      batch.text += data;
    } else if (size < COPY_LIMIT) {
      if (batch?.kind !== "bytes" || batch.sealed || batch.size + size > BATCH_BYTES) {
        batch = newBatch("bytes", spareBuffers.pop() ?? new Uint8Array(BATCH_BYTES));
        queue.push(batch);
      }
      (batch.bytes as Uint8Array).set(data, batch.size);
    } else {
      batch = newBatch("reference", data);
      queue.push(batch);
    }
    batch.size += size;
    batch.frames++;
    this.#unwrittenBytes += size;
    return batch;
  }

  #startTick(): void {
    if (this.#inTick) return;
    this.#inTick = true;
    this.#options.afterTick(this.#endTick);
  }

  readonly #endRun = (): void => {
    this.#inRun = false;
    if (!this.#inFlight) this.#writeNext();
  };

  readonly #endTick = (): void => {
    this.#inTick = false;
    this.#frameLimit = FIRST_WRITE_FRAMES;
    if (!this.#inFlight) this.#writeNext();
  };

  /** Writes the queued batches in order, one OS write each, while the OS takes them at once. */
  #writeNext(): void {
    while (!this.#inFlight && !this.#isClosed && this.#writeError === undefined) {
      const batch = this.#queue[0];
      if (batch === undefined) break;
      batch.sealed = true;
      let wait: Promise<void> | undefined;
      try {
        wait = this.#socket.write(payloadOf(batch));
      } catch (error) {
        this.#writeFailed(error);
        return;
      }
      if (wait !== undefined) {
        this.#waitFor(batch, wait);
        return;
      }
      this.#written(batch);
    }
    if (this.#queue.length === 0 && this.#resolveAllWritten !== undefined) {
      const resolve = this.#resolveAllWritten;
      this.#resolveAllWritten = undefined;
      resolve();
    }
  }

  /** `batch`, the head of the queue, is in flight until `wait` settles; then the next one goes. */
  #waitFor(batch: Batch, wait: Promise<void>): void {
    this.#inFlight = true;
    wait.then(
      () => {
        this.#inFlight = false;
        this.#written(batch);
        // A batch still filling up during its tick leaves when the tick ends, not piecemeal.
        const next = this.#queue[0];
        if (next !== undefined && this.#inTick && next.frames < this.#frameLimit && next.size < BATCH_BYTES) return;
        this.#writeNext();
      },
      (error: unknown) => {
        this.#inFlight = false;
        this.#writeFailed(error);
      },
    );
  }

  /** The OS took `batch`, the head of the queue. */
  #written(batch: Batch): void {
    this.#queue.shift();
    this.#unwrittenBytes -= batch.size;
    batch.done = true;
    if (batch.kind === "bytes" && spareBuffers.length < POOL_BUFFERS) spareBuffers.push(batch.bytes as Uint8Array);
    batch.resolve?.();
  }

  #writeFailed(error: unknown): void {
    this.#writeError ??=
      error instanceof IpcError
        ? error
        : new IpcError("ERR_IPC_CONNECTION_RESET", `cannot write: ${String(error)}`, {
            path: this.#options.path,
            cause: error,
          });
    this.#refuseUnwritten(this.#writeError);
  }

  /** Fails every batch not written yet, and wakes an `end()` waiting for them. */
  #refuseUnwritten(error: IpcError): void {
    const batches = this.#queue.splice(0);
    this.#unwrittenBytes = 0;
    for (const batch of batches) {
      batch.error = error;
      batch.reject?.(error);
    }
    const resolve = this.#resolveAllWritten;
    this.#resolveAllWritten = undefined;
    resolve?.();
  }

  #writtenOf(batch: Batch): Promise<void> {
    if (batch.error !== undefined) return Promise.reject(batch.error);
    batch.written ??= new Promise<void>((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
    });
    return batch.written;
  }

  /** Asks the OS whether a peer that ended its side is gone entirely (the adapter closes if so). */
  #probe(): void {
    let wait: Promise<void> | undefined;
    try {
      wait = this.#socket.write(EMPTY);
    } catch {
      return; // The adapter closes a socket that cannot write.
    }
    if (wait === undefined) return;
    this.#inFlight = true;
    const done = () => {
      this.#inFlight = false;
      this.#writeNext();
    };
    wait.then(done, done);
  }

  #armHalfOpenTimer(delay: number): void {
    this.#halfOpenTimer = setTimeout(this.#halfOpenCheck, delay);
  }

  readonly #halfOpenCheck = (): void => {
    this.#halfOpenTimer = undefined;
    if (this.#isClosed || this.#ending !== undefined) return;
    const idle = Date.now() - this.#lastSend;
    const timeout = this.#options.halfOpenTimeout;
    if (idle < timeout || this.#queue.length > 0) this.#armHalfOpenTimer(Math.max(timeout - idle, 1));
    else this.end().catch(() => {});
  };

  #stopHalfOpenTimer(): void {
    if (this.#halfOpenTimer === undefined) return;
    clearTimeout(this.#halfOpenTimer);
    this.#halfOpenTimer = undefined;
  }
}

function newBatch(kind: Batch["kind"], bytes: Uint8Array | undefined): Batch {
  return {
    kind,
    text: "",
    bytes,
    size: 0,
    frames: 0,
    sealed: false,
    done: false,
    error: undefined,
    written: undefined,
    resolve: undefined,
    reject: undefined,
  };
}

function payloadOf(batch: Batch): Uint8Array | string {
  if (batch.kind === "text") return batch.text;
  const bytes = batch.bytes as Uint8Array;
  return batch.kind === "bytes" ? bytes.subarray(0, batch.size) : bytes;
}
