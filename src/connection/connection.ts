import { type CodecOptions, createCodec, type MessageCodec } from "../codec/codec.ts";
import { event, type IpcEvent } from "../codec/event.ts";
import { IpcError } from "../errors.ts";
import type { MessageChannel, SendTiming } from "../transport/channel.ts";
import type { RemoteAddress, TlsInfo } from "../transport/contract.ts";
import { SyncGate } from "./sync.ts";

/**
 * The event names a connection can send: the `type`s of `Out` when it is a union of events.
 *
 * @example
 * ```ts
 * import { connect, type EmitType, type EventOf } from "ipc-streams";
 *
 * type Out = EventOf<{ hello: { from: string }; bye: null }>;
 * const names: EmitType<Out>[] = ["hello", "bye"]; // what `emit` accepts as its first argument
 * const connection = await connect<unknown, Out>({ id: "world" });
 * await connection.emit("bye", null);
 * ```
 */
export type EmitType<Out> = Out extends IpcEvent<infer Type, unknown> ? Type : string;

/**
 * The payload type of event `Type` among `Out`'s events (`unknown` for untyped connections).
 *
 * @example
 * ```ts
 * import type { EmitData, EventOf } from "ipc-streams";
 *
 * type Out = EventOf<{ hello: { from: string }; bye: null }>;
 * const data: EmitData<Out, "hello"> = { from: "client" }; // what `emit("hello", data)` accepts
 * ```
 */
export type EmitData<Out, Type extends string> =
  Out extends IpcEvent<string, unknown> ? (Out extends IpcEvent<Type, infer Data> ? Data : never) : unknown;

/**
 * Messages that may wait in `Connection.writable`'s queue before `writer.ready` waits: enough for
 * a burst to flow without a stall per message, bounded by count (the messages are the caller's
 * objects, not copies).
 */
const WRITABLE_HIGH_WATER_MARK = 64;

/** What a send the socket took at once returns: one settled promise, shared (it cannot change). */
const SENT: Promise<void> = Promise.resolve();

/**
 * A frame sent with `emit` (or `broadcast`) while messages written to `writable` earlier were
 * still in its queue: it waits for them, so that the peer receives messages in the order they
 * were handed over, whichever way.
 */
