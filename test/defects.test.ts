/**
 * Regression tests, one per known defect (numbered as in the bug list), each proving the fixed
 * behaviour through the public API. Runs unchanged on Node, Bun and Deno (see test/runtime.ts);
 * child processes run in the suite's own runtime.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Connection, ServerAddress } from "../src/index.ts";
import { type Child, repositoryRoot, spawnChild } from "./fixtures/children.ts";
import { nodeBundle } from "./fixtures/node-bundle.ts";
import { acceptor, drain, echo, outcome, socketDirectory, take, until } from "./fixtures/sockets.ts";
import { type Endpoints, endpoints, TRANSPORTS } from "./fixtures/transports.ts";
import { ipc, runtimeName } from "./runtime.ts";

const sockets = socketDirectory();
const children: Child[] = [];
/** Directories made immutable by a test, made mutable again whatever happens. */
const immutable = new Set<string>();
let bundleEnv: Record<string, string> = {};

beforeAll(async () => {
  bundleEnv = { IPC_STREAMS_NODE_BUNDLE: await nodeBundle() };
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.kill()));
  for (const dir of immutable) spawnSync("chattr", ["-i", dir]);
  sockets.remove();
});

/** The longest any single test may take. */
const TEST_MS = 10_000;

type Settled<T> = { status: "fulfilled"; value: T } | { status: "rejected"; reason: unknown } | { status: "pending" };

/** How `promise` stands after at most `ms`: settled (as `Promise.allSettled` reports it) or still pending. */
async function within<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ status: "pending" }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value): Settled<T> => ({ status: "fulfilled", value }),
        (reason: unknown): Settled<T> => ({ status: "rejected", reason }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fulfils once `promise` settles, either way (for `closed`, which may reject). */
const settled = (promise: Promise<unknown>) =>
  promise.then(
    () => {},
    () => {},
  );

/** Settles after `ms`; only where time itself is what is tested (a pace, or "nothing happens"). */
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The `code` of an IpcError, or a description of anything else. */
function codeOf(error: unknown): string {
  return error instanceof ipc.IpcError ? error.code : `not an IpcError: ${String(error)}`;
}

/** The child's next JSON line; what went wrong instead if it exited first or printed none within `ms`. */
async function lineOf(child: Child, ms = 5000): Promise<unknown> {
  const line = await within(child.line(), ms);
  if (line.status === "fulfilled") return line.value;
  return line.status === "rejected" ? { error: String(line.reason) } : { error: `no line within ${ms} ms` };
}

/** test/fixtures/leaving-client.mjs in the suite's runtime. */
function leavingClient(...args: string[]): Child {
  const child = spawnChild(runtimeName, "test/fixtures/leaving-client.mjs", args, bundleEnv);
  children.push(child);
  return child;
}

/**
 * test/fixtures/raw-peer.mjs in the suite's runtime, given its `<address>` argument; resolves once
 * it printed its ready line, with the address a serving peer listens on.
 */
async function rawPeer(
  mode: "deaf" | "idle" | "listen",
  address: string,
): Promise<Child & { readonly address: ServerAddress | undefined }> {
  // A peer that never reads runs on Node: a paused Deno node:tls socket (without our repair) reads on.
  const child = spawnChild(mode === "listen" ? runtimeName : "node", "test/fixtures/raw-peer.mjs", [mode, address]);
  children.push(child);
  const line = (await lineOf(child)) as { address?: ServerAddress };
  expect(line).toEqual(mode === "idle" ? { connected: true } : { ready: true, address: expect.any(Object) });
  return Object.assign(child, { address: line.address });
}

/** Connects, sends one event and expects it echoed within 2 s: true when the server at `path` serves. */
async function serves(path: string, data: unknown = "ping"): Promise<boolean> {
  try {
    const client = await ipc.connect({ path });
    try {
      await client.emit("echo", data);
      const reply = await within(take(client.readable, 1), 2000);
      return reply.status === "fulfilled" && JSON.stringify(reply.value) === JSON.stringify([{ type: "echo", data }]);
    } finally {
      await within(client.close(), 2000);
    }
  } catch {
    return false;
  }
}

describe.each(TRANSPORTS)(`defects on ${runtimeName} over %s: sending, then exiting`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  for (const mode of ["emit-exit", "write-exit"] as const) {
    const how = mode === "emit-exit" ? "await connection.emit()" : "await writer.write()";
    test(
      `defect 1: ${how} reaches the OS before exit: 3 awaited sends, then process.exit, all arrive`,
      async () => {
        const name = mode;
        const server = await ipc.serve(at.listen(name));
        const accepted = acceptor(server);
        const child = leavingClient(mode, at.childReach(server), "3");
        const side = await accepted.next();
        const received = await within(drain(side.readable), 5000);
        expect(await within(child.exited, 5000)).toEqual({ status: "fulfilled", value: 0 });
        expect(child.stderr()).toBe("");
        expect(received).toEqual({
          status: "fulfilled",
          value: [0, 1, 2].map((n) => ({ type: "last", data: { n, text: `last words ${n}` } })),
        });
        await server.close();
      },
      TEST_MS,
    );
  }
});

