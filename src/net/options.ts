/**
 * The options of the network transports (TCP, TLS on top of it, and UDP): which ones make which
 * address, their defaults, and their checks, all done before anything is opened.
 *
 * @module
 */
import { IpcError } from "../errors.ts";
import type { TcpAddress, TlsAddress, TlsSettings, UdpAddress } from "../transport/contract.ts";
import { MAX_UDP4_PAYLOAD, MAX_UDP6_PAYLOAD } from "../transport/datagram.ts";

/**
 * The host `serve()` and `connect()` use when none is given: loopback, node-ipc's `networkHost`.
 *
 * @example
 * ```ts
 * import { connect, DEFAULT_HOST } from "ipc-streams";
 *
 * const connection = await connect({ port: 8000 }); // reaches DEFAULT_HOST, "127.0.0.1"
 * console.log(connection.remoteAddress?.host === DEFAULT_HOST); // true
 * ```
 */
export const DEFAULT_HOST = "127.0.0.1";

/**
 * PEM text, as a string or its bytes (the caller reads the files).
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { type Pem, serve } from "ipc-streams";
 *
 * const cert: Pem = await readFile("server.pem"); // bytes
 * const key: Pem = await readFile("server-key.pem", "utf8"); // or text
 * const server = await serve({ port: 8443, tls: { cert, key } });
 * ```
 */
export type Pem = string | Uint8Array;

/**
 * TLS options, on `serve()` and `connect()`. They mean what Node's `tls` options of the same
 * names mean; node-ipc's `config.tls` names are in the README.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { connect, type TlsOptions } from "ipc-streams";
 *
 * // Mutual TLS from the client's side: trust our CA, present our own certificate.
 * const tls: TlsOptions = {
 *   ca: await readFile("ca.pem"),
 *   cert: await readFile("client.pem"),
 *   key: await readFile("client-key.pem"),
 *   servername: "ipc.example.internal",
 * };
 * const connection = await connect({ host: "10.0.0.5", port: 8443, tls });
 * ```
 */
export interface TlsOptions {
  /**
   * The certificate chain to present (node-ipc's `tls.public`). Required on a server; on a
   * client, sent for mutual TLS (with `key`).
   */
  readonly cert?: Pem;
  /** The private key of `cert` (node-ipc's `tls.private`). */
  readonly key?: Pem;
  /**
   * The CAs to trust (node-ipc's `tls.trustedConnections`): a client verifies the server against
   * them, a server with `requestCert` its clients.
   * @default the runtime's system store
   */
  readonly ca?: Pem | readonly Pem[];
  /**
   * Server only: ask each client for a certificate; with `rejectUnauthorized` (the default), a
   * client without a valid one is refused during the handshake.
   * @default false
   */
  readonly requestCert?: boolean;
  /**
   * Refuse a peer whose certificate does not verify: on a client, the server's (its CA and its
   * host name); on a server with `requestCert`, the client's. Only `false` turns it off.
   * @default true
   */
  readonly rejectUnauthorized?: boolean;
  /**
   * Client only: the host name sent in the handshake (SNI) and checked against the server's
   * certificate.
   * @default `host`
   */
  readonly servername?: string;
}

/**
 * Options that select and tune a TCP (or, with `tls`, TLS) or UDP address.
 *
 * @example
 * ```ts
 * import { type NetworkOptions, serve } from "ipc-streams";
 *
 * const udp: NetworkOptions = { host: "::1", port: 8000, transport: "udp6", maxDatagramSize: 1200 };
 * const server = await serve(udp);
 * ```
 */
export interface NetworkOptions {
  /**
   * The port. Giving it selects TCP (TLS with `tls`, UDP with `transport`) instead of a Unix
   * socket; `serve()` takes `0` for a free port (then see `server.address`).
   */
  readonly port?: number;
  /**
   * The IP address or host name.
   * @default "127.0.0.1" ("::1" for udp6)
   */
  readonly host?: string;
  /**
   * The network transport: TCP, or UDP over IPv4 (`"udp4"`) or IPv6 (`"udp6"`), node-ipc's
   * `serveNet(host, port, "udp4")`.
   * @default "tcp"
   */
  readonly transport?: "tcp" | "udp4" | "udp6";
  /** TLS on top of TCP; needs `port`. */
  readonly tls?: TlsOptions;
  /**
   * UDP only: the largest datagram sent or received, in bytes. A frame (delimiter included) or
   * raw chunk that does not fit is refused with `ERR_IPC_FRAME_TOO_LARGE`.
   * @default 65507 on udp4, 65527 on udp6 (the largest UDP payloads)
   */
  readonly maxDatagramSize?: number;
}

/** Where a UDP socket binds or sends, and its largest datagram. */
export interface DatagramTarget {
  readonly address: UdpAddress;
  readonly maxDatagramSize: number;
}

/** Which side the options are for. */
export type Side = "server" | "client";

/** Whether the options ask for a network transport rather than a Unix socket. */
export function isNetwork(options: NetworkOptions): boolean {
  return (
    options.port !== undefined ||
    options.host !== undefined ||
    options.tls !== undefined ||
    options.transport !== undefined ||
    options.maxDatagramSize !== undefined
  );
}

/** Whether the options ask for UDP. */
export function isDatagram(options: NetworkOptions): boolean {
  return options.transport === "udp4" || options.transport === "udp6";
}

/**
 * The TCP or TLS address that `options` name, checked: a port in range, a host, and TLS settings
 * that can work for `side`. Throws `ERR_IPC_INVALID_OPTION`.
 *
 * @example
 * ```ts
 * networkAddress({ port: 8000 }, "client"); // { transport: "tcp", host: "127.0.0.1", port: 8000 }
 * ```
 */
