/**
 * Every stable error code ipc-streams produces.
 *
 * Codes that share a name with node-ipc 14's `IPCProtocolError` codes mean the same thing.
 *
 * @example
 * ```ts
 * import type { IpcErrorCode } from "ipc-streams";
 *
 * const retryable = (code: IpcErrorCode) => code === "ERR_IPC_NO_SERVER" || code === "ERR_IPC_CONNECTION_RESET";
 * ```
 */
export type IpcErrorCode =
  /** A frame (excluding the delimiter) is larger than `maxFrameSize`, or would become larger. */
  | "ERR_IPC_FRAME_TOO_LARGE"
  /** A frame is not valid JSON (an empty frame included). */
  | "ERR_IPC_INVALID_JSON"
  /** A frame is not valid UTF-8. */
  | "ERR_IPC_INVALID_UTF8"
  /** The input ended in the middle of a frame (bytes after the last delimiter). */
  | "ERR_IPC_TRUNCATED_FRAME"
  /** A value cannot be encoded: JSON.stringify threw or produced nothing, or a frame contains the delimiter. */
  | "ERR_IPC_INVALID_PAYLOAD"
  /** Event validation: the message is not a JSON object. */
  | "ERR_IPC_INVALID_MESSAGE"
  /** Event validation: `type` is missing, not a string, empty, or an `Object.prototype` member name. */
  | "ERR_IPC_INVALID_EVENT"
  /** Event validation: `type` is longer than `maxTypeLength`. */
  | "ERR_IPC_EVENT_TOO_LARGE"
  /** Event validation: `type` is one of node-ipc's local lifecycle names. */
  | "ERR_IPC_RESERVED_EVENT"
  /** Event validation: `type` is not in `allowedTypes`. */
  | "ERR_IPC_EVENT_NOT_ALLOWED"
  /** An option has a value that cannot work. */
  | "ERR_IPC_INVALID_OPTION"
  /** The socket path is longer than the operating system allows. */
  | "ERR_IPC_PATH_TOO_LONG"
  /** Another live server is listening on the socket path or port. */
  | "ERR_IPC_ADDRESS_IN_USE"
  /** Something that is not a socket exists at the socket path; it is never deleted. */
  | "ERR_IPC_NOT_A_SOCKET"
  /** The socket root directory is not a private directory owned by this user. */
  | "ERR_IPC_SOCKET_ROOT"
  /**
   * Nobody is listening at the address (no file there, a stale socket, or a refused TCP connection),
   * or a Unix socket's server takes no more connections (its queue of pending ones is full).
   */
  | "ERR_IPC_NO_SERVER"
  /** A connection attempt took longer than `connectTimeout`. */
  | "ERR_IPC_CONNECT_TIMEOUT"
  /**
   * The TLS handshake failed: the peer's certificate did not verify (unknown CA, host name
   * mismatch, expired), a required client certificate was missing, or the protocols did not agree.
   * The message says which.
   */
  | "ERR_IPC_TLS"
  /** This runtime cannot do what the options ask (it never quietly does less). */
  | "ERR_IPC_UNSUPPORTED"
  /** The operating system refused an operation (permissions, missing directory, …). */
  | "ERR_IPC_SYSTEM"
  /** The operation was cancelled through an AbortSignal. */
  | "ERR_IPC_ABORTED"
  /** The connection or server is closed. */
  | "ERR_IPC_CLOSED"
  /** The peer reset the connection or it broke while data was in flight. */
  | "ERR_IPC_CONNECTION_RESET";

/**
 * Extra facts attached to an {@link IpcError}, for the user to act on.
 *
 * @example
 * ```ts
 * import { IpcError } from "ipc-streams";
 *
 * new IpcError("ERR_IPC_FRAME_TOO_LARGE", "frame too large", { limit: 1024, excerpt: '{"type":"big"' });
 * ```
 */
export interface IpcErrorDetails {
  /** The socket path concerned, when there is one. */
  readonly path?: string | undefined;
  /** The limit that was exceeded, when one was. */
  readonly limit?: number;
  /** A short, printable excerpt of the offending input (at most 64 characters). */
  readonly excerpt?: string;
  /** The underlying error. */
  readonly cause?: unknown;
}

/**
 * The one error class of ipc-streams. Branch on {@link IpcError.code}, never on the message.
 *
 * @example
 * ```ts
 * import { IpcError } from "ipc-streams";
 *
 * declare const reader: ReadableStreamDefaultReader<unknown>;
 * try {
 *   await reader.read();
 * } catch (error) {
 *   if (error instanceof IpcError && error.code === "ERR_IPC_FRAME_TOO_LARGE") {
 *     console.log(`peer sent more than ${error.limit} bytes in one frame`);
 *   }
 * }
 * ```
 */
export class IpcError extends Error {
  /** The stable code. */
  readonly code: IpcErrorCode;
  /** The socket path concerned, when there is one. */
  readonly path: string | undefined;
  /** The limit that was exceeded, when one was. */
  readonly limit: number | undefined;
  /** A short, printable excerpt of the offending input. */
  readonly excerpt: string | undefined;

  /**
   * An error with a stable code, a message and the facts to act on.
   *
   * @param code the stable code
   * @param message what happened, in words
   * @param details facts for the user to act on
   */
  constructor(code: IpcErrorCode, message: string, details: IpcErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "IpcError";
    this.code = code;
    this.path = details.path;
    this.limit = details.limit;
    this.excerpt = details.excerpt;
  }
}

const EXCERPT_LENGTH = 64;
/** Control characters, line separators and lone surrogates: shown as escapes in excerpts. */
const UNPRINTABLE =
  /[\u0000-\u001f\u007f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A short printable excerpt of some input, for error messages: control characters, U+2028/U+2029
 * and lone surrogates are shown as JSON escapes, bytes that are not UTF-8 as U+FFFD, and long
 * input is cut with an ellipsis.
 *
 * @example
 * ```ts
 * excerptOf("a\fb"); // 'a\\fb' (the escape, not the control character)
 * excerptOf("x".repeat(100)); // 64 × "x" followed by "…"
 * ```
 */
export function excerptOf(input: string | Uint8Array): string {
  const head = typeof input === "string" ? input.slice(0, EXCERPT_LENGTH * 2) : input.subarray(0, EXCERPT_LENGTH * 4);
  const text = typeof head === "string" ? head : new TextDecoder().decode(head);
  const escaped = text.replace(UNPRINTABLE, escapeCharacter);
  const headLength = typeof head === "string" ? head.length : head.byteLength;
  const fullLength = typeof input === "string" ? input.length : input.byteLength;
  const cut = escaped.length > EXCERPT_LENGTH || headLength < fullLength;
  return cut ? `${escaped.slice(0, EXCERPT_LENGTH)}…` : escaped;
}

/** `\f`, `\u0000`, `\ud800`, … (JSON's escape where it has one). */
function escapeCharacter(character: string): string {
  const json = JSON.stringify(character).slice(1, -1);
  return json !== character ? json : `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
