/**
 * Interoperation with the real node-ipc packages (9.2.1, @achrinza 10.1.11, 12.0.0, 14.0.0), both
 * directions, over Unix sockets, TCP and TLS, on the runtime running the suite. Each node-ipc peer
 * is a child process (test/peers/node-ipc-peer.mjs) driven over stdin/stdout. After a complete
 * run, every scenario's outcome is recorded into test-results/interop-<runtime>.json
 * (test/peers/outcomes.ts); scripts/interop-table.mjs turns those files into the README table. Network scenarios stay on loopback: our servers take port 0, node-ipc servers a port
 * found free just before.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect } from "vitest";
import { concat } from "./fixtures/bytes.ts";
import {
  EVENT_TIMEOUT,
  freePort,
  isEvent,
  LINES,
  type Line,
  Peer,
  type PeerEvent,
  stopAllPeers,
  stopSparePeers,
  TimeoutError,
  within,
} from "./peers/harness.ts";
import {
  type Direction,
  FROM_US,
  recorder,
  runtimeLabel,
  type ScenarioOptions,
  TO_US,
  type Transport,
} from "./peers/outcomes.ts";
import { untag } from "./peers/tagged.mjs";
import { ipc } from "./runtime.ts";
import { fromHex, SEND_VECTORS, type SendVector, toHex } from "./vectors.ts";

type Connection = Awaited<ReturnType<typeof ipc.connect>>;
type Server = Awaited<ReturnType<typeof ipc.serve>>;
type ServeOptions = Parameters<typeof ipc.serve>[0];
type ConnectOptions = Parameters<typeof ipc.connect>[0];
type TlsOptions = NonNullable<ServeOptions["tls"]>;

const dir = mkdtempSync(join(tmpdir(), "ipcs-interop-"));
const root = `${dir}/`;
const APPSPACE = "interop.";
const MiB = 1024 * 1024;
const SLOW = 180_000;

const { scenario, peerNode } = recorder("interop", async () => {
  await runCleanups();
  await stopAllPeers();
  await stopSparePeers();
  rmSync(dir, { recursive: true, force: true });
});

// -----------------------------------------------------------------------------------------------
// Cleanup: everything a scenario opens is closed after it, whatever happened.

const cleanups: (() => unknown)[] = [];

function defer(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await within(Promise.resolve(cleanups.pop()?.()), 10_000, "cleanup");
    } catch {
      // best effort: the scenario's own assertions report what matters
    }
  }
}

afterEach(async () => {
  await runCleanups();
  await stopAllPeers();
});

// -----------------------------------------------------------------------------------------------
// Our side

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A held reader on one of our readables, with waits that fail with a clear message. */
class Inbox<T = unknown> {
  readonly #reader: ReadableStreamDefaultReader<T>;
  #pending: ReturnType<ReadableStreamDefaultReader<T>["read"]> | undefined;

  constructor(readable: ReadableStream<T>) {
    this.#reader = readable.getReader();
  }

  #read(): ReturnType<ReadableStreamDefaultReader<T>["read"]> {
    this.#pending ??= this.#reader.read();
    return this.#pending;
  }

  async next(what: string, timeout = EVENT_TIMEOUT): Promise<T> {
    const result = await within(this.#read(), timeout, what);
    this.#pending = undefined;
    if (result.done) throw new Error(`our stream ended while waiting for ${what}`);
    return result.value;
  }

  async take(count: number, what: string, timeout = EVENT_TIMEOUT): Promise<T[]> {
    const values: T[] = [];
    while (values.length < count) values.push(await this.next(`${what} (${values.length + 1} of ${count})`, timeout));
    return values;
  }

  /** Reads byte chunks until `length` bytes arrived. */
  async bytes(length: number, what: string): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let received = 0;
    while (received < length) {
      const chunk = (await this.next(`${what} (${received} of ${length} bytes)`)) as Uint8Array;
      chunks.push(chunk);
      received += chunk.byteLength;
    }
    return concat(chunks);
  }

  /** True when nothing arrives within `ms` (a pending read is kept for the next call). */
  quiet(ms: number): Promise<boolean> {
    const arrived = this.#read().then(
      () => false,
      () => false,
    );
    return Promise.race([arrived, delay(ms).then(() => true)]);
  }

  /** How the stream finishes: a clean end, or the error it fails with. Any message is a failure. */
  async outcome(what: string): Promise<{ ended: true } | { error: unknown }> {
    try {
      const result = await within(this.#read(), EVENT_TIMEOUT, what);
      this.#pending = undefined;
      if (result.done) return { ended: true };
      throw new Error(`expected ${what}, got a message: ${JSON.stringify(result.value).slice(0, 200)}`);
    } catch (error) {
      if (error instanceof TimeoutError || (error instanceof Error && error.message.startsWith("expected")))
        throw error;
      return { error };
    }
  }
}

/** The `code` of what `action` throws or rejects with; `undefined` when it succeeds. */
async function codeOf(action: () => unknown): Promise<unknown> {
  try {
    await action();
    return undefined;
  } catch (error) {
    return (error as { code?: unknown }).code ?? String(error);
  }
}

function errorSummary(outcome: { ended: true } | { error: unknown }): unknown {
  if ("ended" in outcome) return { ended: true };
  const error = outcome.error;
  return {
    ipcError: error instanceof ipc.IpcError,
    code: (error as { code?: unknown }).code,
  };
}

async function ourServer(options: ServeOptions): Promise<Server> {
  const server = await ipc.serve(options);
  defer(() => server.close());
  return server;
}

async function ourClient(options: ConnectOptions): Promise<Connection> {
  const connection = await ipc.connect(options);
  defer(() => connection.close());
  return connection;
}

async function accept(server: Server, what = "a connection on our server"): Promise<Connection> {
  const reader = server.connections.getReader();
  try {
    const result = await within(reader.read(), EVENT_TIMEOUT, what);
    if (result.done) throw new Error(`our server stopped while waiting for ${what}`);
    const connection = result.value as Connection;
    defer(() => connection.close());
    return connection;
  } finally {
    reader.releaseLock();
  }
}

async function writeBytes(connection: Connection, chunks: readonly Uint8Array[]): Promise<void> {
  const writer = (connection.writable as WritableStream<Uint8Array>).getWriter();
  for (const chunk of chunks) await writer.write(chunk);
  writer.releaseLock();
}

// -----------------------------------------------------------------------------------------------
// Vectors and payloads

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

/**
 * The vectors we send ourselves: a non-empty string type that is neither reserved nor an
 * Object.prototype name (the spec's rule for senders). We never rewrite data, so our bytes are
 * the ones node-ipc 14 writes.
 */
const OUR_VECTORS = SEND_VECTORS.filter(({ args: [type] }) => {
  return (
    typeof type === "string" &&
    type !== "" &&
    !ipc.RESERVED_EVENT_TYPES.includes(type) &&
    !PROTOTYPE_NAMES.includes(type)
  );
});
const OUR_TYPES = [...new Set(OUR_VECTORS.map(({ args: [type] }) => type as string))];

/** A custom delimiter each line can receive: 9–12 only single characters, 14 any string. */
function delimiterFor(line: Line): string {
  return line === "14" ? "\r\n" : "\n";
}

function hexFor(line: Line, vector: SendVector): string {
  return line === "14" ? vector.hex14 : vector.hexLegacy;
}

/** The message a frame carries: JSON.parse of its text without the delimiter. */
function frameMessage(hex: string): unknown {
  return JSON.parse(new TextDecoder().decode(fromHex(hex).subarray(0, -1)));
}

/** Our emit() for a vector: emit(type) when the call has no data argument. */
function emitVector(connection: Connection, vector: SendVector): Promise<void> {
  const [type, data] = vector.args;
  return vector.args.length === 1 ? connection.emit(type as string) : connection.emit(type as string, data);
}

/** About 1 MiB of text mixing 1- to 4-byte characters and the delimiter. */
const BIG_TEXT = { $: "repeat", text: "aé€😀\f", count: 95_326 };
const bigText = untag(BIG_TEXT) as string;

