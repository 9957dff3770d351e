/**
 * ipc-streams: inter-process communication over Unix sockets as WHATWG web streams, speaking
 * node-ipc's wire protocol, on Node, Bun and Deno.
 *
 * This entry holds everything that does not depend on a runtime: the codec (frame and JSON
 * parsers and streams), node-ipc's event envelope, errors, path rules and the types. The runtime
 * entries (`ipc-streams`, resolved per runtime, or `ipc-streams/node`, `/bun`, `/deno`) add
 * `serve()` and `connect()` on top of it.
 *
 * @module
 */

export type { Bytes, ConnectFunction, ConnectOptions, ServeFunction, ServeOptions } from "./api.ts";
export type { CodecOptions } from "./codec.ts";
export { Connection, type EmitData, type EmitType } from "./connection.ts";
export { DEFAULT_DELIMITER, DEFAULT_MAX_FRAME_SIZE } from "./delimiter.ts";
export { IpcError, type IpcErrorCode, type IpcErrorDetails } from "./errors.ts";
export {
  type EventOf,
  type EventValidationOptions,
  EventValidator,
  event,
  type IpcEvent,
  isEvent,
  RESERVED_EVENT_TYPES,
} from "./event.ts";
export { FrameEncoder, type FrameEncoderOptions, JsonFrameEncoder } from "./frame-encoder.ts";
export { FrameParser, type FrameParserOptions, JsonFrameParser } from "./frame-parser.ts";
export {
  FrameDecoderStream,
  type FrameDecoderStreamOptions,
  FrameEncoderStream,
  type FrameEncoderStreamOptions,
} from "./frame-streams.ts";
export {
  JsonFrameDecoderStream,
  type JsonFrameDecoderStreamOptions,
  JsonFrameEncoderStream,
  type JsonFrameEncoderStreamOptions,
} from "./json-streams.ts";
export {
  DEFAULT_APPSPACE,
  LEGACY_SOCKET_ROOT,
  type SocketPathOptions,
  secureSocketRoot,
  socketPath,
} from "./paths.ts";
export type { ByteChannel, PathInfo, Runtime, SocketListener, SocketRootEnvironment } from "./runtime.ts";
export { DEFAULT_MAX_CONNECTIONS, Server } from "./server.ts";