/** The bytes as runs of one character: "A×1000 B×1000 C×1000". */
function runs(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let start = 0; start < bytes.length; ) {
    let end = start;
    while (end < bytes.length && bytes[end] === bytes[start]) end++;
    parts.push(`${String.fromCharCode(bytes[start] as number)}×${end - start}`);
    start = end;
  }
  return parts.join(" ");
}

describe.each(TRANSPORTS)(`defects on ${runtimeName} over %s: raw mode`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  for (const size of [1000, 256 * 1024]) {
    test(
      `defect 2: raw mode, one ${size}-byte buffer refilled between awaited writes: the peer gets each content`,
      async () => {
        const name = `reuse-${size}`;
        const server = await ipc.serve({ ...at.listen(name), raw: true });
        const accepted = acceptor(server);
        const client = await ipc.connect({ ...at.reach(server), raw: true });
        const side = await accepted.next();
        const receiving = drain(side.readable);
        const writer = client.writable.getWriter();
        const buffer = new Uint8Array(size);
        for (let i = 0; i < 3; i++) {
          buffer.fill(65 + i);
          await writer.write(buffer);
        }
        await writer.close();
        const received = await within(receiving, 5000);
        expect(received.status).toBe("fulfilled");
        const bytes = new Uint8Array(
          (received.status === "fulfilled" ? received.value : []).flatMap((chunk) => [...chunk]),
        );
        expect(runs(bytes)).toBe(`A×${size} B×${size} C×${size}`);
        await client.close();
        await server.close();
      },
      TEST_MS,
    );
  }
});

