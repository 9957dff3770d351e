/**
 * The adapter contract (src/transport/contract.ts) checked directly on the adapter of the runtime
 * running the suite: `Runtime` calls, and each `TransportSocket` through the shared `Channel` on
 * top of it (src/transport/channel.ts), below the Connection/Server layer.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { Channel } from "../src/transport/channel.ts";
import type { Listener, TransportSocket } from "../src/transport/contract.ts";
import { concat } from "./fixtures/bytes.ts";
import { ipc, runtimeName } from "./runtime.ts";

const runtime = ipc.runtime;
const dir = mkdtempSync(join(tmpdir(), "ipcs-contract-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let sequence = 0;
/** A fresh socket path in the test directory. */
const freshPath = () => join(dir, `s${++sequence}`);

const encoder = new TextEncoder();

const unix = (path: string) => ({ transport: "unix", path }) as const;

/** A socket from the adapter, through the shared channel (no half-open timeout: these tests end sides by hand). */
function channelOf(socket: TransportSocket, path: string): Channel {
  return new Channel(socket, {
    path,
    afterTick: runtime.afterTick,
    halfOpenTimeout: Number.POSITIVE_INFINITY,
    probeOnEnd: true,
  });
}
const decoder = new TextDecoder();

/** A listener on a fresh path plus the first channel it accepts, and a client channel to it. */
async function pair(): Promise<{
  client: Channel;
  server: Channel;
  close: () => Promise<void>;
  path: string;
}> {
  const path = freshPath();
  let accept!: (channel: Channel) => void;
  const accepted = new Promise<Channel>((resolve) => {
    accept = resolve;
  });
  const listener: Listener = await runtime.listen(unix(path), (socket) => accept(channelOf(socket, path)));
  const client = channelOf(await runtime.connect(unix(path)), path);
  const server = await accepted;
  return {
    client,
    server,
    path,
    close: async () => {
      client.destroy();
      server.destroy();
      await listener.close();
      await runtime.files.removeFile(path);
    },
  };
}

/** Reads until end of input; returns the chunks, as handed over. */
async function readAll(channel: Channel): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const chunk = await channel.read();
    if (chunk === null) return chunks;
    chunks.push(chunk);
  }
}

/** Reads exactly `length` bytes (more chunks may follow). */
async function readBytes(channel: Channel, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let offset = 0;
  while (offset < length) {
    const chunk = await channel.read();
    if (chunk === null) throw new Error(`end of input after ${offset} of ${length} bytes`);
    out.set(chunk.subarray(0, length - offset), offset);
    offset += chunk.byteLength;
  }
  expect(offset).toBe(length);
  return out;
}

/** `size` bytes whose value at `i` is `(i * 7 + seed) % 251`, so shifts and reorderings show. */
function pattern(size: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + seed) % 251;
  return bytes;
}

/** The index of the first byte where `actual` differs from `expected`, or -1. */
function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  if (actual.byteLength !== expected.byteLength) return Math.min(actual.byteLength, expected.byteLength);
  for (let i = 0; i < actual.byteLength; i++) if (actual[i] !== expected[i]) return i;
  return -1;
}

/** What `write` threw or rejected with (the contract allows either), or undefined. */
async function failureOf(write: () => Promise<void> | undefined): Promise<unknown> {
  try {
    await write();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** "settled" if `promise` settles within `ms`, else "pending". */
function stateAfter(promise: Promise<unknown>, ms: number): Promise<"settled" | "pending"> {
  return Promise.race([
    promise.then(
      () => "settled" as const,
      () => "settled" as const,
    ),
    new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), ms)),
  ]);
}

