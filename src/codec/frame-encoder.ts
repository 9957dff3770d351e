import { excerptOf, IpcError } from "../errors.ts";
import { type Delimiter, indexOfBytes, toDelimiter, toMaxFrameSize } from "./delimiter.ts";
import type { FrameParserOptions } from "./frame-parser.ts";

/**
 * Options of {@link JsonFrameEncoder}, {@link FrameEncoder} and the streams built on them: the
 * same `delimiter` and `maxFrameSize` as the parsers, checked on the way out.
 *
 * @example
 * ```ts
 * import { JsonFrameEncoder } from "ipc-streams";
 *
 * new JsonFrameEncoder({ delimiter: "\n" }).encodeText([1, 2]); // "[1,2]\n"
 * ```
 */
export type FrameEncoderOptions = FrameParserOptions;

/**
 * The non-stream frame writer for raw byte frames: appends the delimiter, and refuses a frame that
 * contains the delimiter (it would split on the other side) or exceeds `maxFrameSize`.
 *
 * @example
 * ```ts
 * import { FrameEncoder } from "ipc-streams";
 *
 * const bytes = new FrameEncoder({ delimiter: "\n" }).encode(new TextEncoder().encode("hi"));
 * // bytes: 68 69 0a
 * ```
 */
export class FrameEncoder {
  readonly #delimiter: Delimiter;
  readonly #maxFrameSize: number;

  /**
   * Takes its delimiter and size bound from `options`; each one has a default.
   *
   * @param options delimiter and size bound; see {@link FrameEncoderOptions}
   */
  constructor(options: FrameEncoderOptions = {}) {
    this.#delimiter = toDelimiter(options.delimiter);
    this.#maxFrameSize = toMaxFrameSize(options.maxFrameSize);
  }

  /**
   * Returns `frame` followed by the delimiter, in a new array. Throws `ERR_IPC_INVALID_PAYLOAD`
   * when the receiver would not get `frame` back: it contains the delimiter, or (multi-byte
   * delimiters) its end and the delimiter overlap into an earlier delimiter, as `"a"` + `"aa"`.
   */
  encode(frame: Uint8Array): Uint8Array<ArrayBuffer> {
    checkSize(frame.byteLength, this.#maxFrameSize, frame);
    const delimiter = this.#delimiter.bytes;
    const out = new Uint8Array(frame.byteLength + delimiter.byteLength);
    out.set(frame, 0);
    out.set(delimiter, frame.byteLength);
    if (indexOfBytes(out, delimiter) !== frame.byteLength) {
      throw new IpcError("ERR_IPC_INVALID_PAYLOAD", "frame contains the delimiter", { excerpt: excerptOf(frame) });
    }
    return out;
  }
}

/** Shared by every encoder: encoding keeps no state between calls. */
const sharedEncoder = new TextEncoder();

/**
 * The non-stream JSON frame writer: `JSON.stringify(value)` plus the delimiter, UTF-8 encoded.
 * For `{type, data}` envelopes the bytes are identical to node-ipc's (see {@link event} for the
 * one rewrite node-ipc applies to `data`).
 *
 * Throws `ERR_IPC_INVALID_PAYLOAD` for values JSON cannot carry (BigInt, cycles, `undefined`, a
 * function) and `ERR_IPC_FRAME_TOO_LARGE` past `maxFrameSize`; nothing is produced then.
 *
 * @example
 * ```ts
 * import { JsonFrameEncoder } from "ipc-streams";
 *
 * const bytes = new JsonFrameEncoder().encode({ type: "hello", data: { a: 1 } });
 * // the UTF-8 of {"type":"hello","data":{"a":1}} followed by 0x0c
 * ```
 */
export class JsonFrameEncoder {
  readonly #delimiter: Delimiter;
  readonly #maxFrameSize: number;

  /**
   * Takes its delimiter and size bound from `options`; each one has a default.
   *
   * @param options delimiter and size bound; see {@link FrameEncoderOptions}
   */
  constructor(options: FrameEncoderOptions = {}) {
    this.#delimiter = toDelimiter(options.delimiter);
    this.#maxFrameSize = toMaxFrameSize(options.maxFrameSize);
  }

  /** Returns the frame for `value` as text, delimiter included. */
  encodeText(value: unknown): string {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (cause) {
      throw new IpcError("ERR_IPC_INVALID_PAYLOAD", `value cannot be encoded as JSON: ${String(cause)}`, { cause });
    }
    if (json === undefined) {
      throw new IpcError("ERR_IPC_INVALID_PAYLOAD", `value cannot be encoded as JSON: ${typeof value}`);
    }
    const text = json + this.#delimiter.text;
    // JSON never writes U+0000–U+001F raw, so a delimiter starting with one cannot occur early.
    if (!this.#delimiter.jsonSafe && text.indexOf(this.#delimiter.text) !== json.length) {
      throw new IpcError("ERR_IPC_INVALID_PAYLOAD", "encoded value contains the delimiter", {
        excerpt: excerptOf(json),
      });
    }
    // UTF-8 takes at least one byte per UTF-16 unit and at most three.
    if (json.length * 3 > this.#maxFrameSize) {
      checkSize(sharedEncoder.encode(json).byteLength, this.#maxFrameSize, json);
    }
    return text;
  }

  /** Returns the frame for `value` as UTF-8 bytes, delimiter included. */
  encode(value: unknown): Uint8Array<ArrayBuffer> {
    return sharedEncoder.encode(this.encodeText(value));
  }
}

function checkSize(size: number, limit: number, input: string | Uint8Array): void {
  if (size > limit) {
    throw new IpcError("ERR_IPC_FRAME_TOO_LARGE", `frame of ${size} bytes exceeds maxFrameSize (${limit} bytes)`, {
      limit,
      excerpt: excerptOf(input),
    });
  }
}
