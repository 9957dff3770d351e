import { excerptOf, IpcError } from "../errors.ts";
import { type Delimiter, indexOfBytes, lastIndexOfBytes, toDelimiter, toMaxFrameSize } from "./delimiter.ts";

/**
 * Options of {@link FrameParser}, {@link JsonFrameParser} and the streams built on them.
 *
 * @example
 * ```ts
 * import { type FrameParserOptions, JsonFrameParser } from "ipc-streams";
 *
 * const lines: FrameParserOptions = { delimiter: "\n", maxFrameSize: 64 * 1024 };
 * new JsonFrameParser(lines); // newline-delimited JSON, at most 64 KiB per line
 * ```
 */
export interface FrameParserOptions {
  /**
   * The string that ends every frame, UTF-8 encoded on the wire. Any non-empty string works,
   * multi-character ones included (node-ipc 9–12 can only receive single-character delimiters).
   * @default "\f" (node-ipc's default)
   */
  readonly delimiter?: string;
  /**
   * The largest frame accepted, in bytes, not counting the delimiter. A frame that grows past it
   * is rejected with `ERR_IPC_FRAME_TOO_LARGE` as soon as that is certain, before its delimiter
   * arrives, so memory stays bounded whatever a peer sends. `Infinity` removes the bound.
   * @default 1048576 (1 MiB, node-ipc 14's guarded `maxMessageSize`)
   */
  readonly maxFrameSize?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * The largest buffer a {@link FrameBuffer} that reuses its buffer keeps once the frame in it is
 * done; a bigger one (left by an unusually large frame) is dropped, so an idle parser holds at
 * most this much.
 */
const REUSED_BUFFER_BYTES = 64 * 1024;

/**
 * The buffering both parsers share: it cuts a byte stream into runs of complete frames and keeps
 * the unfinished frame at the end, bounded by `maxFrameSize`. The unfinished frame lives in one
 * buffer that grows by doubling up to the bound, so memory stays bounded however small the chunks.
 */
class FrameBuffer {
  readonly delimiter: Delimiter;
  readonly maxFrameSize: number;
  /**
   * Whether the buffer is reused for the next unfinished frame once a frame that spanned chunks
   * was handed over. Only for callers done with each frame when their callback returns: a frame
   * handed over is a view into the buffer. Reuse spares a new typed array (off the JS heap, hence
   * dear) every time a chunk ends inside a frame, which is nearly every chunk.
   */
  readonly #reuse: boolean;
  /** The unfinished frame: its first `#pendingLength` bytes. */
  #pending: Uint8Array = EMPTY;
  #pendingLength = 0;

  constructor(options: FrameParserOptions, reuse: boolean) {
    this.delimiter = toDelimiter(options.delimiter);
    this.maxFrameSize = toMaxFrameSize(options.maxFrameSize);
    this.#reuse = reuse;
  }

  get bufferedBytes(): number {
    return this.#pendingLength;
  }

  /**
   * Calls `onRun` for each run of complete frames in `chunk`, in order. A run holds one or more
   * frames separated by the delimiter, without a trailing delimiter. `single` is true when the run
   * is known to be exactly one frame whose size is already checked.
   */
  push(chunk: Uint8Array, onRun: (run: Uint8Array, single: boolean) => void): void {
    let rest = chunk;
    if (this.#pendingLength > 0) {
      const end = this.#endOfPendingFrame(chunk);
      if (end === undefined) {
        this.#keep(chunk);
        return;
      }
      const frame = this.#takePending(chunk.subarray(0, Math.max(0, end.inChunk)), end.trimPending);
      this.checkFrameSize(frame);
      onRun(frame, true);
      rest = chunk.subarray(end.inChunk + this.delimiter.bytes.length);
    }
    const last = lastIndexOfBytes(rest, this.delimiter.bytes);
    if (last === -1) {
      this.#keep(rest);
      return;
    }
    onRun(rest.subarray(0, last), false);
    this.#keep(rest.subarray(last + this.delimiter.bytes.length));
  }

