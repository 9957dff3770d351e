import type { CodecOptions } from "./codec.ts";
import { Connection } from "./connection.ts";
import { event } from "./event.ts";
import type { ByteChannel, SocketListener } from "./runtime.ts";

/** The node-ipc default for `maxConnections`, which we keep. */
export const DEFAULT_MAX_CONNECTIONS = 100;

/**
 * A listening Unix socket. Each peer that connects becomes a {@link Connection}, delivered through
 * {@link Server.connections}.
 *
 * @typeParam In the messages received from clients
 * @typeParam Out the messages sent to clients
 * @example
 * ```ts
 * import { serve } from "ipc-streams";
 *
 * const server = await serve({ id: "world" });
 * for await (const connection of server.connections) {
 *   (async () => {
 *     for await (const message of connection.readable) await connection.emit("echo", message);
 *     await connection.close(); // the peer ended its side: end ours
 *   })();
 * }
 * ```
 */
export class Server<In = unknown, Out = In> {
  /** The socket path the server listens on. */
  readonly path: string;
  /**
   * Every accepted connection, in order. Also async-iterable. Cancelling it (for example by
   * breaking out of a `for await`) stops accepting new connections; live ones go on.
   */
  readonly connections: ReadableStream<Connection<In, Out>>;
  /** Resolves once the server is closed: not accepting, socket file removed, connections closed. */
  readonly closed: Promise<void>;

  readonly #live = new Set<Connection<In, Out>>();
  readonly #options: CodecOptions;
  readonly #maxConnections: number;
  #listener: SocketListener | undefined;
  #stopAccepting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #connectionsController!: ReadableStreamDefaultController<Connection<In, Out>>;
  #resolveClosed!: () => void;
  readonly #removeSocketFile: () => Promise<void>;

  /**
   * Created by `serve()`; not needed in user code.
   * @internal
   */
  constructor(path: string, options: CodecOptions, maxConnections: number, removeSocketFile: () => Promise<void>) {
    this.path = path;
    this.#options = options;
    this.#maxConnections = maxConnections;
    this.#removeSocketFile = removeSocketFile;
    this.connections = new ReadableStream<Connection<In, Out>>(
      {
        start: (controller) => {
          this.#connectionsController = controller;
        },
        cancel: () => this.#stopListening(),
      },
      { highWaterMark: 0 },
    );
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Live connections right now. */
  get connectionCount(): number {
    return this.#live.size;
  }

  /**
   * Attaches the bound listener.
   * @internal
   */
  attach(listener: SocketListener): void {
    this.#listener = listener;
  }

  /**
   * Takes one accepted socket; refuses it (closes it at once) past `maxConnections` or after the
   * server stopped accepting.
   * @internal
   */
  accept(channel: ByteChannel): void {
    if (this.#stopAccepting !== undefined || this.#live.size >= this.#maxConnections) {
      channel.destroy();
      return;
    }
    const connection = new Connection<In, Out>(channel, this.path, this.#options);
    this.#live.add(connection);
    const forget = () => this.#live.delete(connection);
    connection.closed.then(forget, forget);
    this.#connectionsController.enqueue(connection);
  }

  /**
   * Sends one message to every live connection, node-ipc's `broadcast`. The message is encoded
   * once, up front: one that cannot be encoded throws synchronously (as `emit` does) and nothing
   * is sent. Resolves when every connection took it; a connection that fails is skipped (its own
   * streams report why).
   *
   * @param message the message, as written to each connection's `writable`
   * @throws {IpcError} when the message cannot be encoded; nothing is sent then
   * @example
   * ```ts
   * await server.broadcast({ type: "tick", data: { n: 1 } });
   * ```
   */
  broadcast(message: Out): Promise<void>;
  /**
   * Sends one `{type, data}` event to every live connection, node-ipc style. A lone string
   * argument is always an event type (`broadcast("ping")` sends `{"type":"ping","data":{}}`),
   * never a bare JSON string, which would crash node-ipc 10/12 peers.
   *
   * @param type the event name
   * @param data the payload; omitted means `{}`, as in node-ipc
   * @throws {IpcError} when the event cannot be encoded; nothing is sent then
   * @example
   * ```ts
   * await server.broadcast("tick", { n: 1 }); // {"type":"tick","data":{"n":1}} to every client
   * ```
   */
  broadcast(type: string, data?: unknown): Promise<void>;
  broadcast(...args: [unknown, unknown?]): Promise<void> {
    const [first] = this.#live;
    if (first === undefined) return Promise.resolve();
    const [head, data] = args;
    const frame =
      typeof head === "string" || args.length === 2
        ? first.encodeEvent(event(head as string, data))
        : first.encodeMessage(head);
    return Promise.all([...this.#live].map((connection) => connection.sendFrame(frame).catch(() => {}))).then(() => {});
  }

  /**
   * Stops accepting, removes the socket file, closes every live connection gracefully (their
   * written messages are flushed first) and resolves when all of it is done. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#stopListening();
      try {
        this.#connectionsController.close();
      } catch {
        // already cancelled by the user
      }
      await Promise.all([...this.#live].map((connection) => connection.close()));
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  #stopListening(): Promise<void> {
    this.#stopAccepting ??= (async () => {
      await this.#listener?.close();
      await this.#removeSocketFile();
    })();
    return this.#stopAccepting;
  }
}
