import { IpcError } from "../errors.ts";
import { toDelimiter, toMaxFrameSize } from "./delimiter.ts";
import { type EventValidationOptions, EventValidator, type IpcEvent } from "./event.ts";
import { JsonFrameEncoder } from "./frame-encoder.ts";
import { type FrameParserOptions, JsonFrameParser } from "./frame-parser.ts";

/**
 * How messages are carried on a connection.
 *
 * @example
 * ```ts
 * import { type CodecOptions, connect } from "ipc-streams";
 *
 * const codec: CodecOptions = { delimiter: "\n", maxFrameSize: 4096, validate: { allowedTypes: ["ping", "pong"] } };
 * const connection = await connect({ id: "world", ...codec });
 * ```
 */
export interface CodecOptions extends FrameParserOptions {
  /**
   * Raw mode: messages are the bytes themselves, passed through untouched, with no framing and
   * no JSON (node-ipc's `rawBuffer: true`). Chunk boundaries are whatever the OS delivers.
   * `delimiter`, `maxFrameSize` and `validate` do not apply.
   * @default false
   */
  readonly raw?: boolean;
  /**
   * Checks every message sent and received as a `{type, data}` event, like node-ipc 14's guarded
   * profile (`true`) or with your own limits and allow-list. A bad incoming message errors the
   * connection; a bad outgoing one is refused before anything is written.
   * @default false (any JSON value passes)
   */
  readonly validate?: boolean | EventValidationOptions;
}

/** Turns bytes into messages and back; one per connection. */
export interface MessageCodec {
  /**
   * How many received bytes to decode at a time (see `Connection`): a framed codec takes a few
   * KiB, so that a big read does not turn into hundreds of decoded messages waiting at once; raw
   * mode passes chunks on whole.
   */
  readonly bytesPerPush: number;
  /** Feeds received bytes; calls `onMessage` for each message completed. */
  push(chunk: Uint8Array<ArrayBuffer>, onMessage: (message: unknown) => void): void;
  /** The input ended; throws if it ended inside a message. */
  end(): void;
  /**
   * The frame for one outgoing message, as bytes or as text to send UTF-8 encoded; throws
   * (without side effects) if it cannot be sent.
   */
  encode(message: unknown): Uint8Array | string;
  /** The frame for one outgoing event. */
  encodeEvent(event: IpcEvent): Uint8Array | string;
}

/**
 * Creates the codec a connection's options ask for.
 * @param datagramSize on UDP, the largest datagram: no frame (delimiter included) or raw chunk
 *   may be bigger, in either direction
 */
export function createCodec(options: CodecOptions, datagramSize = Number.POSITIVE_INFINITY): MessageCodec {
  if (options.raw) return rawCodec(datagramSize);
  if (datagramSize === Number.POSITIVE_INFINITY) return jsonCodec(options);
  const fit = datagramSize - toDelimiter(options.delimiter).bytes.byteLength;
  return jsonCodec({ ...options, maxFrameSize: Math.min(toMaxFrameSize(options.maxFrameSize), fit) });
}

/**
 * Bytes a framed codec decodes at a time: a large read is decoded in slices, so that the messages
 * waiting in the readable's queue stay few and memory follows what the consumer reads.
 */
const FRAMED_BYTES_PER_PUSH = 4 * 1024;

function rawCodec(maxChunkSize: number): MessageCodec {
  return {
    bytesPerPush: Number.POSITIVE_INFINITY,
    push(chunk, onMessage) {
      onMessage(chunk);
    },
    end() {},
    encode(message) {
      if (!(message instanceof Uint8Array)) {
        throw new IpcError("ERR_IPC_INVALID_PAYLOAD", "a raw connection writes Uint8Array chunks only");
      }
      if (message.byteLength > maxChunkSize) {
        throw new IpcError(
          "ERR_IPC_FRAME_TOO_LARGE",
          `a chunk of ${message.byteLength} bytes does not fit one datagram (${maxChunkSize} bytes)`,
          { limit: maxChunkSize },
        );
      }
      return message;
    },
    encodeEvent() {
      throw new IpcError("ERR_IPC_INVALID_OPTION", "emit and broadcast(type, data) need framed mode, not raw");
    },
  };
}

function jsonCodec(options: CodecOptions): MessageCodec {
  const { validate } = options;
  if (validate !== undefined && typeof validate !== "boolean" && (typeof validate !== "object" || validate === null)) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "validate must be true, false or an EventValidationOptions object");
  }
  const validator =
    validate === undefined || validate === false ? undefined : new EventValidator(validate === true ? {} : validate);
  return new JsonCodec(options, validator);
}

/** A class rather than closures: every connection has a codec, and a server holds thousands. */
class JsonCodec implements MessageCodec {
  readonly bytesPerPush = FRAMED_BYTES_PER_PUSH;
  readonly #parser: JsonFrameParser;
  readonly #encoder: JsonFrameEncoder;
  readonly #validator: EventValidator | undefined;

  constructor(options: CodecOptions, validator: EventValidator | undefined) {
    this.#parser = new JsonFrameParser(options);
    this.#encoder = new JsonFrameEncoder(options);
    this.#validator = validator;
  }

  push(chunk: Uint8Array<ArrayBuffer>, onMessage: (message: unknown) => void): void {
    const validator = this.#validator;
    if (validator === undefined) this.#parser.push(chunk, onMessage);
    else this.#parser.push(chunk, (value) => onMessage(validator.validate(value)));
  }

  end(): void {
    this.#parser.end();
  }

  encode(message: unknown): string {
    this.#validator?.validate(message);
    return this.#encoder.encodeText(message);
  }

  encodeEvent(event: IpcEvent): string {
    return this.encode(event);
  }
}
