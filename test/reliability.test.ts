/**
 * Reliability under load, on the runtime running the suite: many concurrent clients, a thousand
 * short connections, hostile peers beside a good client, and a client that stops reading. After
 * each, the server holds no more file descriptors than before, its memory stayed bounded, and
 * every reply arrived, in order. Runs unchanged on Node, Bun and Deno (see test/runtime.ts).
 *
 * Descriptors are counted in /proc/self/fd (Linux). Clients run in child processes of the lane's
 * runtime: a client "gone" then includes its process exiting, and the count of the server's
 * process is not mixed with the clients' descriptors.
 */
import { readdirSync } from "node:fs";
import process from "node:process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { IpcEvent, ServeOptions, Server, ServerAddress } from "../src/index.ts";
import { type Child, spawnChild } from "./fixtures/children.ts";
import { nodeBundle } from "./fixtures/node-bundle.ts";
import { take, until } from "./fixtures/sockets.ts";
import { type Endpoints, endpoints, TRANSPORTS } from "./fixtures/transports.ts";
import { ipc, runtimeName } from "./runtime.ts";

const children: Child[] = [];
let env: Record<string, string> = {};

beforeAll(async () => {
  env = { IPC_STREAMS_NODE_BUNDLE: await nodeBundle() };
  // Deno opens its signal-handling socket pair at the first signal listener, or by itself about
  // half a second after start, which could fall between a test's two descriptor counts: now.
  const ignore = () => {};
  process.on("SIGUSR2", ignore);
  process.off("SIGUSR2", ignore);
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.kill()));
});

const MiB = 1024 * 1024;
/** How long the server may take to release everything once its peers are gone. */
const RELEASE_MS = 5_000;

/** Resolves as `promise` does, or rejects once `ms` passed: a stuck peer fails fast and says where. */
async function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every line of `children` (the next one of each), within the time limit. */
const linesOf = (children: Child[], what: string) => within(Promise.all(children.map((child) => child.line())), what);
/** Every exit status of `children`, within the time limit. */
const exitsOf = (children: Child[]) =>
  within(Promise.all(children.map((child) => child.exited)), "the children to exit");

function openDescriptors(): number {
  return readdirSync("/proc/self/fd").length;
}

function rss(): number {
  return process.memoryUsage().rss;
}

/** Starts a fixture script in the lane's runtime; it is killed after the file if still running. */
function peer(script: string, args: string[]): Child {
  const child = spawnChild(runtimeName, `test/fixtures/${script}`, args, env);
  children.push(child);
  return child;
}

/** What an in-process echo server saw. */
interface EchoCounts {
  accepted: number;
  echoed: number;
  /** Connections whose handler failed, with the error. */
  failures: unknown[];
}

/**
 * Serves `options` with an echo handler written as users write one:
 * `for await (const m of connection.readable) await connection.emit(m.type, m.data)`, then
 * `await connection.close()` if `close` is set (left out, the library must end a half-open
 * connection by itself).
 */
async function echoServer(
  options: ServeOptions,
  { close }: { close: boolean },
): Promise<{ server: Server<IpcEvent>; counts: EchoCounts }> {
  const server = await ipc.serve<IpcEvent>(options);
  const counts: EchoCounts = { accepted: 0, echoed: 0, failures: [] };
  void (async () => {
    for await (const connection of server.connections) {
      counts.accepted++;
      (async () => {
        for await (const m of connection.readable) {
          await connection.emit(m.type, m.data);
          counts.echoed++;
        }
        if (close) await connection.close();
      })().catch((error: unknown) => counts.failures.push(error));
    }
  })();
  return { server, counts };
}

/**
 * One client process does one echo and exits: whatever a runtime opens on its first accept or
 * spawn is open before the baseline. Resolves with the descriptor count once that client is gone.
 */
async function baselineAfterWarmUp(at: Endpoints, server: Server<IpcEvent>): Promise<number> {
  const child = peer("load-peer.mjs", ["cycles", at.childReach(server), "1", "open"]);
  expect(await linesOf([child], "the warm-up client")).toEqual([{ ok: true, cycles: 1 }]);
  expect(await exitsOf([child])).toEqual([0]);
  await until(() => server.connectionCount === 0, "the warm-up connection to be released", RELEASE_MS);
  return openDescriptors();
}

