/**
 * UDP through `node:dgram`, for every runtime: Node, Bun and Deno all implement it, and Deno's
 * needs only `--allow-net` (its own `Deno.listenDatagram` needs `--unstable-net`).
 *
 * @module
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { IpcError } from "../../errors.ts";
import { describeEndpoint } from "../../net/options.ts";
import type { DatagramEvents, DatagramSocket, RemoteAddress, UdpAddress } from "../../transport/contract.ts";
import { systemError } from "./system.ts";

/** Binds a UDP socket at `address`, connected to `remote` when given (see `Runtime.bindDatagram`). */
export async function nodeBindDatagram(address: UdpAddress, remote?: RemoteAddress): Promise<DatagramSocket> {
  const socket = createSocket({ type: address.transport });
  // From the start: an error event with no listener would end the process.
  const early: Error[] = [];
  const keepEarly = (error: Error) => early.push(error);
  socket.on("error", keepEarly);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ port: address.port, address: address.host, exclusive: true }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    socket.close();
    throw systemError(error, address, "bind");
  }
  if (remote === undefined) return new NodeDatagramSocket(socket, undefined, keepEarly, early);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.connect(remote.port, remote.host, (error?: Error) => (error ? reject(error) : resolve()));
    });
  } catch (error) {
    socket.close();
    throw systemError(error, { ...address, host: remote.host, port: remote.port }, "connect to");
  }
  const { address: host, port } = socket.remoteAddress();
  return new NodeDatagramSocket(socket, { host, port }, keepEarly, early);
}

class NodeDatagramSocket implements DatagramSocket {
  readonly port: number;
  readonly remote: RemoteAddress | undefined;
  readonly #socket: Socket;
  readonly #keepEarly: (error: Error) => void;
  readonly #early: Error[];
  #closed = false;

  constructor(socket: Socket, remote: RemoteAddress | undefined, keepEarly: (error: Error) => void, early: Error[]) {
    this.#socket = socket;
    this.port = socket.address().port;
    this.remote = remote;
    this.#keepEarly = keepEarly;
    this.#early = early;
  }

  open(events: DatagramEvents): void {
    const socket = this.#socket;
    socket.on("message", (message: Uint8Array, info: RemoteInfo) => {
      const bytes = new Uint8Array(message.buffer as ArrayBuffer, message.byteOffset, message.byteLength);
      events.onDatagram(bytes, { host: info.address, port: info.port });
    });
    const report = (error: Error) => {
      if (!this.#closed) events.onError(this.#failure(error));
    };
    socket.on("error", report);
    socket.off("error", this.#keepEarly);
    for (const error of this.#early.splice(0)) report(error);
  }

  send(datagram: Uint8Array, to: RemoteAddress): Promise<void> {
    if (this.#closed) return Promise.reject(new IpcError("ERR_IPC_CLOSED", "the UDP socket is closed"));
    return new Promise<void>((resolve, reject) => {
      const done = (error: Error | null) => (error ? reject(this.#failure(error)) : resolve());
      try {
        if (this.remote !== undefined) this.#socket.send(datagram, done);
        else this.#socket.send(datagram, to.port, to.host, done);
      } catch (error) {
        reject(this.#failure(error as Error));
      }
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // Already closed by the runtime.
      }
    });
  }

  /** A failed send or receive as an `IpcError`: nobody listening is `ERR_IPC_NO_SERVER`. */
  #failure(error: Error): IpcError {
    const code = (error as { code?: string }).code ?? "";
    const peer = this.remote ? ` at ${describeEndpoint(this.remote.host, this.remote.port)}` : "";
    if (code === "ECONNREFUSED") {
      return new IpcError("ERR_IPC_NO_SERVER", `no UDP server is listening${peer} (ECONNREFUSED)`, { cause: error });
    }
    if (code === "EMSGSIZE") {
      return new IpcError("ERR_IPC_FRAME_TOO_LARGE", `the datagram is too large for the OS (EMSGSIZE)`, {
        cause: error,
      });
    }
    return new IpcError("ERR_IPC_SYSTEM", `UDP ${code || error.message}${peer}`, { cause: error });
  }
}