interface HeldFrame {
  readonly frame: Uint8Array | string;
  /** The frame leaves once the writable's sink has taken this many messages. */
  readonly after: number;
  /** Settles the emit's promise: with the send's promise once the frame leaves, or a rejection. */
  readonly resolve: (sent: Promise<void>) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * How a connection sends, as its constructor takes it.
 * @internal
 */
export interface ConnectionMode {
  /** On UDP, the largest datagram, which bounds every frame. */
  readonly datagramSize?: number;
  /**
   * node-ipc's sync mode: a message leaves only once a message from the peer arrived for the
   * previous one (see `ConnectOptions.sync`).
   */
  readonly sync?: boolean;
}

/**
 * Where a connection goes, as its constructor takes it.
 * @internal
 */
export interface ConnectionPeer {
  readonly path: string | undefined;
  readonly remoteAddress: RemoteAddress | undefined;
  readonly tls: TlsInfo | undefined;
}

/**
 * One connection: messages in through {@link Connection.readable}, messages out through
 * {@link Connection.writable}. Clients get one from `connect()`; servers get one per peer from
 * `Server.connections`.
 *
 * Messages are JSON values (node-ipc peers exchange `{type, data}` events), or `Uint8Array`
 * chunks in raw mode. An awaited send (`emit`, a writer's last write) resolves once its bytes are
 * in the OS. Ending, four ways:
 * - `writable.close()` flushes every message written, then half-closes (the peer's readable ends);
 *   reading goes on until the peer ends too.
 * - `readable.cancel()` stops reading; the peer's end is still noticed.
 * - `close()` does both: flushes what was written (through `writable`, a writer holding it, or
 *   `emit`), ends our side, stops reading (a reader holding `readable` gets the queued messages,
 *   then the end), and settles `closed`.
 * - `destroy()` ends it at once, dropping unsent data (`writable.abort()` and an aborted `signal`
 *   do the same).
 *
 * When the peer ends its side, `readable` ends by itself; `writable` stays usable, since a peer
 * that only half-closed still reads, until nothing was sent for `halfOpenTimeout`; a peer gone
 * altogether is noticed. Close a connection once its readable has ended. When the peer sends bad
 * input (malformed JSON, invalid UTF-8, an oversized or unterminated frame, or an invalid event
 * with `validate`), the connection is torn down and `readable`, `writable` and `closed` fail with
 * the `IpcError`; `readable` first hands out the messages that arrived before the bad input.
 *
 * @typeParam In the messages received
 * @typeParam Out the messages sent
 * @example
 * ```ts
 * import { connect } from "ipc-streams";
 *
 * const connection = await connect({ id: "world" });
 * await connection.emit("hello", { from: "client" });
 * for await (const message of connection.readable) {
 *   console.log(message);
 *   break;
 * }
 * await connection.close();
 * ```
 */
export class Connection<In = unknown, Out = In> {
  /** The socket path this connection goes through, on a Unix socket; `undefined` on TCP and TLS. */
  readonly path: string | undefined;
  /** The peer's IP address and port, on TCP and TLS; `undefined` on a Unix socket. */
  readonly remoteAddress: RemoteAddress | undefined;
  /**
   * What the TLS handshake established (`authorized`, the protocol, the peer's certificate with
   * its SHA-256 fingerprint), on TLS; `undefined` otherwise.
   */
  readonly tls: TlsInfo | undefined;
  /** Messages from the peer, in order. Ends when the peer ends its side. */
  readonly readable: ReadableStream<In>;
  /**
   * Settles when the connection is closed in both directions: fulfils after a clean end, rejects
   * with the `IpcError` that tore it down. Never causes an unhandled rejection by itself.
   */
  readonly closed: Promise<void>;

  readonly #channel: MessageChannel;
  readonly #codec: MessageCodec;
  #readableController!: ReadableStreamDefaultController<In>;
  /** Made when first used: a connection that only uses `emit` never pays for it. */
  #writable: WritableStream<Out> | undefined;
  #writableController: WritableStreamDefaultController | undefined;
  #reading = true;
  #writing = true;
  #failure: IpcError | undefined;
  #closing: Promise<void> | undefined;
  #destroyed = false;
  /** Messages handed to `writable` so far (counted by its queuing strategy), and those its sink took. */
  #queuedWrites = 0;
  /** A write failed without ending writing (sync mode refused it): the writable takes no more. */
  #writableFailed = false;
  /** Received bytes not decoded yet (the codec takes them `bytesPerPush` at a time). */
  #undecoded: Uint8Array<ArrayBuffer> | undefined;
  /** Decoded messages not read yet, oldest first: what `readable` and its iterator hand out. */
  readonly #inbox: In[] = [];
  /** A decoding step is under way (see `#fill`). */
  #filling = false;
  /** What `readable` errored with (a failure, or `destroy()`): its iterator throws it too. */
  #readError: IpcError | undefined;
  /**
   * What readers waiting for `#inbox` wait on, one for all of them (a `next()` left waiting by its
   * iterator's `return()` is woken too), and what settles it: a message, the end, or a failure came.
   */
  #inputCame: Promise<void> | undefined;
  #wakeReaders: (() => void) | undefined;
  #sinkWrites = 0;
  /** Wakes a `close()` waiting for the writable's queue to reach the socket. */
  #onSinkProgress: (() => void) | undefined;
  /** Frames sent with `emit` that wait for messages queued in `writable` before them, in order. */
  readonly #held: HeldFrame[] = [];
  /** In sync mode, holds each message back until the peer answered the previous one. */
  readonly #sync: SyncGate | undefined;

