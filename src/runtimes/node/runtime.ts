import { createConnection, createServer } from "node:net";
import type { Runtime } from "../../transport/contract.ts";
import { nodeSocket } from "./socket.ts";
import { nodeSystem, systemError } from "./system.ts";

/**
 * The Node.js runtime adapter: `node:net` sockets (half-open allowed) and `node:fs`. `serve()`
 * and `connect()` of `ipc-streams/node` use it; it is exported as `runtime` for code written
 * against the {@link Runtime} contract.
 *
 * @example
 * ```ts
 * import { runtime } from "ipc-streams/node";
 *
 * const socket = await runtime.connect({ transport: "unix", path: "/tmp/app.world" });
 * socket.open({ onData() {}, onEnd() {}, onClose() {} });
 * await socket.write('{"type":"hello","data":{}}\f');
 * socket.close();
 * ```
 */
export const nodeRuntime: Runtime = {
  name: "node",

  connect(address) {
    const { path } = address;
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path, allowHalfOpen: true });
      const onError = (error: Error) => reject(systemError(error, path, "connect to"));
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(nodeSocket(socket, path));
      });
    });
  },

  listen(address, onSocket) {
    const { path } = address;
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
        onSocket(nodeSocket(socket, path));
      });
      server.once("error", (error: Error) => reject(systemError(error, path, "listen on")));
      server.listen(path, () => {
        // Accept errors (out of descriptors, say) leave the server listening; nothing to report.
        server.on("error", () => {});
        resolve({
          close() {
            // Stops accepting at once; live connections are closed by the shared code, so the
            // callback that waits for them is not awaited.
            server.close();
            return Promise.resolve();
          },
        });
      });
    });
  },

  ...nodeSystem,
};