  /** Throws `ERR_IPC_TRUNCATED_FRAME` if an unfinished frame is buffered; call at end of input. */
  end(): void {
    if (this.#pendingLength === 0) return;
    const tail = this.#takePending(EMPTY, 0);
    throw new IpcError(
      "ERR_IPC_TRUNCATED_FRAME",
      `input ended inside a frame: ${tail.byteLength} bytes after the last delimiter`,
      { excerpt: excerptOf(tail) },
    );
  }

  /** Where the first frame of `run` (see {@link FrameBuffer.push}) over the bound lies, if one is. */
  firstOversizedFrame(run: Uint8Array): { start: number; end: number } | undefined {
    const delimiter = this.delimiter.bytes;
    for (let start = 0; ; ) {
      const found = indexOfBytes(run, delimiter, start);
      const end = found === -1 ? run.length : found;
      if (end - start > this.maxFrameSize) return { start, end };
      if (found === -1) return undefined;
      start = found + delimiter.length;
    }
  }

  /** Throws `ERR_IPC_FRAME_TOO_LARGE` if one frame is over the bound. */
  checkFrameSize(frame: Uint8Array): void {
    if (frame.byteLength > this.maxFrameSize) throw this.#tooLarge(frame, String(frame.byteLength));
  }

  /**
   * Where the buffered frame ends: the delimiter's index in `chunk` (negative when the delimiter
   * began inside the buffered bytes) and how many buffered bytes belong to the delimiter.
   */
  #endOfPendingFrame(chunk: Uint8Array): { inChunk: number; trimPending: number } | undefined {
    const delimiter = this.delimiter.bytes;
    // A multi-byte delimiter may have started in the buffered bytes; the earliest start wins.
    for (let inPending = delimiter.length - 1; inPending > 0; inPending--) {
      if (this.#pendingEndsWith(delimiter.subarray(0, inPending)) && startsWith(chunk, delimiter.subarray(inPending))) {
        return { inChunk: -inPending, trimPending: inPending };
      }
    }
    const at = indexOfBytes(chunk, delimiter);
    return at === -1 ? undefined : { inChunk: at, trimPending: 0 };
  }

  #pendingEndsWith(bytes: Uint8Array): boolean {
    const start = this.#pendingLength - bytes.length;
    if (start < 0) return false;
    for (let i = 0; i < bytes.length; i++) if (this.#pending[start + i] !== bytes[i]) return false;
    return true;
  }

  /**
   * Keeps an unfinished frame (copied: the caller may reuse its chunk). The bound is checked
   * before copying, so the buffer never holds more than `maxFrameSize` plus all but one byte of a
   * multi-byte delimiter.
   */
  #keep(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    const pendingLength = this.#pendingLength + bytes.byteLength;
    // The buffered bytes may end with all but one byte of a multi-byte delimiter.
    const frameAtLeast = pendingLength - (this.delimiter.bytes.length - 1);
    if (frameAtLeast > this.maxFrameSize) {
      const head = this.#pendingLength > 0 ? this.#pending.subarray(0, this.#pendingLength) : bytes;
      throw this.#tooLarge(head, `at least ${frameAtLeast}`, " before its delimiter arrived");
    }
    this.#reserve(pendingLength);
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = pendingLength;
  }