  /**
   * Wraps a connected socket's channel. Called by `connect()` and by servers; not needed in user
   * code.
   * @param channel the socket, through the shared channel
   * @param peer where the connection goes, for errors and information
   * @param options how messages are encoded
   * @param mode the transport's bound on frames, and node-ipc's sync mode
   */
  constructor(channel: MessageChannel, peer: ConnectionPeer, options: CodecOptions = {}, mode: ConnectionMode = {}) {
    const { path } = peer;
    this.path = path;
    this.remoteAddress = peer.remoteAddress;
    this.tls = peer.tls;
    this.#channel = channel;
    this.#codec = createCodec(options, mode.datagramSize);
    this.#sync = mode.sync ? new SyncGate((frame, timing) => this.#write(frame, timing)) : undefined;
    // The inbox is the readable's buffer, so the stream itself holds nothing (high-water mark 0).
    this.readable = new MessageStream<In>(
      {
        start: (controller) => {
          this.#readableController = controller;
        },
        pull: (controller) => this.#pull(controller),
        cancel: () => {
          this.#stopReading();
        },
      },
      (reader, preventCancel) => this.#iterate(reader, preventCancel),
    );
    // One message is read ahead even before anybody reads, so that a peer that leaves is noticed.
    this.#fill();
    this.closed = channel.closed.then(() => {
      // A failure the reader has not reached yet (it reads what came before first) still ended it.
      const failure = this.#failure ?? (this.#reading ? channel.failure : undefined);
      if (failure) {
        this.#stopWriting(failure);
        throw failure;
      }
      // The socket closed under us: end whichever side is still open.
      this.#stopWriting(new IpcError("ERR_IPC_CLOSED", "the connection is closed", { path }));
    });
    this.closed.catch(ignore);
  }

  /**
   * Messages to the peer. A write resolves once the OS took its bytes; a write with more messages
   * queued right behind it resolves once it is batched with them. Up to 64 messages may wait in its
   * queue before `writer.ready` asks the producer to wait, so a burst of writes is not held up
   * message by message.
   */
  get writable(): WritableStream<Out> {
    this.#writable ??= this.#makeWritable();
    return this.#writable;
  }

