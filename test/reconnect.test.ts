/**
 * `reconnect()`: the retry policy (interval, count, counter reset, backoff and jitter, which
 * failures retry), stopping (abort and cancel, during a wait and during an attempt), and over
 * every transport a server that restarts, messages never carried across, and a storm of 200
 * clients. The policy tests drive the stream with a scripted `connect`, so attempts are counted
 * and timed exactly; timing bounds are strict below and generous above (the cores are shared).
 */
import process from "node:process";
import { afterAll, describe, expect, test } from "vitest";
import { type ReconnectOptions, reconnecting, retryDelay } from "../src/connection/reconnect.ts";
import type { Connection, ConnectOptions, IpcErrorCode, Server } from "../src/index.ts";
import { spawnChild } from "./fixtures/children.ts";
import { acceptor, socketDirectory, take, until } from "./fixtures/sockets.ts";
import { certificates, endpoints, TRANSPORTS } from "./fixtures/transports.ts";
import { ipc, runtimeName } from "./runtime.ts";

const sockets = socketDirectory();
afterAll(() => sockets.remove());

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Timers may fire up to a millisecond before the clock says (rounding). */
const EARLY = 2;

/** A connection stand-in: counts closes. */
function fakeConnection(): Connection & { closes: number } {
  const connection = {
    closes: 0,
    close: async () => {
      connection.closes++;
    },
    destroy: () => {
      connection.closes++;
    },
  };
  return connection as unknown as Connection & { closes: number };
}

interface Attempt {
  readonly at: number;
  readonly signal: AbortSignal | undefined;
  readonly options: ConnectOptions;
}

/**
 * A `connect` that plays a script: each attempt takes the next step (an error code to reject
 * with, "ok" to succeed, "hang" to wait for its signal); past the end it repeats the last step.
 */
function scripted(steps: readonly (IpcErrorCode | "ok" | "hang" | Error)[]) {
  const attempts: Attempt[] = [];
  const made: (Connection & { closes: number })[] = [];
  const connect = (options: ConnectOptions): Promise<Connection> => {
    const step = steps[Math.min(attempts.length, steps.length - 1)];
    attempts.push({ at: performance.now(), signal: options.signal, options });
    if (step === "ok") {
      const connection = fakeConnection();
      made.push(connection);
      return Promise.resolve(connection);
    }
    if (step === "hang") {
      return new Promise((_, reject) => {
        options.signal?.addEventListener("abort", () => reject(new ipc.IpcError("ERR_IPC_ABORTED", "aborted")), {
          once: true,
        });
      });
    }
    if (step instanceof Error) return Promise.reject(step);
    return Promise.reject(new ipc.IpcError(step as IpcErrorCode, `scripted ${step}`));
  };
  return { attempts, made, connect };
}

/**
 * Counts the timers of `ms` milliseconds that are set and neither fired nor cleared, by wrapping
 * the global timer functions until `restore()` (an odd `ms` keeps other code's timers out).
 */
function pendingTimers(ms: number): { count(): number; restore(): void } {
  const { setTimeout: set, clearTimeout: clear } = globalThis;
  const pending = new Set<unknown>();
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, wait?: number, ...args: unknown[]) => {
    const id: unknown = set(() => {
      pending.delete(id);
      callback(...args);
    }, wait);
    if (wait === ms) pending.add(id);
    return id;
  }) as typeof globalThis.setTimeout;
  globalThis.clearTimeout = ((id: Parameters<typeof clearTimeout>[0]) => {
    pending.delete(id);
    clear(id);
  }) as typeof globalThis.clearTimeout;
  return {
    count: () => pending.size,
    restore: () => {
      globalThis.setTimeout = set;
      globalThis.clearTimeout = clear;
    },
  };
}

/** The gaps between consecutive attempts, in ms. */
const gaps = (attempts: readonly Attempt[]) => attempts.slice(1).map((a, i) => a.at - (attempts[i] as Attempt).at);

