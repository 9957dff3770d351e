/**
 * The contract between the shared code and a runtime adapter (`src/runtimes/<name>`): an adapter
 * opens, accepts and wraps sockets by {@link Address}, and provides the few file-system calls the
 * Unix socket-file policy needs. Everything else (write batching, buffer ownership, read-ahead,
 * noticing a gone peer, framing, paths, streams) is shared and written once.
 *
 * @module
 */
import type { IpcError } from "../errors.ts";

/**
 * A Unix domain socket, by its path.
 *
 * @example
 * ```ts
 * import { runtime, type UnixAddress } from "ipc-streams/node";
 *
 * const address: UnixAddress = { transport: "unix", path: "/tmp/app.world" };
 * const socket = await runtime.connect(address); // the adapter's bare socket, below `connect()`
 * socket.close();
 * ```
 */
export interface UnixAddress {
  /** Tags a Unix socket address. */
  readonly transport: "unix";
  /** The socket file's path. */
  readonly path: string;
}

/**
 * A TCP endpoint.
 *
 * @example
 * ```ts
 * import { runtime, type TcpAddress } from "ipc-streams/node";
 *
 * const address: TcpAddress = { transport: "tcp", host: "127.0.0.1", port: 0 };
 * const listener = await runtime.listen(address, (socket) => socket.close());
 * console.log(listener.port); // the free port the OS picked
 * await listener.close();
 * ```
 */
export interface TcpAddress {
  /** Tags a TCP address. */
  readonly transport: "tcp";
  /** An IP address or host name (`"127.0.0.1"`, `"::1"`, `"localhost"`). */
  readonly host: string;
  /** The port; `0` asks `listen` for a free one. */
  readonly port: number;
}

/**
 * A TCP endpoint with TLS on top.
 *
 * @example
 * ```ts
 * import { runtime, type TlsAddress } from "ipc-streams/node";
 *
 * const address: TlsAddress = {
 *   transport: "tls",
 *   host: "localhost",
 *   port: 8443,
 *   tls: { cert: undefined, key: undefined, ca: undefined, requestCert: false, rejectUnauthorized: true, servername: undefined },
 * };
 * const socket = await runtime.connect(address); // resolves once the handshake verified the server
 * console.log(socket.tls?.protocol); // "TLSv1.2": our clients stop at TLS 1.2
 * socket.close();
 * ```
 */
export interface TlsAddress {
  /** Tags a TLS address. */
  readonly transport: "tls";
  /** The host name or IP address. */
  readonly host: string;
  /** The TCP port. */
  readonly port: number;
  /** The TLS settings, checked and completed by the shared code. */
  readonly tls: TlsSettings;
}

/**
 * TLS settings as an adapter receives them: PEM text, defaults filled in. A server has `cert` and
 * `key`; a client sends them only for mutual TLS.
 *
 * @example
 * ```ts
 * import type { TlsSettings } from "ipc-streams";
 *
 * // A client that trusts one CA and presents no certificate of its own.
 * const settings: TlsSettings = {
 *   cert: undefined,
 *   key: undefined,
 *   ca: ["-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n"],
 *   requestCert: false,
 *   rejectUnauthorized: true,
 *   servername: "localhost",
 * };
 * ```
 */
export interface TlsSettings {
  /** Our certificate chain, PEM. */
  readonly cert: string | undefined;
  /** Our private key, PEM. */
  readonly key: string | undefined;
  /** Trusted CAs; `undefined` means the runtime's system store. */
  readonly ca: readonly string[] | undefined;
  /** Server: ask clients for a certificate. */
  readonly requestCert: boolean;
  /**
   * Client: refuse a server whose certificate does not verify (CA and host name). Server with
   * `requestCert`: refuse a client whose certificate does not verify.
   */
  readonly rejectUnauthorized: boolean;
  /** Client: the host name to send (SNI) and to check the certificate against. */
  readonly servername: string | undefined;
}

