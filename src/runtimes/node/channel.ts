import type { Socket } from "node:net";
import { IpcError } from "../../errors.ts";
import { type ByteChannel, FIRST_WRITE_FRAMES } from "../../runtime.ts";

/** Text a batch may hold (UTF-16 units) before it goes to the socket, whatever its frame count. */
const BATCH_TEXT = 64 * 1024;

/** Written to probe whether a peer that ended its side is gone entirely. */
const EMPTY = new Uint8Array(0);

/**
 * Wraps a connected `net.Socket` (created with `allowHalfOpen: true`) as a {@link ByteChannel}.
 * Reading is pull-driven: the socket is paused whenever a chunk is waiting for its reader, so the
 * kernel's buffer, not ours, absorbs a fast peer. Writing is coalesced: the text frames of a tick
 * are concatenated into one string, handed to `socket.write` (which encodes it natively) on
 * `process.nextTick`, or earlier once it holds {@link FIRST_WRITE_FRAMES} frames (then twice as
 * many, and so on) or {@link BATCH_TEXT} units. So the frames written while handling one read
 * (replies to a burst of requests, say) cost a few write calls and system calls, not one each,
 * and the first leaves while the rest are still being made. Byte writes (raw mode) go to the
 * socket after the batch, corked until the tick ends, so they too leave in one `writev`.
 * Backpressure is unchanged: `write()` reports a full buffer as `socket.write` does.
 */
export function socketChannel(socket: Socket, path: string): ByteChannel {
  const queue: Uint8Array<ArrayBuffer>[] = [];
  /** The peer ended its side (EOF read). */
  let ended = false;
  /** The socket is closed. */
  let gone = false;
  let failure: IpcError | undefined;
  let waiter: (() => void) | undefined;
  let drain: Promise<void> | undefined;
  /** Text frames written this tick and not yet handed to the socket, as one string. */
  let batch = "";
  let batchFrames = 0;
  /** How many frames make the batch leave before the tick ends (doubles at each early flush). */
  let batchLimit = FIRST_WRITE_FRAMES;
  /** Byte writes are held in the socket's cork until the tick ends. */
  let corked = false;
  let tickEndScheduled = false;
  /** Hands the batch to the socket; false when the socket's buffer is full. */
  const flush = (): boolean => {
    if (batchFrames === 0) return true;
    const text = batch;
    batch = "";
    batchFrames = 0;
    return socket.write(text);
  };
  const endTick = () => {
    tickEndScheduled = false;
    batchLimit = FIRST_WRITE_FRAMES;
    if (!socket.destroyed) flush();
    if (corked) {
      corked = false;
      socket.uncork();
    }
  };
  const wake = () => {
    const resume = waiter;
    waiter = undefined;
    resume?.();
  };

  socket.on("data", (chunk: Buffer) => {
    queue.push(new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.byteLength));
    if (waiter === undefined) socket.pause();
    wake();
  });
  socket.on("end", () => {
    ended = true;
    wake();
    // The peer ended its side. If it is gone entirely (it closed rather than half-closed, exited
    // or crashed), an empty write fails with EPIPE: nothing can be sent any more, so the socket is
    // released now and the connection ends by itself instead of at our next write.
    if (!socket.writableEnded && !socket.destroyed) {
      socket.write(EMPTY, (error) => {
        if (error) socket.destroy();
      });
    }
  });
  socket.on("error", (error: NodeJS.ErrnoException) => {
    // A broken pipe after the peer's end (the probe's, or a write's) only says that the peer is
    // gone: the socket is destroyed, so writing reports ERR_IPC_CLOSED, as on the other runtimes.
    if (ended && error.code === "EPIPE") return wake();
    failure ??= new IpcError("ERR_IPC_CONNECTION_RESET", `socket error: ${error.code ?? error.message}`, {
      path,
      cause: error,
    });
    wake();
  });
  const closed = new Promise<void>((resolve) => {
    socket.once("close", () => {
      gone = true;
      wake();
      resolve();
    });
  });

  return {
    async read() {
      for (;;) {
        const chunk = queue.shift();
        if (chunk !== undefined) return chunk;
        // An error after the peer's end (the probe's EPIPE, say) concerns writing only.
        if (ended) return null;
        if (failure) throw failure;
        if (gone || socket.destroyed) return null;
        await new Promise<void>((resolve) => {
          waiter = resolve;
          socket.resume();
        });
      }
    },
    write(data) {
      if (failure) throw failure;
      if (socket.destroyed || socket.writableEnded) {
        throw new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing", { path });
      }
      if (!tickEndScheduled) {
        tickEndScheduled = true;
        process.nextTick(endTick);
      }
      let more: boolean;
      if (typeof data === "string") {
        // Text is batched as one string, which Node encodes natively into its write as UTF-8.
        batch += data;
        if (++batchFrames === batchLimit) {
          batchLimit *= 2;
          more = flush();
        } else if (batch.length >= BATCH_TEXT) more = flush();
        else more = !socket.writableNeedDrain;
      } else {
        flush();
        if (!corked) {
          corked = true;
          socket.cork();
        }
        more = socket.write(data);
      }
      if (more) return undefined;
      drain ??= new Promise<void>((resolve, reject) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("finish", done);
          socket.off("close", done);
          drain = undefined;
          if (failure) reject(failure);
          else resolve();
        };
        socket.on("drain", done);
        // Once end() was called Node emits no "drain", only "finish" when everything is flushed.
        socket.on("finish", done);
        socket.on("close", done);
      });
      return drain;
    },
    end() {
      return new Promise<void>((resolve) => {
        if (socket.destroyed || socket.writableFinished) return resolve();
        flush();
        socket.once("close", resolve);
        socket.end(() => {
          socket.off("close", resolve);
          resolve();
        });
      });
    },
    destroy() {
      socket.destroy();
    },
    closed,
  };
}
