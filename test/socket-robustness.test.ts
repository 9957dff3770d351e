/**
 * What peers cannot do to us: crash mid-stream, send bad bytes, or outrun a slow reader. Runs
 * unchanged on Node, Bun and Deno (see test/runtime.ts).
 */
import process from "node:process";
import { afterAll, describe, expect, test } from "vitest";
import type { Connection, ConnectOptions, ServerAddress } from "../src/index.ts";
import { type Child, spawnChild } from "./fixtures/children.ts";
import { acceptor, outcome, take } from "./fixtures/sockets.ts";
import { type Endpoints, endpoints, TRANSPORTS } from "./fixtures/transports.ts";
import { ipc, runtimeName } from "./runtime.ts";

const children: Child[] = [];
afterAll(async () => {
  await Promise.all(children.map((child) => child.kill()));
});

/** Sends after which {@link sendUntilFailure} gives up: a loop that never fails must not hang the suite. */
const MOST_SENDS = 200_000;

/**
 * Awaits `send()` again and again until it fails; resolves with the error (an error that is not an
 * IpcError fails the test), or with a description if {@link MOST_SENDS} sends all succeeded.
 */
async function sendUntilFailure(send: () => Promise<void>): Promise<unknown> {
  for (let sends = 0; sends < MOST_SENDS; sends++) {
    try {
      await send();
    } catch (error) {
      return error;
    }
    // Sends the OS takes at once settle without an event-loop turn, in which the crash shows.
    if (sends % 64 === 63) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return `${MOST_SENDS} sends succeeded after the peer was gone`;
}

/** Blocks this thread for `ms` milliseconds: no event loop turn, so no socket event is seen meanwhile. */
function blockThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Counts the messages a connection receives until it ends; resolves with the count and any error. */
async function readUntilEnd(connection: Connection, onMessage: () => void): Promise<{ error?: unknown }> {
  try {
    for await (const _ of connection.readable) onMessage();
    return {};
  } catch (error) {
    return { error };
  }
}

/** Resolves once `count` messages were seen through `onMessage`. */
function counter(count: number): { onMessage(): void; reached: Promise<void> } {
  let seen = 0;
  let reached!: () => void;
  return {
    onMessage: () => {
      if (++seen === count) reached();
    },
    reached: new Promise((resolve) => {
      reached = resolve;
    }),
  };
}

/** Expects a stream to have ended cleanly or with an `IpcError`, never anything else. */
function expectCleanEnd(result: { error?: unknown }): void {
  if (result.error !== undefined) expect(result.error).toBeInstanceOf(ipc.IpcError);
}

async function expectEcho(options: ConnectOptions, data: unknown = "ping"): Promise<void> {
  const client = await ipc.connect(options);
  await client.emit("echo", data);
  expect(await take(client.readable, 1)).toEqual([{ type: "echo", data }]);
  await client.close();
}

/**
 * Kills the peer process while both directions of `connection` are busy (200 messages in, writes
 * going on), then expects the readable, the writes and `closed` to end cleanly or with an IpcError.
 */
async function killWhileBusy(connection: Connection, child: Child, data: string): Promise<void> {
  const received = counter(200);
  const reading = readUntilEnd(connection, received.onMessage);
  const writing = sendUntilFailure(() => connection.emit("down", data));
  await received.reached;
  await child.kill();
  const [readResult, writeError] = await Promise.all([reading, writing]);
  expectCleanEnd(readResult);
  expect(writeError).toBeInstanceOf(ipc.IpcError);
  expectCleanEnd(
    await connection.closed.then(
      () => ({}),
      (error: unknown) => ({ error }),
    ),
  );
}

/**
 * A server on a fresh address and a raw-peer child process connected to it as a client
 * (`stream`: sending frames as fast as it can; `idle`: sending nothing), with the server's side.
 */
async function serveChildClient(at: Endpoints, name: string, mode: "stream" | "idle", options: { raw?: boolean } = {}) {
  const server = await ipc.serve({ ...at.listen(name), ...options });
  const accepted = acceptor(server);
  const child = spawnChild(runtimeName, "test/fixtures/raw-peer.mjs", [mode, at.childReach(server)]);
  children.push(child);
  expect(await child.line()).toEqual({ connected: true });
  return { server, accepted, child, side: await accepted.next() };
}

/**
 * Kills an idle child client, then blocks this thread until it is surely dead: the runtime has had
 * no chance to report the close, so the first sends meet a broken pipe before any close event.
 * Expects a loop of awaited sends (`sender` makes the send function for the server's side) to end
 * with an IpcError, and the side's readable to end cleanly.
 */
async function expectSendsEndAfterUnnoticedCrash(
  at: Endpoints,
  name: string,
  options: { raw?: boolean },
  sender: (side: Connection) => () => Promise<void>,
): Promise<void> {
  const { server, child, side } = await serveChildClient(at, name, "idle", options);
  const exited = child.kill();
  blockThread(500);
  expect(await sendUntilFailure(sender(side))).toBeInstanceOf(ipc.IpcError);
  await exited;
  const read = await outcome(side.readable);
  expect(read.values).toEqual([]);
  expectCleanEnd(read);
  await server.close();
}

describe.each(TRANSPORTS)(`sockets on ${runtimeName} over %s: a peer process crashes mid-stream`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  test("a client killed mid-stream: the server side ends or errors cleanly and the server keeps serving", async () => {
    const { server, accepted, child, side } = await serveChildClient(at, "crash-client", "stream");
    void (async () => {
      // Everyone after the crashing client gets an echo (the loop waits forever once the server is closed).
      for (;;) {
        const connection = await accepted.next();
        connection.readable.pipeTo(connection.writable).catch(() => {});
      }
    })();
    await killWhileBusy(side, child, "y".repeat(1000));
    await expectEcho(at.reach(server), "after the crash");
    await server.close();
  });

  test("an idle client killed: the server side's streams end and it is forgotten, without a write", async () => {
    const { server, child, side } = await serveChildClient(at, "crash-idle", "idle");
    expect(server.connectionCount).toBe(1);
    await child.kill();
    // A reset rather than an end when the dead peer's kernel still held unread bytes (TLS's, say).
    const read = await outcome(side.readable);
    expect(read.values).toEqual([]);
    expectCleanEnd(read);
    // The adapter tells a crashed peer from a half-closed one: the connection closes by itself.
    expectCleanEnd(
      await side.closed.then(
        () => ({}),
        (error: unknown) => ({ error }),
      ),
    );
    expect(server.connectionCount).toBe(0);
    // Closed, or failed with the reset that ended it.
    await expect(side.emit("down", "anyone there?")).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_IPC_(CLOSED|CONNECTION_RESET)$/),
    });
    await server.close();
  });

  test("a client that died before the runtime noticed: a loop of awaited emits still ends with an IpcError", async () => {
    await expectSendsEndAfterUnnoticedCrash(
      at,
      "crash-unnoticed",
      {},
      (side) => () => side.emit("down", "y".repeat(1000)),
    );
  });

  test("the same on a raw connection: a loop of awaited writes still ends with an IpcError", async () => {
    await expectSendsEndAfterUnnoticedCrash(at, "crash-unnoticed-raw", { raw: true }, (side) => {
      const writer = side.writable.getWriter();
      return () => writer.write(new Uint8Array(1000));
    });
  });

  test("a server killed mid-stream: the client's streams end or error cleanly", async () => {
    const child = spawnChild(runtimeName, "test/fixtures/raw-peer.mjs", ["listen", at.childListen("crash-server")]);
    children.push(child);
    const { ready, address } = await child.line();
    expect(ready).toBe(true);
    const client = await ipc.connect(at.reach({ address: address as ServerAddress }));
    await killWhileBusy(client, child, "z".repeat(1000));
    await client.close();
  });
});

