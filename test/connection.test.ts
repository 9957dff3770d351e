/**
 * `Connection` over a scripted channel: how it reacts to what an adapter reports, independent of
 * any socket. Runtime-free; runs unchanged on Node, Bun and Deno.
 */
import { describe, expect, test } from "vitest";
import { Connection, IpcError } from "../src/index.ts";
import { Channel } from "../src/transport/channel.ts";
import type { SocketEvents, TransportSocket } from "../src/transport/contract.ts";
import { until } from "./fixtures/sockets.ts";
import { runtimeName } from "./runtime.ts";

/** A connection over a scripted socket (ticks end on a zero-delay timer, like the runtimes' nextTick). */
function connectionOver(socket: TransportSocket): Connection {
  const afterTick = (callback: () => void) => void Promise.resolve().then(() => setTimeout(callback, 0));
  return new Connection(
    new Channel(socket, { path: "/scripted", afterTick, halfOpenTimeout: Infinity, probeOnEnd: true }),
    {
      path: "/scripted",
      remoteAddress: undefined,
      tls: undefined,
    },
  );
}

/** A scripted socket: `write` as given, nothing ever received; `close()` reports it closed. */
function scriptedSocket(write: TransportSocket["write"]): TransportSocket {
  let events: SocketEvents | undefined;
  return {
    open: (reportTo) => {
      events = reportTo;
    },
    pause: () => {},
    resume: () => {},
    write,
    shutdown: () => Promise.resolve(),
    close: () => events?.onClose(),
  };
}

const textOf = (data: Uint8Array | string) => (typeof data === "string" ? data : new TextDecoder().decode(data));

/** A socket whose writes fail with `error`; `close()` reports the socket closed. */
function failingWrites(error: IpcError): { socket: TransportSocket; close: () => void } {
  const socket = scriptedSocket(() => {
    throw error;
  });
  return { socket, close: () => socket.close() };
}

/** A socket already gone for writing: every write is refused as closed. */
function closedForWriting(): { socket: TransportSocket; close: () => void } {
  return failingWrites(new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing"));
}

/**
 * A socket that records what is written, as text, and applies backpressure to every write until
 * `release()` is called.
 */
function recording(): { socket: TransportSocket; written: string[]; release: () => void } {
  const written: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const socket = scriptedSocket((data) => {
    written.push(textOf(data));
    return released;
  });
  return { socket, written, release };
}

/** A socket that takes every write at once and records it, as text. */
function takingEverything(): { socket: TransportSocket; written: string[] } {
  const written: string[] = [];
  const socket = scriptedSocket((data) => {
    written.push(textOf(data));
    return undefined;
  });
  return { socket, written };
}

/** A socket whose writes are all taken at once, and that `receive` hands text to as received bytes. */
function receiving(): { socket: TransportSocket; receive: (text: string) => void } {
  let events: SocketEvents | undefined;
  const socket: TransportSocket = {
    open: (reportTo) => {
      events = reportTo;
    },
    pause: () => {},
    resume: () => {},
    write: () => undefined,
    shutdown: () => Promise.resolve(),
    close: () => events?.onClose(),
  };
  return { socket, receive: (text) => events?.onData(new TextEncoder().encode(text)) };
}

const frameOf = (type: string) => `{"type":"${type}","data":{}}\f`;

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
}