/** Waits (bounded) until the server has no live connection and no more descriptors than `baseline`. */
async function expectReleased(server: Server<IpcEvent>, baseline: number): Promise<void> {
  const released = () => server.connectionCount === 0 && openDescriptors() <= baseline;
  await until(released, "connections and descriptors to be released", RELEASE_MS).catch(() => {});
  expect(server.connectionCount, "live connections").toBe(0);
  expect(openDescriptors(), `open descriptors (baseline ${baseline})`).toBeLessThanOrEqual(baseline);
}

function expectOnlyIpcErrors(failures: unknown[]): void {
  const others = failures.filter((failure) => !(failure instanceof ipc.IpcError)).map(String);
  expect(others, "handler failures that are not IpcErrors").toEqual([]);
}

describe.each(TRANSPORTS)(`reliability on ${runtimeName} over %s: load`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  test("200 concurrent clients × 50 echoes, ending three ways: all served, every descriptor back", async () => {
    const { server, counts } = await echoServer({ ...at.listen("many"), maxConnections: 300 }, { close: true });
    const baseline = await baselineAfterWarmUp(at, server);
    const clients = Array.from({ length: 4 }, () =>
      peer("load-peer.mjs", ["clients", at.childReach(server), "50", "50"]),
    );
    expect(await linesOf(clients, "the clients to connect")).toEqual(clients.map(() => ({ connected: 50 })));
    await until(() => server.connectionCount === 200, "200 live connections", RELEASE_MS);
    for (const client of clients) client.process.stdin?.write("go\n");
    // Each client: close(), writable.close() then close(), or destroy(), in turn. Soft: whatever
    // the clients saw, the server must still release everything once they are gone.
    expect
      .soft(await linesOf(clients, "the clients' reports"))
      .toEqual(clients.map(() => ({ ok: true, clients: 50, echoes: 2_500 })));
    expect.soft(await exitsOf(clients)).toEqual([0, 0, 0, 0]);
    expect.soft(counts.echoed).toBe(1 + 200 * 50);
    await expectReleased(server, baseline);
    // A destroyed peer may reset its connection; that is reported as an IpcError, nothing else.
    expectOnlyIpcErrors(counts.failures);
    await server.close();
  });

  test("a burst of 1,000 connects at once: none refused, all served, every descriptor back", async () => {
    const { server, counts } = await echoServer({ ...at.listen("burst"), maxConnections: 1_100 }, { close: true });
    const baseline = await baselineAfterWarmUp(at, server);
    // One process starts all 1,000 connects before the server accepts any: a refused one fails it.
    const burst = peer("load-peer.mjs", ["clients", at.childReach(server), "1000", "1"]);
    expect(await linesOf([burst], "the burst to connect")).toEqual([{ connected: 1_000 }]);
    burst.process.stdin?.write("go\n");
    expect(await linesOf([burst], "the burst's report")).toEqual([{ ok: true, clients: 1_000, echoes: 1_000 }]);
    expect(await exitsOf([burst])).toEqual([0]);
    expect(counts.accepted).toBe(1 + 1_000);
    await expectReleased(server, baseline);
    expectOnlyIpcErrors(counts.failures);
    await server.close();
  });

  test("1,000 connect / echo / half-close / exit cycles: all served, descriptors back, RSS bounded", async () => {
    // No close() in the handler: a half-open connection ends by itself after halfOpenTimeout.
    const { server, counts } = await echoServer(
      { ...at.listen("cycles"), maxConnections: 1_100, halfOpenTimeout: 200 },
      { close: false },
    );
    const baseline = await baselineAfterWarmUp(at, server);
    // 10 processes × 100 sequential cycles, each connection dropped half-closed without close();
    // each process exits during its last cycle, half the time with that connection fully open.
    // They run in two waves: the first also warms the runtime up (JIT, heap sizing), so RSS growth
    // is measured over the second, where a cost per connection would still show.
    const wave = async (first: number) => {
      const clients = Array.from({ length: 5 }, (_, i) =>
        peer("load-peer.mjs", ["cycles", at.childReach(server), "100", (first + i) % 2 === 0 ? "half-closed" : "open"]),
      );
      expect(await linesOf(clients, "the clients' reports")).toEqual(clients.map(() => ({ ok: true, cycles: 100 })));
      expect(await exitsOf(clients)).toEqual(clients.map(() => 0));
    };
    await wave(0);
    const rssBefore = rss();
    await wave(5);
    expect(counts.accepted).toBe(1 + 1_000);
    expect(counts.echoed).toBe(1 + 1_000);
    await expectReleased(server, baseline);
    expect(rss() - rssBefore, "RSS growth over the second wave").toBeLessThan(64 * MiB);

    // The same while the peer process lives on: its half-closed connections still end by themselves.
    const lingering = peer("load-peer.mjs", ["cycles", at.childReach(server), "10", "linger"]);
    expect(await linesOf([lingering], "the lingering client")).toEqual([{ ok: true, cycles: 10, lingering: true }]);
    await until(() => server.connectionCount === 0, "the lingering client's connections to end", RELEASE_MS).catch(
      () => {},
    );
    expect(server.connectionCount, "live connections of a client that is still running").toBe(0);
    lingering.process.stdin?.end();
    expect(await linesOf([lingering], "the lingering client to end")).toEqual([{ ok: true, cycles: 10 }]);
    expect(await exitsOf([lingering])).toEqual([0]);
    expectOnlyIpcErrors(counts.failures);
    await server.close();
  });
});

