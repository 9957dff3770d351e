import type { Runtime } from "../../transport/contract.ts";
import { nodeBindDatagram } from "./dgram.ts";
import { nodeConnect, nodeListen } from "./net.ts";
import { nodeSystem } from "./system.ts";

/**
 * The Node.js runtime adapter: `node:net` and `node:tls` sockets (half-open allowed) and
 * `node:fs`. `serve()` and `connect()` of `ipc-streams/node` use it; it is exported as `runtime`
 * for code written against the {@link Runtime} contract.
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
  connect: nodeConnect,
  listen: nodeListen,
  bindDatagram: nodeBindDatagram,
  ...nodeSystem,
};