describe(`Connection on ${runtimeName}`, () => {
  test("a next() still waiting when its iterator returns settles done; the next iterator gets the message", async () => {
    const { socket, receive } = receiving();
    const connection = connectionOver(socket);
    const first = connection.readable.values({ preventCancel: true });
    const left = first.next();
    await first.return?.();
    const second = connection.readable.values();
    const next = second.next();
    receive(frameOf("m"));
    expect(await next).toEqual({ done: false, value: { type: "m", data: {} } });
    expect(await left).toEqual({ done: true, value: undefined });
    connection.destroy();
    await connection.closed;
  });

  test("a write refused because the socket closed ends writing, not the connection: closed fulfils", async () => {
    const { socket, close } = closedForWriting();
    const connection = connectionOver(socket);
    expect(await codeOf(connection.emit("late", 1))).toBe("ERR_IPC_CLOSED");
    // The writable is errored with the same code, and later sends are refused at once.
    expect(await codeOf(connection.writable.getWriter().write({ type: "later" }))).toBe("ERR_IPC_CLOSED");
    expect(await codeOf(connection.emit("later", 2))).toBe("ERR_IPC_CLOSED");
    close();
    // A peer that went away is a clean end: no failure recorded.
    expect(await codeOf(connection.closed)).toBe(undefined);
  });

  test("a write that breaks the socket tears the connection down: closed rejects with that error", async () => {
    const { socket, close } = failingWrites(new IpcError("ERR_IPC_CONNECTION_RESET", "socket error: ECONNRESET"));
    const connection = connectionOver(socket);
    expect(await codeOf(connection.emit("late", 1))).toBe("ERR_IPC_CONNECTION_RESET");
    close();
    expect(await codeOf(connection.closed)).toBe("ERR_IPC_CONNECTION_RESET");
  });

  test("an emit while writes wait in the writable's queue leaves after them, in order", async () => {
    const { socket, written, release } = recording();
    const connection = connectionOver(socket);
    const writer = connection.writable.getWriter();
    const sent = [
      writer.write({ type: "w1", data: {} }),
      writer.write({ type: "w2", data: {} }),
      connection.emit("e3"),
      writer.write({ type: "w4", data: {} }),
      connection.emit("e5"),
    ];
    // The socket holds everything back after its first write (which may batch several messages).
    await until(() => written.length === 1, "the first write to reach the socket");
    expect(written[0]?.startsWith(frameOf("w1"))).toBe(true);
    release();
    await Promise.all(sent);
    expect(written.join("")).toEqual(["w1", "w2", "e3", "w4", "e5"].map(frameOf).join(""));
  });

  test("100,000 emits held behind one queued write all leave after it, in order", async () => {
    const { socket, written, release } = recording();
    const connection = connectionOver(socket);
    const writer = connection.writable.getWriter();
    const first = writer.write({ type: "w1", data: {} });
    await until(() => written.length === 1, "the first write to reach the socket");
    const second = writer.write({ type: "w2", data: {} });
    const count = 100_000;
    const emits: Promise<void>[] = [];
    for (let i = 0; i < count; i++) emits.push(connection.emit(`e${i}`));
    release();
    await Promise.all([first, second, ...emits]);
    expect(written.join("")).toEqual(
      ["w1", "w2", ...Array.from({ length: count }, (_, i) => `e${i}`)].map(frameOf).join(""),
    );
  });

  test("an emit held behind queued writes is refused with ERR_IPC_CLOSED when the writable is aborted", async () => {
    const { socket, written, release } = recording();
    const connection = connectionOver(socket);
    const writer = connection.writable.getWriter();
    const first = writer.write({ type: "w1", data: {} });
    // The first write is in flight (held by the socket's backpressure) before the rest come.
    await until(() => written.length === 1, "the first write to reach the socket");
    expect(written).toEqual([frameOf("w1")]);
    // The queued write fails with the abort's reason (the stream's rule), the held emit as closed.
    const second = writer.write({ type: "w2", data: {} }).catch((error: unknown) => error);
    const held = codeOf(connection.emit("e3"));
    const aborted = writer.abort(new Error("stop"));
    release();
    // Aborting closes the socket at once: the write it held fails too.
    expect(await codeOf(first)).toBe("ERR_IPC_CLOSED");
    expect(await second).toMatchObject({ message: "stop" });
    expect(await held).toBe("ERR_IPC_CLOSED");
    await aborted;
    // Neither the queued write nor the held emit reached the socket.
    expect(written).toEqual([frameOf("w1")]);
    expect(await codeOf(connection.emit("late"))).toBe("ERR_IPC_CLOSED");
  });

  test("a burst leaves in few writes: 1,000 emits in one synchronous loop, or 1,000 unawaited writes", async () => {
    const emits = takingEverything();
    const emitting = connectionOver(emits.socket);
    const sent: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) sent.push(emitting.emit(`e${i}`));
    await Promise.all(sent);
    expect(emits.written.join("")).toBe(Array.from({ length: 1000 }, (_, i) => frameOf(`e${i}`)).join(""));
    expect(emits.written.length).toBeLessThanOrEqual(2);

    const writes = takingEverything();
    const writer = connectionOver(writes.socket).writable.getWriter();
    const written: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) written.push(writer.write({ type: `w${i}`, data: {} }));
    await Promise.all(written);
    expect(writes.written.join("")).toBe(Array.from({ length: 1000 }, (_, i) => frameOf(`w${i}`)).join(""));
    expect(writes.written.length).toBeLessThanOrEqual(20);
  });

  test("an awaited emit is handed to the socket before its promise resolves, one write each", async () => {
    const { socket, written } = takingEverything();
    const connection = connectionOver(socket);
    for (let i = 0; i < 3; i++) {
      await connection.emit(`e${i}`);
      expect(written.join("")).toBe(Array.from({ length: i + 1 }, (_, j) => frameOf(`e${j}`)).join(""));
    }
  });
});
