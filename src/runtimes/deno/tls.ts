import type { Socket } from "node:net";

/** The parts of a Deno `node:tls` socket's handle (its Rust TLSWrap) that the repair below uses. */
interface TlsWrapHandle {
  readStart(): number;
  readStop(): number;
  /** The TCP handle under the TLS layer; absent when TLS runs over a JavaScript stream. */
  readonly _nativeTcpHandle?: { readStart(): number; readStop(): number };
}

/**
 * Makes a Deno `node:tls` socket pause as Node's does. Deno's `pause()` only detaches the TLS
 * layer's reader: the TCP socket is still read (so a slow reader never holds its sender back),
 * and an end that arrives while detached can be lost when reading resumes. Here pausing stops the
 * TCP socket instead and the TLS layer's reader stays attached. Called once the handshake is
 * done; a socket whose handle does not look as expected is left alone.
 */
export function pauseDenoTlsLikeNode(socket: Socket): void {
  const handle = (socket as unknown as { _handle?: Partial<TlsWrapHandle> })._handle;
  const tcp = handle?._nativeTcpHandle;
  if (
    handle === undefined ||
    typeof handle.readStart !== "function" ||
    typeof handle.readStop !== "function" ||
    typeof tcp?.readStart !== "function" ||
    typeof tcp.readStop !== "function"
  ) {
    return;
  }
  const readStart = handle.readStart;
  let stopped = false;
  handle.readStop = () => {
    if (!stopped) {
      stopped = true;
      tcp.readStop();
    }
    return 0;
  };
  handle.readStart = function (this: TlsWrapHandle) {
    if (stopped) {
      stopped = false;
      tcp.readStart();
    }
    return readStart.call(this);
  };
}
