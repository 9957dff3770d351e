import { createConnection, createServer, isIP, type Server, type Socket } from "node:net";
import { platform } from "node:process";
import { connect as connectTls, createServer as createTlsServer } from "node:tls";
import { IpcError } from "../../errors.ts";
import { describeAddress, pathOf } from "../../transport/address.ts";
import type { Address, Listener, TlsAddress, TransportSocket } from "../../transport/contract.ts";
import { windowsPipeName } from "../../unix/windows-pipe.ts";
import { nodeSocket } from "./socket.ts";
import { systemError } from "./system.ts";
import { nodeTlsOptions } from "./tls.ts";

/**
 * Connects with `node:net` or `node:tls`. The Node adapter uses it for every address; the Bun and
 * Deno adapters use it for TLS, whose `node:tls` (unlike their native TLS) verifies client
 * certificates and reports the peer's certificate. `adopt` sees each socket once it is connected
 * (on TLS, after the handshake), before it is wrapped: a runtime's repairs go there.
 */
export function nodeConnect(
  address: Address,
  signal?: AbortSignal,
  adopt?: (socket: Socket) => void,
): Promise<TransportSocket> {
  return new Promise((resolve, reject) => {
    const socket = openSocket(address);
    const onError = (error: Error) => {
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(connectError(error, address));
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
      adopt?.(socket);
      resolve(nodeSocket(socket, address));
    });
  });
}

/**
 * Connections the OS may hold for a server before it accepts them (the kernel caps it at its
 * `somaxconn`): a burst of connects larger than Node's default of 511 waits instead of being
 * refused while the server is busy.
 */
const LISTEN_BACKLOG = 4096;

/**
 * Listens with `node:net` or `node:tls`; on TLS `onSocket` receives only sockets that passed the
 * handshake. `adopt` as for {@link nodeConnect}.
 */
export function nodeListen(
  address: Address,
  onSocket: (socket: TransportSocket) => void,
  adopt?: (socket: Socket) => void,
): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const accept = (socket: Socket) => {
      adopt?.(socket);
      onSocket(nodeSocket(socket, address));
    };
    const server = listeningServer(address, accept);
    server.once("error", (error: Error) => reject(systemError(error, address, "listen on")));
    const ready = () => {
      // Accept errors (out of descriptors, say) leave the server listening; nothing to report.
      server.on("error", () => {});
      resolve(listenerOf(server));
    };
    const where =
      address.transport === "unix" ? { path: osPath(address.path) } : { host: address.host, port: address.port };
    server.listen({ ...where, backlog: LISTEN_BACKLOG }, ready);
  });
}

/** A socket path as the OS opens it: on Windows, node-ipc's named pipe for it. */
function osPath(path: string): string {
  return platform === "win32" ? windowsPipeName(path) : path;
}

/** Starts connecting to `address`. */
function openSocket(address: Address): Socket {
  switch (address.transport) {
    case "unix":
      return createConnection({ path: osPath(address.path), allowHalfOpen: true });
    case "tcp":
      return createConnection({ host: address.host, port: address.port, allowHalfOpen: true, noDelay: true });
    case "tls": {
      const { host, port } = address;
      return connectTls({
        host,
        port,
        allowHalfOpen: true,
        noDelay: true,
        ...nodeTlsOptions(address.tls, { host, isIp: isIP(host) !== 0 }),
      });
    }
  }
}

/**
 * A connect error as an `IpcError`. A TLS connection cut off during the handshake is a TLS
 * failure: that is how a server refuses a client's certificate.
 */
function connectError(error: Error, address: Address): IpcError {
  const code = (error as { code?: string }).code;
  if (address.transport === "tls" && (code === "ECONNRESET" || code === "EPIPE")) {
    return new IpcError(
      "ERR_IPC_TLS",
      `TLS handshake with ${describeAddress(address)} was cut off by the server (${code})${refusalHint(address)}`,
      { path: pathOf(address), cause: error },
    );
  }
  return systemError(error, address, "connect to");
}

function refusalHint(address: TlsAddress): string {
  return address.tls.cert !== undefined ? ": it may have refused the client certificate" : "";
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
      ...nodeTlsOptions(tls),
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
