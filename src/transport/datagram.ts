/**
 * UDP on the shared model: each peer of a datagram socket is a channel that a `Connection` reads
 * and writes as it does a byte stream's. What datagrams mean is decided here, once: which frames
 * travel together, what a received datagram must hold, how a server tells its peers apart, and
 * what happens to datagrams nobody reads.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
import { IpcError } from "../errors.ts";
import type { MessageChannel, SendTiming } from "./channel.ts";
import type { DatagramSocket, RemoteAddress } from "./contract.ts";

/**
 * The largest UDP payload over IPv4: 65,535 bytes less the IPv4 and UDP headers.
 *
 * @example
 * ```ts
 * import { MAX_UDP4_PAYLOAD, serve } from "ipc-streams";
 *
 * // The default made explicit: a frame and its delimiter fit in one datagram of at most this size.
 * const server = await serve({ port: 8000, transport: "udp4", maxDatagramSize: MAX_UDP4_PAYLOAD });
 * ```
 */
export const MAX_UDP4_PAYLOAD = 65_507;
/**
 * The largest UDP payload over IPv6 without jumbograms: 65,535 bytes less the UDP header.
 *
 * @example
 * ```ts
 * import { connect, MAX_UDP6_PAYLOAD } from "ipc-streams";
 *
 * const connection = await connect({ port: 8000, transport: "udp6", maxDatagramSize: MAX_UDP6_PAYLOAD });
 * ```
 */
export const MAX_UDP6_PAYLOAD = 65_527;
/**
 * Received bytes a peer may have waiting unread; its datagrams past it are dropped, as the OS
 * drops them when a socket's buffer is full.
 */
export const MAX_UNREAD_BYTES = 1024 * 1024;
/** Datagrams in flight past which a send that has more following waits for the OS anyway. */
const IN_FLIGHT_LIMIT = 4;

/** How a datagram channel behaves. */
export interface DatagramChannelOptions {
  /** The largest datagram it sends, in bytes. */
  readonly maxDatagramSize: number;
  /**
   * Framed mode: the delimiter's bytes, which every datagram received must end with (several
   * frames may travel in one datagram, but never part of one). Raw mode: `undefined`, and each
   * chunk written is one datagram, each datagram received one chunk.
   */
  readonly delimiter: Uint8Array | undefined;
  /** Runs a callback once the current run of microtasks is done (the runtime's `nextTick`). */
  readonly afterTick: (callback: () => void) => void;
}

/** A datagram's fate, shared by the frames that travel in it. */
interface Outgoing {
  readonly sent: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: IpcError) => void;
}

const encoder = new TextEncoder();

/**
 * One UDP peer, as a connection sees it:
 * - **Sending**: frames sent in one tick travel together in one datagram while they fit
 *   (`maxDatagramSize`); a frame never spans datagrams (the codec refuses one that cannot fit).
 *   A send's promise resolves once the OS took its datagram; a send with more following resolves
 *   at once, unless datagrams pile up in flight.
 * - **Receiving**: datagrams are delivered in the order they arrive. In framed mode one that does
 *   not end with the delimiter fails the channel with `ERR_IPC_TRUNCATED_FRAME`; an empty one is
 *   ignored. Past {@link MAX_UNREAD_BYTES} unread, datagrams are dropped.
 * - **Ending**: UDP has no end of stream, so the peer's side never ends by itself. `end()` sends
 *   what is pending; `destroy()` forgets the peer (a client's socket is released).
 */
export class DatagramChannel implements MessageChannel {
  /** Settles (never rejects) once the peer is forgotten. */
  readonly closed: Promise<void>;

  readonly #options: DatagramChannelOptions;
  readonly #transmit: (datagram: Uint8Array) => Promise<void>;
  readonly #release: () => void;
  #resolveClosed!: () => void;
  #isClosed = false;
  #failure: IpcError | undefined;

  readonly #received: Uint8Array<ArrayBuffer>[] = [];
  #unreadBytes = 0;
  #discarding = false;
  #resolveRead: ((chunk: Uint8Array<ArrayBuffer> | null) => void) | undefined;
  #rejectRead: ((error: IpcError) => void) | undefined;

