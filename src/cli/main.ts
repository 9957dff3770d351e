/**
 * The `ipc-streams` command, on top of the public API and free of runtime APIs: the entry
 * (`bin.ts`) hands it the runtime's `serve`/`connect`, stdin, stdout, stderr, files and signals,
 * so that tests can run it in-process as well as in a child process.
 *
 * @module
 */
import type { Api, ConnectOptions, ServeOptions } from "../connection/api.ts";
import type { Connection } from "../connection/connection.ts";
import type { Server, ServerAddress } from "../connection/server.ts";
import { excerptOf, IpcError } from "../errors.ts";
import { describeEndpoint, type TlsOptions } from "../net/options.ts";
import { DEFAULT_HALF_OPEN_TIMEOUT } from "../transport/channel.ts";
import type { Scheme } from "./address.ts";
import { helpText, type Invocation, type ParseArgs, parseCommandLine } from "./args.ts";
import { CliError, EXIT, type ExitCode } from "./errors.ts";
import { type Line, lines } from "./lines.ts";
import { VERSION } from "./version.ts";

/** What the runtime gives the command. */
export interface CliHost {
  /** `serve()` and `connect()` of the runtime's adapter. */
  readonly api: Api;
  /** `util.parseArgs` of `node:util`. */
  readonly parseArgs: ParseArgs;
  /** Opens stdin; called only by commands that read it. */
  readonly stdin: () => ReadableStream<Uint8Array>;
  /** Stdout: JSON lines or raw bytes, nothing else. A write resolves once the bytes are flushed. */
  readonly stdout: WritableStream<Uint8Array>;
  /** Writes one line (notes, errors) to stderr; the newline is added. */
  readonly stderr: (line: string) => void;
  /** Reads a whole file (`--ca`, `--cert`, `--key`). */
  readonly readFile: (path: string) => Promise<Uint8Array>;
  /** Aborts on SIGINT or SIGTERM: the command closes what it opened and ends. */
  readonly signal: AbortSignal;
}

/** Messages `serve` prints: the connection's number (from 1) and what it sent. */
export interface ServedMessage {
  readonly connection: number;
  readonly message: unknown;
}

/**
 * Runs the command line `argv` (the arguments after the program's name) and resolves with the
 * exit code; every failure is reported as one line on `host.stderr` first.
 *
 * @example
 * ```ts
 * declare const host: Parameters<typeof main>[1];
 * const code = await main(["send", "world", "hello", '{"from":"shell"}'], host);
 * ```
 */
export async function main(argv: readonly string[], host: CliHost): Promise<ExitCode> {
  const writer = host.stdout.getWriter();
  let invocation: Invocation | undefined;
  try {
    const request = parseCommandLine(argv, host.parseArgs);
    if (request.action === "help") {
      await writer.write(encoder.encode(`${helpText(request.command)}\n`));
      return EXIT.ok;
    }
    if (request.action === "version") {
      await writer.write(encoder.encode(`ipc-streams ${VERSION}\n`));
      return EXIT.ok;
    }
    invocation = request;
    const output = new Output(writer, request.pretty);
    const note = request.quiet ? () => {} : (text: string) => host.stderr(`ipc-streams: ${text}`);
    const context: Context = { invocation: request, host, output, note };
    switch (request.command) {
      case "send":
        return await runSend(context);
      case "connect":
        return await runConnect(context);
      case "serve":
        return await runServe(context);
    }
  } catch (error) {
    const address = invocation?.address;
    host.stderr(describeFailure(error, { byId: address?.scheme === "id" && address.options.socketRoot === undefined }));
    return exitCodeOf(error);
  } finally {
    await writer.close().catch(() => {});
  }
}

const encoder = new TextEncoder();

interface Context {
  readonly invocation: Invocation;
  readonly host: CliHost;
  readonly output: Output;
  readonly note: (text: string) => void;
}

