/**
 * The command line of `ipc-streams`: which command, which address, which options, checked before
 * anything is opened. Parsing itself is `util.parseArgs` (`node:util`, on Node, Bun and Deno),
 * handed in by the entry so that this file stays free of runtime APIs.
 *
 * @module
 */
import { type ParsedAddress, parseAddress } from "./address.ts";
import { usage } from "./errors.ts";

/** The commands. */
export type CommandName = "connect" | "serve" | "send";

const COMMANDS: readonly CommandName[] = ["connect", "serve", "send"];

/** The part of `util.parseArgs` this file uses: its signature for the options below. */
export type ParseArgs = (config: {
  args: string[];
  options: { [name: string]: { type: "string" | "boolean"; multiple?: boolean; short?: string } };
  allowPositionals: boolean;
  strict: boolean;
}) => { values: { [name: string]: string | boolean | (string | boolean)[] | undefined }; positionals: string[] };

/** How messages are framed and checked, as `serve()` and `connect()` take it. */
export interface CodecFlags {
  readonly raw: boolean;
  readonly delimiter?: string;
  readonly maxFrameSize?: number;
  readonly validate?: true;
}

/** The files of `--ca`, `--cert` and `--key`, by path (read when the command runs). */
export interface TlsFiles {
  readonly ca: readonly string[];
  readonly cert?: string;
  readonly key?: string;
}

/** A command to run, with everything it needs, checked. */
export interface Invocation {
  readonly action: "run";
  readonly command: CommandName;
  readonly address: ParsedAddress;
  /** Present for `tls://` addresses. */
  readonly tls?: TlsFiles;
  readonly codec: CodecFlags;
  /** `--pretty`: indented JSON. */
  readonly pretty: boolean;
  /** `--quiet`: no notes on stderr, errors only. */
  readonly quiet: boolean;
  /** `--timeout`, in ms: for the connection, and for the reply of `send --reply`. */
  readonly timeout: number;
  /** `connect` and `serve` `--type`: stdin lines are the data of events of this type. */
  readonly wrapType?: string;
  /** `serve --echo`. */
  readonly echo: boolean;
  /** `send --reply`. */
  readonly reply: boolean;
  /** `send`'s event. */
  readonly event?: { readonly type: string; readonly data: unknown };
}

/** What the command line asks for: run a command, or print help or the version. */
export type Request =
  | Invocation
  | { readonly action: "help"; readonly command?: CommandName }
  | { readonly action: "version" };

/** `--timeout`'s default, in ms. */
export const DEFAULT_TIMEOUT = 10_000;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  "socket-root": { type: "string" },
  appspace: { type: "string" },
  legacy: { type: "boolean" },
  ca: { type: "string", multiple: true },
  cert: { type: "string" },
  key: { type: "string" },
  raw: { type: "boolean" },
  delimiter: { type: "string" },
  "max-frame-size": { type: "string" },
  validate: { type: "boolean" },
  pretty: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  timeout: { type: "string" },
  type: { type: "string" },
  echo: { type: "boolean" },
  reply: { type: "boolean" },
} as const;

type OptionName = keyof typeof OPTIONS;

/** The options only some commands take. */
const ONLY: { readonly [name in OptionName]?: readonly CommandName[] } = {
  type: ["connect", "serve"],
  echo: ["serve"],
  reply: ["send"],
  timeout: ["connect", "send"],
  raw: ["connect", "serve"],
};

/**
 * Parses `argv` (the arguments after the program's name) into a {@link Request}. Every mistake
 * is an `ERR_IPC_USAGE` error whose message says what to write instead.
 *
 * @param argv the arguments, as typed
 * @param parseArgs `util.parseArgs` of `node:util`
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 *
 * parseCommandLine(["send", "world", "hello", '{"n":1}'], parseArgs); // { action: "run", command: "send", … }
 * ```
 */