describe(`defects on ${runtimeName}: options`, () => {
  /** Options that cannot work; `serve` and `connect` must refuse each before opening anything. */
  const badCodecOptions: [string, Record<string, unknown>][] = [
    ['delimiter ""', { delimiter: "" }],
    ["delimiter 42 (not a string)", { delimiter: 42 }],
    ["maxFrameSize 0", { maxFrameSize: 0 }],
    ["maxFrameSize -1", { maxFrameSize: -1 }],
    ["maxFrameSize NaN", { maxFrameSize: Number.NaN }],
    ["validate { maxTypeLength: 0 }", { validate: { maxTypeLength: 0 } }],
    ["validate { allowedTypes: [] }", { validate: { allowedTypes: [] } }],
    ['validate "guarded" (neither a boolean nor an object)', { validate: "guarded" }],
  ];
  const badServeOptions: [string, Record<string, unknown>][] = [
    ...badCodecOptions,
    ["maxConnections 0", { maxConnections: 0 }],
  ];
  const refusedUpFront = "rejected with ERR_IPC_INVALID_OPTION, nothing created";

  /** What `serve` did with bad options at a fresh path; a server it started anyway is closed. */
  async function serveWithBadOptions(path: string, options: Record<string, unknown>): Promise<string> {
    let result: string;
    try {
      const server = await ipc.serve({ path, ...options });
      await server.close();
      result = "resolved";
    } catch (error) {
      result = codeOf(error) === "ERR_IPC_INVALID_OPTION" ? refusedUpFront : `rejected with ${codeOf(error)}`;
    }
    // A socket file left behind, or one a resolved server made (and removed on close), both count.
    return result === refusedUpFront && existsSync(path) ? "rejected, but left a file at the path" : result;
  }

  /** Connects with bad options to a live server; what connect did, and what the server saw. */
  async function connectWithBadOptions(cases: [string, Record<string, unknown>][]) {
    const path = sockets.path("bad-connect");
    const server = await ipc.serve({ path });
    const accepted = acceptor(server);
    const results: Record<string, string> = {};
    for (const [what, options] of cases) {
      try {
        const connection = await ipc.connect({ path, ...options });
        await connection.close();
        results[what] = "resolved";
      } catch (error) {
        results[what] = codeOf(error) === "ERR_IPC_INVALID_OPTION" ? refusedUpFront : `rejected with ${codeOf(error)}`;
      }
    }
    // Nothing to wait for but time: a connection that was opened shows up here within 300 ms.
    const yielded = await within(accepted.next(), 300);
    const seen = { connectionCount: server.connectionCount, yielded: yielded.status !== "pending" };
    if (yielded.status === "fulfilled") await yielded.value.close();
    await server.close();
    return { results, seen };
  }

  test(
    'defect 3: serve({ path, delimiter: "" }) rejects with ERR_IPC_INVALID_OPTION and leaves no file',
    async () => {
      const path = sockets.path("bad-delimiter");
      expect(await serveWithBadOptions(path, { delimiter: "" })).toBe(refusedUpFront);
      expect(existsSync(path)).toBe(false);
    },
    TEST_MS,
  );

  test(
    "defect 3: connect({ path, maxFrameSize: 0 }) rejects with ERR_IPC_INVALID_OPTION before connecting",
    async () => {
      const { results, seen } = await connectWithBadOptions([["maxFrameSize 0", { maxFrameSize: 0 }]]);
      expect(results).toEqual({ "maxFrameSize 0": refusedUpFront });
      expect(seen).toEqual({ connectionCount: 0, yielded: false });
    },
    TEST_MS,
  );

  test(
    "defect 3: every bad option is refused by serve and connect before anything is opened",
    async () => {
      const served: Record<string, string> = {};
      for (const [i, [what, options]] of badServeOptions.entries()) {
        served[what] = await serveWithBadOptions(sockets.path(`bad-serve-${i}`), options);
      }
      expect(served).toEqual(Object.fromEntries(badServeOptions.map(([what]) => [what, refusedUpFront])));
      const { results, seen } = await connectWithBadOptions(badCodecOptions);
      expect(results).toEqual(Object.fromEntries(badCodecOptions.map(([what]) => [what, refusedUpFront])));
      expect(seen).toEqual({ connectionCount: 0, yielded: false });
    },
    TEST_MS,
  );
});

/** Writes past which {@link writeUntilStuck} gives up (64 MiB): a peer that reads must not hang the suite. */
const MOST_FILL_WRITES = 1024;

/**
 * Writes 64 KiB chunks until one is not done within 200 ms: the peer does not read and the kernel's
 * buffers are full. Resolves with `stuck`, that write's promise (given a no-op rejection handler).
 */
async function writeUntilStuck(writer: WritableStreamDefaultWriter<Uint8Array>): Promise<{ stuck: Promise<void> }> {
  const chunk = new Uint8Array(64 * 1024).fill(120);
  for (let i = 0; i < MOST_FILL_WRITES; i++) {
    const write = writer.write(chunk);
    write.catch(() => {});
    const written = await within(write, 200);
    if (written.status === "pending") return { stuck: write };
    if (written.status === "rejected") {
      throw new Error(`a write failed before the buffers were full: ${String(written.reason)}`);
    }
  }
  throw new Error(`${MOST_FILL_WRITES} writes of 64 KiB all went through: the peer reads after all`);
}

/** A raw client connection to a child server that never reads, with its writes stuck. */
async function stuckClient(at: Endpoints, name: string, signal?: AbortSignal) {
  const peer = await rawPeer("deaf", at.childListen(name));
  const reach = at.reach({ address: peer.address as ServerAddress });
  const connection = await ipc.connect({ ...reach, raw: true, ...(signal ? { signal } : {}) });
  const writer = connection.writable.getWriter();
  const { stuck } = await writeUntilStuck(writer);
  return { peer, connection, writer, stuck };
}