export function networkAddress(
  options: NetworkOptions & { readonly id?: unknown; readonly path?: unknown },
  side: Side,
): TcpAddress | TlsAddress {
  if (options.id !== undefined || options.path !== undefined) {
    throw invalid("give either a Unix socket (id or path) or a network address (port), not both");
  }
  const { port, host = DEFAULT_HOST, tls, transport = "tcp" } = options;
  if (transport !== "tcp") throw invalid(`transport must be "tcp", "udp4" or "udp6", not ${String(transport)}`);
  if (options.maxDatagramSize !== undefined) throw invalid("maxDatagramSize is an option of UDP");
  checkPort(port, side);
  if (typeof host !== "string" || host.length === 0) throw invalid("host must be a non-empty string");
  const bare = unbracketed(host);
  if (tls === undefined) return { transport: "tcp", host: bare, port };
  return { transport: "tls", host: bare, port, tls: tlsSettings(tls, side) };
}

/**
 * The UDP address that `options` name, checked, with the datagram size. Throws
 * `ERR_IPC_INVALID_OPTION`.
 *
 * @example
 * ```ts
 * datagramTarget({ port: 8000, transport: "udp6" }, "client"); // ::1 port 8000, 65527 bytes
 * ```
 */
export function datagramTarget(
  options: NetworkOptions & { readonly id?: unknown; readonly path?: unknown },
  side: Side,
): DatagramTarget {
  if (options.id !== undefined || options.path !== undefined) {
    throw invalid("give either a Unix socket (id or path) or a network address (port), not both");
  }
  const transport = options.transport === "udp6" ? "udp6" : "udp4";
  if (options.tls !== undefined) throw invalid("tls is an option of TCP: UDP has no TLS");
  const { port, host = transport === "udp6" ? "::1" : DEFAULT_HOST } = options;
  checkPort(port, side);
  if (typeof host !== "string" || host.length === 0) throw invalid("host must be a non-empty string");
  const bare = unbracketed(host);
  if (transport === "udp4" && bare.includes(":")) throw invalid(`udp4 needs an IPv4 address or host name, not ${bare}`);
  if (transport === "udp6" && /^\d+\.\d+\.\d+\.\d+$/.test(bare)) {
    throw invalid(`udp6 needs an IPv6 address or host name, not ${bare}`);
  }
  const largest = transport === "udp6" ? MAX_UDP6_PAYLOAD : MAX_UDP4_PAYLOAD;
  const { maxDatagramSize = largest } = options;
  if (!(Number.isInteger(maxDatagramSize) && maxDatagramSize >= 1 && maxDatagramSize <= largest)) {
    throw invalid(`maxDatagramSize must be an integer from 1 to ${largest} on ${transport}`);
  }
  return { address: { transport, host: bare, port }, maxDatagramSize };
}

function checkPort(port: number | undefined, side: Side): asserts port is number {
  const lowest = side === "server" ? 0 : 1;
  if (port === undefined) throw invalid("port is required for TCP, TLS and UDP");
  if (!(Number.isInteger(port) && port >= lowest && port <= 65535)) {
    throw invalid(`port must be an integer from ${lowest} to 65535`);
  }
}

/** `host:port`, with brackets around an IPv6 address, for messages. */
export function describeEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function tlsSettings(tls: TlsOptions, side: Side): TlsSettings {
  if (tls === null || typeof tls !== "object") throw invalid("tls must be an object of TLS options");
  const cert = pemOption(tls.cert, "tls.cert");
  const key = pemOption(tls.key, "tls.key");
  const ca = tls.ca === undefined ? undefined : (Array.isArray(tls.ca) ? tls.ca : [tls.ca]).map(caEntry);
  for (const name of ["requestCert", "rejectUnauthorized"] as const) {
    if (tls[name] !== undefined && typeof tls[name] !== "boolean") throw invalid(`tls.${name} must be true or false`);
  }
  if (side === "server") {
    if (cert === undefined || key === undefined) throw invalid("a TLS server needs tls.cert and tls.key");
    if (tls.servername !== undefined) throw invalid("tls.servername is a client option");
  } else {
    if ((cert === undefined) !== (key === undefined)) {
      throw invalid("a TLS client certificate needs both tls.cert and tls.key");
    }
    if (tls.requestCert !== undefined) throw invalid("tls.requestCert is a server option");
    if (tls.servername !== undefined && (typeof tls.servername !== "string" || tls.servername.length === 0)) {
      throw invalid("tls.servername must be a non-empty string");
    }
  }
  return {
    cert,
    key,
    ca,
    requestCert: tls.requestCert ?? false,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    servername: tls.servername,
  };
}

function caEntry(entry: unknown, index: number): string {
  const pem = pemOption(entry, `tls.ca[${index}]`);
  if (pem === undefined) throw invalid(`tls.ca[${index}] must be PEM text`);
  return pem;
}

/** PEM given as text or bytes, as text; checks that it looks like PEM. */
function pemOption(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  let text: string;
  if (typeof value === "string") text = value;
  else if (value instanceof Uint8Array) text = new TextDecoder().decode(value);
  else throw invalid(`${name} must be PEM text, as a string or bytes`);
  if (!text.includes("-----BEGIN ")) throw invalid(`${name} is not PEM text (no "-----BEGIN" line)`);
  return text;
}

/** `[::1]` → `::1`: sockets take IPv6 addresses without brackets. */
function unbracketed(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function invalid(message: string): IpcError {
  return new IpcError("ERR_IPC_INVALID_OPTION", message);
}