/** Stdout, one write per JSON line (or raw chunk), each awaited: the peer is read only as fast as stdout takes it. */
class Output {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #indent: number | undefined;
  /** Settles once stdout is gone (a closed pipe): nothing more can be printed. */
  readonly gone: Promise<void>;
  #onGone!: () => void;
  #failed = false;

  constructor(writer: WritableStreamDefaultWriter<Uint8Array>, pretty: boolean) {
    this.#writer = writer;
    this.#indent = pretty ? 2 : undefined;
    this.gone = new Promise((resolve) => {
      this.#onGone = resolve;
    });
  }

  /** Whether stdout is gone. */
  get failed(): boolean {
    return this.#failed;
  }

  json(value: unknown): Promise<void> {
    return this.bytes(encoder.encode(`${JSON.stringify(value, null, this.#indent)}\n`));
  }

  async bytes(chunk: Uint8Array): Promise<void> {
    try {
      await this.#writer.write(chunk);
    } catch (error) {
      this.#failed = true;
      this.#onGone();
      throw new StdoutGone(error);
    }
  }
}

/** Stdout was closed under us (as by `| head -1`): the command ends, as with SIGPIPE. */
class StdoutGone extends Error {
  constructor(cause: unknown) {
    super("stdout is closed", { cause });
  }
}

/** An error the peer caused (what it sent, or its going away), as opposed to one of ours. */
class FromPeer extends Error {
  readonly error: unknown;
  constructor(error: unknown) {
    super("the peer failed", { cause: error });
    this.error = error;
  }
}

// ---------------------------------------------------------------------------------------------
// Options

/** The options of `serve()`/`connect()` the invocation names, TLS files read. */
async function apiOptions(context: Context, side: "server" | "client"): Promise<ServeOptions & ConnectOptions> {
  const { invocation, host } = context;
  const { address, codec, tls: files } = invocation;
  let tls: TlsOptions | undefined;
  if (files !== undefined) {
    const read = async (path: string) => {
      try {
        return await host.readFile(path);
      } catch (error) {
        throw new CliError("ERR_IPC_FILE", `cannot read ${path}: ${messageOf(error)}`, { cause: error });
      }
    };
    const ca = await Promise.all(files.ca.map(read));
    tls = {
      ...(ca.length > 0 ? { ca } : {}),
      ...(files.cert === undefined ? {} : { cert: await read(files.cert) }),
      ...(files.key === undefined ? {} : { key: await read(files.key) }),
      // A server that is given CAs asks its clients for a certificate, as node-ipc 14 does.
      ...(side === "server" && ca.length > 0 ? { requestCert: true } : {}),
    };
  }
  return {
    ...address.options,
    ...codec,
    ...(tls === undefined ? {} : { tls }),
    ...(side === "client" ? { connectTimeout: invocation.timeout } : {}),
  };
}

/** The longest stdin line kept: a frame's worth of JSON with room for whitespace. */
function maxLineBytes(invocation: Invocation): number {
  return 4 * (invocation.codec.maxFrameSize ?? 1024 * 1024);
}

/** An address as `serve` prints it, in the form the command line takes. */
export function formatAddress(address: ServerAddress): string {
  return address.transport === "unix"
    ? `unix:${address.path}`
    : `${address.transport}://${describeEndpoint(address.host, address.port)}`;
}

// ---------------------------------------------------------------------------------------------
// stdin

/** An event to send, from one stdin line. */
interface OutgoingEvent {
  readonly type: string;
  readonly data: unknown;
}

/**
 * The event a stdin line asks to send, or `undefined` after reporting why it is skipped: not
 * UTF-8, too long, not JSON, or (without `--type`) not a `{type, data}` event.
 */