/**
 * Where a server listens or a client connects, as a tagged union on `transport`. Adapters handle
 * every variant; the shared code never looks past the tag.
 *
 * @example
 * ```ts
 * import type { Address } from "ipc-streams";
 *
 * function describe(address: Address): string {
 *   return address.transport === "unix" ? address.path : `${address.transport}://${address.host}:${address.port}`;
 * }
 * describe({ transport: "tcp", host: "127.0.0.1", port: 8000 }); // "tcp://127.0.0.1:8000"
 * ```
 */
export type Address = UnixAddress | TcpAddress | TlsAddress;

/**
 * A UDP endpoint, IPv4 or IPv6.
 *
 * @example
 * ```ts
 * import { runtime, type UdpAddress } from "ipc-streams/node";
 *
 * const address: UdpAddress = { transport: "udp4", host: "127.0.0.1", port: 0 };
 * const socket = await runtime.bindDatagram(address);
 * console.log(socket.port); // the free port the OS picked
 * await socket.close();
 * ```
 */
export interface UdpAddress {
  /** Tags a UDP address, IPv4 or IPv6. */
  readonly transport: "udp4" | "udp6";
  /** An IP address of the family, or a host name. */
  readonly host: string;
  /** The port; `0` binds a free one. */
  readonly port: number;
}

/**
 * The far end of a TCP or TLS connection.
 *
 * @example
 * ```ts
 * import { type RemoteAddress, serve } from "ipc-streams";
 *
 * const server = await serve({ port: 8000 });
 * for await (const connection of server.connections) {
 *   const peer: RemoteAddress | undefined = connection.remoteAddress; // set on TCP and TLS
 *   console.log(`${peer?.host}:${peer?.port}`); // "127.0.0.1:53412"
 * }
 * ```
 */
export interface RemoteAddress {
  /** The peer's IP address (`"127.0.0.1"`, `"::1"`). */
  readonly host: string;
  /** The peer's port. */
  readonly port: number;
}

/**
 * What a TLS connection's handshake established.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { connect, type TlsInfo } from "ipc-streams";
 *
 * const ca = await readFile("ca.pem", "utf8");
 * const connection = await connect({ host: "localhost", port: 8443, tls: { ca } });
 * const info: TlsInfo | undefined = connection.tls; // set on TLS only
 * console.log(info?.authorized, info?.protocol); // true "TLSv1.2"
 * await connection.close();
 * ```
 */
export interface TlsInfo {
  /** The peer sent a certificate and it verified (always true where unverified peers are refused). */
  readonly authorized: boolean;
  /** Why the peer's certificate did not verify, when it did not. */
  readonly authorizationError: string | undefined;
  /** The negotiated protocol version, such as `"TLSv1.3"`. */
  readonly protocol: string | undefined;
  /** The peer's certificate, when it sent one. */
  readonly peerCertificate: PeerCertificate | undefined;
}

/**
 * The facts of a peer certificate that identify it.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { type PeerCertificate, serve } from "ipc-streams";
 *
 * const tls = {
 *   cert: await readFile("server.pem"),
 *   key: await readFile("server-key.pem"),
 *   ca: await readFile("ca.pem"), // the CA of the client certificates
 *   requestCert: true,
 * };
 * const server = await serve({ port: 8443, tls });
 * for await (const connection of server.connections) {
 *   const client: PeerCertificate | undefined = connection.tls?.peerCertificate;
 *   console.log(client?.subject.CN, client?.fingerprint256, client?.validTo);
 * }
 * ```
 */
export interface PeerCertificate {
  /** The subject's fields, such as `{ CN: "localhost" }`. */
  readonly subject: Readonly<Record<string, string>>;
  /** The SHA-256 fingerprint as colon-separated upper-case hex, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string;
  /** The end of its validity, as the runtime prints it. */
  readonly validTo: string;
}