/** Wraps every console method to count calls, for the duration of `run`. */
async function countConsoleOutput(run: () => Promise<void>): Promise<number> {
  const methods = ["log", "info", "warn", "error", "debug", "trace"] as const;
  const saved = methods.map((method) => console[method]);
  let calls = 0;
  for (const method of methods) {
    console[method] = () => {
      calls++;
    };
  }
  try {
    await run();
  } finally {
    methods.forEach((method, i) => {
      console[method] = saved[i] as (typeof console)[typeof method];
    });
  }
  return calls;
}

/** Writes `chunks` through a raw connection until it has written them all or the server cut it off. */
async function writeRaw(connection: Connection<Uint8Array, Uint8Array>, chunks: Iterable<Uint8Array>): Promise<void> {
  const writer = connection.writable.getWriter();
  try {
    for (const chunk of chunks) await writer.write(chunk);
  } catch {
    // The server tore the connection down: that is the point.
  } finally {
    writer.releaseLock();
  }
}

function* repeat(chunk: Uint8Array, times: number): Generator<Uint8Array> {
  for (let i = 0; i < times; i++) yield chunk;
}

function* randomChunks(count: number, size: number): Generator<Uint8Array> {
  for (let i = 0; i < count; i++) {
    const chunk = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(chunk.subarray(at, at + 65536));
    yield chunk;
  }
}