function eventOfLine(line: Line, context: Context): OutgoingEvent | undefined {
  const skip = (code: string, why: string) => {
    context.host.stderr(`ipc-streams: ${code}: stdin line ${line.number} ${why}. Skipped: nothing was sent`);
    return undefined;
  };
  if ("problem" in line) {
    return line.problem === "too-long"
      ? skip("ERR_IPC_FRAME_TOO_LARGE", `is longer than ${maxLineBytes(context.invocation)} bytes`)
      : skip("ERR_IPC_INVALID_UTF8", "is not UTF-8");
  }
  if (line.text.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch {
    return skip("ERR_IPC_INVALID_JSON", `is not JSON: ${excerptOf(line.text)}`);
  }
  const { wrapType } = context.invocation;
  if (wrapType !== undefined) return { type: wrapType, data: value };
  if (!isPlainEvent(value)) {
    return skip(
      "ERR_IPC_INVALID_MESSAGE",
      `is not a {"type","data"} event: ${excerptOf(line.text)} (give --type T to send any value as T's data)`,
    );
  }
  return { type: value.type, data: value.data };
}

/** An object with a string `type`, an optional `data`, and nothing else. */
function isPlainEvent(value: unknown): value is { type: string; data?: unknown } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const record = value as { [key: string]: unknown };
  return typeof record.type === "string" && Object.keys(record).every((key) => key === "type" || key === "data");
}

/**
 * Sends every stdin line with `send` until stdin ends (or `reader` is cancelled). A line whose
 * event cannot be encoded (too large, refused by `--validate`) is reported and skipped; a send
 * that fails because the connection is gone ends the loop with that error.
 */
async function sendLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  context: Context,
  send: (event: OutgoingEvent) => Promise<void>,
): Promise<void> {
  for await (const line of lines(reader, maxLineBytes(context.invocation))) {
    const event = eventOfLine(line, context);
    if (event === undefined) continue;
    let sent: Promise<void>;
    try {
      sent = send(event);
    } catch (error) {
      // Encoding is synchronous: nothing of this line reached the socket.
      const { code, message } = codeAndMessage(error);
      context.host.stderr(`ipc-streams: ${code}: stdin line ${line.number}: ${message}. Skipped: nothing was sent`);
      continue;
    }
    await sent;
  }
}

