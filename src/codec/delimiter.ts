import { IpcError } from "../errors.ts";

/**
 * node-ipc's default frame delimiter: U+000C FORM FEED, which JSON.stringify never writes raw.
 *
 * @example
 * ```ts
 * import { DEFAULT_DELIMITER, FrameParser } from "ipc-streams";
 *
 * new FrameParser({ delimiter: DEFAULT_DELIMITER }); // the same as new FrameParser()
 * ```
 */
export const DEFAULT_DELIMITER = "\f";

/**
 * The default bound on one frame: 1 MiB, node-ipc 14's guarded `maxMessageSize`.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAME_SIZE, JsonFrameParser } from "ipc-streams";
 *
 * new JsonFrameParser({ maxFrameSize: 16 * DEFAULT_MAX_FRAME_SIZE }); // allow 16 MiB frames
 * ```
 */
export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;

/**
 * A validated delimiter in both of the forms the codec needs (internal).
 *
 * @example
 * ```ts
 * const { text, bytes, jsonSafe } = toDelimiter("\r\n"); // "\r\n", 0d 0a, true
 * ```
 */
export interface Delimiter {
  readonly text: string;
  readonly bytes: Uint8Array;
  /** True when JSON.stringify can never write this delimiter inside a value (it starts with U+0000–U+001F). */
  readonly jsonSafe: boolean;
}

/**
 * Checks a `delimiter` option and returns its text and UTF-8 bytes (internal). Throws
 * `ERR_IPC_INVALID_OPTION` for an empty or non-string delimiter or one with lone surrogates.
 *
 * @example
 * ```ts
 * toDelimiter().bytes; // Uint8Array [12]
 * toDelimiter(""); // throws ERR_IPC_INVALID_OPTION
 * ```
 */
export function toDelimiter(delimiter: string = DEFAULT_DELIMITER): Delimiter {
  if (typeof delimiter !== "string" || delimiter.length === 0) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "delimiter must be a non-empty string");
  }
  const bytes = new TextEncoder().encode(delimiter);
  if (new TextDecoder().decode(bytes) !== delimiter) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "delimiter must be valid Unicode text (no lone surrogates)");
  }
  return { text: delimiter, bytes, jsonSafe: delimiter.charCodeAt(0) < 0x20 };
}

/**
 * Checks a `maxFrameSize` option: a positive integer or `Infinity` (internal).
 *
 * @example
 * ```ts
 * toMaxFrameSize(); // 1048576
 * toMaxFrameSize(0); // throws ERR_IPC_INVALID_OPTION
 * ```
 */
export function toMaxFrameSize(maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE): number {
  const valid = maxFrameSize === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxFrameSize) && maxFrameSize > 0);
  if (!valid) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "maxFrameSize must be a positive integer or Infinity", {
      limit: maxFrameSize,
    });
  }
  return maxFrameSize;
}

/**
 * Index of the first occurrence of `needle` in `haystack` at or after `from`, or -1 (internal).
 *
 * @example
 * ```ts
 * indexOfBytes(Uint8Array.of(1, 13, 10, 2), Uint8Array.of(13, 10)); // 1
 * ```
 */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0] as number;
  if (needle.length === 1) return haystack.indexOf(first, from);
  const last = haystack.length - needle.length;
  let at = haystack.indexOf(first, from);
  while (at !== -1 && at <= last) {
    if (startsWithAt(haystack, needle, at)) return at;
    at = haystack.indexOf(first, at + 1);
  }
  return -1;
}

/**
 * Index of the last delimiter that a forward scan of `haystack` finds, or -1. For a one-byte
 * delimiter this is a plain `lastIndexOf`; longer ones are scanned forward so that a delimiter
 * whose start overlaps its end ("aa") splits exactly as a front-to-back reader would (internal).
 *
 * @example
 * ```ts
 * lastIndexOfBytes(Uint8Array.of(97, 97, 97), Uint8Array.of(97, 97)); // 0, not 1
 * ```
 */
export function lastIndexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  if (needle.length === 1) return haystack.lastIndexOf(needle[0] as number);
  let last = -1;
  let at = indexOfBytes(haystack, needle, 0);
  while (at !== -1) {
    last = at;
    at = indexOfBytes(haystack, needle, at + needle.length);
  }
  return last;
}

function startsWithAt(haystack: Uint8Array, needle: Uint8Array, at: number): boolean {
  for (let i = 1; i < needle.length; i++) {
    if (haystack[at + i] !== needle[i]) return false;
  }
  return true;
}