const text = (value: string) => new TextEncoder().encode(value);

describe.each(TRANSPORTS)(`sockets on ${runtimeName} over %s: bad input from one peer`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  test("garbage JSON, an endless frame, invalid UTF-8 or a flood error only that connection, silently", async () => {
    const printed = await countConsoleOutput(async () => {
      const server = await ipc.serve(at.listen("bad-input"));
      const accepted = acceptor(server);
      const echoing = async () => {
        const connection = await accepted.next();
        connection.readable.pipeTo(connection.writable).catch(() => {});
        return connection;
      };
      const good: Connection[] = [];
      for (let i = 0; i < 4; i++) {
        good.push(await ipc.connect(at.reach(server)));
        await echoing();
      }
      const everyoneStillServed = async (round: string) => {
        await Promise.all(
          good.map(async (client, i) => {
            await client.emit("round", { round, i });
            expect(await take(client.readable, 1)).toEqual([{ type: "round", data: { round, i } }]);
          }),
        );
      };
      await everyoneStillServed("start");

      const bad: [string, Iterable<Uint8Array>, readonly string[]][] = [
        ["garbage JSON", [text('{"type":"ok","data":1}\f{bad json}\f')], ["ERR_IPC_INVALID_JSON"]],
        ["an endless frame", repeat(text("x".repeat(65536)), 64), ["ERR_IPC_FRAME_TOO_LARGE"]],
        [
          "invalid UTF-8",
          [new Uint8Array([...text('{"type":"a","data":"'), 0xff, 0xfe, ...text('"}\f')])],
          ["ERR_IPC_INVALID_UTF8"],
        ],
        [
          "a flood of random bytes",
          randomChunks(64, 256 * 1024),
          ["ERR_IPC_INVALID_UTF8", "ERR_IPC_INVALID_JSON", "ERR_IPC_FRAME_TOO_LARGE"],
        ],
      ];
      for (const [what, chunks, codes] of bad) {
        const peer = await ipc.connect({ ...at.reach(server), raw: true });
        const side = await echoing();
        await writeRaw(peer, chunks);
        const failure = await side.closed.then(
          () => new Error(`${what}: the server side closed without an error`),
          (error: unknown) => error,
        );
        expect(failure, what).toBeInstanceOf(ipc.IpcError);
        expect(codes, `${what}: ${String(failure)}`).toContain((failure as { code: string }).code);
        expect(server.connectionCount).toBe(good.length);
        await peer.close();
        await everyoneStillServed(what);
      }
      await Promise.all(good.map((client) => client.close()));
      await server.close();
    });
    expect(printed).toBe(0);
  });

  test("the messages that came before bad input are read first, then the error, by for await or a reader", async () => {
    const server = await ipc.serve(at.listen("before-bad"));
    const accepted = acceptor(server);
    const before = [
      { type: "a", data: 1 },
      { type: "b", data: 2 },
    ];
    const input = text(`${before.map((message) => JSON.stringify(message)).join("\f")}\f{bad\f`);
    for (const how of ["for await", "reader"]) {
      const peer = await ipc.connect({ ...at.reach(server), raw: true });
      const side = await accepted.next();
      await writeRaw(peer, [input]);
      await side.closed.catch(() => {});
      let seen: { values: unknown[]; error?: unknown };
      if (how === "for await") seen = await outcome(side.readable);
      else {
        const reader = side.readable.getReader();
        seen = { values: [] };
        try {
          for (let next = await reader.read(); !next.done; next = await reader.read()) seen.values.push(next.value);
        } catch (error) {
          seen.error = error;
        }
      }
      expect(seen.values, how).toEqual(before);
      expect((seen.error as { code?: string } | undefined)?.code, how).toBe("ERR_IPC_INVALID_JSON");
      await peer.close();
    }
    await server.close();
  });
});

