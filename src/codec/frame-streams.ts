import { FrameEncoder, type FrameEncoderOptions } from "./frame-encoder.ts";
import { FrameParser, type FrameParserOptions } from "./frame-parser.ts";

/**
 * Options of {@link FrameDecoderStream}: the delimiter and the size bound.
 *
 * @example
 * ```ts
 * import { FrameDecoderStream } from "ipc-streams";
 *
 * new FrameDecoderStream({ delimiter: "\n", maxFrameSize: 4096 }); // lines of at most 4 KiB
 * ```
 */
export type FrameDecoderStreamOptions = FrameParserOptions;

/**
 * Options of {@link FrameEncoderStream}: the delimiter and the size bound.
 *
 * @example
 * ```ts
 * import { FrameEncoderStream } from "ipc-streams";
 *
 * new FrameEncoderStream({ delimiter: "\n" }); // one line per chunk
 * ```
 */
export type FrameEncoderStreamOptions = FrameEncoderOptions;

/**
 * Splits a byte stream into frames at a delimiter (default node-ipc's `"\f"`), whatever the
 * chunking. Each frame is emitted as soon as its delimiter arrives, without the delimiter. The
 * stream errors with an `IpcError`: `ERR_IPC_FRAME_TOO_LARGE` when a frame exceeds
 * `maxFrameSize`, `ERR_IPC_TRUNCATED_FRAME` when the input ends inside a frame.
 *
 * @example
 * ```ts
 * import { FrameDecoderStream } from "ipc-streams";
 *
 * const frames = ReadableStream.from([new TextEncoder().encode("a\nb\n")])
 *   .pipeThrough(new FrameDecoderStream({ delimiter: "\n" }));
 * for await (const frame of frames) console.log(new TextDecoder().decode(frame)); // "a", then "b"
 * ```
 */
export class FrameDecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Takes its delimiter and size bound from `options`; each one has a default.
   *
   * @param options delimiter and size bound; see {@link FrameParserOptions}
   */
  constructor(options: FrameDecoderStreamOptions = {}) {
    const parser = new FrameParser(options);
    super({
      transform(chunk, controller) {
        parser.push(chunk, (frame) => controller.enqueue(frame));
      },
      flush() {
        parser.end();
      },
    });
  }
}

/**
 * Writes each chunk as one frame: the chunk followed by the delimiter. A chunk that contains the
 * delimiter errors the stream with `ERR_IPC_INVALID_PAYLOAD`; one over `maxFrameSize` with
 * `ERR_IPC_FRAME_TOO_LARGE`.
 *
 * @example
 * ```ts
 * import { FrameEncoderStream } from "ipc-streams";
 *
 * const framed = ReadableStream.from(["a", "b"])
 *   .pipeThrough(new TextEncoderStream())
 *   .pipeThrough(new FrameEncoderStream({ delimiter: "\n" }));
 * // bytes: "a\nb\n"
 * ```
 */
export class FrameEncoderStream extends TransformStream<Uint8Array, Uint8Array<ArrayBuffer>> {
  /**
   * Takes its delimiter and size bound from `options`; each one has a default.
   *
   * @param options delimiter and size bound; see {@link FrameEncoderOptions}
   */
  constructor(options: FrameEncoderStreamOptions = {}) {
    const encoder = new FrameEncoder(options);
    super({
      transform(chunk, controller) {
        controller.enqueue(encoder.encode(chunk));
      },
    });
  }
}