  /** Frames, as UTF-8, waiting to leave together in the next datagram. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #pendingFate: Outgoing | undefined;
  #flushScheduled = false;
  #inFlight = 0;
  #resolveIdle: (() => void) | undefined;
  #ending: Promise<void> | undefined;

  /**
   * @param options how it behaves
   * @param transmit sends one datagram to the peer
   * @param release forgets the peer; called once, when the channel closes
   */
  constructor(options: DatagramChannelOptions, transmit: (datagram: Uint8Array) => Promise<void>, release: () => void) {
    this.#options = options;
    this.#transmit = transmit;
    this.#release = release;
    this.closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Why the channel failed, if it did. */
  get failure(): IpcError | undefined {
    return this.#failure;
  }

  /** The next datagram received, or `null` once closed; rejects with the failure after the datagrams before it. */
  read(): Promise<Uint8Array<ArrayBuffer> | null> {
    const datagram = this.#received.shift();
    if (datagram !== undefined) {
      this.#unreadBytes -= datagram.byteLength;
      return Promise.resolve(datagram);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#isClosed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#resolveRead = resolve;
      this.#rejectRead = reject;
    });
  }

  /** Drops what was received and whatever follows. */
  discard(): void {
    this.#discarding = true;
    this.#received.length = 0;
    this.#unreadBytes = 0;
  }