describe.each(TRANSPORTS)(`defects on ${runtimeName} over %s: a peer that stopped reading`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  test(
    "defect 4a: connection.destroy() on a connection stuck writing: closed settles, the stuck write rejects",
    async () => {
      const { peer, connection, stuck } = await stuckClient(at, "stuck-destroy");
      try {
        connection.destroy();
        expect((await within(connection.closed, 1000)).status, "connection.closed within 1 s").not.toBe("pending");
        expect(await within(stuck, 1000)).toMatchObject({ status: "rejected", reason: expect.any(ipc.IpcError) });
      } finally {
        await peer.kill();
      }
    },
    TEST_MS,
  );

  test(
    "defect 4b: writer.abort() on a connection stuck writing settles at once, and closed settles",
    async () => {
      const { peer, connection, writer } = await stuckClient(at, "stuck-abort");
      try {
        const aborting = writer.abort(new Error("the peer stopped reading"));
        expect((await within(aborting, 1000)).status, "writer.abort() within 1 s").not.toBe("pending");
        expect((await within(connection.closed, 1000)).status, "connection.closed within 1 s").not.toBe("pending");
      } finally {
        await peer.kill();
      }
    },
    TEST_MS,
  );

  test(
    "defect 4c: aborting connect's signal on a connection stuck writing: closed settles at once",
    async () => {
      const controller = new AbortController();
      const { peer, connection } = await stuckClient(at, "stuck-signal", controller.signal);
      try {
        controller.abort(new Error("the peer stopped reading"));
        expect((await within(connection.closed, 1000)).status, "connection.closed within 1 s").not.toBe("pending");
      } finally {
        await peer.kill();
      }
    },
    TEST_MS,
  );

  test(
    "defect 4d: server.destroy() while close() waits on a client that stopped reading: both settle at once",
    async () => {
      const name = "stuck-server";
      const server = await ipc.serve({ ...at.listen(name), raw: true });
      const accepted = acceptor(server);
      const peer = await rawPeer("idle", at.childReach(server));
      try {
        const side = await accepted.next();
        await writeUntilStuck(side.writable.getWriter());
        const closing = server.close();
        closing.catch(() => {});
        // Nothing to wait for but time: a close() that waits for the stuck write is still pending.
        expect((await within(closing, 300)).status, "server.close() with a write stuck").toBe("pending");
        server.destroy();
        expect((await within(closing, 1000)).status, "server.close() within 1 s of destroy()").not.toBe("pending");
        expect((await within(server.closed, 1000)).status, "server.closed within 1 s of destroy()").not.toBe("pending");
        expect(server.connectionCount).toBe(0);
      } finally {
        await peer.kill();
      }
    },
    TEST_MS,
  );
});

describe.each(TRANSPORTS)(
  `defects on ${runtimeName} over %s: a server that stops reading a connection`,
  (transport) => {
    const at = endpoints(transport);
    afterAll(() => at.remove());

    const stops: [string, (readable: ReadableStream<unknown>) => Promise<void>][] = [
      [
        "breaking out of",
        async (readable) => {
          for await (const message of readable) {
            expect(message).toMatchObject({ type: "last", data: { n: 0 } });
            break;
          }
        },
      ],
      [
        "throwing out of",
        async (readable) => {
          const handling = (async () => {
            for await (const _ of readable) throw new Error("the handler failed");
          })();
          await expect(handling).rejects.toThrow("the handler failed");
        },
      ],
    ];
    for (const [how, stop] of stops) {
      test(
        `defect 5: ${how} for await over connection.readable: once the peer exits, closed settles and it no longer counts`,
        async () => {
          const name = `stop-${how.split(" ")[0]}`;
          const server = await ipc.serve(at.listen(name));
          const accepted = acceptor(server);
          const child = leavingClient("send-wait-exit", at.childReach(server), "400", "1024");
          expect(await lineOf(child)).toEqual({ sent: 1 });
          const side = await accepted.next();
          await stop(side.readable);
          // Then 400 KiB more, beyond what any runtime reads ahead: some of it is never read.
          child.process.stdin?.write("more\n");
          expect(await lineOf(child)).toEqual({ sent: 401 });
          child.process.stdin?.end();
          expect(await within(child.exited, 5000)).toEqual({ status: "fulfilled", value: 0 });
          // A Unix socket tells a gone peer at once; TCP only halfOpenTimeout (2 s) after it ended.
          const closed = await within(settled(side.closed), transport === "unix" ? 2000 : 4000);
          expect(closed.status, "the server's connection closed soon after the peer's exit").not.toBe("pending");
          expect(server.connectionCount).toBe(0);
          await within(server.close(), 2000);
        },
        TEST_MS,
      );
    }
  },
);