/** A read's outcome: the value, the end, or the error's code. */
async function readOutcome<T>(
  reader: ReadableStreamDefaultReader<T>,
): Promise<{ value?: T; done?: true; code?: unknown }> {
  try {
    const result = await reader.read();
    return result.done ? { done: true } : { value: result.value };
  } catch (error) {
    return { code: (error as { code?: unknown }).code ?? String(error) };
  }
}

describe(`reconnect on ${runtimeName}: options`, () => {
  const bad: [string, ReconnectOptions][] = [
    ["negative retry", { path: "x", retry: -1 }],
    ["retry Infinity", { path: "x", retry: Number.POSITIVE_INFINITY }],
    ["retry a string", { path: "x", retry: "500" as unknown as number }],
    ["maxRetries 1.5", { path: "x", maxRetries: 1.5 }],
    ["maxRetries -1", { path: "x", maxRetries: -1 }],
    ["backoff null", { path: "x", backoff: null as unknown as object }],
    ["factor below 1", { path: "x", backoff: { factor: 0.5 } }],
    ["factor Infinity", { path: "x", backoff: { factor: Number.POSITIVE_INFINITY } }],
    ["max 0", { path: "x", backoff: { max: 0 } }],
    ["jitter 1", { path: "x", backoff: { jitter: 1 } }],
    ["jitter negative", { path: "x", backoff: { jitter: -0.1 } }],
    ["signal not a signal", { path: "x", signal: {} as AbortSignal }],
  ];
  test.each(bad)("%s: ERR_IPC_INVALID_OPTION, thrown before anything is attempted", (_, options) => {
    const { attempts, connect } = scripted(["ok"]);
    expect(() => reconnecting(connect, options)).toThrow(expect.objectContaining({ code: "ERR_IPC_INVALID_OPTION" }));
    expect(() => ipc.reconnect(options)).toThrow(expect.objectContaining({ code: "ERR_IPC_INVALID_OPTION" }));
    expect(attempts).toHaveLength(0);
  });

  test("connect's own options are checked by the first attempt: the stream errors, nothing is retried", async () => {
    const stream = ipc.reconnect({ port: 70_000, retry: 0 });
    await expect(stream.getReader().read()).rejects.toMatchObject({ code: "ERR_IPC_INVALID_OPTION" });
  });
});

