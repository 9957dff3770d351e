/**
 * ipc-streams: inter-process communication over Unix sockets, TCP, TLS and UDP as WHATWG web
 * streams, speaking node-ipc's wire protocol, on Node, Bun and Deno.
 *
 * This entry holds everything that does not depend on a runtime: the codec (frame and JSON
 * parsers and streams), node-ipc's event envelope, connections and servers, errors, path rules and
 * the runtime contract. The runtime entries (`ipc-streams`, resolved per runtime, or
 * `ipc-streams/node`, `/bun`, `/deno`) add `serve()`, `connect()` and `reconnect()` on top of it,
 * made by {@link createApi} from their adapter.
 *
 * @module
 */

export type { CodecOptions } from "./codec/codec.ts";
export { DEFAULT_DELIMITER, DEFAULT_MAX_FRAME_SIZE } from "./codec/delimiter.ts";
export {
  type EventOf,
  type EventValidationOptions,
  EventValidator,
  event,
  type IpcEvent,
  isEvent,
  RESERVED_EVENT_TYPES,
} from "./codec/event.ts";
export { FrameEncoder, type FrameEncoderOptions, JsonFrameEncoder } from "./codec/frame-encoder.ts";
export { FrameParser, type FrameParserOptions, JsonFrameParser } from "./codec/frame-parser.ts";
export {
  FrameDecoderStream,
  type FrameDecoderStreamOptions,
  FrameEncoderStream,
  type FrameEncoderStreamOptions,
} from "./codec/frame-streams.ts";
export {
  JsonFrameDecoderStream,
  type JsonFrameDecoderStreamOptions,
  JsonFrameEncoderStream,
  type JsonFrameEncoderStreamOptions,
} from "./codec/json-streams.ts";
export {
  type Api,
  type Bytes,
  type ConnectFunction,
  type ConnectionOptions,
  type ConnectOptions,
  createApi,
  DEFAULT_CONNECT_TIMEOUT,
  type ServeFunction,
  type ServeOptions,
} from "./connection/api.ts";
export { Connection, type EmitData, type EmitType } from "./connection/connection.ts";
export {
  type BackoffOptions,
  DEFAULT_RETRY,
  type ReconnectFunction,
  type ReconnectOptions,
} from "./connection/reconnect.ts";
export { DEFAULT_MAX_CONNECTIONS, type NetworkServerAddress, Server, type ServerAddress } from "./connection/server.ts";
export { IpcError, type IpcErrorCode, type IpcErrorDetails } from "./errors.ts";
export { DEFAULT_HOST, type NetworkOptions, type Pem, type TlsOptions } from "./net/options.ts";
export { DEFAULT_HALF_OPEN_TIMEOUT } from "./transport/channel.ts";
export type {
  Address,
  DatagramEvents,
  DatagramSocket,
  FileSystem,
  Listener,
  PathInfo,
  PeerCertificate,
  RemoteAddress,
  Runtime,
  SocketEvents,
  SocketRootEnvironment,
  TcpAddress,
  TlsAddress,
  TlsInfo,
  TlsSettings,
  TransportSocket,
  UdpAddress,
  UnixAddress,
} from "./transport/contract.ts";
export { MAX_UDP4_PAYLOAD, MAX_UDP6_PAYLOAD } from "./transport/datagram.ts";
export {
  DEFAULT_APPSPACE,
  LEGACY_SOCKET_ROOT,
  type SocketPathOptions,
  secureSocketRoot,
  socketPath,
} from "./unix/paths.ts";
export { windowsPipeName } from "./unix/windows-pipe.ts";