/** Copies stdin to `write` chunk by chunk until stdin ends (or `reader` is cancelled). */
async function sendBytes(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    await write(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

async function runSend(context: Context): Promise<ExitCode> {
  const { invocation, host, output } = context;
  const event = invocation.event as OutgoingEvent;
  // A signal ends the attempt, the send or the wait for the reply at once (ERR_IPC_ABORTED).
  const connection = await host.api.connect({ ...(await apiOptions(context, "client")), signal: host.signal });
  try {
    await connection.emit(event.type, event.data);
    if (invocation.reply) {
      const reply = await firstMessage(connection, invocation.timeout);
      await output.json(reply);
    }
  } catch (error) {
    connection.destroy();
    if (error instanceof StdoutGone) return EXIT.ok;
    throw host.signal.aborted ? interrupted(host.signal) : error;
  }
  await connection.close();
  return EXIT.ok;
}

/** What a command stopped by SIGINT or SIGTERM before it was done fails with. */
function interrupted(signal: AbortSignal): IpcError {
  return new IpcError("ERR_IPC_ABORTED", `stopped by ${String(signal.reason)} before it was done`);
}

/**
 * Connects, giving up when `host.signal` aborts first. The signal is not handed to the
 * connection itself: once connected, the command closes it in order on a signal.
 */
async function connectUnlessInterrupted(context: Context): Promise<Connection<unknown, unknown>> {
  const { host } = context;
  const attempt = new AbortController();
  const giveUp = () => attempt.abort();
  host.signal.addEventListener("abort", giveUp, { once: true });
  if (host.signal.aborted) giveUp();
  try {
    return await host.api.connect({ ...(await apiOptions(context, "client")), signal: attempt.signal });
  } catch (error) {
    throw host.signal.aborted ? interrupted(host.signal) : error;
  } finally {
    host.signal.removeEventListener("abort", giveUp);
  }
}

/** The first message `connection` receives, within `timeout` ms. */
async function firstMessage(connection: Connection, timeout: number): Promise<unknown> {
  const reader = connection.readable.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (Number.isFinite(timeout)) {
      timer = setTimeout(() => reject(new CliError("ERR_IPC_REPLY_TIMEOUT", `no reply within ${timeout} ms`)), timeout);
    }
  });
  try {
    const result = await Promise.race([
      reader.read().catch((error: unknown) => {
        throw new FromPeer(error);
      }),
      timedOut,
    ]);
    if (result.done) throw new CliError("ERR_IPC_NO_REPLY", "the peer ended its side without a reply");
    return result.value;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

async function runConnect(context: Context): Promise<ExitCode> {
  const { invocation, host, output, note } = context;
  const connection = await connectUnlessInterrupted(context);
  note(`connected to ${describeConnection(connection, invocation.address.scheme)}`);
  const stdin = host.stdin().getReader();
  const onSignal = () => void stdin.cancel().catch(() => {});
  host.signal.addEventListener("abort", onSignal, { once: true });

  const receiving = (async () => {
    try {
      for await (const message of connection.readable) {
        if (invocation.codec.raw) await output.bytes(message as Uint8Array);
        else await output.json(message);
      }
    } catch (error) {
      throw error instanceof StdoutGone ? error : new FromPeer(error);
    }
  })();
  receiving.catch(() => {});
  let writer: WritableStreamDefaultWriter<unknown> | undefined;
  const sending = (async () => {
    if (invocation.codec.raw) {
      const raw = connection.writable.getWriter();
      writer = raw;
      await sendBytes(stdin, (chunk) => raw.write(chunk));
    } else {
      await sendLines(stdin, context, ({ type, data }) => connection.emit(type, data));
    }
  })();
  sending.catch(() => {});

  try {
    const first = await Promise.race([
      receiving.then(() => "peer" as const),
      sending.then(
        () => "stdin" as const,
        () => "broken" as const,
      ),
    ]);
    if (first === "peer") {
      void stdin.cancel().catch(() => {});
    } else if (first === "broken") {
      // A send failed because the connection is gone: the receiving side says why.
      await receiving;
      await sending;
    } else {
      // Stdin ended: end our side, and print the answers still on their way until the peer ends
      // its side too, for at most LINGER ms (not after SIGINT or SIGTERM).
      if (writer !== undefined) await writer.close().catch(() => {});
      else await connection.writable.close().catch(() => {});
      if (!host.signal.aborted) await Promise.race([receiving, delay(LINGER)]);
    }
    writer?.releaseLock();
    await connection.close();
    await receiving;
    return EXIT.ok;
  } catch (error) {
    if (error instanceof StdoutGone) return EXIT.ok;
    throw error;
  } finally {
    host.signal.removeEventListener("abort", onSignal);
    void stdin.cancel().catch(() => {});
    connection.destroy();
  }
}

/** How long `connect` goes on reading once stdin ended, waiting for the peer to end too, in ms. */
const LINGER = DEFAULT_HALF_OPEN_TIMEOUT;

/** Where a connection goes, in the form the command line takes: `unix:/path`, `tcp://host:port`, …. */
function describeConnection(connection: Connection<unknown, unknown>, scheme: Scheme): string {
  const remote = connection.remoteAddress;
  if (remote === undefined) return `unix:${connection.path}`;
  return `${scheme}://${describeEndpoint(remote.host, remote.port)}`;
}

async function runServe(context: Context): Promise<ExitCode> {
  const { invocation, host, output, note } = context;
  const server: Server<unknown, unknown> = await host.api.serve(await apiOptions(context, "server"));
  note(`serving on ${formatAddress(server.address)}`);
  const handlers = new Set<Promise<void>>();
  let count = 0;
  const accepting = (async () => {
    for await (const connection of server.connections) {
      const number = ++count;
      const handled = handleConnection(connection, number, context);
      handlers.add(handled);
      void handled.then(() => handlers.delete(handled));
    }
  })();

  const stdin = host.stdin().getReader();
  const broadcasting = invocation.codec.raw
    ? sendBytes(stdin, (chunk) => server.broadcast(chunk))
    : sendLines(stdin, context, ({ type, data }) => server.broadcast(type, data));
  broadcasting.catch((error: unknown) => host.stderr(describeFailure(error)));

  // Serving ends on SIGINT or SIGTERM, or when stdout is gone.
  await Promise.race([
    output.gone,
    new Promise<void>((resolve) => {
      if (host.signal.aborted) resolve();
      else host.signal.addEventListener("abort", () => resolve(), { once: true });
    }),
  ]);
  void stdin.cancel().catch(() => {});
  // Connections get a moment to flush what was written to them; then they are cut.
  await Promise.race([server.close().catch(() => {}), delay(CLOSE_GRACE)]);
  await server.destroy();
  await accepting.catch(() => {});
  await Promise.all(handlers);
  return EXIT.ok;
}

/** How long `serve` lets its connections flush when it is stopped, in ms. */
const CLOSE_GRACE = 1000;

/** Prints what one of the server's connections sends (echoing it with `--echo`) until it ends. */
async function handleConnection(
  connection: Connection<unknown, unknown>,
  number: number,
  context: Context,
): Promise<void> {
  const { invocation, output, note } = context;
  const remote = connection.remoteAddress;
  note(
    `connection ${number} opened${remote === undefined ? "" : ` from ${describeEndpoint(remote.host, remote.port)}`}`,
  );
  const echo = invocation.echo ? connection.writable.getWriter() : undefined;
  try {
    for await (const message of connection.readable) {
      if (output.failed) break;
      if (invocation.codec.raw) await output.bytes(message as Uint8Array);
      else await output.json({ connection: number, message } satisfies ServedMessage);
      if (echo !== undefined) await echo.write(message);
    }
    echo?.releaseLock();
    await connection.close();
    note(`connection ${number} closed`);
  } catch (error) {
    connection.destroy();
    if (error instanceof StdoutGone) return;
    context.host.stderr(describeFailure(new FromPeer(error), { prefix: `connection ${number}: ` }));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Codes of the codec: from the peer a protocol error; from our own event a usage error. */
const CODEC_CODES: ReadonlySet<string> = new Set([
  "ERR_IPC_FRAME_TOO_LARGE",
  "ERR_IPC_INVALID_JSON",
  "ERR_IPC_INVALID_UTF8",
  "ERR_IPC_TRUNCATED_FRAME",
  "ERR_IPC_INVALID_PAYLOAD",
  "ERR_IPC_INVALID_MESSAGE",
  "ERR_IPC_INVALID_EVENT",
  "ERR_IPC_EVENT_TOO_LARGE",
  "ERR_IPC_RESERVED_EVENT",
  "ERR_IPC_EVENT_NOT_ALLOWED",
]);

const USAGE_CODES: ReadonlySet<string> = new Set([
  "ERR_IPC_USAGE",
  "ERR_IPC_FILE",
  "ERR_IPC_INVALID_OPTION",
  "ERR_IPC_PATH_TOO_LONG",
  "ERR_IPC_UNSUPPORTED",
]);

/** How the command ends when SIGINT or SIGTERM stopped it before it was done. */
const INTERRUPTED_CODES: ReadonlySet<string> = new Set(["ERR_IPC_ABORTED"]);

/**
 * The exit code for an error: usage (2), connection (3), protocol (4) or interrupted (130); 1 for
 * anything unforeseen.
 *
 * @example
 * ```ts
 * import { IpcError } from "../errors.ts";
 *
 * exitCodeOf(new IpcError("ERR_IPC_NO_SERVER", "nobody there")); // 3
 * ```
 */
export function exitCodeOf(error: unknown): ExitCode {
  const fromPeer = error instanceof FromPeer;
  const inner = fromPeer ? error.error : error;
  if (isDenoPermission(inner)) return EXIT.usage;
  if (!(inner instanceof IpcError || inner instanceof CliError)) return EXIT.internal;
  if (CODEC_CODES.has(inner.code)) return fromPeer ? EXIT.protocol : EXIT.usage;
  if (INTERRUPTED_CODES.has(inner.code)) return EXIT.interrupted;
  return USAGE_CODES.has(inner.code) ? EXIT.usage : EXIT.connection;
}

/** What to do, by code. */
const HINTS: { readonly [code: string]: string } = {
  ERR_IPC_USAGE: "See ipc-streams --help",
  ERR_IPC_INVALID_OPTION: "See ipc-streams --help",
  ERR_IPC_FILE: "Check the path, and that you may read the file",
  ERR_IPC_NO_SERVER: "Start the server first, or check the address",
  ERR_IPC_CONNECT_TIMEOUT: "Check the address and that the server is answering, or raise --timeout",
  ERR_IPC_TLS:
    "Check --ca (the CA that signed the server's certificate) and the host name; for mutual TLS give --cert and --key",
  ERR_IPC_SOCKET_ROOT:
    "The socket root must be a directory you own that only you may use: chmod 700 it, or choose another with --socket-root",
  ERR_IPC_ADDRESS_IN_USE: "Another server is running there: stop it, or choose another address",
  ERR_IPC_NOT_A_SOCKET: "Something that is not a socket is at that path: move it away, or choose another address",
  ERR_IPC_PATH_TOO_LONG: "Choose a shorter id, --appspace or --socket-root",
  ERR_IPC_SYSTEM: "Check the permissions of the socket's directory",
  ERR_IPC_CONNECTION_RESET: "The peer went away: check that it is still running",
  ERR_IPC_CLOSED: "The peer went away: check that it is still running",
  ERR_IPC_UNSUPPORTED: "Use another address or runtime",
  ERR_IPC_REPLY_TIMEOUT: "Check that the peer answers this event, or raise --timeout",
  ERR_IPC_NO_REPLY: "Check that the peer answers this event",
  ERR_IPC_ABORTED: "Nothing more was done",
};

const PROTOCOL_HINT =
  "The peer does not speak this protocol: check that --delimiter, --max-frame-size, --raw and --validate match its settings";
const OWN_EVENT_HINT = "The event cannot be sent with these settings: check --max-frame-size and --validate";
const DENO_HINT = "Run it as deno run -A npm:ipc-streams …, or grant the permission named";

/**
 * One line for stderr: `ipc-streams: <CODE>: <what happened>. <what to do>`.
 *
 * @param error what failed
 * @param context `byId`: the address was an id at the default root (a missing server may be a
 *   node-ipc 9–12 one in /tmp/); `prefix`: put before the message (`connection 3: `)
 */
export function describeFailure(
  error: unknown,
  context: { readonly byId?: boolean; readonly prefix?: string } = {},
): string {
  const fromPeer = error instanceof FromPeer;
  const inner = fromPeer ? error.error : error;
  const { code, message } = codeAndMessage(inner);
  let hint: string;
  if (isDenoPermission(inner)) hint = DENO_HINT;
  else if (CODEC_CODES.has(code)) hint = fromPeer ? PROTOCOL_HINT : OWN_EVENT_HINT;
  else hint = HINTS[code] ?? "This is a bug in ipc-streams: please report it";
  if (code === "ERR_IPC_NO_SERVER" && context.byId) hint += " (node-ipc 9 to 12 serve in /tmp/: add --legacy)";
  return `ipc-streams: ${code}: ${context.prefix ?? ""}${message}. ${hint}`;
}

function codeAndMessage(error: unknown): { code: string; message: string } {
  const code = error instanceof IpcError || error instanceof CliError ? error.code : "ERR_IPC_INTERNAL";
  return { code, message: messageOf(error).replace(/[.\s]+$/, "") };
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " ");
}

/** A Deno permission refusal, thrown or as the cause of an `IpcError`. */
function isDenoPermission(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; depth++) {
    if (current.name === "NotCapable" || current.name === "PermissionDenied") return true;
    current = current.cause;
  }
  return false;
}