export function parseCommandLine(argv: readonly string[], parseArgs: ParseArgs): Request {
  let parsed: ReturnType<ParseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs's messages name the option and say what is wrong with it.
    throw usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;
  const command = COMMANDS.find((name) => name === first);
  if (values.version) return { action: "version" };
  if (values.help || first === "help") {
    const topic = first === "help" ? COMMANDS.find((name) => name === rest[0]) : command;
    return topic === undefined ? { action: "help" } : { action: "help", command: topic };
  }
  if (first === undefined) throw usage("no command: give connect, serve or send (ipc-streams --help tells more)");
  if (command === undefined) throw usage(`unknown command ${first}: give connect, serve or send`);

  for (const name of Object.keys(values) as OptionName[]) {
    const only = ONLY[name];
    if (values[name] !== undefined && only !== undefined && !only.includes(command)) {
      throw usage(`--${name} is an option of ${only.join(" and ")}, not of ${command}`);
    }
  }
  const string = (name: OptionName): string | undefined => values[name] as string | undefined;
  const flag = (name: OptionName): boolean => values[name] === true;

  const [addressText, ...operands] = rest;
  if (addressText === undefined) throw usage(`${command} needs an <address> (ipc-streams ${command} --help)`);
  const address = parseAddress(addressText, {
    socketRoot: string("socket-root"),
    appspace: string("appspace"),
    legacy: flag("legacy"),
  });

  let event: { type: string; data: unknown } | undefined;
  if (command === "send") {
    const [type, dataText, ...extra] = operands;
    if (type === undefined) throw usage("send needs an event <type>: ipc-streams send <address> <type> [data-json]");
    if (extra.length > 0) throw usage(`send takes one [data-json]; quote it: '${[dataText, ...extra].join(" ")}'`);
    event = { type, data: dataText === undefined ? {} : jsonOperand(dataText) };
  } else if (operands.length > 0) {
    throw usage(`${command} takes one <address>; unexpected ${operands.join(" ")}`);
  }

  const tls = tlsFiles(values, address, command);
  const codec = codecFlags(values);
  if (codec.raw && (flag("pretty") || values.type !== undefined)) {
    throw usage("--pretty and --type are for JSON messages, not --raw bytes");
  }
  return {
    action: "run",
    command,
    address,
    ...(tls === undefined ? {} : { tls }),
    codec,
    pretty: flag("pretty"),
    quiet: flag("quiet"),
    timeout: timeoutOf(string("timeout")),
    ...(values.type === undefined ? {} : { wrapType: nonEmpty(string("type") as string, "--type") }),
    echo: flag("echo"),
    reply: flag("reply"),
    ...(event === undefined ? {} : { event }),
  };
}

function tlsFiles(values: ReturnType<ParseArgs>["values"], address: ParsedAddress, command: CommandName) {
  const ca = (values.ca as string[] | undefined) ?? [];
  const cert = values.cert as string | undefined;
  const key = values.key as string | undefined;
  if (address.scheme !== "tls") {
    if (ca.length > 0 || cert !== undefined || key !== undefined) {
      throw usage("--ca, --cert and --key are for tls:// addresses");
    }
    return undefined;
  }
  if (command === "serve" && (cert === undefined || key === undefined)) {
    throw usage("serve tls:// needs --cert and --key (the server's certificate and its key, PEM files)");
  }
  if ((cert === undefined) !== (key === undefined)) throw usage("--cert and --key go together");
  return { ca, ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
}

function codecFlags(values: ReturnType<ParseArgs>["values"]): CodecFlags {
  const raw = values.raw === true;
  const delimiter = values.delimiter as string | undefined;
  const maxFrameSize = values["max-frame-size"] as string | undefined;
  if (raw && (delimiter !== undefined || maxFrameSize !== undefined || values.validate)) {
    throw usage("--delimiter, --max-frame-size and --validate do not apply to --raw bytes");
  }
  return {
    raw,
    ...(delimiter === undefined ? {} : { delimiter: unescapeDelimiter(delimiter) }),
    ...(maxFrameSize === undefined ? {} : { maxFrameSize: frameSizeOf(maxFrameSize) }),
    ...(values.validate ? { validate: true as const } : {}),
  };
}

function jsonOperand(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw usage(`[data-json] is not JSON: ${text} (quote strings twice: '"text"')`);
  }
}

function nonEmpty(text: string, name: string): string {
  if (text === "") throw usage(`${name} must not be empty`);
  return text;
}

function timeoutOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TIMEOUT;
  if (text === "Infinity") return Number.POSITIVE_INFINITY;
  const ms = Number(text);
  if (!(/^\d+$/.test(text) && ms > 0))
    throw usage(`--timeout is a number of milliseconds above 0, or Infinity; not ${text}`);
  return ms;
}

function frameSizeOf(text: string): number {
  if (text === "Infinity") return Number.POSITIVE_INFINITY;
  const bytes = Number(text);
  if (!(/^\d+$/.test(text) && bytes > 0 && Number.isSafeInteger(bytes))) {
    throw usage(`--max-frame-size is a number of bytes above 0, or Infinity; not ${text}`);
  }
  return bytes;
}

const ESCAPES: { readonly [letter: string]: string } = {
  n: "\n",
  r: "\r",
  t: "\t",
  f: "\f",
  v: "\v",
  "0": "\0",
  "\\": "\\",
};

/**
 * A `--delimiter` as typed, with its escapes replaced: `\f`, `\n`, `\r`, `\t`, `\v`, `\0`, `\\`,
 * `\xHH` and `\uHHHH`, since a shell cannot easily pass control characters.
 *
 * @example
 * ```ts
 * unescapeDelimiter("\\n"); // "\n"
 * ```
 */