describe(`reconnect on ${runtimeName}: the retry policy`, () => {
  test("retry: every attempt after a failure waits retry ms; maxRetries: N retries, then the last error", async () => {
    const { attempts, connect } = scripted(["ERR_IPC_NO_SERVER"]);
    const started = performance.now();
    const reader = reconnecting(connect, { path: "x", retry: 60, maxRetries: 3 }).getReader();
    const outcome = await readOutcome(reader);
    expect(outcome).toEqual({ code: "ERR_IPC_NO_SERVER" });
    expect(attempts).toHaveLength(4);
    expect(attempts[0]!.at - started).toBeLessThan(1000); // the first attempt does not wait
    for (const gap of gaps(attempts)) {
      expect(gap).toBeGreaterThanOrEqual(60 - EARLY);
      expect(gap).toBeLessThan(2000);
    }
    // Errored for good: no attempt follows.
    await delay(150);
    expect(attempts).toHaveLength(4);
  });

  test("maxRetries: 0 makes one attempt; the default retries every 500 ms", async () => {
    const once = scripted(["ERR_IPC_NO_SERVER"]);
    await expect(reconnecting(once.connect, { path: "x", maxRetries: 0 }).getReader().read()).rejects.toMatchObject({
      code: "ERR_IPC_NO_SERVER",
    });
    expect(once.attempts).toHaveLength(1);

    const forever = scripted(["ERR_IPC_NO_SERVER", "ERR_IPC_NO_SERVER", "ERR_IPC_NO_SERVER", "ok"]);
    const { value } = await readOutcome(reconnecting(forever.connect, { path: "x" }).getReader());
    expect(value).toBe(forever.made[0]);
    expect(forever.attempts).toHaveLength(4);
    for (const gap of gaps(forever.attempts)) {
      expect(gap).toBeGreaterThanOrEqual(500 - EARLY);
      expect(gap).toBeLessThan(3000);
    }
  });

  test("the count starts over after each connection made", async () => {
    const { attempts, made, connect } = scripted([
      "ERR_IPC_NO_SERVER",
      "ERR_IPC_NO_SERVER",
      "ok",
      "ERR_IPC_CONNECTION_RESET",
      "ERR_IPC_NO_SERVER",
      "ok",
      "ERR_IPC_NO_SERVER",
    ]);
    const reader = reconnecting(connect, { path: "x", retry: 5, maxRetries: 2 }).getReader();
    expect((await readOutcome(reader)).value).toBe(made[0]);
    expect((await readOutcome(reader)).value).toBe(made[1]);
    // Without the reset, this third run of failures would have ended the stream after one more.
    expect(await readOutcome(reader)).toEqual({ code: "ERR_IPC_NO_SERVER" });
    expect(attempts).toHaveLength(9);
  });

  test("only retryable failures are retried", async () => {
    for (const code of ["ERR_IPC_NO_SERVER", "ERR_IPC_CONNECTION_RESET", "ERR_IPC_CONNECT_TIMEOUT"] as const) {
      const { attempts, connect } = scripted([code, "ok"]);
      const { value } = await readOutcome(reconnecting(connect, { path: "x", retry: 1 }).getReader());
      expect({ code, connected: value !== undefined, attempts: attempts.length }).toEqual({
        code,
        connected: true,
        attempts: 2,
      });
    }
    const never = [
      "ERR_IPC_INVALID_OPTION",
      "ERR_IPC_SOCKET_ROOT",
      "ERR_IPC_PATH_TOO_LONG",
      "ERR_IPC_TLS",
      "ERR_IPC_SYSTEM",
      "ERR_IPC_UNSUPPORTED",
    ] as const;
    for (const code of never) {
      const { attempts, connect } = scripted([code, "ok"]);
      const outcome = await readOutcome(reconnecting(connect, { path: "x", retry: 1 }).getReader());
      expect({ outcome, attempts: attempts.length }).toEqual({ outcome: { code }, attempts: 1 });
    }
    const plain = new TypeError("not an IpcError");
    const { attempts, connect } = scripted([plain, "ok"]);
    await expect(reconnecting(connect, { path: "x", retry: 1 }).getReader().read()).rejects.toBe(plain);
    expect(attempts).toHaveLength(1);
  });

  test("nothing connects ahead of a read; the next read closes the previous connection, then waits retry", async () => {
    const { attempts, made, connect } = scripted(["ok"]);
    const reader = reconnecting(connect, { path: "x", retry: 80 }).getReader();
    await delay(100);
    expect(attempts).toHaveLength(0);
    const first = (await readOutcome(reader)).value;
    await delay(100);
    expect(attempts).toHaveLength(1);
    expect(made[0]!.closes).toBe(0);
    const asked = performance.now();
    const second = (await readOutcome(reader)).value;
    expect(first).toBe(made[0]);
    expect(second).toBe(made[1]);
    expect(made[0]!.closes).toBe(1);
    expect(attempts[1]!.at - asked).toBeGreaterThanOrEqual(80 - EARLY);
    await reader.cancel();
    expect(made[1]!.closes).toBe(1);
  });

  test("backoff: waits grow by factor up to max", async () => {
    const { attempts, connect } = scripted(["ERR_IPC_NO_SERVER"]);
    const reader = reconnecting(connect, { path: "x", retry: 20, maxRetries: 5, backoff: { factor: 2, max: 100 } });
    expect(await readOutcome(reader.getReader())).toEqual({ code: "ERR_IPC_NO_SERVER" });
    const expected = [20, 40, 80, 100, 100];
    const measured = gaps(attempts);
    expect(measured).toHaveLength(5);
    measured.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(expected[i]! - EARLY);
      expect(gap).toBeLessThan(expected[i]! + 1500);
    });
  });

  test("retryDelay: gRPC's policy stays within its bounds; jitter spreads the waits evenly", () => {
    const grpc = { retry: 1000, factor: 1.6, max: 120_000, jitter: 0.2 };
    for (let k = 1; k <= 30; k++) {
      const base = Math.min(120_000, 1000 * 1.6 ** (k - 1));
      expect(retryDelay(grpc, k, () => 0)).toBeCloseTo(base * 0.8, 6);
      expect(retryDelay(grpc, k, () => 0.999_999) / base).toBeCloseTo(1.2, 5);
      expect(retryDelay(grpc, k, () => 0.5)).toBeCloseTo(base, 6);
    }
    expect(retryDelay(grpc, 12, () => 0.5)).toBe(120_000); // 1000 × 1.6^11 is past the cap
    // node-ipc's default: the same wait every time, no jitter.
    const fixed = { retry: 500, factor: 1, max: Number.POSITIVE_INFINITY, jitter: 0 };
    expect([1, 2, 50].map((k) => retryDelay(fixed, k))).toEqual([500, 500, 500]);
    // Growth without a cap stops at the longest wait a timer can take.
    expect(retryDelay({ ...fixed, factor: 10 }, 40)).toBe(2_147_483_647);
    // With Math.random, 4,000 waits fill [800, 1200] evenly: each tenth gets 7–13 % of them.
    const waits = Array.from({ length: 4000 }, () => retryDelay(grpc, 1));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...waits)).toBeLessThanOrEqual(1200);
    const tenths = Array.from({ length: 10 }, () => 0);
    for (const wait of waits) tenths[Math.min(9, Math.floor((wait - 800) / 40))]!++;
    for (const count of tenths) {
      expect(count).toBeGreaterThan(280);
      expect(count).toBeLessThan(520);
    }
  });

  test("jitter: streams that fail together retry spread over ± jitter of the wait", async () => {
    const streams = Array.from({ length: 40 }, () => scripted(["ERR_IPC_NO_SERVER", "ok"]));
    const readers = streams.map(({ connect }) =>
      reconnecting(connect, { path: "x", retry: 200, backoff: { jitter: 0.5 } }).getReader(),
    );
    await Promise.all(readers.map((reader) => reader.read()));
    const waits = streams.map(({ attempts }) => attempts[1]!.at - attempts[0]!.at);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(100 - EARLY);
    // 40 uniform waits over [100, 300] ms: their range is almost surely well over 100 ms.
    expect(Math.max(...waits) - Math.min(...waits)).toBeGreaterThan(100);
    await Promise.all(readers.map((reader) => reader.cancel()));
  });
});