/** The server of defect 6, exactly as a user writes it: echo every message, never close. */
function echoWithoutClose(connection: Connection): void {
  (async () => {
    for await (const m of connection.readable) await connection.emit("echo", m);
  })().catch(() => {});
}

/** What test/fixtures/leaving-client.mjs half-close-exit prints when the server answered it. */
const replyTo = (n: number) => ({ reply: { type: "echo", data: { type: "hello", data: { n } } } });

describe.each(TRANSPORTS)(`defects on ${runtimeName} over %s: a peer that half-closes, then exits`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  test(
    "defect 6: a peer that half-closes and exits later is noticed (default halfOpenTimeout)",
    async () => {
      const name = "half-open";
      const server = await ipc.serve(at.listen(name));
      const accepted = acceptor(server);
      const child = leavingClient("half-close-exit", at.childReach(server), "500", "0");
      const side = await accepted.next();
      echoWithoutClose(side);
      expect(await lineOf(child)).toEqual(replyTo(0));
      expect(await within(child.exited, 5000)).toEqual({ status: "fulfilled", value: 0 });
      const closed = await within(settled(side.closed), 2500);
      expect(closed.status, "the server's connection closed within 2.5 s of the peer's exit").not.toBe("pending");
      expect(server.connectionCount).toBe(0);
      await within(server.close(), 2000);
    },
    TEST_MS,
  );

  test(
    "defect 6: maxConnections 5 and 12 clients in turn that half-close and exit: all 12 are served",
    async () => {
      const name = "half-open-many";
      const server = await ipc.serve({ ...at.listen(name), maxConnections: 5, halfOpenTimeout: 300 });
      void (async () => {
        for await (const connection of server.connections) echoWithoutClose(connection);
      })();
      const seen: unknown[] = [];
      for (let n = 0; n < 12; n++) {
        const child = leavingClient("half-close-exit", at.childReach(server), "50", String(n));
        const printed = await lineOf(child);
        const exited = await within(child.exited, 5000);
        seen.push({ printed, exit: exited.status === "fulfilled" ? exited.value : "still running" });
      }
      expect(seen).toEqual(Array.from({ length: 12 }, (_, n) => ({ printed: replyTo(n), exit: 0 })));
      await until(() => server.connectionCount === 0, "every connection to be forgotten", 2000);
      await within(server.close(), 2000);
    },
    TEST_MS,
  );

  test(
    "defect 6: a server that keeps writing after the peer half-closed keeps the connection open",
    async () => {
      const name = "half-open-busy";
      const server = await ipc.serve(at.listen(name));
      const accepted = acceptor(server);
      const client = await ipc.connect(at.reach(server));
      const side = await accepted.next();
      await client.emit("hello");
      await client.writable.close();
      expect(await within(drain(side.readable), 2000)).toEqual({
        status: "fulfilled",
        value: [{ type: "hello", data: {} }],
      });
      // One event every 200 ms for 3 s: longer than halfOpenTimeout in all, never idle that long.
      const ticks = 15;
      const sending = (async () => {
        for (let i = 0; i < ticks; i++) {
          await side.emit("tick", i);
          await pause(200);
        }
      })();
      const received = await within(take(client.readable, ticks), 6000);
      expect(received).toEqual({
        status: "fulfilled",
        value: Array.from({ length: ticks }, (_, i) => ({ type: "tick", data: i })),
      });
      await sending;
      await side.close();
      await client.close();
      await server.close();
    },
    TEST_MS,
  );
});