  /**
   * Makes room for `length` buffered bytes: double the room (so copies stay linear), but no more
   * than the largest unfinished frame the bound allows, unless `length` itself needs more.
   */
  #reserve(length: number): void {
    if (length <= this.#pending.byteLength) return;
    const most = this.maxFrameSize + this.delimiter.bytes.length - 1;
    const grown = new Uint8Array(Math.max(length, Math.min(2 * this.#pending.byteLength, most)));
    grown.set(this.#pending.subarray(0, this.#pendingLength));
    this.#pending = grown;
  }

  /**
   * The buffered bytes (less `trim` bytes at the end) followed by `head`, as a frame of its own;
   * empties the buffer (the frame is a view into it, valid until the next push when reused).
   */
  #takePending(head: Uint8Array, trim: number): Uint8Array {
    const kept = this.#pendingLength - trim;
    const length = kept + head.byteLength;
    this.#pendingLength = kept;
    this.#reserve(length);
    this.#pending.set(head, kept);
    const frame = this.#pending.subarray(0, length);
    if (!this.#reuse || this.#pending.byteLength > REUSED_BUFFER_BYTES) this.#pending = EMPTY;
    this.#pendingLength = 0;
    return frame;
  }

  #tooLarge(start: Uint8Array, size: string, when = ""): IpcError {
    return new IpcError(
      "ERR_IPC_FRAME_TOO_LARGE",
      `frame of ${size} bytes exceeds maxFrameSize (${this.maxFrameSize} bytes)${when}`,
      { limit: this.maxFrameSize, excerpt: excerptOf(start) },
    );
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/**
 * Calls `onFrame` for each frame of a run (see {@link FrameBuffer.push}), checking each size.
 */
function eachFrame(buffer: FrameBuffer, run: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
  const delimiter = buffer.delimiter.bytes;
  let start = 0;
  for (;;) {
    const end = indexOfBytes(run, delimiter, start);
    const frame = run.subarray(start, end === -1 ? run.length : end);
    buffer.checkFrameSize(frame);
    onFrame(frame);
    if (end === -1) return;
    start = end + delimiter.length;
  }
}

/**
 * The non-stream frame splitter: bytes in, complete frames out, whatever the chunking.
 *
 * Each complete frame is handed over as soon as its delimiter arrives. Frames are views into the
 * pushed chunk when they lie inside it, fresh copies when they span chunks. After it throws, a
 * parser must be discarded.
 *
 * @example
 * ```ts
 * import { FrameParser } from "ipc-streams";
 *
 * const parser = new FrameParser({ delimiter: "\n" });
 * const frames: string[] = [];
 * const text = (frame: Uint8Array) => frames.push(new TextDecoder().decode(frame));
 * parser.push(new TextEncoder().encode("one\ntw"), text);
 * parser.push(new TextEncoder().encode("o\n"), text);
 * parser.end();
 * // frames: ["one", "two"]
 * ```
 */
export class FrameParser {
  readonly #buffer: FrameBuffer;

  /**
   * Takes its delimiter and size bound from `options`; each one has a default.
   *
   * @param options delimiter and size bound; see {@link FrameParserOptions}
   */
  constructor(options: FrameParserOptions = {}) {
    // Frames are handed to the caller, who may keep them: each gets a buffer of its own.
    this.#buffer = new FrameBuffer(options, false);
  }

  /** Bytes of the unfinished frame held back until its delimiter arrives. */
  get bufferedBytes(): number {
    return this.#buffer.bufferedBytes;
  }

  /**
   * Feeds bytes; calls `onFrame` for each frame they complete. Throws an `IpcError` with code
   * `ERR_IPC_FRAME_TOO_LARGE` when a frame exceeds `maxFrameSize`.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    this.#buffer.push(chunk, (run, single) => {
      if (single) onFrame(run);
      else eachFrame(this.#buffer, run, onFrame);
    });
  }

  /** Declares the end of input. Throws `ERR_IPC_TRUNCATED_FRAME` if a frame was left unfinished. */
  end(): void {
    this.#buffer.end();
  }
}

// The decoders are shared by every parser: each call decodes whole frames, so none keeps state
// between calls, and a connection does not pay for decoders of its own.
/** Replaces invalid UTF-8 with U+FFFD; the fast path, since fatal decoding is slower on some runtimes. */
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
/** Throws on invalid UTF-8; consulted only when a decoded text holds U+FFFD. */
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The non-stream JSON frame parser: bytes in, parsed JSON values out. This is the hot path of
 * every framed connection, usable directly where stream overhead is unwanted.
 *
 * Text is decoded strictly as UTF-8 from complete frames only, so a character split across chunks
 * is intact and invalid UTF-8 is an error (`ERR_IPC_INVALID_UTF8`) rather than silently replaced.
 * Malformed JSON, an empty frame included, throws `ERR_IPC_INVALID_JSON`. After it throws, a
 * parser must be discarded.
 *
 * @typeParam T the type the caller expects values to have (not checked)
 * @example
 * ```ts
 * import { JsonFrameParser } from "ipc-streams";
 *
 * const parser = new JsonFrameParser();
 * parser.push(new TextEncoder().encode('{"type":"hello","data":1}\f'), (value) => {
 *   console.log(value); // { type: "hello", data: 1 }
 * });
 * ```
 */
export class JsonFrameParser<T = unknown> {
  readonly #buffer: FrameBuffer;

  /**
   * Takes its delimiter and size bound from `options`; each one has a default.
   *
   * @param options delimiter and size bound; see {@link FrameParserOptions}
   */
  constructor(options: FrameParserOptions = {}) {
    // Frames are decoded before the callback sees a value, so the buffer can be reused.
    this.#buffer = new FrameBuffer(options, true);
  }

  /** Bytes of the unfinished frame held back until its delimiter arrives. */
  get bufferedBytes(): number {
    return this.#buffer.bufferedBytes;
  }

  /** Feeds bytes; calls `onValue` with each value they complete, in order. */
  push(chunk: Uint8Array, onValue: (value: T) => void): void {
    this.#buffer.push(chunk, (run, single) => {
      if (single || run.byteLength <= this.#buffer.maxFrameSize) {
        this.#parseRun(run, onValue);
        return;
      }
      // A run longer than the bound: parse the frames before the first oversized one, if any.
      const oversized = this.#buffer.firstOversizedFrame(run);
      if (oversized === undefined) {
        this.#parseRun(run, onValue);
        return;
      }
      if (oversized.start > 0)
        this.#parseRun(run.subarray(0, oversized.start - this.#buffer.delimiter.bytes.length), onValue);
      this.#buffer.checkFrameSize(run.subarray(oversized.start, oversized.end));
    });
  }

  /** Declares the end of input. Throws `ERR_IPC_TRUNCATED_FRAME` if a frame was left unfinished. */
  end(): void {
    this.#buffer.end();
  }

  /** Decodes a run of whole frames as one text (its edges are frame edges) and parses each frame. */
  #parseRun(run: Uint8Array, onValue: (value: T) => void): void {
    const text = lenientDecoder.decode(run);
    // Invalid UTF-8 always decodes to U+FFFD, so text without it is valid; text with it is checked
    // strictly (the input may hold a real U+FFFD).
    if (text.includes("\uFFFD") && !this.#isUtf8(run)) {
      // Some frame is not UTF-8: go frame by frame so that the frames before it are delivered and
      // the error names the bad one (a valid delimiter cannot hide or cause invalid UTF-8 at a
      // frame edge, so the run is valid exactly when each of its frames is).
      eachFrame(this.#buffer, run, (frame) => onValue(parseFrame(this.#decodeOrThrow(frame)) as T));
      return;
    }
    // One native split is cheaper than a search and a slice per frame (most of all on Deno).
    for (const frame of text.split(this.#buffer.delimiter.text)) onValue(parseFrame(frame) as T);
  }

  #isUtf8(bytes: Uint8Array): boolean {
    try {
      strictDecoder.decode(bytes);
      return true;
    } catch {
      return false;
    }
  }

  #decodeOrThrow(frame: Uint8Array): string {
    try {
      return strictDecoder.decode(frame);
    } catch (cause) {
      throw new IpcError("ERR_IPC_INVALID_UTF8", "frame is not valid UTF-8", {
        excerpt: excerptOf(frame),
        cause,
      });
    }
  }
}

function parseFrame(frame: string): unknown {
  try {
    return JSON.parse(frame);
  } catch (cause) {
    const what = frame.length === 0 ? "empty frame" : "frame is not valid JSON";
    throw new IpcError("ERR_IPC_INVALID_JSON", `${what}: ${excerptOf(frame)}`, { excerpt: excerptOf(frame), cause });
  }
}