describe(`reconnect on ${runtimeName}: stopping`, () => {
  test("abort during the wait: the stream ends at once, the timer is cleared, no attempt follows", async () => {
    const timers = pendingTimers(4321);
    try {
      const { attempts, connect } = scripted(["ERR_IPC_NO_SERVER"]);
      const stop = new AbortController();
      const reader = reconnecting(connect, { path: "x", retry: 4321, signal: stop.signal }).getReader();
      const reading = readOutcome(reader);
      await until(() => attempts.length === 1 && timers.count() === 1, "the first attempt and the wait");
      const aborted = performance.now();
      stop.abort();
      expect(await reading).toEqual({ done: true });
      expect(performance.now() - aborted).toBeLessThan(2000); // not the 4.3 s wait
      expect(timers.count()).toBe(0);
      await delay(100);
      expect(attempts).toHaveLength(1);
    } finally {
      timers.restore();
    }
  });

  test("abort during an attempt: the attempt is given up and the stream ends", async () => {
    const { attempts, connect } = scripted(["hang"]);
    const stop = new AbortController();
    const reader = reconnecting(connect, { path: "x", signal: stop.signal }).getReader();
    const reading = readOutcome(reader);
    await until(() => attempts.length === 1, "the attempt");
    expect(attempts[0]!.signal?.aborted).toBe(false);
    stop.abort();
    expect(attempts[0]!.signal?.aborted).toBe(true);
    expect(await reading).toEqual({ done: true });
    expect(attempts).toHaveLength(1);
  });

  test("abort with a live connection closes it; an aborted signal makes no attempt at all", async () => {
    const { attempts, made, connect } = scripted(["ok"]);
    const stop = new AbortController();
    const reader = reconnecting(connect, { path: "x", signal: stop.signal }).getReader();
    await reader.read();
    stop.abort();
    expect(made[0]!.closes).toBe(1);
    expect(await readOutcome(reader)).toEqual({ done: true });
    expect(attempts).toHaveLength(1);

    const never = scripted(["ok"]);
    const reading = readOutcome(reconnecting(never.connect, { path: "x", signal: AbortSignal.abort() }).getReader());
    expect(await reading).toEqual({ done: true });
    expect(never.attempts).toHaveLength(0);
  });

  test("cancel during the wait and during an attempt: at once, nothing follows", async () => {
    const timers = pendingTimers(4322);
    try {
      const waiting = scripted(["ERR_IPC_NO_SERVER"]);
      const reader = reconnecting(waiting.connect, { path: "x", retry: 4322 }).getReader();
      const reading = readOutcome(reader);
      await until(() => waiting.attempts.length === 1 && timers.count() === 1, "the first attempt and the wait");
      await reader.cancel();
      expect(await reading).toEqual({ done: true });
      expect(timers.count()).toBe(0);
      await delay(100);
      expect(waiting.attempts).toHaveLength(1);
    } finally {
      timers.restore();
    }

    const hanging = scripted(["hang"]);
    const other = reconnecting(hanging.connect, { path: "x" }).getReader();
    void other.read().catch(() => {});
    await until(() => hanging.attempts.length === 1, "the attempt");
    await other.cancel();
    expect(hanging.attempts[0]!.signal?.aborted).toBe(true);
  });

  test("break out of for await: the live connection is closed and nothing is attempted again", async () => {
    const { attempts, made, connect } = scripted(["ok"]);
    for await (const connection of reconnecting(connect, { path: "x", retry: 0 })) {
      expect(connection).toBe(made[0]);
      break;
    }
    expect(made[0]!.closes).toBe(1);
    await delay(50);
    expect(attempts).toHaveLength(1);
  });
});