describe.each(TRANSPORTS)(`sockets on ${runtimeName} over %s: backpressure`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  test("200 MB through a slow reader: bytes in flight and memory growth stay small", async () => {
    const server = await ipc.serve(at.listen("slow"));
    const accepted = acceptor(server);
    const client = await ipc.connect(at.reach(server));
    const side = await accepted.next();
    const payload = "m".repeat(64 * 1024);
    // The first 16 MiB warm up (JIT, heap sizing, socket buffers); growth is measured after them.
    const warmUp = 16 * 1024 * 1024;
    const measured = 200 * 1024 * 1024;
    const count = Math.ceil((warmUp + measured) / payload.length);
    let sent = 0;
    let received = 0;
    let maxInFlight = 0;
    let baseline: { rss: number; heapUsed: number } | undefined;
    let peakRss = 0;
    let peakHeap = 0;
    const sample = () => {
      maxInFlight = Math.max(maxInFlight, sent - received);
      if (received < warmUp) return;
      const usage = process.memoryUsage();
      baseline ??= usage;
      peakRss = Math.max(peakRss, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapUsed);
    };
    const sampler = setInterval(sample, 20);
    try {
      const writing = (async () => {
        for (let i = 0; i < count; i++) {
          await client.emit("chunk", payload);
          sent += payload.length;
        }
        await client.writable.close();
      })();
      const reader = side.readable.getReader();
      for (let i = 0; ; i++) {
        const { done, value } = await reader.read();
        if (done) break;
        received += (value as { data: string }).data.length;
        // The deliberately slow part: a timer turn every fourth message.
        if (i % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await writing;
    } finally {
      clearInterval(sampler);
    }
    sample();
    expect(received).toBe(count * payload.length);
    expect(received - warmUp).toBeGreaterThan(measured - payload.length);
    const start = baseline ?? { rss: 0, heapUsed: 0 };
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    const report = `in flight ≤ ${mib(maxInFlight)} MiB, RSS +${mib(peakRss - start.rss)} MiB, heap +${mib(peakHeap - start.heapUsed)} MiB`;
    // Sent but not yet read: only socket buffers and a few queued messages, never the backlog.
    expect(maxInFlight, report).toBeLessThan(16 * 1024 * 1024);
    expect(peakRss - start.rss, report).toBeLessThan(64 * 1024 * 1024);
    expect(peakHeap - start.heapUsed, report).toBeLessThan(64 * 1024 * 1024);
    await side.close();
    await server.close();
  });
});
