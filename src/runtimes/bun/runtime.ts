import type { Socket, SocketHandler } from "bun";
import type { Runtime } from "../../transport/contract.ts";
import { nodeSystem, systemError } from "../node/system.ts";
import { BunSocket, socketHandlers } from "./socket.ts";

/**
 * `SocketOptions.socket` is typed for the default `binaryType` ("buffer") only; our handlers
 * set and expect "uint8array", so they are checked against that and then passed as this.
 */
type Handlers = SocketHandler<BunSocket>;

/** Callbacks of client sockets: the socket object is handed over in `Bun.connect`'s `data`. */
const connectHandlers = {
  ...socketHandlers,
  open(socket) {
    socket.data.attach(socket);
  },
  connectError() {
    // Bun.connect rejects right after this; connect() maps that error.
  },
} satisfies SocketHandler<BunSocket, "uint8array"> as unknown as Handlers;

/**
 * The Bun runtime adapter: `Bun.listen`/`Bun.connect` sockets (half-open allowed) and
 * `node:fs/promises` (shared with the Node adapter). `serve()` and `connect()` of
 * `ipc-streams/bun` use it; it is exported as `runtime` for code written against the
 * {@link Runtime} contract.
 *
 * @example
 * ```ts
 * import { runtime } from "ipc-streams/bun";
 *
 * const socket = await runtime.connect({ transport: "unix", path: "/tmp/app.world" });
 * socket.open({ onData() {}, onEnd() {}, onClose() {} });
 * await socket.write('{"type":"hello","data":{}}\f');
 * socket.close();
 * ```
 */
export const bunRuntime: Runtime = {
  name: "bun",

  async connect(address) {
    const { path } = address;
    const socket = new BunSocket(path);
    try {
      await Bun.connect<BunSocket>({ unix: path, allowHalfOpen: true, data: socket, socket: connectHandlers });
    } catch (error) {
      throw systemError(error, path, "connect to");
    }
    return socket;
  },

  listen(address, onSocket) {
    const { path } = address;
    let listener: { stop(closeActiveConnections?: boolean): void };
    try {
      listener = Bun.listen<BunSocket>({
        unix: path,
        allowHalfOpen: true,
        socket: {
          ...socketHandlers,
          open(socket: Socket<BunSocket>) {
            // Each accepted socket gets its own object in `data`.
            const accepted = new BunSocket(path);
            accepted.attach(socket);
            socket.data = accepted;
            onSocket(accepted);
          },
        } satisfies SocketHandler<BunSocket, "uint8array"> as unknown as Handlers,
      });
    } catch (error) {
      // Bun.listen binds synchronously and throws.
      return Promise.reject(systemError(error, path, "listen on"));
    }
    return Promise.resolve({
      close() {
        // Stops accepting at once; live connections are closed by the shared code.
        listener.stop(false);
        return Promise.resolve();
      },
    });
  },

  ...nodeSystem,
};
