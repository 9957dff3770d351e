import { event } from "../codec/event.ts";
import type { UnixAddress } from "../transport/contract.ts";
import type { Connection } from "./connection.ts";

/**
 * The node-ipc default for `maxConnections`, which we keep.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_CONNECTIONS, serve } from "ipc-streams";
 *
 * // Room for ten times node-ipc's default, for a fleet of clients that all reconnect at once.
 * const server = await serve({ id: "hub", maxConnections: 10 * DEFAULT_MAX_CONNECTIONS });
 * ```
 */
export const DEFAULT_MAX_CONNECTIONS = 100;

/**
 * Where a TCP, TLS or UDP server listens.
 *
 * @example
 * ```ts
 * import { type NetworkServerAddress, serve } from "ipc-streams";
 *
 * const server = await serve({ port: 0 });
 * const address: NetworkServerAddress | undefined = server.address.transport === "unix" ? undefined : server.address;
 * console.log(`listening on ${address?.host}:${address?.port}`); // the free port the OS picked
 * ```
 */
export interface NetworkServerAddress {
  /** The transport the server speaks. */
  readonly transport: "tcp" | "tls" | "udp4" | "udp6";
  /** The address it is bound to, as given (default `"127.0.0.1"`). */
  readonly host: string;
  /** The port, the real one when `0` was asked. */
  readonly port: number;
}

/**
 * Where a server listens: a Unix socket path, or a TCP, TLS or UDP host and port.
 *
 * @example
 * ```ts
 * import { type ServerAddress, serve } from "ipc-streams";
 *
 * const server = await serve({ id: "world" });
 * const where: ServerAddress = server.address;
 * console.log(where.transport === "unix" ? where.path : `${where.transport}://${where.host}:${where.port}`);
 * ```
 */
export type ServerAddress = UnixAddress | NetworkServerAddress;

/**
 * What a server is built from, by `serve()`.
 * @internal
 */
export interface ServerParts {
  readonly address: ServerAddress;
  readonly maxConnections: number;
  /** Stops accepting and removes what serving made (the socket file), if it is still ours. */
  readonly unbind: () => Promise<void>;
  /**
   * What cancelling `connections` does, when not the whole unbinding: a UDP server only stops
   * taking new peers, since its socket is also its live connections'.
   */
  readonly stopAccepting?: () => void;
}

/**
 * A listening socket. Each peer that connects becomes a {@link Connection}, delivered through
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
 *   })().catch(() => connection.destroy()); // a bad peer errors its own connection only
 * }
 * ```
 */
export class Server<In = unknown, Out = In> {
  /** Where the server listens: `{ transport: "unix", path }` or `{ transport: "tcp" | "tls", host, port }`. */
  readonly address: ServerAddress;
  /** The socket path the server listens on, on a Unix socket; `undefined` on TCP and TLS. */
  readonly path: string | undefined;
  /**
   * Every accepted connection, in order. Also async-iterable. Cancelling it (for example by
   * breaking out of a `for await`) stops accepting new connections; live ones go on.
   */
  readonly connections: ReadableStream<Connection<In, Out>>;
  /**
   * Resolves once the server is closed: not accepting, socket file removed, connections closed.
   * Never rejects.
   */
  readonly closed: Promise<void>;

  readonly #live = new Set<Connection<In, Out>>();
  readonly #parts: ServerParts;
  #unbinding: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #connectionsController!: ReadableStreamDefaultController<Connection<In, Out>>;
  #resolveClosed!: () => void;

  /**
   * Created by `serve()`; not needed in user code.
   * @internal
   */
  constructor(parts: ServerParts) {
    this.address = parts.address;
    this.path = parts.address.transport === "unix" ? parts.address.path : undefined;
    this.#parts = parts;
    this.connections = new ReadableStream<Connection<In, Out>>(
      {
        start: (controller) => {
          this.#connectionsController = controller;
        },
        cancel: () => (parts.stopAccepting ? parts.stopAccepting() : this.#unbind().catch(() => {})),
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
   * Takes a new peer, as `create` wraps it, unless it is past `maxConnections` or the server
   * stopped accepting; returns whether it took it (the caller then closes or drops the peer).
   * Never throws: it runs inside the runtime's accept callback.
   * @internal
   */
  accept(create: () => Connection<In, Out>): boolean {
    if (this.#unbinding !== undefined || this.#live.size >= this.#parts.maxConnections) return false;
    let connection: Connection<In, Out>;
    try {
      connection = create();
    } catch {
      return false;
    }
    this.#live.add(connection);
    const forget = () => this.#live.delete(connection);
    connection.closed.then(forget, forget);
    this.#connectionsController.enqueue(connection);
    return true;
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
   * import type { Server } from "ipc-streams";
   * declare const server: Server;
   *
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
   * import type { Server } from "ipc-streams";
   * declare const server: Server;
   *
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
   * Stops accepting, removes the socket file (on a Unix socket), closes every live connection gracefully (their
   * written messages are flushed first) and resolves when all of it is done. A peer that stopped
   * reading holds it up; {@link Server.destroy} ends it at once. It always finishes: if the socket
   * file could not be removed, it rejects with that `IpcError` once everything else is done
   * (`closed` still fulfils). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#finish((connection) => connection.close()).then((problem) => {
      if (problem !== undefined) throw problem;
    });
    // Left unawaited, a socket file that could not be removed is no reason for an unhandled rejection.
    this.#closing.catch(() => {});
    return this.#closing;
  }

  /**
   * Ends the server at once: stops accepting, removes the socket file and destroys every live
   * connection (unsent data is dropped; see `Connection.destroy`). A `close()` still waiting
   * settles too. Resolves once all of it is done; never rejects. Idempotent.
   *
   * @param reason passed to each connection's `destroy`
   */
  destroy(reason?: unknown): Promise<void> {
    const destroyed = this.#finish((connection) => {
      connection.destroy(reason);
      return connection.closed;
    }).then(() => {});
    this.#closing ??= destroyed;
    return destroyed;
  }

  /** Stops accepting, ends every connection with `end`; resolves with the unbinding's error, if any. */
  async #finish(end: (connection: Connection<In, Out>) => Promise<void>): Promise<unknown> {
    const unbound = this.#unbind().then(
      () => undefined,
      (error: unknown) => error,
    );
    try {
      this.#connectionsController.close();
    } catch {
      // Already closed, or cancelled by the user.
    }
    await Promise.all([...this.#live].map((connection) => end(connection).catch(() => {})));
    const problem = await unbound;
    this.#resolveClosed();
    return problem;
  }

  #unbind(): Promise<void> {
    this.#unbinding ??= this.#parts.unbind();
    return this.#unbinding;
  }
}
