import type { Socket, SocketHandler } from "bun";
import type { Runtime } from "../../transport/contract.ts";
import { nodeBindDatagram } from "../node/dgram.ts";
import { nodeConnect, nodeListen } from "../node/net.ts";
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
 * The Bun runtime adapter: `Bun.listen`/`Bun.connect` sockets (half-open allowed) for Unix
 * sockets and TCP, Bun's `node:tls` for TLS (as the Node adapter, so that client certificates
 * are verified the same way), and `node:fs/promises` (shared with the Node adapter). `serve()`
 * and `connect()` of `ipc-streams/bun` use it; it is exported as `runtime` for code written
 * against the {@link Runtime} contract.
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
  // UDP through node:dgram, which reports errors as events (Bun.udpSocket ends the process on one without a handler).
  bindDatagram: nodeBindDatagram,

  async connect(address, signal) {
    // Bun opens Windows named pipes through node:net.
    if (address.transport === "tls" || (address.transport === "unix" && nodeSystem.windowsPipes)) {
      return nodeConnect(address, signal);
    }
    const socket = new BunSocket(address);
    try {
      const options = { allowHalfOpen: true, data: socket, socket: connectHandlers };
      await (address.transport === "unix"
        ? Bun.connect<BunSocket>({ ...options, unix: address.path })
        : Bun.connect<BunSocket>({ ...options, hostname: address.host, port: address.port }));
    } catch (error) {
      throw systemError(error, address, "connect to");
    }
    return socket;
  },

  listen(address, onSocket) {
    if (address.transport === "tls" || (address.transport === "unix" && nodeSystem.windowsPipes)) {
      return nodeListen(address, onSocket);
    }
    let listener: { readonly port?: number; stop(closeActiveConnections?: boolean): void };
    try {
      const options = {
        allowHalfOpen: true,
        socket: {
          ...socketHandlers,
          open(socket: Socket<BunSocket>) {
            // Each accepted socket gets its own object in `data`.
            const accepted = new BunSocket(address);
            accepted.attach(socket);
            socket.data = accepted;
            onSocket(accepted);
          },
        } satisfies SocketHandler<BunSocket, "uint8array"> as unknown as Handlers,
      };
      listener =
        address.transport === "unix"
          ? Bun.listen<BunSocket>({ ...options, unix: address.path })
          : Bun.listen<BunSocket>({ ...options, hostname: address.host, port: address.port });
    } catch (error) {
      // Bun.listen binds synchronously and throws.
      return Promise.reject(systemError(error, address, "listen on"));
    }
    return Promise.resolve({
      ...(address.transport !== "unix" && { port: listener.port }),
      close() {
        // Stops accepting at once; live connections are closed by the shared code.
        listener.stop(false);
        return Promise.resolve();
      },
    });
  },

  ...nodeSystem,
};
