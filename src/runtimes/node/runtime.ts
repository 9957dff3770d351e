import { createConnection, createServer } from "node:net";
import type { Runtime } from "../../runtime.ts";
import { socketChannel } from "./channel.ts";
import { nodeSystem, systemError } from "./system.ts";

/**
 * The Node.js runtime adapter: `node:net` Unix sockets (half-open allowed) and `node:fs`.
 * `serve()` and `connect()` of `ipc-streams/node` use it; it is exported as `runtime` for code
 * written against the {@link Runtime} contract.
 *
 * @example
 * ```ts
 * import { runtime } from "ipc-streams/node";
 *
 * const channel = await runtime.connect("/tmp/app.world"); // a raw ByteChannel
 * channel.write(new TextEncoder().encode('{"type":"hello","data":{}}\f'));
 * await channel.end();
 * ```
 */
export const nodeRuntime: Runtime = {
  name: "node",

  connect(path) {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path, allowHalfOpen: true });
      const onError = (error: Error) => reject(systemError(error, path, "connect to"));
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(socketChannel(socket, path));
      });
    });
  },

  listen(path, onChannel) {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
        onChannel(socketChannel(socket, path));
      });
      server.once("error", (error: Error) => reject(systemError(error, path, "listen on")));
      server.listen(path, () => {
        server.on("error", () => {});
        resolve({
          close() {
            // Stops accepting at once (Node removes the socket file); live connections are closed
            // by the shared code, so the callback that waits for them is not awaited.
            server.close();
            return Promise.resolve();
          },
        });
      });
    });
  },

  ...nodeSystem,
};
