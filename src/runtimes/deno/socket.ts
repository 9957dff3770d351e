import { IpcError } from "../../errors.ts";
import { describeAddress, pathOf } from "../../transport/address.ts";
import type { Address, SocketEvents, TransportSocket } from "../../transport/contract.ts";

/** Bytes asked of the OS per read while data keeps coming, and while the socket is quiet. */
const LARGE_READ = 64 * 1024;
const SMALL_READ = 1024;
/** Text up to this many UTF-16 units is encoded into a pooled buffer (3 bytes per unit at most). */
const POOLED_TEXT = 16 * 1024;
const POOLED_BYTES = POOLED_TEXT * 3;
const POOL_BUFFERS = 8;

const textEncoder = new TextEncoder();
const spareBuffers: Uint8Array[] = [];

/**
 * A connected Deno socket as a {@link TransportSocket}, on `conn.read()`, `conn.write()` and
 * `conn.closeWrite()` (never `conn.readable`/`conn.writable`, which close the whole socket on
 * half-close). Reading is a loop that runs while the channel wants data; each read asks for 1 KiB
 * while the socket is quiet, so an idle connection's pending read holds little, and for 64 KiB
 * once a read came back full. Every chunk handed out is fresh.
 */
export function denoSocket(conn: Deno.Conn, address: Address): TransportSocket {
  const path = pathOf(address);
  const name = describeAddress(address);
  const remote = conn.remoteAddr;
  if (remote.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
  let events: SocketEvents | undefined;
  let paused = true;
  let reading = false;
  let readEnded = false;
  let isClosed = false;
  let failure: IpcError | undefined;
  let readSize = SMALL_READ;
  let buffer: Uint8Array<ArrayBuffer> | undefined;

  const close = () => {
    if (isClosed) return;
    isClosed = true;
    try {
      conn.close();
    } catch {
      // Already closed by Deno: nothing left to release.
    }
    events?.onClose(failure);
  };

  /** Records why the socket broke, and releases it. */
  const broke = (error: unknown, action: string): IpcError => {
    failure ??= toIpcError(error, path, name, action);
    close();
    return failure;
  };

  const readLoop = async () => {
    reading = true;
    try {
      while (!paused && !isClosed && !readEnded) {
        buffer ??= new Uint8Array(readSize);
        const count = await conn.read(buffer);
        if (isClosed) return;
        if (count === null) {
          readEnded = true;
          events?.onEnd();
          return;
        }
        if (count === 0) continue;
        const full = count === buffer.byteLength;
        // A mostly full buffer is handed out as is; a small read is copied and the buffer kept.
        let chunk: Uint8Array<ArrayBuffer>;
        if (count > buffer.byteLength / 2) {
          chunk = buffer.subarray(0, count);
          buffer = undefined;
        } else chunk = buffer.slice(0, count);
        const next = full ? LARGE_READ : SMALL_READ;
        if (next !== readSize) {
          readSize = next;
          buffer = undefined;
        }
        events?.onData(chunk);
      }
    } catch (error) {
      if (!isClosed) broke(error, "read from");
    } finally {
      reading = false;
    }
  };

  /** Writes every byte; `spare` is the pooled buffer `bytes` lies in, given back afterwards. */
  const writeAll = async (bytes: Uint8Array, spare?: Uint8Array) => {
    try {
      let view = bytes;
      do {
        const count = await conn.write(view);
        view = view.subarray(count);
      } while (view.byteLength > 0);
    } catch (error) {
      throw broke(error, "write to");
    } finally {
      if (spare !== undefined && spareBuffers.length < POOL_BUFFERS) spareBuffers.push(spare);
    }
  };

  return {
    ...(remote.transport === "tcp" && { remoteAddress: { host: remote.hostname, port: remote.port } }),
    open(reportTo) {
      events = reportTo;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      if (!reading) void readLoop();
    },
    write(data) {
      if (isClosed) throw failure ?? new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing", { path });
      if (typeof data !== "string") return writeAll(data);
      if (data.length > POOLED_TEXT) return writeAll(textEncoder.encode(data));
      const spare = spareBuffers.pop() ?? new Uint8Array(POOLED_BYTES);
      const { written } = textEncoder.encodeInto(data, spare);
      return writeAll(spare.subarray(0, written), spare);
    },
    async shutdown() {
      if (isClosed) return;
      try {
        await conn.closeWrite();
      } catch (error) {
        if (!isClosed) throw broke(error, "end writing to");
      }
    },
    close,
  };
}

/** A Deno I/O error as an `IpcError`: a broken pipe means the peer is gone. */
function toIpcError(error: unknown, path: string | undefined, name: string, action: string): IpcError {
  const details = { path, cause: error };
  const description = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.BadResource) {
    return new IpcError("ERR_IPC_CLOSED", `cannot ${action} ${name}: the peer is gone (${description})`, details);
  }
  return new IpcError("ERR_IPC_CONNECTION_RESET", `cannot ${action} ${name}: ${description}`, details);
}
