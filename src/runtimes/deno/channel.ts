import { nextTick } from "node:process";
import { IpcError } from "../../errors.ts";
import { type ByteChannel, FIRST_WRITE_FRAMES } from "../../runtime.ts";

/** Bytes asked of the OS per read. */
const READ_SIZE = 64 * 1024;
/** Writes smaller than this are copied into a batch, so a burst of small frames is one OS write. */
const COPY_LIMIT = 16 * 1024;
/** Capacity of one write batch. */
const BATCH_SIZE = 64 * 1024;
const textEncoder = new TextEncoder();
/** Bytes that may wait unwritten before `write()` asks the caller to wait. */
const HIGH_WATER_MARK = 64 * 1024;

/**
 * Bytes waiting to be written: a batch of small text writes (kept as one string, encoded once
 * when it is written), a batch of copied small byte writes, or one large write by reference.
 */
interface Pending {
  readonly kind: "text" | "bytes" | "large";
  /** A text batch's text, until it is encoded into `bytes`. */
  text: string;
  bytes: Uint8Array;
  /** Bytes of `bytes` in use (a batch fills up as writes are copied in). */
  used: number;
  /** Writes copied in, and how many the batch takes (see {@link FIRST_WRITE_FRAMES}). */
  writes: number;
  readonly limit: number;
}

const NO_BYTES = new Uint8Array(0);

/** A caller of `write()` or `end()` waiting until `written` reaches `until`. */
interface Waiter {
  readonly until: number;
  readonly resolve: () => void;
  readonly reject: (error: IpcError) => void;
}

/**
 * Wraps a connected Deno Unix socket as a {@link ByteChannel}, on `conn.read()`, `conn.write()`
 * and `conn.closeWrite()` (never `conn.readable`/`conn.writable`, which close the whole socket on
 * half-close).
 *
 * Reading is pull-driven: the OS is read only while a `read()` is pending, 64 KiB at most, and
 * every chunk handed out is fresh. Writing goes through a bounded queue: writes under 16 KiB join
 * a batch (bytes are copied into a 64 KiB buffer; text is concatenated and encoded once, when the
 * batch is written), the first batch of a tick taking up to
 * {@link FIRST_WRITE_FRAMES} frames, each next twice as many. A full batch goes at once, the rest
 * once the tick's microtasks have run, so a burst of frames (the replies to one read, a broadcast)
 * costs a few OS writes, not one each, and the peer can start on the first while the rest are
 * made. A larger write is passed by reference and its promise settles once the OS took all of it.
 * Past 64 KiB waiting, `write()` returns a promise (backpressure).
 *
 * @param conn a connected socket, owned by the channel from now on
 * @param path the socket path, for errors
 * @example
 * ```ts
 * const channel = connChannel(await Deno.connect({ transport: "unix", path }), path);
 * await channel.write(new TextEncoder().encode('{"type":"hello","data":{}}\f'));
 * await channel.end();
 * ```
 */
