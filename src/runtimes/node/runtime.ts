import { createConnection, createServer, isIP, type Server, type Socket } from "node:net";
import { connect as connectTls, createServer as createTlsServer } from "node:tls";
import type { Address, Listener, Runtime } from "../../transport/contract.ts";
import { nodeSocket } from "./socket.ts";
import { nodeSystem, systemError } from "./system.ts";
import { nodeTlsOptions } from "./tls.ts";

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

  connect(address, signal) {
    return new Promise((resolve, reject) => {
      const socket = openSocket(address);
      const onError = (error: Error) => {
        signal?.removeEventListener("abort", onAbort);
        socket.destroy();
        reject(systemError(error, address, "connect to"));
      };
      const onAbort = () => {
        socket.off("error", onError);
        socket.on("error", () => {});
        socket.destroy();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.once("error", onError);
      socket.once(address.transport === "tls" ? "secureConnect" : "connect", () => {
        signal?.removeEventListener("abort", onAbort);
        socket.off("error", onError);
        resolve(nodeSocket(socket, address));
      });
    });
  },

  listen(address, onSocket) {
    return new Promise((resolve, reject) => {
      const accept = (socket: Socket) => onSocket(nodeSocket(socket, address));
      const server = listeningServer(address, accept);
      server.once("error", (error: Error) => reject(systemError(error, address, "listen on")));
      const ready = () => {
        // Accept errors (out of descriptors, say) leave the server listening; nothing to report.
        server.on("error", () => {});
        resolve(listenerOf(server));
      };
      if (address.transport === "unix") server.listen(address.path, ready);
      else server.listen({ host: address.host, port: address.port }, ready);
    });
  },

  ...nodeSystem,
};

/** Starts connecting to `address`. */
function openSocket(address: Address): Socket {
  switch (address.transport) {
    case "unix":
      return createConnection({ path: address.path, allowHalfOpen: true });
    case "tcp":
      return createConnection({ host: address.host, port: address.port, allowHalfOpen: true, noDelay: true });
    case "tls": {
      const { host, port } = address;
      return connectTls({
        host,
        port,
        allowHalfOpen: true,
        noDelay: true,
        ...nodeTlsOptions(address.tls, host, isIP(host) !== 0),
      });
    }
  }
}

/** A server for `address` whose sockets start paused; a TLS one hands over only sockets that passed the handshake. */
function listeningServer(address: Address, accept: (socket: Socket) => void): Server {
  if (address.transport !== "tls") {
    return createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, accept);
  }
  const { tls } = address;
  const server = createTlsServer(
    {
      // Not paused on connect: the handshake must read. Data after it waits in the socket until `open()`.
      allowHalfOpen: true,
      noDelay: true,
      ...nodeTlsOptions(tls, undefined, false),
      requestCert: tls.requestCert,
    },
    accept,
  );
  // A client that fails the handshake is dropped; it never becomes a connection.
  server.on("tlsClientError", () => {});
  return server;
}

function listenerOf(server: Server): Listener {
  const bound = server.address();
  return {
    ...(bound !== null && typeof bound === "object" && { port: bound.port }),
    close() {
      // Stops accepting at once; live connections are closed by the shared code, so the
      // callback that waits for them is not awaited.
      server.close();
      return Promise.resolve();
    },
  };
}
