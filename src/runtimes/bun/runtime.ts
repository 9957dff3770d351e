import type { Socket, SocketHandler } from "bun";
import type { Runtime } from "../../runtime.ts";
import { nodeSystem, systemError } from "../node/system.ts";
import { BunChannel, channelHandlers } from "./channel.ts";

/**
 * `SocketOptions.socket` is typed for the default `binaryType` ("buffer") only; our handlers
 * set and expect "uint8array", so they are checked against that and then passed as this.
 */
type Handlers = SocketHandler<BunChannel>;

/** Callbacks of client sockets: the channel is handed over in `Bun.connect`'s `data`. */
const connectHandlers = {
  ...channelHandlers,
  open(socket) {
    socket.data.attach(socket);
  },
  connectError() {
    // Bun.connect rejects right after this; connect() maps that error.
  },
} satisfies SocketHandler<BunChannel, "uint8array"> as unknown as Handlers;

/**
 * The Bun runtime adapter: `Bun.listen`/`Bun.connect` Unix sockets (half-open allowed) and
 * `node:fs/promises` (shared with the Node adapter). `serve()` and `connect()` of `ipc-streams/bun` use it; it is exported as
 * `runtime` for code written against the {@link Runtime} contract.
 *
 * @example
 * ```ts
 * import { runtime } from "ipc-streams/bun";
 *
 * const channel = await runtime.connect("/tmp/app.world"); // a raw ByteChannel
 * channel.write(new TextEncoder().encode('{"type":"hello","data":{}}\f'));
 * await channel.end();
 * ```
 */
export const bunRuntime: Runtime = {
  name: "bun",
  async connect(path) {
    const channel = new BunChannel(path);
    try {
      await Bun.connect<BunChannel>({ unix: path, allowHalfOpen: true, data: channel, socket: connectHandlers });
    } catch (error) {
      throw systemError(error, path, "connect to");
    }
    return channel;
  },

  listen(path, onChannel) {
    let listener: { stop(closeActiveConnections?: boolean): void };
    try {
      listener = Bun.listen<BunChannel>({
        unix: path,
        allowHalfOpen: true,
        socket: {
          ...channelHandlers,
          open(socket: Socket<BunChannel>) {
            // Each accepted socket gets its own channel in `data`.
            const channel = new BunChannel(path);
            channel.attach(socket);
            socket.data = channel;
            onChannel(channel);
          },
        } satisfies SocketHandler<BunChannel, "uint8array"> as unknown as Handlers,
      });
    } catch (error) {
      // Bun.listen binds synchronously and throws.
      return Promise.reject(systemError(error, path, "listen on"));
    }
    return Promise.resolve({
      close() {
        // Stops accepting at once; live connections are closed by the shared code. Bun also
        // unlinks the socket file here; the shared code's removal then finds nothing to do.
        listener.stop(false);
        return Promise.resolve();
      },
    });
  },

  ...nodeSystem,
};
