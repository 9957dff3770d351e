import { nextTick } from "node:process";
import { IpcError } from "../../errors.ts";
import type { ByteChannel } from "../../runtime.ts";

/** Bytes asked of the OS per read. */
const READ_SIZE = 64 * 1024;
/** Writes smaller than this are copied into a batch, so a burst of small frames is one OS write. */
const COPY_LIMIT = 16 * 1024;
/** Capacity of one write batch. */
const BATCH_SIZE = 64 * 1024;
/** Bytes that may wait unwritten before `write()` asks the caller to wait. */
const HIGH_WATER_MARK = 64 * 1024;

/** Bytes waiting to be written: a batch of copied small writes, or one large write by reference. */
interface Pending {
  readonly bytes: Uint8Array;
  /** Bytes of `bytes` in use (a batch fills up as writes are copied in). */
  used: number;
  /** True for a batch we allocated (it may take more bytes, and be recycled once written). */
  readonly owned: boolean;
}

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
 * every chunk handed out is fresh. Writing goes through a bounded queue: writes under 16 KiB are
 * copied into 64 KiB batches, and the bytes of one tick go out together once the tick's
 * microtasks have run, so a burst of frames (the replies to one read, a broadcast) costs one OS
 * write. A larger write is passed by reference and its promise settles once the OS took all of
 * it. Past 64 KiB waiting, `write()` returns a promise (backpressure).
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
  let flushing = false;
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

  /** Writes everything queued, one batch per OS write, each at the end of a tick (see enqueue). */
  const flush = async () => {
    try {
      for (let next = queue.shift(); next !== undefined && !released; next = queue.shift()) {
        let view = next.bytes.subarray(0, next.used);
        while (view.byteLength > 0) {
          const count = await conn.write(view);
          if (released) return;
          written += count;
          view = view.subarray(count);
          settleWaiters(written);
        }
        if (next.owned && next.bytes.byteLength === BATCH_SIZE) spare = next.bytes;
        // Writes made while this one was in flight are taken together, once the tick is over.
        if (queue.length > 0) await endOfTick();
      }
    } catch (error) {
      if (!released) fail(error, "write to");
    } finally {
      flushing = false;
    }
  };

  const enqueue = (bytes: Uint8Array) => {
    const tail = queue[queue.length - 1];
    if (bytes.byteLength < COPY_LIMIT) {
      if (tail?.owned && tail.bytes.byteLength - tail.used >= bytes.byteLength) {
        tail.bytes.set(bytes, tail.used);
        tail.used += bytes.byteLength;
      } else {
        const batch = spare ?? new Uint8Array(BATCH_SIZE);
        spare = undefined;
        batch.set(bytes, 0);
        queue.push({ bytes: batch, used: bytes.byteLength, owned: true });
      }
    } else {
      queue.push({ bytes, used: bytes.byteLength, owned: false });
    }
    accepted += bytes.byteLength;
    if (!flushing) {
      // The first write of a tick waits for the tick to end, so that every write made by the
      // same burst of work (the replies to one read, a broadcast loop) goes out as one OS write.
      flushing = true;
      nextTick(() => void flush());
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

    write(bytes) {
      if (failure) throw failure;
      if (released || ending !== undefined) {
        throw new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing", { path });
      }
      if (bytes.byteLength === 0) return undefined;
      enqueue(bytes);
      // Small writes were copied: the caller may go on while little is queued. A large write is
      // held by reference, so its caller waits until the OS took every byte of it.
      const until = bytes.byteLength < COPY_LIMIT ? accepted - HIGH_WATER_MARK : accepted;
      return written >= until ? undefined : waitUntilWritten(until);
    },

    end() {
      ending ??= (async () => {
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

/** Resolves once the current tick's microtasks have all run. */
function endOfTick(): Promise<void> {
  return new Promise((resolve) => nextTick(resolve));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
