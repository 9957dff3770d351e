/**
 * The command line's own error class and exit codes. Errors from the library stay `IpcError`s;
 * these cover what only the command line can get wrong (its arguments, a reply that never came).
 *
 * @module
 */

/** Every stable code of {@link CliError}. */
export type CliErrorCode =
  /** The command line cannot be used as given: an unknown option, a missing argument, a bad value. */
  | "ERR_IPC_USAGE"
  /** A file named by an option (`--ca`, `--cert`, `--key`) cannot be read. */
  | "ERR_IPC_FILE"
  /** `send --reply`: no message came back within `--timeout`. */
  | "ERR_IPC_REPLY_TIMEOUT"
  /** `send --reply`: the peer ended its side without sending a message. */
  | "ERR_IPC_NO_REPLY";

/**
 * An error of the command line, with a stable {@link CliError.code}.
 *
 * @example
 * ```ts
 * import { CliError } from "./errors.ts";
 *
 * throw new CliError("ERR_IPC_USAGE", "connect needs an <address>");
 * ```
 */
export class CliError extends Error {
  /** The stable code. */
  readonly code: CliErrorCode;

  /**
   * @param code the stable code
   * @param message what happened, in words
   * @param options the underlying error, if any
   */
  constructor(code: CliErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.code = code;
  }
}

/**
 * The exit codes of `ipc-streams`, as `--help` and the README document them.
 *
 * @example
 * ```ts
 * import { EXIT } from "./errors.ts";
 *
 * declare const code: number;
 * if (code === EXIT.connection) console.error("is the server running?");
 * ```
 */
export const EXIT = {
  /** Done: the command did what it was asked (also after SIGINT or SIGTERM and a clean close). */
  ok: 0,
  /** Something unforeseen: a bug in ipc-streams. */
  internal: 1,
  /**
   * The command cannot work as given: arguments, option values, unreadable files, missing Deno
   * permissions, an address this build cannot serve or reach.
   */
  usage: 2,
  /** No connection, or it broke: no server, refused, timed out, TLS failed, socket root or address unusable. */
  connection: 3,
  /** The peer broke the protocol: malformed JSON or UTF-8, an oversized or truncated frame, an invalid event. */
  protocol: 4,
  /** SIGINT or SIGTERM stopped a command before it was done: a connection attempt, or `send`. */
  interrupted: 130,
} as const;

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Creates a usage error: the arguments cannot work.
 * @param message what is wrong, in words
 */
export function usage(message: string): CliError {
  return new CliError("ERR_IPC_USAGE", message);
}