/**
 * What a {@link TransportSocket} reports to the channel that owns it.
 *
 * @example
 * ```ts
 * import { runtime, type SocketEvents } from "ipc-streams/node";
 *
 * const socket = await runtime.connect({ transport: "unix", path: "/tmp/app.world" });
 * const events: SocketEvents = {
 *   onData: (chunk) => console.log(`${chunk.byteLength} bytes`),
 *   onEnd: () => socket.close(), // the peer ended its side: end ours too
 *   onClose: (error) => console.log("closed", error?.code ?? "cleanly"),
 * };
 * socket.open(events);
 * socket.resume();
 * ```
 */
export interface SocketEvents {
  /** Bytes received, in order: a fresh chunk the receiver owns (the adapter never reuses it). */
  onData(chunk: Uint8Array<ArrayBuffer>): void;
  /** The peer ended its side: no data follows. Writing may still work (the peer half-closed). */
  onEnd(): void;
  /**
   * The socket is closed and released; called once, last. `error` says why when it broke:
   * `ERR_IPC_CLOSED` when the peer is gone (a broken pipe), `ERR_IPC_CONNECTION_RESET` otherwise.
   */
  onClose(error?: IpcError): void;
}

/**
 * One connected byte-stream socket, as small as a runtime can make it: the shared channel
 * (`src/transport/channel.ts`) builds everything else on these calls.
 *
 * @example
 * ```ts
 * import { runtime, type TransportSocket } from "ipc-streams/node";
 *
 * const socket: TransportSocket = await runtime.connect({ transport: "tcp", host: "127.0.0.1", port: 8000 });
 * socket.open({ onData: () => {}, onEnd: () => {}, onClose: () => {} });
 * await socket.write('{"type":"hello","data":{}}\f'); // undefined when the OS took it at once
 * await socket.shutdown(); // end of stream after what was written
 * socket.close();
 * ```
 */
export interface TransportSocket {
  /** The peer's address, on TCP and TLS. */
  readonly remoteAddress?: RemoteAddress | undefined;
  /** The handshake's outcome, on TLS. */
  readonly tls?: TlsInfo | undefined;
  /** Starts reporting to `events`; called once, before any other call. The socket starts paused. */
  open(events: SocketEvents): void;
  /** Stops reading from the OS until {@link TransportSocket.resume}: the kernel's buffer holds the rest. */
  pause(): void;
  /** Reads from the OS again, reporting each chunk to `onData`. */
  resume(): void;
  /**
   * Writes every byte of `data` (a string as its UTF-8 encoding), after everything written
   * before. Called only when the previous write has completed. Returns `undefined` when the OS
   * took every byte before returning; otherwise a promise that resolves once it has, and until
   * then the adapter holds `data` by reference (the caller must not change it). Throws or rejects
   * with an `IpcError` when the socket cannot write (`ERR_IPC_CLOSED` when it is closed or the peer
   * is gone). A zero-length write asks the OS anyway, so that a gone peer shows.
   */
  write(data: Uint8Array | string): Promise<void> | undefined;
  /** Sends end-of-stream; called only when no write is pending. Resolves once it was sent. */
  shutdown(): Promise<void>;
  /** Closes both directions at once, dropping what the OS has not sent; `onClose` follows. Idempotent. */
  close(): void;
}

/**
 * What a {@link DatagramSocket} reports.
 *
 * @example
 * ```ts
 * import { type DatagramEvents, runtime } from "ipc-streams/node";
 *
 * const socket = await runtime.bindDatagram({ transport: "udp4", host: "127.0.0.1", port: 8000 });
 * const events: DatagramEvents = {
 *   onDatagram: (datagram, from) => console.log(`${datagram.byteLength} bytes from ${from.host}:${from.port}`),
 *   onError: (error) => console.log(error.code),
 * };
 * socket.open(events);
 * ```
 */
export interface DatagramEvents {
  /** One datagram arrived: a fresh buffer the receiver owns, and who sent it. */
  onDatagram(datagram: Uint8Array<ArrayBuffer>, from: RemoteAddress): void;
  /**
   * Sending or receiving failed without closing the socket (a connected socket hears that nobody
   * listens at its peer). The socket keeps working.
   */
  onError(error: IpcError): void;
}

