import type { IpcError } from "../errors.ts";
import type { SendTiming } from "../transport/channel.ts";

/** Writes one frame to the socket; the promise (if any) settles once the OS took it. */
type Write = (frame: Uint8Array | string, timing: SendTiming) => Promise<void> | undefined;

/** A message that waits for the peer to answer the one sent before it. */
interface Waiting {
  readonly frame: Uint8Array | string;
  readonly resolve: (sent: Promise<void> | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * node-ipc's sync mode for one connection: a message leaves only once a message from the peer
 * arrived after the previous one left. The connection calls {@link SyncGate.arrived} for every
 * message its codec decodes (one step per message, as node-ipc 14 does); an arrival while nothing
 * waits opens the gate for the next send and is not saved up, as in node-ipc.
 * @internal
 */
export class SyncGate {
  readonly #write: Write;
  /** A message left and nothing arrived since: the next send waits. */
  #awaitingReply = false;
  readonly #waiting: Waiting[] = [];
  /** Set once no message can arrive any more: sends that would wait are refused with it. */
  #closed: IpcError | undefined;

  /** @param write sends a frame to the socket (it throws when the connection cannot send) */
  constructor(write: Write) {
    this.#write = write;
  }

  /**
   * Sends `frame` at once when the previous message was answered, else queues it. Returns what
   * the write returns, or a promise that settles once the queued frame was written. Throws what
   * the write throws, or the closing error when the frame would have to wait after the end.
   */
  send(frame: Uint8Array | string, timing: SendTiming): Promise<void> | undefined {
    if (!this.#awaitingReply) {
      const sent = this.#write(frame, timing);
      this.#awaitingReply = true;
      return sent;
    }
    if (this.#closed) throw this.#closed;
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ frame, resolve, reject });
    });
  }

  /** A message from the peer arrived: the oldest queued frame leaves, or the next send may. */
  arrived(): void {
    const next = this.#waiting.shift();
    if (next === undefined) {
      this.#awaitingReply = false;
      return;
    }
    try {
      next.resolve(this.#write(next.frame, "now"));
    } catch (error) {
      next.reject(error);
    }
  }

  /** No message can arrive any more: the queued frames, and any later one that would wait, fail with `error`. */
  close(error: IpcError): void {
    this.#closed ??= error;
    for (const { reject } of this.#waiting.splice(0)) reject(error);
  }
}