export function connChannel(conn: Deno.Conn, path: string): ByteChannel {
  let readBuffer: Uint8Array<ArrayBuffer> | undefined;
  let readEnded = false;
  let writeEnded = false;
  /** `destroy()` was called: reads give `null`, waiting writers are released. */
  let destroyed = false;
  /** The resource is closed (destroyed, both directions done, or broken). */
  let released = false;
  let failure: IpcError | undefined;

  const queue: Pending[] = [];
  let spare: Uint8Array | undefined;
  /** Bytes handed to `write()` so far, and bytes the OS took so far. */
  let accepted = 0;
  let written = 0;
  /** A flush is scheduled or running, and whether it has started. */
  let flushing = false;
  let flushStarted = false;
  /** The next batch's frame limit: {@link FIRST_WRITE_FRAMES} at the start of a tick, then doubling. */
  let batchLimit = FIRST_WRITE_FRAMES;
  let tickEndScheduled = false;
  const endTick = () => {
    tickEndScheduled = false;
    batchLimit = FIRST_WRITE_FRAMES;
  };
  let waiters: Waiter[] = [];
  let ending: Promise<void> | undefined;

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });

  /** Settles the waiters whose bytes are written (all of them once released). */
  const settleWaiters = (upTo: number) => {
    if (waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of waiters) {
      if (waiter.until > upTo) still.push(waiter);
      else if (failure) waiter.reject(failure);
      else waiter.resolve();
    }
    waiters = still;
  };

  const waitUntilWritten = (until: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      waiters.push({ until, resolve, reject });
    });

  const release = () => {
    if (released) return;
    released = true;
    try {
      conn.close();
    } catch {
      // Already closed by Deno: nothing left to release.
    }
    queue.length = 0;
    settleWaiters(Number.POSITIVE_INFINITY);
    resolveClosed();
  };

  /** Records an I/O failure: later calls report it, and the broken socket is released. */
  const fail = (error: unknown, action: string): IpcError => {
    failure ??= new IpcError("ERR_IPC_CONNECTION_RESET", `cannot ${action} ${path}: ${describe(error)}`, {
      path,
      cause: error,
    });
    release();
    return failure;
  };

  /**
   * Writes everything queued, one batch per OS write. A batch leaves once it is full or its tick
   * is over (see enqueue).
   */
  const flush = async () => {
    flushStarted = true;
    try {
      for (let next = queue.shift(); next !== undefined && !released; next = queue.shift()) {
        encodeText(next);
        let view = next.bytes.subarray(0, next.used);
        while (view.byteLength > 0) {
          const count = await conn.write(view);
          if (released) return;
          written += count;
          view = view.subarray(count);
          settleWaiters(written);
        }
        if (next.kind !== "large" && next.bytes.byteLength === BATCH_SIZE) spare = next.bytes;
        // Writes made while this one was in flight are taken together, once the tick is over.
        if (queue.length > 0 && !isFull(queue[0] as Pending)) await endOfTick();
      }
    } catch (error) {
      if (!released) fail(error, "write to");
    } finally {
      flushing = false;
      flushStarted = false;
    }
  };
  const startFlush = () => {
    if (!flushStarted) void flush();
  };

  /**
   * Encodes a text batch into a batch buffer, once, just before it is written (or when `end()`
   * needs the exact byte count). Until then `accepted` counts its UTF-16 units, which are never
   * more than its UTF-8 bytes; from then on, its bytes.
   */
  const encodeText = (pending: Pending) => {
    if (pending.kind !== "text" || pending.text === "") return;
    const text = pending.text;
    pending.text = "";
    const buffer = spare ?? new Uint8Array(BATCH_SIZE);
    spare = undefined;
    const { read, written } = textEncoder.encodeInto(text, buffer);
    // Text with many multi-byte characters may not fit the buffer: then it gets its own bytes.
    pending.bytes = read === text.length ? buffer : textEncoder.encode(text);
    pending.used = read === text.length ? written : pending.bytes.byteLength;
    accepted += pending.used - text.length;
  };

  /** The batch of `kind` at the end of the queue when it has room for `size` more, else a new one. */
  const batchWithRoom = (kind: "text" | "bytes", size: number): Pending => {
    const tail = queue[queue.length - 1];
    if (tail !== undefined && tail.kind === kind && !isFull(tail)) {
      const room = kind === "text" ? BATCH_SIZE - tail.text.length : tail.bytes.byteLength - tail.used;
      if (room >= size) return tail;
    }
    let bytes: Uint8Array = NO_BYTES;
    if (kind === "bytes") {
      bytes = spare ?? new Uint8Array(BATCH_SIZE);
      spare = undefined;
    }
    const batch: Pending = { kind, text: "", bytes, used: 0, writes: 0, limit: batchLimit };
    batchLimit *= 2;
    queue.push(batch);
    return batch;
  };

  /** Queues small writes in batches (bytes copied, text kept as text), large ones by reference. */
  const enqueue = (data: Uint8Array | string) => {
    let batch: Pending | undefined;
    if (typeof data === "string") {
      batch = batchWithRoom("text", data.length);
      batch.text += data;
      accepted += data.length;
    } else if (data.byteLength < COPY_LIMIT) {
      batch = batchWithRoom("bytes", data.byteLength);
      batch.bytes.set(data, batch.used);
      batch.used += data.byteLength;
      accepted += data.byteLength;
    } else {
      queue.push({ kind: "large", text: "", bytes: data, used: data.byteLength, writes: 1, limit: 1 });
      accepted += data.byteLength;
    }
    if (batch !== undefined) batch.writes++;
    if (!tickEndScheduled) {
      tickEndScheduled = true;
      nextTick(endTick);
    }
    if (!flushing) {
      // The first write of a tick waits for the tick to end, so that the writes made by the same
      // burst of work (the replies to one read, a broadcast loop) go out together; a full first
      // batch goes at once, so the peer can start on it while the rest are made.
      flushing = true;
      nextTick(startFlush);
    } else if (batch !== undefined && isFull(batch) && queue[0] === batch) {
      startFlush();
    }
  };

  /**
   * The peer ended its side. If it is gone entirely (it closed rather than half-closed, exited or
   * crashed), an empty write fails with BrokenPipe: nothing can be sent any more, so the socket is
   * released now and the connection ends by itself instead of at our next write. (While a flush is
   * running, that flush meets the same error.)
   */
  const probePeer = () => {
    conn.write(new Uint8Array(0)).then(
      () => {},
      () => {
        if (!released && !flushing) release();
      },
    );
  };

  return {
    async read() {
      if (destroyed) return null;
      if (failure) throw failure;
      while (!readEnded && !released) {
        readBuffer ??= new Uint8Array(READ_SIZE);
        let count: number | null;
        try {
          count = await conn.read(readBuffer);
        } catch (error) {
          if (destroyed) return null;
          if (failure) throw failure;
          if (released) return null;
          throw fail(error, "read from");
        }
        if (destroyed) return null;
        if (count === null) {
          readEnded = true;
          if (writeEnded) release();
          else if (!flushing && ending === undefined) probePeer();
          return null;
        }
        if (count === 0) continue;
        if (count > READ_SIZE / 2) {
          // A big read keeps its buffer; the next read gets a new one.
          const chunk = readBuffer.subarray(0, count);
          readBuffer = undefined;
          return chunk;
        }
        return readBuffer.slice(0, count);
      }
      return null;
    },

    write(data) {
      if (failure) throw failure;
      if (released || ending !== undefined) {
        throw new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing", { path });
      }
      if (data.length === 0) return undefined;
      // Text that might not be small is encoded here and goes the large-write way.
      const frame = typeof data === "string" && data.length * 3 >= COPY_LIMIT ? textEncoder.encode(data) : data;
      enqueue(frame);
      // Small writes were copied: the caller may go on while little is queued. A large write is
      // held by reference, so its caller waits until the OS took every byte of it.
      const copied = typeof frame === "string" || frame.byteLength < COPY_LIMIT;
      const until = copied ? accepted - HIGH_WATER_MARK : accepted;
      return written >= until ? undefined : waitUntilWritten(until);
    },

    end() {
      ending ??= (async () => {
        for (const pending of queue) encodeText(pending);
        if (accepted > written && !released) await waitUntilWritten(accepted);
        if (failure) throw failure;
        if (released) return;
        try {
          await conn.closeWrite();
        } catch (error) {
          if (released) return;
          throw fail(error, "end writing to");
        }
        writeEnded = true;
        if (readEnded) release();
      })();
      return ending;
    },

    destroy() {
      destroyed = true;
      release();
    },

    closed,
  };
}

/** A batch that takes no more writes: as many as its limit, or one written by reference. */
function isFull(pending: Pending): boolean {
  return pending.writes >= pending.limit;
}

/** Resolves once the current tick's microtasks have all run. */
function endOfTick(): Promise<void> {
  return new Promise((resolve) => nextTick(resolve));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