/**
 * A bound UDP socket: the shared code (`src/transport/datagram.ts`) tells its peers apart.
 *
 * @example
 * ```ts
 * import { type DatagramSocket, runtime } from "ipc-streams/node";
 *
 * const socket: DatagramSocket = await runtime.bindDatagram({ transport: "udp4", host: "127.0.0.1", port: 0 });
 * socket.open({ onDatagram: () => {}, onError: () => {} });
 * await socket.send(new TextEncoder().encode('{"type":"hello","data":{}}\f'), { host: "127.0.0.1", port: 8000 });
 * await socket.close();
 * ```
 */
export interface DatagramSocket {
  /** The local port it is bound to (the real one when `0` was asked). */
  readonly port: number;
  /** The peer a connected socket sends to and hears from, by IP address. */
  readonly remote: RemoteAddress | undefined;
  /** Starts reporting to `events`; called once, before any other call. */
  open(events: DatagramEvents): void;
  /**
   * Sends one datagram (to the connected peer when `remote` is set, else to `to`). Returns a
   * promise that resolves once the OS took it, holding `datagram` by reference until then; rejects
   * with an `IpcError` when it cannot be sent.
   */
  send(datagram: Uint8Array, to: RemoteAddress): Promise<void>;
  /** Releases the socket; datagrams not yet taken by the OS may be lost. Never rejects. */
  close(): Promise<void>;
}

/**
 * A bound, listening socket.
 *
 * @example
 * ```ts
 * import { type Listener, runtime } from "ipc-streams/node";
 *
 * const listener: Listener = await runtime.listen({ transport: "unix", path: "/tmp/app.world" }, (socket) => {
 *   socket.close(); // every accepted socket, closed at once
 * });
 * await listener.close();
 * ```
 */
export interface Listener {
  /** The port it listens on, for TCP and TLS (the real one when `0` was asked). */
  readonly port?: number;
  /** Stops accepting and releases the listening socket. Never rejects. */
  close(): Promise<void>;
}

/**
 * What `lstat` says about a path, as far as the Unix socket-file policy needs it.
 *
 * @example
 * ```ts
 * import { type PathInfo, runtime } from "ipc-streams/node";
 *
 * const info: PathInfo | undefined = await runtime.files.pathInfo("/tmp/app.world");
 * if (info?.kind === "socket") console.log(`owned by uid ${info.uid}, mode ${info.mode.toString(8)}`);
 * ```
 */
export interface PathInfo {
  /** What the path is (a symlink is not followed). */
  readonly kind: "socket" | "directory" | "symlink" | "other";
  /** The owner's user id. */
  readonly uid: number;
  /** Permission bits (`mode & 0o7777`). */
  readonly mode: number;
  /** Device and inode: which file this is, to tell our socket from one that replaced it. */
  readonly device: number;
  /** The inode number, with `device`. */
  readonly inode: number;
}

/**
 * The file-system calls of the Unix socket-file policy (`src/unix/socket-file.ts`).
 *
 * @example
 * ```ts
 * import { type FileSystem, runtime } from "ipc-streams/node";
 *
 * const files: FileSystem = runtime.files;
 * await files.makeDirectory("/tmp/my-app-sockets", 0o700);
 * console.log((await files.pathInfo("/tmp/my-app-sockets"))?.kind); // "directory"
 * ```
 */
export interface FileSystem {
  /** `lstat`, or `undefined` when nothing is at `path`. */
  pathInfo(path: string): Promise<PathInfo | undefined>;
  /** `mkdir -p` with `mode` for the directories it creates. */
  makeDirectory(path: string, mode: number): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  removeFile(path: string): Promise<void>;
  /** Sets the permission bits of a path. */
  changeMode(path: string, mode: number): Promise<void>;
  /** Makes `to` a hard link to `from`; rejects with `ERR_IPC_ADDRESS_IN_USE` when `to` exists. */
  link(from: string, to: string): Promise<void>;
  /** Renames `from` to `to`, replacing `to`. */
  rename(from: string, to: string): Promise<void>;
}