describe(`defects on ${runtimeName}: serve() on a stale socket`, () => {
  /** A lost race shows in some rounds only, so there are many. */
  const ROUNDS = 200;
  test(
    "defect 7: two serve() at once on a stale socket: one serves, the other gets ERR_IPC_ADDRESS_IN_USE (200 rounds)",
    async () => {
      // A stale socket: a listener's socket file, left behind when its process was killed. Each
      // round gets its own hard link to it, which is just as stale.
      const stale = sockets.path("stale");
      await (await rawPeer("listen", stale)).kill();
      expect(lstatSync(stale).isSocket()).toBe(true);
      const rounds: Record<string, number> = {};
      const count = (outcome: string) => {
        rounds[outcome] = (rounds[outcome] ?? 0) + 1;
      };
      for (let round = 0; round < ROUNDS; round++) {
        const path = sockets.path(`race-${round}`);
        linkSync(stale, path);
        const results = await Promise.allSettled([ipc.serve({ path }), ipc.serve({ path })]);
        const servers = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
        const codes = results.flatMap((result) => (result.status === "rejected" ? [codeOf(result.reason)] : []));
        for (const server of servers) echo(server);
        if (servers.length === 1 && codes[0] === "ERR_IPC_ADDRESS_IN_USE") {
          count((await serves(path, round)) ? "one served, one refused" : "one resolved, but no client reaches it");
        } else {
          count(`${servers.length} resolved, rejections: ${codes.join(", ") || "none"}`);
        }
        await Promise.all(servers.map((server) => within(server.close(), 2000)));
      }
      expect(rounds).toEqual({ "one served, one refused": ROUNDS });
    },
    TEST_MS,
  );
});

/** Ways to make unlink(path) fail, for root too; each returns an undo, or undefined where it is not possible. */
const unremovable: [string, (dir: string) => (() => void) | undefined][] = [
  [
    "its directory replaced by a file (unlink fails with ENOTDIR)",
    (dir) => {
      renameSync(dir, `${dir}.moved`);
      writeFileSync(dir, "not a directory");
      return () => {};
    },
  ],
  [
    "its directory made immutable with chattr +i (unlink fails with EPERM, root included)",
    (dir) => {
      const probe = join(dir, "probe");
      writeFileSync(probe, "");
      if (spawnSync("chattr", ["+i", dir]).status !== 0) return undefined;
      immutable.add(dir);
      const undo = () => {
        spawnSync("chattr", ["-i", dir]);
        immutable.delete(dir);
      };
      try {
        unlinkSync(probe);
      } catch {
        return undo;
      }
      undo(); // the file system ignores the flag
      return undefined;
    },
  ],
];

describe(`defects on ${runtimeName}: server.close() and its socket file`, () => {
  test(
    "defect 8: close() never removes a socket that is no longer its own (a new server's on the same path)",
    async () => {
      const path = sockets.path("replaced");
      const first = await ipc.serve({ path });
      unlinkSync(path);
      const second = await ipc.serve({ path });
      echo(second);
      expect((await within(first.close(), 2000)).status, "the first server's close()").toBe("fulfilled");
      expect(existsSync(path), "the second server's socket file, after the first closed").toBe(true);
      expect(await serves(path), "a client reaches the second server").toBe(true);
      await second.close();
    },
    TEST_MS,
  );

  test(
    "defect 8: close() finishes when the socket file cannot be removed: connections close, closed settles",
    async () => {
      const outcomes: Record<string, unknown> = {};
      for (const [i, [how, makeUnremovable]] of unremovable.entries()) {
        const dir = sockets.path(`unremovable-${i}`);
        mkdirSync(dir);
        const path = join(dir, "s");
        const server = await ipc.serve({ path });
        const accepted = acceptor(server);
        const client = await ipc.connect({ path });
        const side = await accepted.next();
        side.readable.pipeTo(side.writable).catch(() => {});
        const clientEnd = outcome(client.readable);
        const undo = makeUnremovable(dir);
        if (undo === undefined) {
          // Not possible on this file system: only the other ways count.
          await Promise.all([within(client.close(), 2000), within(server.close(), 2000)]);
          continue;
        }
        try {
          const closing = await within(server.close(), 3000);
          const countWhenClosed = server.connectionCount;
          const serverClosed = await within(server.closed, closing.status === "pending" ? 0 : 1000);
          const readable = await within(clientEnd, 1000);
          outcomes[how] = {
            close: closing.status === "rejected" ? `rejected with ${codeOf(closing.reason)}` : closing.status,
            connectionCountWhenCloseSettled: countWhenClosed,
            serverClosed: serverClosed.status === "pending" ? "pending" : "settled",
            clientReadable: readable.status === "fulfilled" && readable.value.error === undefined ? "ended" : readable,
          };
        } finally {
          undo();
        }
        await within(client.close(), 2000);
      }
      const settledCleanly = {
        // It may report the file it could not remove, once everything else is done.
        close: expect.stringMatching(/^(fulfilled|rejected with ERR_IPC_)/),
        connectionCountWhenCloseSettled: 0,
        serverClosed: "settled",
        clientReadable: "ended",
      };
      // The first way works on any file system, so the test never runs without one.
      expect(Object.keys(outcomes)).toContain(unremovable[0]?.[0]);
      expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((how) => [how, settledCleanly])));
    },
    TEST_MS,
  );
});