describe.each(TRANSPORTS)(`reconnect on ${runtimeName} over %s`, (transport) => {
  const where = endpoints(transport);
  afterAll(() => where.remove());
  let count = 0;

  /** Serves at `address` (a fresh one when omitted) and echoes; the same address can be served again. */
  async function echoServer(
    address?: ReturnType<typeof where.listen>,
    maxConnections = ipc.DEFAULT_MAX_CONNECTIONS,
  ): Promise<Server> {
    const server = await ipc.serve({ ...(address ?? where.listen(`reconnect-${++count}`)), maxConnections });
    void (async () => {
      for await (const connection of server.connections) {
        connection.readable.pipeTo(connection.writable).catch(() => {});
      }
    })();
    return server;
  }

  /** The serve options for the address `server` has (its real port on TCP and TLS). */
  function sameAddress(server: Server): ReturnType<typeof where.listen> {
    const address = server.address;
    if (address.transport === "unix") return { path: address.path };
    return address.transport === "tls"
      ? { port: address.port, host: address.host, tls: certificates.server }
      : { port: address.port, host: address.host };
  }

  test("a server that restarts: a new connection each time, messages flow on each", async () => {
    let server = await echoServer();
    const address = sameAddress(server);
    const connections: Connection[] = [];
    let rounds = 0;
    for await (const connection of ipc.reconnect({ ...where.reach(server), retry: 50 })) {
      connections.push(connection);
      rounds++;
      await connection.emit("round", rounds);
      expect(await take(connection.readable, 1)).toEqual([{ type: "round", data: rounds }]);
      if (rounds === 3) break;
      await server.close(); // the server goes away ...
      server = await echoServer(address); // ... and comes back on the same address
    }
    expect(rounds).toBe(3);
    expect(new Set(connections).size).toBe(3);
    // Leaving the loop closed the last connection.
    await connections[2]!.closed;
    await server.close();
  });

  test("maxRetries ends the stream when the server stays away", async () => {
    const server = await echoServer();
    const reach = where.reach(server);
    await server.close();
    const started = performance.now();
    const reader = ipc.reconnect({ ...reach, retry: 40, maxRetries: 3 }).getReader();
    expect(await readOutcome(reader)).toEqual({ code: "ERR_IPC_NO_SERVER" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(3 * 40 - EARLY);
  });

  test("nothing is carried over: a send on a connection that ended rejects; the next one works", async () => {
    let server = await echoServer();
    const address = sameAddress(server);
    const reader = ipc.reconnect({ ...where.reach(server), retry: 20 }).getReader();
    const first = (await reader.read()).value as Connection;
    await server.close();
    server = await echoServer(address);
    const second = (await reader.read()).value as Connection;
    // Reading the next connection closed the first: a send there fails, it is never moved over.
    await expect(first.emit("lost?", 1)).rejects.toMatchObject({ code: "ERR_IPC_CLOSED" });
    await second.emit("resent", 1);
    expect(await take(second.readable, 1)).toEqual([{ type: "resent", data: 1 }]);
    await reader.cancel();
    await second.closed;
    await server.close();
  });

  test("cancel and abort close the live connection: the server sees it end", async () => {
    const server = await ipc.serve(where.listen(`reconnect-${++count}`));
    const accepted = acceptor(server);
    const reader = ipc.reconnect(where.reach(server)).getReader();
    await reader.read();
    const peer = await accepted.next();
    await reader.cancel();
    for await (const _ of peer.readable) {
      // ends: the client closed its side
    }
    const stop = new AbortController();
    const aborting = ipc.reconnect({ ...where.reach(server), signal: stop.signal }).getReader();
    const live = (await aborting.read()).value as Connection;
    const other = await accepted.next();
    await live.emit("before", 1);
    stop.abort();
    expect(await aborting.read()).toEqual({ done: true, value: undefined });
    const seen: unknown[] = [];
    for await (const message of other.readable) seen.push(message);
    expect(seen).toEqual([{ type: "before", data: 1 }]); // closed gracefully: what was sent arrives
    await live.closed;
    await server.close();
  });

  test("a failure no retry can help ends the stream at the first attempt", async () => {
    if (transport === "tls") {
      const server = await echoServer();
      const address = server.address as { host: string; port: number };
      const wrongCa = { host: address.host, port: address.port, tls: { ca: certificates.otherCa }, retry: 10 };
      let attempts = 0;
      const counting = (options: ConnectOptions) => {
        attempts++;
        return ipc.connect(options);
      };
      await expect(reconnecting(counting, wrongCa).getReader().read()).rejects.toMatchObject({ code: "ERR_IPC_TLS" });
      expect(attempts).toBe(1);
      await server.close();
    } else if (transport === "unix") {
      const tooLong = `${sockets.dir}/${"p".repeat(120)}`;
      await expect(ipc.reconnect({ path: tooLong, retry: 10 }).getReader().read()).rejects.toMatchObject({
        code: "ERR_IPC_PATH_TOO_LONG",
      });
    } else {
      await expect(ipc.reconnect({ port: 0, retry: 10 }).getReader().read()).rejects.toMatchObject({
        code: "ERR_IPC_INVALID_OPTION",
      });
    }
  });

  test("a storm: 200 clients of a server that restarts all come back, their attempts spread by jitter", async () => {
    const CLIENTS = 200;
    const DOWN_MS = 1500;
    let server = await echoServer(undefined, CLIENTS);
    const address = sameAddress(server);
    const reach = where.reach(server);
    const attempts: number[] = [];
    const connect = (options: ConnectOptions) => {
      attempts.push(performance.now());
      return ipc.connect(options);
    };
    const stop = new AbortController();
    const generations = Array.from({ length: CLIENTS }, () => 0);
    const clients = generations.map(async (_, i) => {
      const stream = reconnecting(connect, {
        ...reach,
        retry: 200,
        backoff: { factor: 1.5, max: 1000, jitter: 0.5 },
        signal: stop.signal,
      });
      for await (const connection of stream) {
        generations[i]!++;
        for await (const _ of connection.readable) {
          // until the server goes
        }
      }
    });
    await until(() => generations.every((n) => n === 1), "every client connected", 60_000);
    await until(() => server.connectionCount === CLIENTS, "the server's count", 60_000);
    const downAt = performance.now();
    const before = attempts.length;
    await server.close();
    await delay(DOWN_MS);
    server = await echoServer(address, CLIENTS);
    const upAt = performance.now();
    await until(() => generations.every((n) => n === 2), "every client back", 60_000);
    const backIn = performance.now() - upAt;
    // While it was down, the attempts spread out: per 100 ms, never all 200 at once.
    const downtime = attempts.slice(before).filter((at) => at >= downAt && at < upAt);
    const perWindow = new Map<number, number>();
    for (const at of downtime)
      perWindow.set(Math.floor((at - downAt) / 100), (perWindow.get(Math.floor((at - downAt) / 100)) ?? 0) + 1);
    const busiest = Math.max(...perWindow.values());
    const perSecond = (downtime.length / DOWN_MS) * 1000;
    const measured = JSON.stringify({ busiest, perSecond: Math.round(perSecond), backIn: Math.round(backIn) });
    // In step, all 200 would try in the same 100 ms, 1,000 times a second at a fixed 200 ms.
    expect(busiest, measured).toBeLessThan(CLIENTS * 0.8);
    expect(perSecond, measured).toBeLessThan(CLIENTS * (1000 / 200) * 0.8);
    // Waits are at most 1000 × 1.5 ms: every client is back well within that after the restart.
    expect(backIn).toBeLessThan(30_000);
    stop.abort();
    await Promise.all(clients);
    await server.close();
  }, 120_000);
});

describe(`reconnect on ${runtimeName}: a Unix server that takes no more connections`, () => {
  test("a full queue of pending connections is ERR_IPC_NO_SERVER, retried until the server takes them", async () => {
    const path = sockets.path("busy");
    const child = spawnChild(runtimeName, "test/fixtures/raw-peer.mjs", ["listen", path]);
    const held: Connection[] = [];
    const pid = child.process.pid as number;
    try {
      expect(await child.line()).toMatchObject({ ready: true });
      process.kill(pid, "SIGSTOP"); // the server accepts nothing: the kernel's queue fills up
      let failure: unknown;
      for (let i = 0; i < 10_000 && failure === undefined; i++) {
        try {
          held.push(await ipc.connect({ path, connectTimeout: 5000 }));
        } catch (error) {
          failure = error;
        }
      }
      expect(failure).toMatchObject({ code: "ERR_IPC_NO_SERVER" });
      let attempts = 0;
      const counting = (options: ConnectOptions) => {
        attempts++;
        return ipc.connect(options);
      };
      const reader = reconnecting(counting, { path, retry: 20, connectTimeout: 5000 }).getReader();
      const reading = reader.read();
      await until(() => attempts >= 3, "attempts while the queue is full");
      process.kill(pid, "SIGCONT"); // it accepts again
      const { value } = await reading;
      expect(value).toBeDefined();
      await reader.cancel();
    } finally {
      process.kill(pid, "SIGCONT");
      for (const connection of held) connection.destroy();
      await child.kill();
    }
  }, 60_000);
});