/** Valid UTF-8 mixing 1- to 4-byte sequences, NUL, the delimiter and newlines. */
const UTF8_BYTES = new TextEncoder().encode('raw\u0000\f\n é€😀 {"type":"x"}\r\n'.repeat(64));
/** Every byte value, twice, in a scrambled order. */
const ALL_BYTES = Uint8Array.from({ length: 512 }, (_, i) => (i * 167 + 13) % 256);

/**
 * The raw-mode cases for a node-ipc line: 9–12 re-decode what they receive with their `encoding`
 * (default utf8), so they get valid UTF-8, or every byte value under latin1; 14 passes any bytes.
 */
function rawCasesFor(legacy: boolean): { name: string; encoding?: string; bytes: Uint8Array }[] {
  return legacy
    ? [
        { name: "rawBuffer: true, utf8 (valid UTF-8 bytes): exact both ways", bytes: UTF8_BYTES },
        {
          name: "rawBuffer: true, encoding latin1 (every byte value): exact both ways",
          encoding: "latin1",
          bytes: ALL_BYTES,
        },
      ]
    : [{ name: "rawBuffer: true (every byte value): exact both ways", bytes: ALL_BYTES }];
}

function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

/** The size of the frame that carries `{type, data: text}`, delimiter excluded. */
function frameSize(type: string, text: string): number {
  return new TextEncoder().encode(JSON.stringify({ type, data: text })).byteLength;
}