/**
 * Facts from the environment that node-ipc 14's default socket root depends on.
 *
 * @example
 * ```ts
 * import { runtime, type SocketRootEnvironment, secureSocketRoot } from "ipc-streams/node";
 *
 * const environment: SocketRootEnvironment = runtime.socketRootEnvironment();
 * console.log(secureSocketRoot(environment)); // "/run/user/1000/node-ipc/" when $XDG_RUNTIME_DIR is set
 * ```
 */
export interface SocketRootEnvironment {
  /** `$XDG_RUNTIME_DIR`, when set. */
  readonly xdgRuntimeDir: string | undefined;
  /** The temporary directory (`os.tmpdir()`, which honours `$TMPDIR`). */
  readonly tmpdir: string;
  /** The numeric user id. */
  readonly uid: number;
}

/**
 * Everything a runtime adapter provides.
 *
 * @example
 * ```ts
 * import { createApi, type Runtime } from "ipc-streams";
 * import { runtime } from "ipc-streams/node";
 *
 * // An adapter that logs every connection attempt, and the API made from it.
 * const logging: Runtime = {
 *   ...runtime,
 *   connect(address, signal) {
 *     console.log("connecting to", address);
 *     return runtime.connect(address, signal);
 *   },
 * };
 * const { connect } = createApi(logging);
 * const connection = await connect({ id: "world" });
 * await connection.close();
 * ```
 */
export interface Runtime {
  /** `"node"`, `"bun"` or `"deno"`. */
  readonly name: string;
  /** The longest socket path the OS accepts, in bytes, without the terminating NUL. */
  readonly maxSocketPathBytes: number;
  /**
   * Unix addresses are Windows named pipes: the adapter opens the pipe that `windowsPipeName`
   * names for the path, and there is no socket file (none of the socket-file policy applies).
   */
  readonly windowsPipes: boolean;
  /** Reads the environment for the default socket root. */
  socketRootEnvironment(): SocketRootEnvironment;
  /**
   * Connects, and on TLS completes the handshake. Rejects with `IpcError` `ERR_IPC_NO_SERVER`
   * when nobody listens there (for a Unix socket: no file, or a stale socket), `ERR_IPC_TLS` when
   * the handshake fails, `ERR_IPC_UNSUPPORTED` for a setting the runtime cannot honour,
   * `ERR_IPC_SYSTEM` for anything else. Once `signal` aborts, the attempt is abandoned and its
   * socket released; the promise may then reject with any error.
   */
  connect(address: Address, signal?: AbortSignal): Promise<TransportSocket>;
  /**
   * Binds and listens; `onSocket` receives each accepted socket (on TLS, once its handshake
   * succeeded). Rejects with `ERR_IPC_ADDRESS_IN_USE` when the address is taken,
   * `ERR_IPC_UNSUPPORTED` for a setting the runtime cannot honour, `ERR_IPC_SYSTEM` otherwise.
   */
  listen(address: Address, onSocket: (socket: TransportSocket) => void): Promise<Listener>;
  /**
   * Binds a UDP socket at `address`; with `remote`, connects it there too, so that it hears only
   * from that peer (and learns when nobody listens there, where the OS reports it). Rejects with
   * `ERR_IPC_ADDRESS_IN_USE` when the port is taken, `ERR_IPC_SYSTEM` otherwise (a host name
   * that does not resolve, an address of the wrong family).
   */
  bindDatagram(address: UdpAddress, remote?: RemoteAddress): Promise<DatagramSocket>;
  /** Runs `callback` once the current run of microtasks is done (`process.nextTick`). */
  afterTick(callback: () => void): void;
  /** The file-system calls of the Unix socket-file policy. */
  readonly files: FileSystem;
}