  #makeWritable(): WritableStream<Out> {
    return new WritableStream<Out>(
      {
        start: (controller) => {
          this.#writableController = controller;
          if (!this.#writing) {
            controller.error(this.#closedForWriting());
            return;
          }
          // Aborting must not wait for a write the peer holds up (the stream calls `abort` only
          // once that write settled): the signal fires at once, and closing the socket frees it.
          controller.signal.addEventListener("abort", () => this.#channel.destroy(), { once: true });
        },
        write: (message) => {
          this.#sinkWrites++;
          this.#sinkProgressed();
          let frame: Uint8Array | string;
          try {
            frame = this.#codec.encode(message);
          } catch (error) {
            // A message JSON cannot carry errors the writable (the stream's rule for a failed
            // write); our side is half-closed so the peer is not left waiting. Reading goes on.
            void this.#endWriting().catch(() => {});
            throw error;
          }
          // Messages queued right behind this one leave in the same batch, and their writes cover it.
          const wait = this.#send(frame, this.#sinkWrites < this.#queuedWrites ? "more" : "tick");
          this.#sendHeld();
          if (this.#sync === undefined || wait === undefined) return wait;
          // A write sync mode refused errors the writable: the writes queued behind it never reach the sink.
          return wait.catch((error: unknown) => {
            this.#writableFailed = true;
            this.#sinkProgressed();
            throw error;
          });
        },
        close: () => this.#endWriting(),
        abort: (reason) => this.destroy(reason),
      },
      {
        highWaterMark: WRITABLE_HIGH_WATER_MARK,
        size: () => {
          this.#queuedWrites++;
          return 1;
        },
      },
    );
  }

  /**
   * Sends one `{type, data}` event, node-ipc's `emit`. The frame is encoded at once: data JSON
   * cannot carry (a BigInt, a cycle) throws `ERR_IPC_INVALID_PAYLOAD` synchronously, as does a
   * frame over `maxFrameSize` (`ERR_IPC_FRAME_TOO_LARGE`) or an event that fails `validate`, and
   * nothing is sent. The returned promise resolves once the OS took the bytes, so the process may
   * exit right after it (await it to respect backpressure too), and rejects with `ERR_IPC_CLOSED`
   * (or the connection's failure) when the connection can no longer send; left unawaited, that
   * rejection is not reported as unhandled. Of the emits made in one run of synchronous code,
   * the first leaves at once and the others in one OS write. Messages keep the order in which
   * they were handed over: an event emitted while messages written to `writable` are still queued
   * leaves after them.
   *
   * @example
   * ```ts
   * import type { Connection } from "ipc-streams";
   * declare const connection: Connection;
   *
   * await connection.emit("done", { ok: true });
   * process.exit(0); // the peer receives "done"
   * ```
   *
   * @param type the event name
   * @param data the payload; omitted means `{}`, as in node-ipc
   * @throws {IpcError} when the event cannot be encoded; nothing is sent then
   */
  emit<Type extends EmitType<Out>>(type: Type, data?: EmitData<Out, Type>): Promise<void> {
    const sent = this.sendFrame(this.#codec.encodeEvent(event(type, data)));
    // Left unawaited, a failed send is reported by the streams and `closed`, not as an unhandled rejection.
    if (sent !== SENT) sent.catch(ignore);
    return sent;
  }

  /**
   * Sends bytes already encoded as whole frames (used by `Server.broadcast` to encode once).
   * @internal
   */
  sendFrame(frame: Uint8Array | string): Promise<void> {
    if (this.#held.length > 0 || this.#sinkWrites < this.#queuedWrites) {
      // Messages written to `writable` before this one are still queued: wait for them.
      if (!this.#writing) return Promise.reject(this.#closedForWriting());
      return new Promise<void>((resolve, reject) => {
        this.#held.push({ frame, after: this.#queuedWrites, resolve, reject });
      });
    }
    return this.#sendNow(frame);
  }

  /** Sends `frame` at once; the promise settles as the write does. */
  #sendNow(frame: Uint8Array | string): Promise<void> {
    try {
      return this.#send(frame, "now") ?? SENT;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends the held frames whose turn has come: the sink took every message queued before them. */
  #sendHeld(): void {
    const held = this.#held;
    let due = 0;
    while (due < held.length && (held[due] as HeldFrame).after <= this.#sinkWrites) due++;
    if (due === 0) return;
    // Taken out in one go (a long run of emits can be held behind one write). Once writing has
    // stopped, the due frames fail like any send (the frames still held were refused then).
    for (const { frame, resolve } of held.splice(0, due)) resolve(this.#sendNow(frame));
  }

  /** Refuses the held frames: writing stopped before their turn came. */
  #refuseHeld(error: IpcError): void {
    for (const { reject } of this.#held.splice(0)) reject(error);
  }

  /**
   * Encodes one event for this connection without sending it.
   * @internal
   */
  encodeEvent(message: IpcEvent): Uint8Array | string {
    return this.#codec.encodeEvent(message);
  }

  /**
   * Encodes one message for this connection without sending it.
   * @internal
   */
  encodeMessage(message: unknown): Uint8Array | string {
    return this.#codec.encode(message);
  }

  /**
   * Closes the connection: flushes every message already written, half-closes, stops reading,
   * and resolves once the socket is closed. Calling it again returns the same promise.
   *
   * @param reason passed to the readable's cancellation, for the record
   */
  close(reason?: unknown): Promise<void> {
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  /**
   * Ends the connection at once: unsent data is dropped, sends still waiting reject, `readable`
   * and `writable` error with `ERR_IPC_CLOSED` (its `cause` is `reason`), and `closed` settles once
   * the socket is released (it fulfils, unless the connection had failed before). A `close()` still
   * waiting, for a peer that stopped reading say, settles too. Idempotent.
   *
   * @param reason why, for the record
   */
  destroy(reason?: unknown): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const error = new IpcError("ERR_IPC_CLOSED", "the connection was destroyed", { path: this.path, cause: reason });
    this.#tearDown(error, true);
  }

  async #close(reason: unknown): Promise<void> {
    if (!this.readable.locked) await this.readable.cancel(reason).catch(() => {});
    else this.#stopReading();
    if (this.#writing) {
      const writable = this.#writable;
      if (writable === undefined) await this.#endWriting().catch(() => {});
      else if (!writable.locked) await writable.close().catch(() => {});
      else {
        // A writer holds the writable: let what it already wrote reach the socket, then end.
        await this.#queuedWritesSent();
        const wasWriting = this.#writing;
        await this.#endWriting().catch(() => {});
        if (wasWriting) {
          this.#writableController?.error(
            new IpcError("ERR_IPC_CLOSED", "the connection was closed", { path: this.path }),
          );
        }
      }
      // A write refused by sync mode errored the writable before it could end our side.
      if (this.#writing) await this.#endWriting().catch(() => {});
    }
    this.#channel.destroy();
    await this.closed.catch(() => {});
  }

  /** Resolves once every message written to `writable` so far reached the sink (or writing stopped). */
  async #queuedWritesSent(): Promise<void> {
    const target = this.#queuedWrites;
    while (this.#writing && !this.#writableFailed && this.#sinkWrites < target) {
      await new Promise<void>((resolve) => {
        this.#onSinkProgress = resolve;
      });
    }
  }

  #sinkProgressed(): void {
    const wake = this.#onSinkProgress;
    this.#onSinkProgress = undefined;
    wake?.();
  }

  /**
   * Decodes until at least one message is in the inbox, or the input ended, or reading stopped.
   * A decoding step that delivers nothing is repeated here, or a frame that spans several reads
   * would stall. Received bytes are decoded `bytesPerPush` at a time; the rest waits, undecoded,
   * for the next step. Started when the inbox runs empty, so one message is always read ahead.
   */
  #fill(): void {
    if (this.#filling) return;
    this.#filling = true;
    void this.#decode();
  }

  async #decode(): Promise<void> {
    const inbox = this.#inbox;
    try {
      while (inbox.length === 0 && this.#reading) {
        let chunk: Uint8Array<ArrayBuffer> | null | undefined = this.#undecoded;
        this.#undecoded = undefined;
        if (chunk === undefined) {
          chunk = await this.#channel.read();
          if (!this.#reading) break;
        }
        if (chunk === null) {
          this.#codec.end();
          this.#reading = false;
          this.#noMoreReplies("the peer ended its side");
          this.#endReadable();
          if (!this.#writing) this.#channel.destroy();
          break;
        }
        const size = this.#codec.bytesPerPush;
        if (chunk.byteLength > size) {
          this.#undecoded = chunk.subarray(size);
          chunk = chunk.subarray(0, size);
        }
        this.#codec.push(chunk, (message) => {
          inbox.push(message as In);
          this.#sync?.arrived();
        });
      }
    } catch (error) {
      // After reading was stopped, a failing read is only the socket going away under it.
      if (this.#reading) this.#fail(asIpcError(error, this.path));
    } finally {
      this.#filling = false;
      this.#wake();
    }
  }

  /** Resolves once the inbox has a message, or reading is over (ended, stopped or failed). */
  #input(): Promise<void> {
    this.#inputCame ??= new Promise<void>((resolve) => {
      this.#wakeReaders = resolve;
    });
    const input = this.#inputCame;
    // Set up first: a step over bytes already received ends (and wakes) before `#fill` returns.
    this.#fill();
    return input;
  }