/** Runs `body` with environment variables changed (`undefined` unsets), then restores them. */
async function withEnv<T>(changes: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = Object.entries(changes).map(([name]) => [name, process.env[name]] as const);
  const apply = (entries: readonly (readonly [string, string | undefined])[]) => {
    for (const [name, value] of entries) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(Object.entries(changes));
  try {
    return await body();
  } finally {
    apply(saved);
  }
}

/** node-ipc 14's two default-root rules, each in its own directory under the temp dir. */
const SECURE_ROOT_ENVIRONMENTS: { name: string; base: string; env: Record<string, string | undefined> }[] = [
  { name: "XDG_RUNTIME_DIR", base: `${dir}/xdg`, env: { XDG_RUNTIME_DIR: `${dir}/xdg` } },
  { name: "TMPDIR", base: `${dir}/tmp`, env: { XDG_RUNTIME_DIR: undefined, TMPDIR: `${dir}/tmp` } },
];

// -----------------------------------------------------------------------------------------------
// Links: how our side and the node-ipc peer reach each other (Unix socket, TCP, TLS)

/** A test certificate or key from test/fixtures/tls, as PEM text. */
function pem(file: string): string {
  return readFileSync(fileURLToPath(new URL(`./fixtures/tls/${file}`, import.meta.url)), "utf8");
}

const CA = pem("ca.pem");
const SERVER_CERT = { cert: pem("server.pem"), key: pem("server.key") };
const CLIENT_CERT = { cert: pem("client.pem"), key: pem("client.key") };
const OTHER_CA_CERT = { cert: pem("other.pem"), key: pem("other.key") };
/** The subjects of server.pem (for localhost, 127.0.0.1 and ::1) and client.pem. */
const SERVER_CN = "localhost";
const CLIENT_CN = "ipc-streams-client";

/**
 * node-ipc's `config.tls` as the peer takes it: `public`, `private` and `trustedConnections` name
 * files in test/fixtures/tls, which node-ipc reads itself.
 */
interface PeerTls {
  readonly public?: string;
  readonly private?: string;
  readonly trustedConnections?: string | readonly string[];
  readonly requestCert?: boolean;
  readonly rejectUnauthorized?: boolean;
}

/**
 * unix: Unix socket; tcp: TCP on 127.0.0.1; tcp6: TCP on ::1; tls: server-authenticated TLS;
 * mtls: mutual TLS; assured: mutual TLS with node-ipc 14's `assured` parser on the peer.
 */
type LinkKind = "unix" | "tcp" | "tcp6" | "tls" | "mtls" | "assured";

interface Link {
  readonly kind: LinkKind;
  readonly transport: Transport;
  /** Put before each scenario name, to tell the links of one transport apart. */
  readonly prefix: string;
  /** The loopback address, on TCP and TLS. */
  readonly host: string;
  readonly ourServerTls?: TlsOptions;
  readonly ourClientTls?: TlsOptions;
  readonly peerServerTls?: PeerTls;
  readonly peerClientTls?: PeerTls;
  /** node-ipc config for every scenario on this link. */
  readonly peerConfig?: Record<string, unknown>;
  /** The client certificate's CN, when the client sends one (mutual TLS). */
  readonly clientCN?: string;
}

/** Every event type the scenarios run over the assured link use: assured refuses any other. */
const ASSURED_EVENTS = ["hello", "reply", "n", "last", "after", "back"];

function linksFor(line: Line): Link[] {
  const legacy = line !== "14";
  const serverAuthenticated: Link = {
    kind: "tls",
    transport: "tls",
    prefix: "server-authenticated: ",
    host: "127.0.0.1",
    ourServerTls: SERVER_CERT,
    ourClientTls: { ca: CA },
    peerServerTls: { public: "server.pem", private: "server.key" },
    peerClientTls: { trustedConnections: "ca.pem" },
  };
  const mutual: Link = {
    ...serverAuthenticated,
    kind: "mtls",
    prefix: "mutual: ",
    ourServerTls: { ...SERVER_CERT, ca: CA, requestCert: true },
    ourClientTls: { ...CLIENT_CERT, ca: CA },
    // 14 asks for a client certificate by itself once it trusts a CA (spec 3.3); 9–12 only when
    // told to.
    peerServerTls: legacy
      ? {
          public: "server.pem",
          private: "server.key",
          trustedConnections: "ca.pem",
          requestCert: true,
          rejectUnauthorized: true,
        }
      : { public: "server.pem", private: "server.key", trustedConnections: "ca.pem" },
    peerClientTls: { public: "client.pem", private: "client.key", trustedConnections: "ca.pem" },
    clientCN: CLIENT_CN,
  };
  const links: Link[] = [
    { kind: "unix", transport: "unix", prefix: "", host: "" },
    { kind: "tcp", transport: "tcp", prefix: "", host: "127.0.0.1" },
    { kind: "tcp6", transport: "tcp", prefix: "[::1] ", host: "::1" },
    serverAuthenticated,
    mutual,
  ];
  if (!legacy) {
    links.push({
      ...mutual,
      kind: "assured",
      prefix: "assured (mutual): ",
      peerConfig: { parser: "assured", allowedEvents: ASSURED_EVENTS },
    });
  }
  return links;
}

/** Which links a scenario runs over. */
const UNIX_ONLY: readonly LinkKind[] = ["unix"];
/** Every Unix-socket scenario that applies to TCP runs over both. */
const STREAM: readonly LinkKind[] = ["unix", "tcp"];
/** Bulk data also over TLS once: mutual TLS differs only in the handshake. */
const BULK: readonly LinkKind[] = [...STREAM, "tls"];
/** Many frames also through 14's assured parser. */
const MANY: readonly LinkKind[] = [...BULK, "assured"];
/** Handshakes and closes over every kind of TLS. */
const LIFECYCLE: readonly LinkKind[] = [...STREAM, "tls", "mtls"];
const LIFECYCLE_ASSURED: readonly LinkKind[] = [...LIFECYCLE, "assured"];
/** Events both ways over every link, ::1 included. */
const EVERY_LINK: readonly LinkKind[] = [...LIFECYCLE_ASSURED, "tcp6"];

function portOf(server: Server): number {
  if (server.address.transport === "unix") throw new Error("not a network server");
  return server.address.port;
}

/** The peer's `connect` arguments that reach our server (a Unix path, or host, port and TLS). */
function reachOf(link: Link, server: Server, tls: PeerTls | undefined = link.peerClientTls): Record<string, unknown> {
  if (link.transport === "unix") return { path: server.path };
  return { net: { host: link.host, port: portOf(server) }, ...(tls ? { tls } : {}) };
}

/**
 * What one of our connections knows about its peer, on TCP and TLS. `authorized` only where the
 * peer sent a certificate: for a client that sent none, runtimes differ (what `tls.authorized`
 * means there is the runtime contract's business, not interop's).
 */
function peerFacts(connection: Connection): Record<string, unknown> {
  const peerCN = connection.tls?.peerCertificate?.subject.CN;
  return {
    host: connection.remoteAddress?.host,
    tls: connection.tls !== undefined,
    peerCN,
    ...(peerCN !== undefined && { authorized: connection.tls?.authorized }),
  };
}

/** A node-ipc connect / server.connect event's TLS facts (the peer's tlsState). */
function peerTlsFacts(event: PeerEvent): unknown {
  return event.tls ?? null;
}

/**
 * Over TLS, a node-ipc client that destroys its socket now and then (1 to 5 runs in 100 here,
 * with the real node-ipc clients only; never over TCP or Unix sockets, never with plain node:tls
 * clients) leaves us a reset (RST) rather than a clean end. Not pinned down: a kernel sends one
 * when a socket closes with received bytes unread.
 */
const RESET = "ERR_IPC_CONNECTION_RESET";

/** The ways our readable may finish when a node-ipc client destroys its socket. */
function peerClosedOutcomes(link: Link): unknown[] {
  const ended = { ended: true };
  return link.transport === "tls" ? [ended, { ipcError: true, code: RESET }] : [ended];
}

/** The codes a write may get once a node-ipc client destroyed its socket (`undefined`: taken). */
function peerClosedWriteCodes(link: Link): unknown[] {
  return link.transport === "tls" ? [undefined, "ERR_IPC_CLOSED", RESET] : [undefined, "ERR_IPC_CLOSED"];
}

// -----------------------------------------------------------------------------------------------
// Peers

let counter = 0;
function uniqueId(line: Line): string {
  counter += 1;
  return `ipcs-${runtimeLabel}-${line}-${counter}-${Math.random().toString(36).slice(2, 10)}`;
}

async function startPeer(line: Line): Promise<Peer> {
  const peer = await Peer.start(line);
  peerNode(line, peer.node);
  return peer;
}

interface ToUsSetup {
  id: string;
  peer: Peer;
  server: Server;
  connection: Connection;
  inbox: Inbox;
  /** The peer's `connect` event. */
  connected: PeerEvent;
  /** `connect` arguments for another node-ipc client to our server. */
  reach: Record<string, unknown>;
  /** serve() options for the same address again. */
  sameAddress: ServeOptions;
}

interface SetupOptions {
  peerConfig?: object;
  types?: string[];
}

/**
 * node-ipc client → our server. Unix: in the temp dir, the peer's socketRoot/appspace and ours
 * match, and the peer connects with connectTo(id). TCP/TLS: our server on port 0, the peer
 * connects with connectToNet(id, host, port) and the link's config.tls.
 */
async function nodeIpcClientToUs(
  line: Line,
  link: Link,
  { peerConfig = {}, serve = {}, types = [] }: SetupOptions & { serve?: object } = {},
): Promise<ToUsSetup> {
  const id = uniqueId(line);
  const unix = link.transport === "unix";
  const where = unix
    ? { id, socketRoot: root, appspace: APPSPACE }
    : { port: 0, host: link.host, ...(link.ourServerTls ? { tls: link.ourServerTls } : {}) };
  const server = await ourServer({ ...where, ...serve } as ServeOptions);
  const peer = await startPeer(line);
  await peer.config({ ...(unix ? { socketRoot: root, appspace: APPSPACE } : {}), ...link.peerConfig, ...peerConfig });
  const reach = reachOf(link, server);
  const { path } = await peer.request<{ path: string }>("connect", { name: id, types, ...(unix ? {} : reach) });
  if (unix) expect(path).toBe(server.path);
  const [connection, connected] = await Promise.all([
    accept(server),
    peer.next(isEvent("connect", { name: id }), "connect"),
  ]);
  if (!unix) {
    expect(peerFacts(connection)).toEqual({
      host: link.host,
      tls: link.transport === "tls",
      peerCN: link.clientCN,
      ...(link.clientCN !== undefined && { authorized: true }),
    });
  }
  const sameAddress = (unix ? where : { ...where, port: portOf(server) }) as ServeOptions;
  return { id, peer, server, connection, inbox: new Inbox(connection.readable), connected, reach, sameAddress };
}

interface FromUsSetup {
  id: string;
  peer: Peer;
  /** The node-ipc server's socket path, on a Unix socket. */
  path: string | undefined;
  /** connect() options for another of our clients to the node-ipc server. */
  target: ConnectOptions;
  connection: Connection;
  inbox: Inbox;
  socket: number;
}

/**
 * Our client → node-ipc server. Unix: the peer serves in the temp dir with socketRoot/appspace/id.
 * TCP/TLS: the peer serveNet(host, port)s on a port found free, with the link's config.tls.
 */
async function usToNodeIpcServer(
  line: Line,
  link: Link,
  { peerConfig = {}, connect = {}, types = [] }: SetupOptions & { connect?: object } = {},
): Promise<FromUsSetup> {
  const id = uniqueId(line);
  const peer = await startPeer(line);
  let path: string | undefined;
  let target: ConnectOptions;
  if (link.transport === "unix") {
    await peer.config({ socketRoot: root, appspace: APPSPACE, id, ...link.peerConfig, ...peerConfig });
    ({ path } = await peer.request<{ path: string }>("serve", { types }));
    expect(path).toBe(`${root}${APPSPACE}${id}`);
    target = { id, socketRoot: root, appspace: APPSPACE };
  } else {
    const port = await freePort(link.host);
    await peer.config({ id, ...link.peerConfig, ...peerConfig });
    await peer.request("serve", { net: { host: link.host, port }, tls: link.peerServerTls, types });
    target = { host: link.host, port, ...(link.ourClientTls ? { tls: link.ourClientTls } : {}) } as ConnectOptions;
  }
  const connection = await ourClient({ ...target, ...connect } as ConnectOptions);
  const accepted = await peer.next(isEvent("server.connect"), "server connect");
  if (link.transport !== "unix") {
    const tls = link.transport === "tls";
    expect(peerFacts(connection)).toEqual({
      host: link.host,
      tls,
      peerCN: tls ? SERVER_CN : undefined,
      ...(tls && { authorized: true }),
    });
    // node-ipc's server `connect` comes after the handshake: it has checked our certificate.
    expect(peerTlsFacts(accepted)).toEqual(
      tls ? { authorized: link.clientCN !== undefined, peerCN: link.clientCN ?? null } : null,
    );
  }
  return {
    id,
    peer,
    path,
    target,
    connection,
    inbox: new Inbox(connection.readable),
    socket: accepted.socket as number,
  };
}

function messagesOf(events: readonly PeerEvent[]): { type: unknown; data: unknown }[] {
  return events.map(({ type, data }) => ({ type, data }));
}

/** Collects raw `data` events until `length` bytes arrived. */
async function peerBytes(peer: Peer, ev: string, length: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  while (received < length) {
    const event = await peer.next(isEvent(ev), `${ev} (${received} of ${length} bytes)`);
    chunks.push(event.bytes as Uint8Array);
    received += (event.bytes as Uint8Array).byteLength;
  }
  return concat(chunks);
}

/**
 * True when our server has delivered no connection (none queued, none within `ms`). Refused
 * handshakes never become connections; a connection that did arrive is closed.
 */
async function nothingAccepted(server: Server, ms = 200): Promise<boolean> {
  const reader = server.connections.getReader();
  try {
    const result = await Promise.race([reader.read(), delay(ms).then(() => "quiet" as const)]);
    if (result === "quiet") return true;
    if (!result.done) defer(() => (result.value as Connection).close());
    return false;
  } finally {
    reader.releaseLock();
  }
}

/**
 * How our connect() to a server that refuses us in the handshake fails: connect() itself, or
 * (TLS 1.3: a server checks the client's certificate after the client finished its handshake)
 * the connection's readable. An emit is tried in between; it may still be taken by the OS.
 */
async function refusal(options: ConnectOptions): Promise<unknown> {
  let connection: Connection;
  try {
    connection = await within(ipc.connect(options), EVENT_TIMEOUT, "connect()");
  } catch (error) {
    return { ipcError: error instanceof ipc.IpcError, code: (error as { code?: unknown }).code };
  }
  defer(() => connection.close());
  const inbox = new Inbox(connection.readable);
  const written = await codeOf(() => connection.emit("hello", 1));
  if (written !== undefined && written !== "ERR_IPC_TLS" && written !== "ERR_IPC_CLOSED") return { written };
  return errorSummary(await inbox.outcome("the refusal"));
}

// -----------------------------------------------------------------------------------------------
// The scenarios

type OnOptions = ScenarioOptions & { over?: readonly LinkKind[] };

for (const line of LINES) {
  for (const link of linksFor(line)) {
    describe(`node-ipc ${line} · ${link.kind} on ${runtimeLabel}`, () => {
      streamScenarios(line, link);
      if (link.transport === "tls") tlsScenarios(line, link);
    });
  }
}

/** The scenarios of any stream link, each declared for the links in its `over` list. */
function streamScenarios(line: Line, link: Link): void {
  const legacy = line !== "14";
  const unix = link.transport === "unix";
  const on = (direction: Direction, name: string, body: () => Promise<void>, options: OnOptions = {}) => {
    const { over = STREAM, ...rest } = options;
    if (over.includes(link.kind)) scenario(line, link.transport, direction, `${link.prefix}${name}`, body, rest);
  };
  const toUs = (options?: Parameters<typeof nodeIpcClientToUs>[2]) => nodeIpcClientToUs(line, link, options);
  const fromUs = (options?: Parameters<typeof usToNodeIpcServer>[2]) => usToNodeIpcServer(line, link, options);

  describe(TO_US, () => {
    on(
      TO_US,
      "default socket path (connectTo(id) with node-ipc's defaults)",
      async () => {
        const id = uniqueId(line);
        // 9–12 default to /tmp/ (LEGACY_SOCKET_ROOT); our default root is 14's secure root.
        const server = await ourServer(legacy ? { id, socketRoot: ipc.LEGACY_SOCKET_ROOT } : { id });
        defer(() => rmSync(server.path as string, { force: true }));
        const peer = await startPeer(line);
        const { path } = await peer.request<{ path: string }>("connect", { name: id, types: ["reply"] });
        expect(path).toBe(legacy ? `/tmp/app.${id}` : `${peer.defaultSocketRoot}app.${id}`);
        expect(server.path).toBe(path);
        const [connection] = await Promise.all([accept(server), peer.next(isEvent("connect"), "connect")]);
        const inbox = new Inbox(connection.readable);
        await peer.request("emit", { name: id, args: ["hello", { from: "node-ipc" }] });
        expect(await inbox.next("hello")).toEqual({ type: "hello", data: { from: "node-ipc" } });
        await connection.emit("reply", { to: "node-ipc" });
        const reply = await peer.next(isEvent("message"), "reply");
        expect(messagesOf([reply])).toEqual([{ type: "reply", data: { to: "node-ipc" } }]);
      },
      { over: UNIX_ONLY },
    );

    on(
      TO_US,
      unix
        ? "explicit socketRoot, appspace and id: emit in, reply out"
        : "connectToNet(id, host, port): emit in, reply out",
      async () => {
        const { id, peer, connection, inbox } = await toUs({ types: ["reply"] });
        await peer.request("emit", { name: id, args: ["hello", { n: 1 }] });
        expect(await inbox.next("hello")).toEqual({ type: "hello", data: { n: 1 } });
        await connection.emit("reply", { n: 2 });
        const reply = await peer.next(isEvent("message", { name: id }), "reply");
        expect(messagesOf([reply])).toEqual([{ type: "reply", data: { n: 2 } }]);
      },
      { over: EVERY_LINK },
    );

    on(TO_US, "spec send vectors arrive as {type, data}", async () => {
      const { id, peer, inbox } = await toUs();
      for (const vector of SEND_VECTORS) await peer.request("emit", { name: id, args: vector.taggedArgs });
      const received = await inbox.take(SEND_VECTORS.length, "the send vectors");
      expect(received).toEqual(SEND_VECTORS.map((vector) => frameMessage(hexFor(line, vector))));
    });

    on(TO_US, "spec send vectors: exact bytes (our raw server)", async () => {
      const { id, peer, inbox } = await toUs({ serve: { raw: true } });
      for (const vector of SEND_VECTORS) await peer.request("emit", { name: id, args: vector.taggedArgs });
      const expected = SEND_VECTORS.map((vector) => hexFor(line, vector)).join("");
      expect(toHex(await inbox.bytes(expected.length / 2, "the vectors' bytes"))).toBe(expected);
    });

    on(TO_US, "our replies reach on(type) intact (unicode, \\f, nested, numbers, null)", async () => {
      const { id, peer, connection } = await toUs({ types: OUR_TYPES });
      for (const vector of OUR_VECTORS) await emitVector(connection, vector);
      const received = await peer.collect(isEvent("message", { name: id }), OUR_VECTORS.length, "our vectors");
      expect(messagesOf(received)).toEqual(OUR_VECTORS.map((vector) => frameMessage(vector.hex14)));
    });

    on(
      TO_US,
      "our broadcast reaches every connected node-ipc client",
      async () => {
        const { id, peer, server, inbox, reach } = await toUs({ types: ["news"] });
        const second = `${id}-2`;
        await peer.request("connect", { name: second, ...reach, types: ["news"] });
        const [connection2] = await Promise.all([
          accept(server, "the second client"),
          peer.next(isEvent("connect", { name: second }), "second connect"),
        ]);
        expect(server.connectionCount).toBe(2);
        await server.broadcast("news", { edition: 1 });
        await server.broadcast("news");
        const [first, firstEmpty] = await peer.collect(isEvent("message", { name: id }), 2, "news on client 1");
        const [other, otherEmpty] = await peer.collect(isEvent("message", { name: second }), 2, "news on client 2");
        const expected = [
          { type: "news", data: { edition: 1 } },
          { type: "news", data: {} },
        ];
        expect(messagesOf([first as PeerEvent, firstEmpty as PeerEvent])).toEqual(expected);
        expect(messagesOf([other as PeerEvent, otherEmpty as PeerEvent])).toEqual(expected);
        // Both connections still carry messages the other way.
        await peer.request("emit", { name: second, args: ["hi", 2] });
        expect(await new Inbox(connection2.readable).next("hi from client 2")).toEqual({ type: "hi", data: 2 });
        await peer.request("emit", { name: id, args: ["hi", 1] });
        expect(await inbox.next("hi from client 1")).toEqual({ type: "hi", data: 1 });
      },
      { over: BULK },
    );

    on(
      TO_US,
      "our maxConnections: 1 closes a second node-ipc client at once; it gets in once the first has left",
      async () => {
        const { id, peer, server, connection, inbox, reach } = await toUs({
          peerConfig: { retry: 100 },
          serve: { maxConnections: 1 },
        });
        const second = `${id}-2`;
        await peer.request("connect", { name: second, ...reach, types: ["hi"] });
        // Let in by the OS and closed by us at once: node-ipc sees a close, and retries.
        await peer.next(isEvent("disconnect", { name: second }), "the second client's disconnect");
        expect(server.connectionCount).toBe(1);
        // The first leaves; we end our side too, as a server does when its peer has ended.
        await peer.request("disconnect", { name: id });
        expect(errorSummary(await inbox.outcome("the end of the first connection"))).toEqual({ ended: true });
        await within(connection.close(), EVENT_TIMEOUT, "close()");
        const connection2 = await accept(server, "the second client, once the first left");
        await peer.request("emit", { name: second, args: ["hi", 2] });
        expect(await new Inbox(connection2.readable).next("hi from client 2")).toEqual({ type: "hi", data: 2 });
        expect(server.connectionCount).toBe(1);
      },
    );

    on(
      TO_US,
      "1 MiB messages both ways",
      async () => {
        const { id, peer, connection, inbox } = await toUs({ serve: { maxFrameSize: 2 * MiB }, types: ["big"] });
        expect(new TextEncoder().encode(bigText).byteLength).toBeGreaterThan(MiB);
        await peer.request("emit", { name: id, args: ["big", BIG_TEXT] });
        const message = (await inbox.next("1 MiB from node-ipc")) as { type: string; data: string };
        expect(message.type).toBe("big");
        expect(message.data === bigText).toBe(true);
        await connection.emit("big", bigText);
        const echoed = await peer.next(isEvent("message", { name: id }), "1 MiB from us");
        expect(echoed.data === bigText).toBe(true);
      },
      { over: BULK, timeout: SLOW },
    );

    on(
      TO_US,
      "10,000 messages in order each way",
      async () => {
        const count = 10_000;
        const { id, peer, connection, inbox } = await toUs({ types: ["n"] });
        await peer.request("emitMany", { name: id, type: "n", count });
        const received = await inbox.take(count, "10,000 messages");
        expect(received.every((message, i) => (message as { data: number }).data === i)).toBe(true);
        for (let i = 0; i < count; i++) await connection.emit("n", i);
        const events = await peer.collect(isEvent("message", { name: id }), count, "10,000 messages from us");
        expect(events.every((event, i) => event.data === i)).toBe(true);
      },
      { over: MANY, timeout: SLOW },
    );

    on(TO_US, "sync: true client: each message answered, the queue advances", async () => {
      const { id, peer, connection, inbox } = await toUs({ peerConfig: { sync: true }, types: ["ack"] });
      const count = 5;
      await peer.request("emitMany", { name: id, type: "req", count });
      expect(await inbox.next("req 0")).toEqual({ type: "req", data: 0 });
      // Only the first request is written until we answer it.
      expect(await inbox.quiet(400)).toBe(true);
      for (let i = 0; i < count; i++) {
        await connection.emit("ack", i);
        if (i + 1 < count) expect(await inbox.next(`req ${i + 1}`)).toEqual({ type: "req", data: i + 1 });
      }
      const acks = await peer.collect(isEvent("message", { name: id }), count, "acks");
      expect(acks.map((event) => event.data)).toEqual([0, 1, 2, 3, 4]);
    });

    for (const rawCase of rawCasesFor(legacy)) {
      on(TO_US, rawCase.name, async () => {
        const { id, peer, connection, inbox } = await toUs({
          peerConfig: { rawBuffer: true, ...(rawCase.encoding ? { encoding: rawCase.encoding } : {}) },
          serve: { raw: true },
        });
        const bytes = rawCase.bytes;
        for (const chunk of chunksOf(bytes, 100)) await peer.request("emit", { name: id, args: [chunk] });
        expect(toHex(await inbox.bytes(bytes.length, "raw bytes from node-ipc"))).toBe(toHex(bytes));
        await writeBytes(connection, chunksOf(bytes, 77));
        expect(toHex(await peerBytes(peer, "data", bytes.length))).toBe(toHex(bytes));
      });
    }

    on(TO_US, "a frame over our maxFrameSize: ERR_IPC_FRAME_TOO_LARGE", async () => {
      const { id, peer, inbox } = await toUs({ serve: { maxFrameSize: 1000 } });
      await peer.request("emit", { name: id, args: ["fits", "x".repeat(1000 - frameSize("fits", ""))] });
      expect(await inbox.next("a 1000-byte frame")).toMatchObject({ type: "fits" });
      await peer.request("emit", { name: id, args: ["big", "x".repeat(2000)] });
      expect(errorSummary(await inbox.outcome("the size error"))).toEqual({
        ipcError: true,
        code: "ERR_IPC_FRAME_TOO_LARGE",
      });
    });

    on(TO_US, "validate: a too-long or reserved type from node-ipc gets the right code", async () => {
      const { id, peer, server, inbox, reach } = await toUs({ serve: { validate: { maxTypeLength: 8 } } });
      await peer.request("emit", { name: id, args: ["abcdefgh", 1] });
      expect(await inbox.next("an 8-character type")).toEqual({ type: "abcdefgh", data: 1 });
      await peer.request("emit", { name: id, args: ["abcdefghi", 1] });
      expect(errorSummary(await inbox.outcome("the type-length error"))).toEqual({
        ipcError: true,
        code: "ERR_IPC_EVENT_TOO_LARGE",
      });
      const second = `${id}-2`;
      await peer.request("connect", { name: second, ...reach });
      const connection2 = await accept(server, "the second client");
      await peer.request("emit", { name: second, args: ["connect", { spoof: 1 }] });
      expect(errorSummary(await new Inbox(connection2.readable).outcome("the reserved-type error"))).toEqual({
        ipcError: true,
        code: "ERR_IPC_RESERVED_EVENT",
      });
    });

    on(TO_US, "our server closing: node-ipc sees disconnect, reconnects when it is back", async () => {
      const { id, peer, server, sameAddress } = await toUs({ peerConfig: { retry: 100 } });
      await server.close();
      await peer.next(isEvent("disconnect", { name: id }), "disconnect");
      const again = await ourServer(sameAddress);
      expect(again.address).toEqual(server.address);
      const [connection] = await Promise.all([
        accept(again, "the reconnection"),
        peer.next(isEvent("connect", { name: id }), "reconnect"),
      ]);
      await peer.request("emit", { name: id, args: ["back", true] });
      expect(await new Inbox(connection.readable).next("a message after reconnecting")).toEqual({
        type: "back",
        data: true,
      });
    });

    on(
      TO_US,
      "ipc.disconnect(id) ends our connection's streams",
      async () => {
        // Over TCP the write below is taken by the OS, and the connection then closes only when
        // halfOpenTimeout (default 2 s) runs out: shortened here.
        const { id, peer, connection, inbox } = await toUs(unix ? {} : { serve: { halfOpenTimeout: 250 } });
        await peer.request("emit", { name: id, args: ["last", 1] });
        expect(await inbox.next("the last message")).toEqual({ type: "last", data: 1 });
        await peer.request("disconnect", { name: id });
        expect(peerClosedOutcomes(link)).toContainEqual(errorSummary(await inbox.outcome("the end of our readable")));
        // The writable learns it at the next write: that write may still be taken by the OS (the
        // peer's close is not visible before writing on Node and Deno), then the socket closes.
        const first = await codeOf(() => connection.emit("after", 1));
        expect(peerClosedWriteCodes(link)).toContain(first);
        // `closed` fulfils after a clean end, and rejects with the reset when there was one.
        const closed = await within(
          connection.closed.then(
            () => undefined,
            (error: { code?: unknown }) => error.code,
          ),
          EVENT_TIMEOUT,
          "closed",
        );
        expect(link.transport === "tls" ? [undefined, RESET] : [undefined]).toContain(closed);
        const after = await codeOf(() => connection.emit("after", 2));
        expect(peerClosedWriteCodes(link).filter((code) => code !== undefined)).toContain(after);
      },
      { over: LIFECYCLE_ASSURED },
    );

    on(
      TO_US,
      "our connection.close(): node-ipc sees disconnect and comes back",
      async () => {
        const { id, peer, server, connection } = await toUs({ peerConfig: { retry: 100 } });
        await within(connection.close(), EVENT_TIMEOUT, "close()");
        await peer.next(isEvent("disconnect", { name: id }), "disconnect");
        // node-ipc retries after any close; our server is still there, so it reconnects.
        const [again] = await Promise.all([
          accept(server, "the reconnection"),
          peer.next(isEvent("connect", { name: id }), "reconnect"),
        ]);
        await peer.request("emit", { name: id, args: ["back", 1] });
        expect(await new Inbox(again.readable).next("a message after reconnecting")).toEqual({ type: "back", data: 1 });
      },
      { over: LIFECYCLE_ASSURED },
    );

    on(TO_US, `custom delimiter ${JSON.stringify(delimiterFor(line))} on both sides`, async () => {
      const delimiter = delimiterFor(line);
      const { id, peer, connection, inbox } = await toUs({
        peerConfig: { delimiter },
        serve: { delimiter },
        types: ["reply"],
      });
      await peer.request("emit", { name: id, args: ["hello", "two\nlines\r\n"] });
      await peer.request("emit", { name: id, args: ["hello", { n: 2 }] });
      expect(await inbox.take(2, "two messages")).toEqual([
        { type: "hello", data: "two\nlines\r\n" },
        { type: "hello", data: { n: 2 } },
      ]);
      await connection.emit("reply", "a\r\nb");
      await connection.emit("reply", 2);
      const replies = await peer.collect(isEvent("message", { name: id }), 2, "two replies");
      expect(replies.map((event) => event.data)).toEqual(["a\r\nb", 2]);
    });

    if (!legacy) {
      on(
        TO_US,
        "default socket path under XDG_RUNTIME_DIR or TMPDIR (14's rules)",
        async () => {
          for (const { name, base, env } of SECURE_ROOT_ENVIRONMENTS) {
            await withEnv(env, async () => {
              const id = uniqueId(line);
              const server = await ourServer({ id });
              const peer = await startPeer(line);
              const { path } = await peer.request<{ path: string }>("connect", { name: id });
              expect({ name, path, inside: path.startsWith(`${base}/`) }).toEqual({
                name,
                path: server.path,
                inside: true,
              });
              const [connection] = await Promise.all([accept(server), peer.next(isEvent("connect"), "connect")]);
              await peer.request("emit", { name: id, args: ["hello", name] });
              expect(await new Inbox(connection.readable).next("hello")).toEqual({ type: "hello", data: name });
            });
          }
        },
        { over: UNIX_ONLY },
      );

      on(TO_US, "parser 'guarded' client: frames within its limits pass; a bigger one closes it", async () => {
        const limit = 1000;
        const { id, peer, connection, inbox } = await toUs({
          peerConfig: { parser: "guarded", maxMessageSize: limit, retry: 100 },
          types: ["fit", "big"],
        });
        await peer.request("emit", { name: id, args: ["hello", { guarded: true }] });
        expect(await inbox.next("hello from a guarded client")).toEqual({ type: "hello", data: { guarded: true } });
        const fits = "y".repeat(limit - frameSize("fit", ""));
        await connection.emit("fit", fits);
        const delivered = await peer.next(isEvent("message", { name: id }), "a frame at the limit");
        expect(delivered.data).toBe(fits);
        // One byte over: node-ipc 14 closes the connection (spec 8.2) and does not reconnect.
        await connection.emit("big", `${fits}y`);
        const failure = await peer.next(isEvent("error", { name: id }), "its protocol error");
        expect(failure.error?.code).toBe("ERR_IPC_FRAME_TOO_LARGE");
        await peer.next(isEvent("destroy", { name: id }), "destroy (no reconnect)");
        // It read everything we sent, so we see a clean end (FIN), not an error.
        expect(errorSummary(await inbox.outcome("the end of our readable"))).toEqual({ ended: true });
      });

      on(TO_US, "parser 'guarded' client over our limits: ERR_IPC_FRAME_TOO_LARGE", async () => {
        const { id, peer, inbox } = await toUs({ peerConfig: { parser: "guarded" }, serve: { maxFrameSize: 4096 } });
        await peer.request("emit", { name: id, args: ["big", "z".repeat(8192)] });
        expect(errorSummary(await inbox.outcome("the size error"))).toEqual({
          ipcError: true,
          code: "ERR_IPC_FRAME_TOO_LARGE",
        });
      });

      on(TO_US, "validate: true refuses what a guarded client would reject, before writing", async () => {
        const { id, peer, connection } = await toUs({
          peerConfig: { parser: "guarded" },
          serve: { validate: true },
          types: ["ok"],
        });
        // Refused synchronously, nothing written.
        expect(await codeOf(() => connection.emit("connect", {}))).toBe("ERR_IPC_RESERVED_EVENT");
        expect(await codeOf(() => connection.emit("toString", {}))).toBe("ERR_IPC_INVALID_EVENT");
        await connection.emit("ok", 1);
        const delivered = await peer.next(isEvent("message", { name: id }), "ok");
        expect(messagesOf([delivered])).toEqual([{ type: "ok", data: 1 }]);
        expect(peer.has(isEvent("error"))).toBe(false);
      });
    }
  });

  describe(FROM_US, () => {
    on(
      FROM_US,
      "default socket path (serve() with node-ipc's defaults)",
      async () => {
        const id = uniqueId(line);
        const peer = await startPeer(line);
        await peer.config({ id });
        const { path } = await peer.request<{ path: string }>("serve", { types: ["hello"] });
        defer(() => rmSync(path, { force: true }));
        expect(path).toBe(legacy ? `/tmp/app.${id}` : `${peer.defaultSocketRoot}app.${id}`);
        const connection = await ourClient(legacy ? { id, socketRoot: ipc.LEGACY_SOCKET_ROOT } : { id });
        expect(connection.path).toBe(path);
        const { socket } = await peer.next(isEvent("server.connect"), "server connect");
        await connection.emit("hello", { from: "us" });
        const hello = await peer.next(isEvent("server.message"), "hello");
        expect(messagesOf([hello])).toEqual([{ type: "hello", data: { from: "us" } }]);
        await peer.request("serverEmit", { socket, args: ["reply", { to: "us" }] });
        expect(await new Inbox(connection.readable).next("reply")).toEqual({ type: "reply", data: { to: "us" } });
      },
      { over: UNIX_ONLY },
    );

    on(
      FROM_US,
      unix
        ? "explicit socketRoot, appspace and id: emit in, server.emit out"
        : "serveNet(host, port): emit in, server.emit out",
      async () => {
        const { peer, connection, inbox, socket } = await fromUs({ types: ["hello"] });
        await connection.emit("hello", { n: 1 });
        const hello = await peer.next(isEvent("server.message", { socket }), "hello");
        expect(messagesOf([hello])).toEqual([{ type: "hello", data: { n: 1 } }]);
        await peer.request("serverEmit", { socket, args: ["reply", { n: 2 }] });
        expect(await inbox.next("reply")).toEqual({ type: "reply", data: { n: 2 } });
      },
      { over: EVERY_LINK },
    );

    on(FROM_US, "our send vectors reach server.on(type) intact", async () => {
      const { peer, connection, socket } = await fromUs({ types: OUR_TYPES });
      for (const vector of OUR_VECTORS) await emitVector(connection, vector);
      const received = await peer.collect(isEvent("server.message", { socket }), OUR_VECTORS.length, "our vectors");
      expect(messagesOf(received)).toEqual(OUR_VECTORS.map((vector) => frameMessage(vector.hex14)));
    });

    on(FROM_US, "our send vectors: exact bytes (node-ipc raw server)", async () => {
      const { peer, connection } = await fromUs({ peerConfig: { rawBuffer: true } });
      for (const vector of OUR_VECTORS) await emitVector(connection, vector);
      const expected = OUR_VECTORS.map((vector) => vector.hex14).join("");
      expect(toHex(await peerBytes(peer, "server.data", expected.length / 2))).toBe(expected);
    });

    on(FROM_US, "spec send vectors via server.emit arrive as {type, data}", async () => {
      const { peer, inbox, socket } = await fromUs();
      for (const vector of SEND_VECTORS) await peer.request("serverEmit", { socket, args: vector.taggedArgs });
      const received = await inbox.take(SEND_VECTORS.length, "the send vectors");
      expect(received).toEqual(SEND_VECTORS.map((vector) => frameMessage(hexFor(line, vector))));
    });

    on(FROM_US, "spec send vectors via server.emit: exact bytes (our raw client)", async () => {
      const { peer, inbox, socket } = await fromUs({ connect: { raw: true } });
      for (const vector of SEND_VECTORS) await peer.request("serverEmit", { socket, args: vector.taggedArgs });
      const expected = SEND_VECTORS.map((vector) => hexFor(line, vector)).join("");
      expect(toHex(await inbox.bytes(expected.length / 2, "the vectors' bytes"))).toBe(expected);
    });

    on(
      FROM_US,
      "server.broadcast reaches every one of our clients",
      async () => {
        const { peer, inbox, target } = await fromUs();
        const second = await ourClient(target);
        await peer.next(isEvent("server.connect"), "second server connect");
        await peer.request("broadcast", { args: ["news", { edition: 1 }] });
        const expected = { type: "news", data: { edition: 1 } };
        expect(await inbox.next("news on client 1")).toEqual(expected);
        expect(await new Inbox(second.readable).next("news on client 2")).toEqual(expected);
      },
      { over: BULK },
    );

    on(FROM_US, "node-ipc maxConnections: 1: our second client is let in by the OS, then ended", async () => {
      const { peer, connection, socket, target } = await fromUs({
        peerConfig: { maxConnections: 1 },
        types: ["hello"],
      });
      const turnedAway = await ipc.connect(target).then(
        async (second) => {
          defer(() => second.close());
          return errorSummary(await new Inbox(second.readable).outcome("the end of the second client"));
        },
        // The close can race the connect: Bun then fails the connect itself with a reset.
        (error: { code?: unknown; cause?: { code?: unknown } }) => ({ connect: error.code, cause: error.cause?.code }),
      );
      expect([{ ended: true }, { connect: "ERR_IPC_CONNECTION_RESET", cause: "ECONNRESET" }]).toContainEqual(
        turnedAway,
      );
      expect(peer.has(isEvent("server.connect"))).toBe(false);
      // The first connection is untouched.
      await connection.emit("hello", 1);
      const hello = await peer.next(isEvent("server.message", { socket }), "hello on the first connection");
      expect(messagesOf([hello])).toEqual([{ type: "hello", data: 1 }]);
    });

    on(
      FROM_US,
      "1 MiB messages both ways",
      async () => {
        const { peer, connection, inbox, socket } = await fromUs({
          connect: { maxFrameSize: 2 * MiB },
          types: ["big"],
        });
        await connection.emit("big", bigText);
        const received = await peer.next(isEvent("server.message", { socket }), "1 MiB from us");
        expect(received.data === bigText).toBe(true);
        await peer.request("serverEmit", { socket, args: ["big", BIG_TEXT] });
        const message = (await inbox.next("1 MiB from node-ipc")) as { type: string; data: string };
        expect(message.type).toBe("big");
        expect(message.data === bigText).toBe(true);
      },
      { over: BULK, timeout: SLOW },
    );

    on(
      FROM_US,
      "10,000 messages in order each way",
      async () => {
        const count = 10_000;
        const { peer, connection, inbox, socket } = await fromUs({ types: ["n"] });
        for (let i = 0; i < count; i++) await connection.emit("n", i);
        const events = await peer.collect(isEvent("server.message", { socket }), count, "10,000 messages from us");
        expect(events.every((event, i) => event.data === i)).toBe(true);
        await peer.request("serverEmitMany", { socket, type: "n", count });
        const received = await inbox.take(count, "10,000 messages");
        expect(received.every((message, i) => (message as { data: number }).data === i)).toBe(true);
      },
      { over: MANY, timeout: SLOW },
    );

    for (const rawCase of rawCasesFor(legacy)) {
      on(FROM_US, rawCase.name, async () => {
        const { peer, connection, inbox, socket } = await fromUs({
          peerConfig: { rawBuffer: true, ...(rawCase.encoding ? { encoding: rawCase.encoding } : {}) },
          connect: { raw: true },
        });
        const bytes = rawCase.bytes;
        await writeBytes(connection, chunksOf(bytes, 77));
        expect(toHex(await peerBytes(peer, "server.data", bytes.length))).toBe(toHex(bytes));
        for (const chunk of chunksOf(bytes, 100)) await peer.request("serverEmit", { socket, args: [chunk] });
        expect(toHex(await inbox.bytes(bytes.length, "raw bytes from node-ipc"))).toBe(toHex(bytes));
      });
    }

    on(FROM_US, "a frame over our maxFrameSize: ERR_IPC_FRAME_TOO_LARGE", async () => {
      const { peer, inbox, socket } = await fromUs({ connect: { maxFrameSize: 1000 } });
      await peer.request("serverEmit", { socket, args: ["fits", "x".repeat(1000 - frameSize("fits", ""))] });
      expect(await inbox.next("a 1000-byte frame")).toMatchObject({ type: "fits" });
      await peer.request("serverEmit", { socket, args: ["big", "x".repeat(2000)] });
      expect(errorSummary(await inbox.outcome("the size error"))).toEqual({
        ipcError: true,
        code: "ERR_IPC_FRAME_TOO_LARGE",
      });
    });

    on(
      FROM_US,
      legacy
        ? "server.stop(): our connection keeps working (9–12 close the listener only)"
        : "server.stop(): our readable ends (14 destroys its sockets)",
      async () => {
        const { peer, target, connection, inbox, socket } = await fromUs({ types: ["after"] });
        await peer.request("stop");
        if (legacy) {
          const refused = await ipc.connect(target).then(
            (late) => late.close().then(() => "connected"),
            (error: { code?: string }) => error.code,
          );
          expect(refused).toBe("ERR_IPC_NO_SERVER");
          await connection.emit("after", 1);
          const after = await peer.next(isEvent("server.message", { socket }), "a message after stop()");
          expect(messagesOf([after])).toEqual([{ type: "after", data: 1 }]);
          await peer.request("serverEmit", { socket, args: ["still", 2] });
          expect(await inbox.next("a reply after stop()")).toEqual({ type: "still", data: 2 });
        } else {
          expect(errorSummary(await inbox.outcome("the end of our readable"))).toEqual({ ended: true });
        }
      },
    );

    on(
      FROM_US,
      "node-ipc process exits: our readable ends",
      async () => {
        const { peer, connection, inbox } = await fromUs();
        await peer.stop();
        expect(errorSummary(await inbox.outcome("the end of our readable"))).toEqual({ ended: true });
        await within(connection.close(), EVENT_TIMEOUT, "close()");
      },
      { over: LIFECYCLE_ASSURED },
    );

    on(
      FROM_US,
      "our connection.close(): the node-ipc server sees the socket go",
      async () => {
        const { peer, connection, socket } = await fromUs();
        await within(connection.close(), EVENT_TIMEOUT, "close()");
        await peer.next(isEvent("server.disconnect", { socket }), "socket.disconnected");
      },
      { over: LIFECYCLE_ASSURED },
    );

    on(FROM_US, `custom delimiter ${JSON.stringify(delimiterFor(line))} on both sides`, async () => {
      const delimiter = delimiterFor(line);
      const { peer, connection, inbox, socket } = await fromUs({
        peerConfig: { delimiter },
        connect: { delimiter },
        types: ["hello"],
      });
      await connection.emit("hello", "a\r\nb");
      await connection.emit("hello", 2);
      const received = await peer.collect(isEvent("server.message", { socket }), 2, "two messages");
      expect(received.map((event) => event.data)).toEqual(["a\r\nb", 2]);
      await peer.request("serverEmit", { socket, args: ["reply", "two\nlines\r\n"] });
      await peer.request("serverEmit", { socket, args: ["reply", { n: 2 }] });
      expect(await inbox.take(2, "two replies")).toEqual([
        { type: "reply", data: "two\nlines\r\n" },
        { type: "reply", data: { n: 2 } },
      ]);
    });

    if (!legacy) {
      on(
        FROM_US,
        "default socket path under XDG_RUNTIME_DIR or TMPDIR (14's rules)",
        async () => {
          for (const { name, base, env } of SECURE_ROOT_ENVIRONMENTS) {
            await withEnv(env, async () => {
              const id = uniqueId(line);
              const peer = await startPeer(line);
              await peer.config({ id });
              const { path } = await peer.request<{ path: string }>("serve", { types: ["hello"] });
              const connection = await ourClient({ id });
              expect({ name, path, inside: path.startsWith(`${base}/`) }).toEqual({
                name,
                path: connection.path,
                inside: true,
              });
              await peer.next(isEvent("server.connect"), "server connect");
              await connection.emit("hello", name);
              const hello = await peer.next(isEvent("server.message"), "hello");
              expect(hello.data).toBe(name);
            });
          }
        },
        { over: UNIX_ONLY },
      );

      on(FROM_US, "parser 'guarded' server: frames within its limits pass; a bigger one closes it", async () => {
        const limit = 1000;
        const { peer, connection, inbox, socket } = await fromUs({
          peerConfig: { parser: "guarded", maxMessageSize: limit },
          types: ["fit", "big"],
        });
        const fits = "y".repeat(limit - frameSize("fit", ""));
        await connection.emit("fit", fits);
        const delivered = await peer.next(isEvent("server.message", { socket }), "a frame at the limit");
        expect(delivered.data).toBe(fits);
        await peer.request("serverEmit", { socket, args: ["hello", { guarded: true }] });
        expect(await inbox.next("hello from a guarded server")).toEqual({ type: "hello", data: { guarded: true } });
        await connection.emit("big", `${fits}y`);
        const failure = await peer.next(isEvent("server.error"), "its protocol error");
        expect(failure.error?.code).toBe("ERR_IPC_FRAME_TOO_LARGE");
        expect(errorSummary(await inbox.outcome("the end of our readable"))).toEqual({ ended: true });
      });

      on(FROM_US, "parser 'guarded' server over our limits: ERR_IPC_FRAME_TOO_LARGE", async () => {
        const { peer, inbox, socket } = await fromUs({
          peerConfig: { parser: "guarded" },
          connect: { maxFrameSize: 4096 },
        });
        await peer.request("serverEmit", { socket, args: ["big", "z".repeat(8192)] });
        expect(errorSummary(await inbox.outcome("the size error"))).toEqual({
          ipcError: true,
          code: "ERR_IPC_FRAME_TOO_LARGE",
        });
      });
    }
  });
}

/**
 * What only TLS shows: when node-ipc's client reports `connect`, who refuses whom, what a line
 * needs for mutual TLS, and 14's assured parser.
 */
function tlsScenarios(line: Line, link: Link): void {
  const legacy = line !== "14";
  const on = (direction: Direction, name: string, body: () => Promise<void>, options: ScenarioOptions = {}) =>
    scenario(line, "tls", direction, `${link.prefix}${name}`, body, options);
  const toUs = (options?: Parameters<typeof nodeIpcClientToUs>[2]) => nodeIpcClientToUs(line, link, options);
  const fromUs = (options?: Parameters<typeof usToNodeIpcServer>[2]) => usToNodeIpcServer(line, link, options);
  const net = (port: number) => ({ host: link.host, port });

  /** A node-ipc client (no retries) tries our server and is refused; what it reported. */
  async function refusedClient(server: Server, tls: PeerTls): Promise<PeerEvent[]> {
    const id = uniqueId(line);
    const peer = await startPeer(line);
    await peer.config({ stopRetrying: true });
    await peer.request("connect", { name: id, ...reachOf(link, server, tls), types: ["hello"] });
    await peer.next(isEvent("destroy", { name: id }), "destroy (refused, no retry)");
    expect(await nothingAccepted(server)).toBe(true);
    expect(server.connectionCount).toBe(0);
    const reported: PeerEvent[] = [];
    while (peer.has(() => true)) reported.push(await peer.next(() => true, "the events before destroy"));
    return reported;
  }

  describe(TO_US, () => {
    if (link.kind === "tls") {
      if (legacy) {
        on(
          TO_US,
          "node-ipc's connect comes before the handshake (our certificate not yet checked); messages flow once it completes",
          async () => {
            const { id, peer, connected, inbox } = await toUs();
            expect(peerTlsFacts(connected)).toEqual({ authorized: false, peerCN: null });
            await peer.request("emit", { name: id, args: ["hello", 1] });
            expect(await inbox.next("hello")).toEqual({ type: "hello", data: 1 });
          },
          { limitation: true },
        );
      } else {
        on(TO_US, "node-ipc's connect comes after the handshake: it has verified our certificate", async () => {
          const { connected } = await toUs();
          expect(peerTlsFacts(connected)).toEqual({ authorized: true, peerCN: SERVER_CN });
        });
      }

      on(
        TO_US,
        "a node-ipc client refuses our certificate from another CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
        async () => {
          const server = await ourServer({ port: 0, host: link.host, tls: OTHER_CA_CERT });
          const reported = await refusedClient(server, { trustedConnections: "ca.pem" });
          const errors = reported.filter(isEvent("error")).map((event) => event.error?.code);
          expect(errors).toEqual(["UNABLE_TO_VERIFY_LEAF_SIGNATURE"]);
          // 9–12 have reported connect already (at the TCP connect); 14 has not.
          expect(reported.some(isEvent("connect"))).toBe(legacy);
        },
      );
    }

    if (link.kind === "mtls") {
      on(TO_US, "our mutual TLS server refuses a node-ipc client whose certificate is from another CA", async () => {
        const server = await ourServer({ port: 0, host: link.host, tls: link.ourServerTls as TlsOptions });
        const reported = await refusedClient(server, {
          public: "other.pem",
          private: "other.key",
          trustedConnections: "ca.pem",
        });
        expect(reported.some(isEvent("message"))).toBe(false);
      });

      on(TO_US, "our mutual TLS server refuses a node-ipc client without a certificate", async () => {
        const server = await ourServer({ port: 0, host: link.host, tls: link.ourServerTls as TlsOptions });
        const reported = await refusedClient(server, { trustedConnections: "ca.pem" });
        expect(reported.some(isEvent("message"))).toBe(false);
      });
    }

    if (link.kind === "assured") {
      on(TO_US, "an event outside the client's allowedEvents closes it: ERR_IPC_EVENT_NOT_ALLOWED", async () => {
        const { id, peer, connection, inbox } = await toUs({ types: ["hello"] });
        await connection.emit("hello", 1);
        expect(messagesOf([await peer.next(isEvent("message", { name: id }), "hello")])).toEqual([
          { type: "hello", data: 1 },
        ]);
        await connection.emit("unlisted", 2);
        const failure = await peer.next(isEvent("error", { name: id }), "its protocol error");
        expect(failure.error?.code).toBe("ERR_IPC_EVENT_NOT_ALLOWED");
        await peer.next(isEvent("destroy", { name: id }), "destroy (no reconnect)");
        expect(peerClosedOutcomes(link)).toContainEqual(errorSummary(await inbox.outcome("the end of our readable")));
      });
    }
  });

  describe(FROM_US, () => {
    if (link.kind === "tls") {
      on(FROM_US, "our client refuses a node-ipc server certificate from another CA: ERR_IPC_TLS", async () => {
        const port = await freePort(link.host);
        const peer = await startPeer(line);
        await peer.request("serve", { net: net(port), tls: { public: "other.pem", private: "other.key" } });
        expect(await refusal({ ...net(port), tls: { ca: CA } })).toEqual({ ipcError: true, code: "ERR_IPC_TLS" });
        // Under TLS 1.2 the server's side of the handshake may finish before our client checks the
        // certificate and hangs up; nothing is ever sent to it.
        expect(peer.has(isEvent("message"))).toBe(false);
      });
    }

    if (link.kind === "mtls") {
      on(
        FROM_US,
        legacy
          ? "a node-ipc server with requestCert: true refuses our client without a certificate: ERR_IPC_TLS"
          : "a node-ipc server trusting a CA (mutual TLS by itself) refuses our client without a certificate: ERR_IPC_TLS",
        async () => {
          const port = await freePort(link.host);
          const peer = await startPeer(line);
          await peer.request("serve", { net: net(port), tls: link.peerServerTls });
          expect(await refusal({ ...net(port), tls: { ca: CA } })).toEqual({ ipcError: true, code: "ERR_IPC_TLS" });
          expect(peer.has(isEvent("server.connect"))).toBe(false);
        },
      );

      if (legacy) {
        on(
          FROM_US,
          "trustedConnections alone does not ask for a client certificate: our client without one gets in (mutual TLS needs requestCert: true)",
          async () => {
            const port = await freePort(link.host);
            const peer = await startPeer(line);
            await peer.request("serve", {
              net: net(port),
              tls: { public: "server.pem", private: "server.key", trustedConnections: "ca.pem" },
              types: ["hello"],
            });
            const connection = await ourClient({ ...net(port), tls: { ca: CA } });
            const accepted = await peer.next(isEvent("server.connect"), "server connect");
            expect(peerTlsFacts(accepted)).toEqual({ authorized: false, peerCN: null });
            await connection.emit("hello", 1);
            const hello = await peer.next(isEvent("server.message"), "hello");
            expect(messagesOf([hello])).toEqual([{ type: "hello", data: 1 }]);
          },
          { limitation: true },
        );
      }
    }

    if (link.kind === "assured") {
      on(FROM_US, "an event outside the server's allowedEvents closes it: ERR_IPC_EVENT_NOT_ALLOWED", async () => {
        const { peer, connection, inbox, socket } = await fromUs({ types: ["hello"] });
        await connection.emit("hello", 1);
        expect(messagesOf([await peer.next(isEvent("server.message", { socket }), "hello")])).toEqual([
          { type: "hello", data: 1 },
        ]);
        await connection.emit("unlisted", 2);
        const failure = await peer.next(isEvent("server.error"), "its protocol error");
        expect(failure.error?.code).toBe("ERR_IPC_EVENT_NOT_ALLOWED");
        expect(errorSummary(await inbox.outcome("the end of our readable"))).toEqual({ ended: true });
      });
    }
  });
}