/** The README's Usage server block, from its `// server.mjs` line to the end of the fence. */
function readmeServer(): string {
  const readme = readFileSync(join(repositoryRoot, "README.md"), "utf8");
  const block = /```js\n(\/\/ server\.mjs\n[\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error("README.md has no ```js block starting with // server.mjs");
  return block;
}

/**
 * Code as compared between the README and examples/: comments, blank lines and indentation-only
 * differences dropped, and the lines only the runnable example has (its console output and its
 * signal handlers: lines that start with `console.` or `process.`, and the import of process).
 */
function codeLines(source: string): string[] {
  return source
    .split("\n")
    .map((line) => line.replace(/\s*\/\/.*$/, "").trim())
    .filter((line) => line !== "" && !/^(console\.|process\.|import process from)/.test(line));
}

describe(`defects on ${runtimeName}: the README's Usage server`, () => {
  test(
    "defect 9: examples/server.mjs survives a client that sends `not json\\f`, silently, and goes on serving",
    async () => {
      // examples/server.mjs as it is, but for its import of "ipc-streams", pointed at this
      // runtime's entry so that no build is needed.
      const source = readFileSync(join(repositoryRoot, "examples", "server.mjs"), "utf8");
      const entry =
        runtimeName === "node"
          ? pathToFileURL(bundleEnv.IPC_STREAMS_NODE_BUNDLE ?? "")
          : pathToFileURL(join(repositoryRoot, "src", "runtimes", runtimeName, "index.ts"));
      const script = source.replace('from "ipc-streams"', `from ${JSON.stringify(entry.href)}`);
      expect(script).not.toBe(source);
      const file = sockets.path("example-server.mjs");
      writeFileSync(file, script);
      // Its own default socket root: $XDG_RUNTIME_DIR/node-ipc/ (see src/paths.ts).
      const xdg = sockets.path("example-xdg");
      mkdirSync(xdg, { mode: 0o700 });
      const path = join(xdg, "node-ipc", "app.world");
      const child = spawnChild(runtimeName, file, [], { XDG_RUNTIME_DIR: xdg });
      children.push(child);
      try {
        await until(() => existsSync(path), "examples/server.mjs to serve", 5000);

        const bad = await ipc.connect({ path, raw: true });
        const writer = bad.writable.getWriter();
        await writer.write(new TextEncoder().encode("not json\f"));
        // The server drops that client: its side ends.
        expect((await within(outcome(bad.readable), 2000)).status, "the bad client's readable ends").toBe("fulfilled");
        await within(bad.close(), 2000);

        const good = await ipc.connect({ path });
        await good.emit("hello", { from: "test" });
        const reply = await within(take(good.readable, 1), 2000);
        expect(reply).toMatchObject({ status: "fulfilled", value: [{ type: "world", data: { to: "test" } }] });
        await good.close();
        expect(child.stderr()).toBe("");
        expect({ exitCode: child.process.exitCode, signalCode: child.process.signalCode }).toEqual({
          exitCode: null,
          signalCode: null,
        });
      } finally {
        await child.kill();
      }
    },
    TEST_MS,
  );

  test("defect 9: the README's Usage server is the code of examples/server.mjs", () => {
    const example = readFileSync(join(repositoryRoot, "examples", "server.mjs"), "utf8");
    expect(codeLines(example).join("\n")).toBe(codeLines(readmeServer()).join("\n"));
  });
});