describe(`runtime contract on ${runtimeName}`, () => {
  test("the adapter names its runtime", () => {
    expect(runtime.name).toBe(runtimeName);
    expect(runtime.maxSocketPathBytes).toBeGreaterThan(90);
    // Named pipes are for Windows only; the suite runs on Linux.
    expect(runtime.windowsPipes).toBe(false);
    const environment = runtime.socketRootEnvironment();
    expect(typeof environment.tmpdir).toBe("string");
    expect(environment.uid).toBe(process.getuid?.() ?? 0);
  });

  test("connect to a missing path rejects with ERR_IPC_NO_SERVER", async () => {
    await expect(runtime.connect(unix(join(dir, "nobody-here")))).rejects.toMatchObject({
      name: "IpcError",
      code: "ERR_IPC_NO_SERVER",
    });
    await expect(runtime.connect(unix(join(dir, "no-such-dir", "sock")))).rejects.toMatchObject({
      code: "ERR_IPC_NO_SERVER",
    });
  });

  test("connect after the listener closed and its file is removed rejects with ERR_IPC_NO_SERVER", async () => {
    const path = freshPath();
    const listener = await runtime.listen(unix(path), (socket) => socket.close());
    await listener.close();
    await runtime.files.removeFile(path);
    await expect(runtime.connect(unix(path))).rejects.toMatchObject({ code: "ERR_IPC_NO_SERVER" });
  });

  test("listen on a used path rejects with ERR_IPC_ADDRESS_IN_USE", async () => {
    const path = freshPath();
    const listener = await runtime.listen(unix(path), (socket) => socket.close());
    try {
      await expect(runtime.listen(unix(path), (socket) => socket.close())).rejects.toMatchObject({
        name: "IpcError",
        code: "ERR_IPC_ADDRESS_IN_USE",
      });
    } finally {
      await listener.close();
      await runtime.files.removeFile(path);
    }
    const file = join(dir, "plain-file");
    writeFileSync(file, "not a socket");
    await expect(runtime.listen(unix(file), (socket) => socket.close())).rejects.toMatchObject({
      code: "ERR_IPC_ADDRESS_IN_USE",
    });
  });

  test("bytes arrive in order and read() returns null at end of input, and again after", async () => {
    const { client, server, close } = await pair();
    try {
      await server.send(encoder.encode("hello, "));
      await server.send(encoder.encode("world"));
      await server.end();
      const chunks = await readAll(client);
      expect(decoder.decode(concat(chunks))).toBe("hello, world");
      expect(await client.read()).toBe(null);
    } finally {
      await close();
    }
  });

  test("half-close: the client ends, then the server still writes and the client reads it", async () => {
    const { client, server, close } = await pair();
    try {
      await client.send(encoder.encode("ping"));
      await client.end();
      expect(decoder.decode(concat(await readAll(server)))).toBe("ping");
      await server.send(encoder.encode("pong"));
      await server.send(encoder.encode(" after half-close"));
      await server.end();
      expect(decoder.decode(concat(await readAll(client)))).toBe("pong after half-close");
      client.destroy();
      server.destroy();
      await client.closed;
      await server.closed;
    } finally {
      await close();
    }
  });

  test("half-close the other way: the server ends first, the client goes on writing", async () => {
    const { client, server, close } = await pair();
    try {
      await server.end();
      expect(await client.read()).toBe(null);
      await client.send(encoder.encode("still talking"));
      await client.end();
      expect(decoder.decode(concat(await readAll(server)))).toBe("still talking");
    } finally {
      await close();
    }
  });

  test("write backpressure: a large write waits until the peer reads, and nothing is lost", async () => {
    const { client, server, close } = await pair();
    try {
      const size = 8 * 1024 * 1024;
      const sent = pattern(size);
      const wait = client.send(sent);
      expect(wait).toBeInstanceOf(Promise);
      const written = wait as Promise<void>;
      // Nobody reads yet: the write cannot complete, since no OS buffers 8 MiB for one socket.
      expect(await stateAfter(written, 50)).toBe("pending");
      const received = await readBytes(server, size);
      await written;
      expect(firstDifference(received, sent)).toBe(-1);
      await client.end();
      expect(await server.read()).toBe(null);
    } finally {
      await close();
    }
  });

  test("many writes without waiting, small and large, keep their order through backpressure", async () => {
    const { client, server, close } = await pair();
    try {
      // Mostly small writes (adapters may batch those) with a large one every 50th.
      const pieces = Array.from({ length: 2000 }, (_, i) =>
        pattern(i % 50 === 49 ? 64 * 1024 + i : 1 + ((i * 389) % 3000), i),
      );
      const waits: Promise<void>[] = [];
      for (const piece of pieces) {
        const wait = client.send(piece);
        if (wait !== undefined) waits.push(wait);
      }
      const ended = client.end();
      expect(waits.length).toBeGreaterThan(0);
      const received = concat(await readAll(server));
      await Promise.all(waits);
      await ended;
      expect(firstDifference(received, concat(pieces))).toBe(-1);
    } finally {
      await close();
    }
  });

  test("text writes arrive as UTF-8, in order with byte writes, small and large, multi-byte characters included", async () => {
    const { client, server, close } = await pair();
    try {
      // Text of every UTF-8 width (1 to 4 bytes per character), sizes from tiny to larger than any
      // adapter's batch, with byte writes in between.
      const alphabet = ["a", "é", "€", "😀", "\f", "\u2028"];
      const pieces: (string | Uint8Array)[] = Array.from({ length: 600 }, (_, i) => {
        const size = i % 97 === 96 ? 40_000 + i : 1 + ((i * 131) % 700);
        if (i % 7 === 3) return pattern(size, i);
        let text = "";
        for (let k = 0; text.length < size; k++) text += alphabet[(i + k) % alphabet.length];
        return text;
      });
      const expected = concat(pieces.map((piece) => (typeof piece === "string" ? encoder.encode(piece) : piece)));
      const waits: Promise<void>[] = [];
      for (const piece of pieces) {
        const wait = client.send(piece);
        if (wait !== undefined) waits.push(wait);
      }
      const ended = client.end();
      const received = concat(await readAll(server));
      await Promise.all(waits);
      await ended;
      expect(received.byteLength).toBe(expected.byteLength);
      expect(firstDifference(received, expected)).toBe(-1);
    } finally {
      await close();
    }
  });

  test("read backpressure: a reader that does not read holds the writer back", async () => {
    const { client, server, close } = await pair();
    try {
      const size = 16 * 1024 * 1024;
      const sent = pattern(size, 3);
      const wait = server.send(sent);
      expect(wait).toBeInstanceOf(Promise);
      // The client adapter must not drain the socket into memory while nobody calls read().
      expect(await stateAfter(wait as Promise<void>, 100)).toBe("pending");
      // Chunks are kept as handed over: an adapter that reused its buffers would corrupt them.
      const chunks: Uint8Array[] = [];
      let total = 0;
      while (total < size) {
        const chunk = await client.read();
        if (chunk === null) break;
        chunks.push(chunk);
        total += chunk.byteLength;
      }
      await wait;
      expect(firstDifference(concat(chunks), sent)).toBe(-1);
    } finally {
      await close();
    }
  });

  test("destroy() makes a pending read return null and settles closed", async () => {
    const { client, server, close } = await pair();
    try {
      const pending = client.read();
      expect(await stateAfter(pending, 20)).toBe("pending");
      client.destroy();
      expect(await pending).toBe(null);
      expect(await client.read()).toBe(null);
      await client.closed;
      client.destroy(); // idempotent
      // The peer sees a clean end of input.
      expect(await server.read()).toBe(null);
    } finally {
      await close();
    }
  });

  test("write after end() or destroy() fails with an IpcError", async () => {
    const { client, server, close } = await pair();
    try {
      await client.end();
      expect(await failureOf(() => client.send(encoder.encode("late")))).toMatchObject({ name: "IpcError" });
      server.destroy();
      await server.closed;
      expect(await failureOf(() => server.send(encoder.encode("late")))).toMatchObject({ name: "IpcError" });
    } finally {
      await close();
    }
  });

  test("pathInfo tells socket, directory, other and symlink apart, and undefined when missing", async () => {
    const { path, close } = await pair();
    try {
      expect(await runtime.files.pathInfo(path)).toMatchObject({ kind: "socket" });
    } finally {
      await close();
    }
    const uid = process.getuid?.() ?? 0;
    const directory = join(dir, "a-directory");
    mkdirSync(directory);
    chmodSync(directory, 0o750);
    expect(await runtime.files.pathInfo(directory)).toMatchObject({ kind: "directory", uid, mode: 0o750 });
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    chmodSync(file, 0o640);
    expect(await runtime.files.pathInfo(file)).toMatchObject({ kind: "other", uid, mode: 0o640 });
    const link = join(dir, "a-link");
    symlinkSync(file, link);
    expect(await runtime.files.pathInfo(link)).toMatchObject({ kind: "symlink", uid });
    expect(await runtime.files.pathInfo(join(dir, "missing"))).toBe(undefined);
  });

  test("makeDirectory, changeMode and removeFile", async () => {
    const nested = join(dir, "made", "deeper");
    await runtime.files.makeDirectory(nested, 0o700);
    await runtime.files.makeDirectory(nested, 0o700); // exists already: fine
    expect(await runtime.files.pathInfo(nested)).toMatchObject({ kind: "directory", mode: 0o700 });
    const file = join(nested, "f");
    writeFileSync(file, "x");
    await runtime.files.changeMode(file, 0o604);
    expect(await runtime.files.pathInfo(file)).toMatchObject({ mode: 0o604 });
    await runtime.files.removeFile(file);
    expect(await runtime.files.pathInfo(file)).toBe(undefined);
    await runtime.files.removeFile(file); // missing: not an error
    await expect(runtime.files.changeMode(join(dir, "missing"), 0o600)).rejects.toMatchObject({
      code: "ERR_IPC_SYSTEM",
    });
  });

  test("link never replaces (ERR_IPC_ADDRESS_IN_USE), rename does, and pathInfo tells files apart by inode", async () => {
    const first = join(dir, "first");
    const second = join(dir, "second");
    const linked = join(dir, "linked");
    writeFileSync(first, "1");
    writeFileSync(second, "2");
    await runtime.files.link(first, linked);
    const [a, b, c] = await Promise.all([first, second, linked].map((path) => runtime.files.pathInfo(path)));
    expect(c?.inode).toBe(a?.inode);
    expect(c?.device).toBe(a?.device);
    expect(b?.inode).not.toBe(a?.inode);
    await expect(runtime.files.link(second, linked)).rejects.toMatchObject({ code: "ERR_IPC_ADDRESS_IN_USE" });
    await runtime.files.rename(second, linked);
    expect((await runtime.files.pathInfo(linked))?.inode).toBe(b?.inode);
    expect(await runtime.files.pathInfo(second)).toBe(undefined);
    await expect(runtime.files.rename(second, linked)).rejects.toMatchObject({ code: "ERR_IPC_SYSTEM" });
  });
});