  /** Sends `data` (whole frames, text as UTF-8) to the peer; see the class notes. */
  send(data: Uint8Array | string, timing: SendTiming = "now"): Promise<void> | undefined {
    if (this.#failure) throw this.#failure;
    if (this.#ending !== undefined || this.#isClosed) throw closedForWriting();
    if (this.#options.delimiter === undefined) {
      if (data.length === 0) return undefined;
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      return this.#send(bytes);
    }
    const bytes = typeof data === "string" ? encoder.encode(data) : data.slice();
    if (this.#pendingBytes + bytes.byteLength > this.#options.maxDatagramSize) this.#flush();
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      this.#options.afterTick(this.#flushNow);
    }
    if (timing === "more" && this.#inFlight < IN_FLIGHT_LIMIT) return undefined;
    this.#pendingFate ??= fate();
    return this.#pendingFate.sent;
  }

  /** Sends what is pending and resolves once the OS took every datagram; later sends are refused. */
  end(): Promise<void> {
    this.#ending ??= this.#end();
    return this.#ending;
  }

  /** Forgets the peer at once, dropping what was not sent. Idempotent. */
  destroy(): void {
    if (this.#isClosed) return;
    this.#received.length = 0;
    this.#unreadBytes = 0;
    this.#close();
  }

  /** A datagram from the peer. @internal */
  receive(datagram: Uint8Array<ArrayBuffer>): void {
    if (this.#isClosed || this.#discarding || datagram.byteLength === 0) return;
    const { delimiter } = this.#options;
    if (delimiter !== undefined && !endsWith(datagram, delimiter)) {
      this.fail(
        new IpcError("ERR_IPC_TRUNCATED_FRAME", "a datagram did not end with the delimiter: frames must be whole", {
          excerpt: new TextDecoder().decode(datagram.subarray(0, 64)),
        }),
      );
      return;
    }
    const resolve = this.#resolveRead;
    if (resolve !== undefined) {
      this.#resolveRead = this.#rejectRead = undefined;
      resolve(datagram);
      return;
    }
    if (this.#unreadBytes + datagram.byteLength > MAX_UNREAD_BYTES) return;
    this.#received.push(datagram);
    this.#unreadBytes += datagram.byteLength;
  }

  /**
   * Fails the channel and forgets the peer: sends are refused, reads get the datagrams received
   * before, then `error`. @internal
   */
  fail(error: IpcError): void {
    if (this.#isClosed) return;
    this.#failure = error;
    this.#close();
  }

  #close(): void {
    this.#isClosed = true;
    this.#dropPending(this.#failure ?? closedForWriting());
    this.#settleRead();
    this.#release();
    this.#resolveClosed();
  }

  async #end(): Promise<void> {
    this.#flush();
    if (this.#inFlight > 0 && !this.#isClosed) {
      await new Promise<void>((resolve) => {
        this.#resolveIdle = resolve;
      });
    }
    if (this.#failure) throw this.#failure;
  }

  readonly #flushNow = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  /** Sends the pending frames as one datagram. */
  #flush(): void {
    const frames = this.#pending;
    if (frames.length === 0 || this.#isClosed || this.#failure) return;
    const datagram = frames.length === 1 ? (frames[0] as Uint8Array) : concatBytes(frames);
    const pendingFate = this.#pendingFate;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingFate = undefined;
    const sent = this.#send(datagram);
    if (pendingFate !== undefined) sent.then(pendingFate.resolve, pendingFate.reject);
    else sent.catch(() => {});
  }

  /** Hands one datagram to the socket; a failure fails the channel. */
  #send(datagram: Uint8Array): Promise<void> {
    this.#inFlight++;
    return this.#transmit(datagram).then(
      () => this.#sent(),
      (error: unknown) => {
        this.#sent();
        const failure = asIpcError(error);
        this.fail(failure);
        throw failure;
      },
    );
  }

  #sent(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) this.#wakeEnd();
  }

  /** Wakes an `end()` waiting for the datagrams in flight. */
  #wakeEnd(): void {
    const resolve = this.#resolveIdle;
    this.#resolveIdle = undefined;
    resolve?.();
  }

  #dropPending(error: IpcError): void {
    const pendingFate = this.#pendingFate;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingFate = undefined;
    pendingFate?.reject(error);
    if (this.#isClosed) this.#wakeEnd();
  }

  /** Hands a waiting reader the end (or the failure). */
  #settleRead(): void {
    const resolve = this.#resolveRead;
    const reject = this.#rejectRead;
    if (resolve === undefined || reject === undefined) return;
    this.#resolveRead = this.#rejectRead = undefined;
    if (this.#failure) reject(this.#failure);
    else resolve(null);
  }
}

/** A bound server socket, its peers told apart by address and port. */
export interface DatagramPeers {
  /** Stops taking new peers; the socket is released once every known peer is forgotten. */
  stop(): void;
  /** Stops taking new peers and resolves once the socket is released (after the last known peer). */
  unbind(): Promise<void>;
}

/**
 * Serves on a bound UDP socket: the first datagram from an address and port not known yet makes a
 * channel for it, which `admit` takes (returning `true`) or refuses (the datagram is dropped).
 * Later datagrams from it go to that channel until it closes; then the peer is new again.
 */
export function serveDatagrams(
  socket: DatagramSocket,
  options: DatagramChannelOptions,
  admit: (channel: DatagramChannel, from: RemoteAddress) => boolean,
): DatagramPeers {
  const peers = new Map<string, DatagramChannel>();
  let accepting = true;
  let releasing = false;
  let resolveReleased!: () => void;
  const whenReleased = new Promise<void>((resolve) => {
    resolveReleased = resolve;
  });
  const releaseIfDone = () => {
    if (accepting || peers.size > 0 || releasing) return;
    releasing = true;
    void socket.close().then(resolveReleased);
  };
  socket.open({
    onDatagram(datagram, from) {
      const key = `${from.host} ${from.port}`;
      let channel = peers.get(key);
      if (channel === undefined) {
        if (!accepting) return;
        const peer = { host: from.host, port: from.port };
        const created: DatagramChannel = new DatagramChannel(
          options,
          (bytes) => socket.send(bytes, peer),
          () => {
            if (peers.get(key) === created) peers.delete(key);
            releaseIfDone();
          },
        );
        if (!admit(created, peer)) return;
        peers.set(key, created);
        channel = created;
      }
      channel.receive(datagram);
    },
    // An unconnected socket hears of no peer's failure; a failed send fails that peer's channel.
    onError() {},
  });
  const stop = () => {
    accepting = false;
    releaseIfDone();
  };
  return {
    stop,
    unbind() {
      stop();
      return whenReleased;
    },
  };
}

/** A client's one peer: its socket is connected there, and released when the channel closes. */
export function connectDatagrams(socket: DatagramSocket, options: DatagramChannelOptions): DatagramChannel {
  const remote = socket.remote as RemoteAddress;
  const channel = new DatagramChannel(
    options,
    (bytes) => socket.send(bytes, remote),
    () => void socket.close(),
  );
  socket.open({
    onDatagram(datagram, from) {
      // The OS already filters a connected socket's datagrams; this holds wherever it does not.
      if (from.port === remote.port && from.host === remote.host) channel.receive(datagram);
    },
    onError(error) {
      channel.fail(error);
    },
  });
  return channel;
}

function closedForWriting(): IpcError {
  return new IpcError("ERR_IPC_CLOSED", "the connection is closed for writing");
}

function asIpcError(error: unknown): IpcError {
  if (error instanceof IpcError) return error;
  return new IpcError("ERR_IPC_SYSTEM", `cannot send the datagram: ${String(error)}`, { cause: error });
}

function fate(): Outgoing {
  let resolve!: () => void;
  let reject!: (error: IpcError) => void;
  const sent = new Promise<void>((resolveSent, rejectSent) => {
    resolve = resolveSent;
    reject = rejectSent;
  });
  sent.catch(() => {});
  return { sent, resolve, reject };
}

function endsWith(bytes: Uint8Array, suffix: Uint8Array): boolean {
  const offset = bytes.byteLength - suffix.byteLength;
  if (offset < 0) return false;
  for (let index = 0; index < suffix.byteLength; index++) {
    if (bytes[offset + index] !== suffix[index]) return false;
  }
  return true;
}