  #wake(): void {
    const wake = this.#wakeReaders;
    this.#inputCame = this.#wakeReaders = undefined;
    wake?.();
  }

  /** The oldest message of the inbox (which must have one); reading ahead once it runs empty. */
  #take(): In {
    const message = this.#inbox.shift() as In;
    if (this.#inbox.length === 0 && this.#reading) this.#fill();
    return message;
  }

  /**
   * Resolves `true` once the inbox has a message, or `false` once no more input comes (the
   * readable is then ended).
   */
  async #awaitMessage(): Promise<boolean> {
    while (this.#inbox.length === 0) {
      if (!this.#reading) {
        this.#endReadable();
        return false;
      }
      await this.#input();
    }
    return true;
  }

  /** The readable's pull: one message from the inbox, or the end. */
  async #pull(controller: ReadableStreamDefaultController<In>): Promise<void> {
    if (!(await this.#awaitMessage())) return;
    controller.enqueue(this.#take());
    if (this.#inbox.length === 0 && !this.#reading) this.#endReadable();
  }

  /** Ends the readable (closed, or errored with `#readError`) once the inbox is empty and no more input comes. */
  #endReadable(): void {
    if (this.#inbox.length > 0) return;
    try {
      if (this.#readError === undefined) this.#readableController.close();
      else this.#readableController.error(this.#readError);
    } catch {
      // Cancelled, closed or errored already.
    }
  }

  /**
   * `for await` over `readable`: the same messages in the same order as a reader gets, taken
   * straight from the inbox rather than through the stream's queue. `reader` holds the lock.
   */
  #iterate(reader: ReadableStreamDefaultReader<In>, preventCancel: boolean): AsyncIterableIterator<In> {
    let finished = false;
    /** Ends the iteration and lets go of the stream, as the standard iterator does at its end. */
    const finish = () => {
      finished = true;
      reader.releaseLock();
    };
    /** Calls of `next` not settled yet; while there are any, a new call waits for the last one. */
    let pending = 0;
    let last: Promise<IteratorResult<In>> | undefined;
    const read = async (): Promise<IteratorResult<In>> => {
      try {
        if (!finished && (await this.#awaitMessage()) && !finished) return { done: false, value: this.#take() };
        if (!finished) {
          finish();
          if (this.#readError !== undefined) throw this.#readError;
        }
        return { done: true, value: undefined };
      } finally {
        pending--;
      }
    };
    const iterator: AsyncIterableIterator<In> = {
      next: () => {
        if (pending === 0 && !finished && this.#inbox.length > 0) {
          return Promise.resolve({ done: false, value: this.#take() });
        }
        pending++;
        last = pending === 1 || last === undefined ? read() : last.then(read, read);
        return last;
      },
      return: async (value?: unknown): Promise<IteratorResult<In>> => {
        if (finished) return { done: true, value };
        finished = true;
        const cancelled = preventCancel ? undefined : reader.cancel(value);
        reader.releaseLock();
        await cancelled;
        return { done: true, value };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  #closedForWriting(): IpcError {
    return this.#failure ?? new IpcError("ERR_IPC_CLOSED", "the connection is closed for writing", { path: this.path });
  }

  #send(frame: Uint8Array | string, timing: SendTiming): Promise<void> | undefined {
    if (!this.#writing) throw this.#closedForWriting();
    return this.#sync ? this.#sync.send(frame, timing) : this.#write(frame, timing);
  }

  /** Hands `frame` to the channel. */
  #write(frame: Uint8Array | string, timing: SendTiming): Promise<void> | undefined {
    if (!this.#writing) throw this.#closedForWriting();
    let wait: Promise<void> | undefined;
    try {
      wait = this.#channel.send(frame, timing);
    } catch (error) {
      throw this.#writeFailed(error);
    }
    return wait?.catch((error: unknown) => {
      throw this.#writeFailed(error);
    });
  }

  /**
   * A write was refused. A socket found closed (the peer went away) ends writing; anything else
   * broke the connection and tears it down. Returns the error for the caller.
   */
  #writeFailed(error: unknown): IpcError {
    const failure = asIpcError(error, this.path);
    if (failure.code === "ERR_IPC_CLOSED") this.#stopWriting(failure);
    else this.#fail(failure);
    return failure;
  }

  /** Ends the writable side with `error`, waking a `close()` that waits for queued writes. */
  #stopWriting(error: IpcError): void {
    if (!this.#writing) return;
    this.#writing = false;
    this.#writableController?.error(error);
    this.#refuseHeld(error);
    this.#sync?.close(error);
    this.#sinkProgressed();
  }

  async #endWriting(): Promise<void> {
    if (!this.#writing) return;
    this.#writing = false;
    this.#refuseHeld(this.#closedForWriting());
    this.#sync?.close(this.#closedForWriting());
    this.#sinkProgressed();
    await this.#channel.end();
    if (!this.#reading) this.#channel.destroy();
  }

  /** Stops reading: a reader still holding `readable` gets the messages already queued, then the end. */
  #stopReading(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#noMoreReplies("reading stopped");
    this.#endReadable();
    this.#wake();
    if (!this.#writing) this.#channel.destroy();
    else this.#channel.discard();
  }

  /** In sync mode, refuses the messages still waiting for a reply: none can arrive any more. */
  #noMoreReplies(why: string): void {
    this.#sync?.close(new IpcError("ERR_IPC_CLOSED", `no reply can arrive: ${why}`, { path: this.path }));
  }

  /** Tears the connection down because of `error`: both streams and `closed` fail with it. */
  #fail(error: IpcError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#tearDown(error, false);
  }

  /**
   * Errors both streams with `error` and closes the socket at once. Messages received before it
   * are still read first, unless `drop` (`destroy()` drops them).
   */
  #tearDown(error: IpcError, drop: boolean): void {
    if (this.#reading) {
      this.#reading = false;
      this.#readError = error;
      if (drop) this.#inbox.length = 0;
      this.#endReadable();
      this.#wake();
    }
    this.#stopWriting(error);
    this.#channel.destroy();
  }
}

/** What a `ReadableStream`'s `values()` returns, as each runtime's types name it. */
type StreamIterator<T> = ReturnType<ReadableStream<T>["values"]>;

/**
 * `Connection.readable`'s class: a standard `ReadableStream` whose async iterator (`for await`)
 * takes messages from the connection directly instead of through a reader's read requests, which
 * cost a few promises per message. It holds the stream's lock while it runs, as the standard one.
 */
class MessageStream<T> extends ReadableStream<T> {
  readonly #iterate: (reader: ReadableStreamDefaultReader<T>, preventCancel: boolean) => AsyncIterableIterator<T>;

  constructor(
    source: UnderlyingDefaultSource<T>,
    iterate: (reader: ReadableStreamDefaultReader<T>, preventCancel: boolean) => AsyncIterableIterator<T>,
  ) {
    super(source, { highWaterMark: 0 });
    this.#iterate = iterate;
  }

  override values(options?: ReadableStreamIteratorOptions): StreamIterator<T> {
    // getReader() throws the standard TypeError when the stream is locked already.
    const iterator = this.#iterate(this.getReader(), options?.preventCancel === true);
    return iterator as unknown as StreamIterator<T>;
  }

  override [Symbol.asyncIterator](options?: ReadableStreamIteratorOptions): StreamIterator<T> {
    return this.values(options);
  }
}

function asIpcError(error: unknown, path: string | undefined): IpcError {
  if (error instanceof IpcError) return error;
  return new IpcError("ERR_IPC_CONNECTION_RESET", `the connection broke: ${String(error)}`, { path, cause: error });
}

function ignore(): void {}