/** Counts of a stats reply from test/fixtures/echo-server.mjs. */
interface ServerStats {
  fds: number;
  connections: number;
  echoed: number;
  errors: Record<string, number>;
  other: string[];
}

describe.each(TRANSPORTS)(`reliability on ${runtimeName} over %s: hostile peers`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  test("240 hostile connections beside 2,000 echoes: every reply right, nothing printed, all released", async () => {
    // The server runs in its own process, so that anything the library prints would be seen.
    const server = peer("echo-server.mjs", [at.childListen("hostile")]);
    const [ready] = (await linesOf([server], "the server to listen")) as { ready: boolean; address: ServerAddress }[];
    expect(ready?.ready).toBe(true);
    const served = { address: ready?.address as ServerAddress };
    const reach = at.reach(served);

    const good = await ipc.connect(reach);
    const reader = good.readable.getReader();
    const request = async (type: string, data: unknown): Promise<IpcEvent | undefined> => {
      await good.emit(type, data);
      const { done, value } = await reader.read();
      return done ? undefined : (value as IpcEvent);
    };
    const stats = async () => (await request("stats", null))?.data as ServerStats;
    /** Asks for the server's stats every 5 ms until `done` holds or the time is up; the last answer. */
    const statsWhen = async (done: (stats: ServerStats) => boolean): Promise<ServerStats> => {
      const deadline = Date.now() + RELEASE_MS;
      for (;;) {
        const current = await stats();
        if (done(current) || Date.now() > deadline) return current;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    // A first connection from another process and a few echoes open whatever the server opens lazily.
    const warmUp = peer("load-peer.mjs", ["cycles", at.childReach(served), "1", "open"]);
    expect(await linesOf([warmUp], "the warm-up client")).toEqual([{ ok: true, cycles: 1 }]);
    expect(await exitsOf([warmUp])).toEqual([0]);
    const before = await statsWhen((current) => current.connections === 1);
    expect(before).toMatchObject({ connections: 1, echoed: 1, errors: {}, other: [] });

    const hostile = peer("hostile-peer.mjs", [at.childReach(served), "40", "2000"]);
    expect(await linesOf([hostile], "the hostile peers to start")).toEqual([{ started: true }]);
    const text = "ünïcødé 😀 \u2028";
    const echoes = async () => {
      for (let n = 0; n < 2_000; n++) {
        const data = { n, text };
        expect(await request("echo", data), `reply ${n}`).toEqual({ type: "echo", data });
      }
    };
    await within(echoes(), "2,000 echoes");
    const [report] = (await linesOf([hostile], "the hostile peers' report")) as {
      done: boolean;
      connected: number;
      completed: Record<string, number>;
    }[];
    expect(report).toMatchObject({ done: true, connected: 240 });
    expect(await exitsOf([hostile])).toEqual([0]);

    // Every hostile connection is gone: the server is back to its descriptors from before.
    const after = await statsWhen((current) => current.fds <= before.fds && current.connections === 1);
    expect(after.other, "failures that are not IpcErrors").toEqual([]);
    expect(after.connections).toBe(1);
    expect(after.fds, `open descriptors (before: ${before.fds})`).toBeLessThanOrEqual(before.fds);
    // The good client's echoes, and those the reset peers asked for before they went.
    expect(after.echoed).toBeGreaterThanOrEqual(1 + 2_000);
    expect(after.echoed).toBeLessThanOrEqual(1 + 2_000 + 40);
    // Every connection that got a bad frame out was errored, and with a typed code.
    const errored = Object.values(after.errors).reduce((sum, count) => sum + count, 0);
    const { random, json, utf8, oversized } = report?.completed ?? {};
    const badFrames = (random ?? 0) + (json ?? 0) + (utf8 ?? 0) + (oversized ?? 0);
    expect(errored, JSON.stringify(after.errors)).toBeGreaterThanOrEqual(badFrames);
    expect(errored, JSON.stringify(after.errors)).toBeLessThanOrEqual(240);
    // A reset peer may also fail the echo the server was writing to it: ERR_IPC_CLOSED.
    const expectedCodes = [
      "ERR_IPC_CLOSED",
      "ERR_IPC_INVALID_JSON",
      "ERR_IPC_INVALID_UTF8",
      "ERR_IPC_FRAME_TOO_LARGE",
      "ERR_IPC_TRUNCATED_FRAME",
      "ERR_IPC_CONNECTION_RESET",
    ];
    for (const code of Object.keys(after.errors)) expect(expectedCodes).toContain(code);

    // Still serving, a new client included.
    const late = await ipc.connect(reach);
    await late.emit("echo", "after the storm");
    expect(await take(late.readable, 1)).toEqual([{ type: "echo", data: "after the storm" }]);
    await late.close();
    reader.releaseLock();
    await good.close();

    server.process.stdin?.end();
    expect(await linesOf([server], "the server to close")).toEqual([{ closed: true }]);
    expect(await exitsOf([server])).toEqual([0]);
    // Its two lines were all it printed.
    await expect(server.line()).rejects.toThrow(/exited/);
    expect(server.stderr()).toBe("");
  });
});

describe.each(TRANSPORTS)(`reliability on ${runtimeName} over %s: backpressure`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  test("a client that writes 20,000 echo requests and reads nothing for 2 s: server RSS bounded, replies complete", async () => {
    const { server, counts } = await echoServer(at.listen("flood"), { close: true });
    const baseline = await baselineAfterWarmUp(at, server);
    const padding = 4096;
    const rssBefore = rss();
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss());
    }, 20);
    let report: Record<string, unknown>;
    try {
      const client = peer("load-peer.mjs", ["flood", at.childReach(server), "20000", String(padding), "2000"]);
      [report] = (await linesOf([client], "the flooding client's report")) as [Record<string, unknown>];
      expect(await exitsOf([client])).toEqual([0]);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rss());
    expect(report).toMatchObject({ ok: true, received: 20_000 });
    // While the client read nothing, backpressure held its writes to what the buffers on the way take.
    const held = (report.writtenWhilePaused as number) * padding;
    // TCP grows a loopback connection's buffers (tcp_rmem allows up to 32 MiB): a larger bound,
    // still well below the 80 MiB the client has to write.
    const bound = transport === "unix" ? 8 * MiB : 24 * MiB;
    expect(held, "bytes written while the client read nothing").toBeLessThan(bound);
    expect(peak - rssBefore, "server RSS growth").toBeLessThan(100 * MiB);
    expect(counts.echoed).toBe(1 + 20_000);
    await expectReleased(server, baseline);
    expectOnlyIpcErrors(counts.failures);
    await server.close();
  });
});
