import { type FrameEncoderOptions, JsonFrameEncoder } from "./frame-encoder.ts";
import { type FrameParserOptions, JsonFrameParser } from "./frame-parser.ts";

/**
 * Options of {@link JsonFrameDecoderStream}: the delimiter and the size bound.
 *
 * @example
 * ```ts
 * import { JsonFrameDecoderStream } from "ipc-streams";
 *
 * new JsonFrameDecoderStream({ delimiter: "\n" }); // newline-delimited JSON (NDJSON)
 * ```
 */
export type JsonFrameDecoderStreamOptions = FrameParserOptions;

/**
 * Options of {@link JsonFrameEncoderStream}: the delimiter and the size bound.
 *
 * @example
 * ```ts
 * import { JsonFrameEncoderStream } from "ipc-streams";
 *
 * new JsonFrameEncoderStream({ maxFrameSize: 64 * 1024 }); // refuse values over 64 KiB
 * ```
 */
export type JsonFrameEncoderStreamOptions = FrameEncoderOptions;

/**
 * Turns a byte stream of delimited JSON frames (node-ipc's wire format) into the values they
 * hold, one value per chunk. Works on any byte stream: a socket, a child process's stdout, a file.
 *
 * The stream errors with an `IpcError` on bad input: `ERR_IPC_INVALID_JSON`,
 * `ERR_IPC_INVALID_UTF8`, `ERR_IPC_FRAME_TOO_LARGE` (checked before the delimiter arrives) and
 * `ERR_IPC_TRUNCATED_FRAME` (input ended inside a frame). As with any web stream, values decoded
 * but not yet read when it errors are dropped (a read already waiting still gets its value);
 * {@link JsonFrameParser} hands over every value before the bad frame.
 *
 * @typeParam T the type the caller expects values to have (not checked)
 * @example
 * ```ts
 * import { spawn } from "node:child_process";
 * import { JsonFrameDecoderStream } from "ipc-streams";
 *
 * const child = spawn("node", ["producer.js"]);
 * const messages = ReadableStream.from<Uint8Array>(child.stdout)
 *   .pipeThrough(new JsonFrameDecoderStream<{ type: string; data: unknown }>());
 * for await (const message of messages) console.log(message.type, message.data);
 * ```
 */
export class JsonFrameDecoderStream<T = unknown> extends TransformStream<Uint8Array, T> {
  /**
   * Takes its delimiter and size bound from `options`; each one has a default.
   *
   * @param options delimiter and size bound; see {@link FrameParserOptions}
   */
  constructor(options: JsonFrameDecoderStreamOptions = {}) {
    const parser = new JsonFrameParser<T>(options);
    super({
      transform(chunk, controller) {
        parser.push(chunk, (value) => controller.enqueue(value));
      },
      flush() {
        parser.end();
      },
    });
  }
}

/**
 * Turns values into delimited JSON frames, byte-identical to what node-ipc writes for the same
 * `{type, data}` envelope. A value JSON cannot carry errors the stream with
 * `ERR_IPC_INVALID_PAYLOAD`; one over `maxFrameSize` with `ERR_IPC_FRAME_TOO_LARGE`.
 *
 * @typeParam T the type of the values written
 * @example
 * ```ts
 * import { JsonFrameEncoderStream, event } from "ipc-streams";
 *
 * declare const someByteWritable: WritableStream<Uint8Array>;
 * await ReadableStream.from([event("hello", { a: 1 })])
 *   .pipeThrough(new JsonFrameEncoderStream())
 *   .pipeTo(someByteWritable);
 * ```
 */
export class JsonFrameEncoderStream<T = unknown> extends TransformStream<T, Uint8Array<ArrayBuffer>> {
  /**
   * Takes its delimiter and size bound from `options`; each one has a default.
   *
   * @param options delimiter and size bound; see {@link FrameEncoderOptions}
   */
  constructor(options: JsonFrameEncoderStreamOptions = {}) {
    const encoder = new JsonFrameEncoder(options);
    super({
      transform(value, controller) {
        controller.enqueue(encoder.encode(value));
      },
    });
  }
}