export function unescapeDelimiter(text: string): string {
  const result = text.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)?/g, (sequence, rest: string | undefined) => {
    if (rest === undefined) throw usage(`--delimiter ends in a lone backslash: ${text}`);
    if (rest.length > 1) return String.fromCharCode(Number.parseInt(rest.slice(1), 16));
    const character = ESCAPES[rest];
    if (character === undefined) throw usage(`--delimiter has an unknown escape ${sequence}`);
    return character;
  });
  if (result === "") throw usage("--delimiter must not be empty");
  return result;
}

/**
 * The help text: all commands, or one.
 *
 * @param command the command to explain, or none for the overview
 */
export function helpText(command?: CommandName): string {
  const head = command === undefined ? OVERVIEW : COMMAND_HELP[command];
  return `${head}\n${COMMON_HELP}`;
}

const OVERVIEW = `ipc-streams: talk to node-ipc services from a shell.

Usage:
  ipc-streams connect <address> [options]   print what arrives, send stdin lines
  ipc-streams serve <address> [options]     serve: print what arrives, broadcast stdin lines
  ipc-streams send <address> <type> [data-json] [options]
                                            send one event and exit once it is delivered
  ipc-streams help <command>                more about one command

  connect and serve: --type <T> (stdin lines are T's data), --raw (bytes, not messages)
  serve: --echo (answer each message with itself)    send: --reply (print one answer)
  connect and send: --timeout <ms> (for connecting, and the answer; default 10000)

Messages are JSON, one per line: stdout carries only them (ready for jq), notes and errors go
to stderr. A stdin line is a {"type","data"} event; with --type T any JSON value is the data of
a T event. A stdin line that is not JSON or not an event is reported and skipped, never sent.
`;

const COMMAND_HELP: { readonly [command in CommandName]: string } = {
  connect: `ipc-streams connect <address> [options]

Connects; prints each message received as one JSON line; sends each JSON line read from stdin
(an event {"type","data"} as is; with --type T, the line is the data of a T event). Ends when
the peer ends or stdin ends (what was read is sent first).
  --type <T>           stdin lines are the data of events of type T
  --raw                bytes, not messages: stdin to the socket, the socket to stdout
  --timeout <ms>       give up connecting after this long (default 10000)
`,
  serve: `ipc-streams serve <address> [options]

Serves; prints each message received as {"connection":N,"message":…} (N counts connections from
1); broadcasts each JSON line of stdin to every connection. Runs until SIGINT or SIGTERM, then
closes every connection and removes its socket file. A connection that sends bad input is
reported and closed; the others go on.
  --echo               answer each message with itself
  --type <T>           stdin lines are the data of events of type T
  --raw                bytes: what arrives is copied to stdout, stdin is broadcast
`,
  send: `ipc-streams send <address> <type> [data-json] [options]

Sends one event (data-json omitted is {}) and exits 0 once it is delivered to the OS.
  --reply              then wait for one message back and print it
  --timeout <ms>       for the connection and the reply (default 10000)
`,
};

const COMMON_HELP = `Addresses:
  world                a Unix socket by id, at node-ipc 14's root ($XDG_RUNTIME_DIR/node-ipc/ or
                       <tmp>/node-ipc-<uid>/) + appspace + id
    --legacy           node-ipc 9-12's root instead: /tmp/app.<id>
    --socket-root <dir>, --appspace <prefix> (default app.)
  unix:/path           a Unix socket by path
  tcp://host:port      TCP (tcp://[::1]:8000 for IPv6; serve takes port 0 for a free one)
  tls://host:port      TLS: --ca <file> (repeatable) to trust, --cert <file> --key <file> to
                       present (a server needs them; serve with --ca asks clients for theirs)
  udp4://host:port, udp6://[::1]:port   UDP

Options:
  --delimiter <s>      frame delimiter (default \\f; escapes \\n \\t \\xHH \\uHHHH work)
  --max-frame-size <n> largest frame in bytes (default 1048576), or Infinity
  --validate           check every event sent and received, as node-ipc 14's guarded profile
  --pretty             indented JSON, for people
  -q, --quiet          no notes on stderr, errors only
  -h, --help           this text;  -V, --version  the version

Exit codes:
  0  done (also after SIGINT/SIGTERM and a clean close)
  1  a bug in ipc-streams
  2  usage: bad arguments or option values, unreadable files, missing Deno permissions, an
     address this build does not support
  3  connection: no server, refused, timed out, TLS failed, socket root or address unusable,
     the connection broke, no reply
  4  protocol: the peer sent bad input (malformed JSON or UTF-8, oversized frame, bad event)
  130  interrupted: SIGINT or SIGTERM came while connecting, or before send was done

Errors are one line on stderr: ipc-streams: <CODE>: <what happened>. <what to do>
On Deno run it as: deno run -A npm:ipc-streams …`;
