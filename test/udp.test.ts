/**
 * UDP, over udp4 and udp6: a connection per remote address and port, whole frames per datagram,
 * oversized frames refused before anything is sent, bad datagrams isolated to their sender,
 * broadcast, `maxConnections`, closing, and what an unreachable server does. Runs unchanged on
 * Node, Bun and Deno; raw peers are plain `node:dgram` sockets.
 */
import { execFile } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, test } from "vitest";
import type { Connection, ConnectOptions, ServeOptions, Server } from "../src/index.ts";
import { command, fixtures } from "./fixtures/children.ts";
import { acceptor, take } from "./fixtures/sockets.ts";
import { ipc, runtimeName } from "./runtime.ts";

type Family = "udp4" | "udp6";
const FAMILIES: readonly Family[] = ["udp4", "udp6"];
const LOOPBACK = { udp4: "127.0.0.1", udp6: "::1" } as const;
const LARGEST = { udp4: 65_507, udp6: 65_527 } as const;
const encoder = new TextEncoder();

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(family: Family, options: Partial<ServeOptions> = {}): Promise<Server> {
  const server = await ipc.serve({ port: 0, transport: family, ...options } as ServeOptions);
  cleanups.push(() => server.destroy());
  return server;
}

async function connect(server: Server, options: Partial<ConnectOptions> = {}): Promise<Connection> {
  const { host, port } = server.address as { host: string; port: number };
  const connection = await ipc.connect({
    host,
    port,
    transport: server.address.transport,
    ...options,
  } as ConnectOptions);
  cleanups.push(() => connection.destroy());
  return connection;
}

/** A plain `node:dgram` socket bound on loopback, with every datagram it receives. */
async function rawPeer(family: Family): Promise<{
  socket: Socket;
  port: number;
  received: Uint8Array[];
  send(bytes: Uint8Array | string, port: number): Promise<void>;
}> {
  const socket = createSocket({ type: family });
  const received: Uint8Array[] = [];
  socket.on("message", (message) => received.push(new Uint8Array(message)));
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK[family], resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return {
    socket,
    port: socket.address().port,
    received,
    send: (bytes, port) =>
      new Promise<void>((resolve, reject) =>
        socket.send(typeof bytes === "string" ? encoder.encode(bytes) : bytes, port, LOOPBACK[family], (error) =>
          error ? reject(error) : resolve(),
        ),
      ),
  };
}

const portOf = (server: Server) => (server.address as { port: number }).port;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, failing after `ms`. */
async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(5);
  }
}

/** What a promise settles to: its value, or the `code` of its error. */
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: { code?: string }) => ({ code: error.code }),
  );

/** A server with one well-behaved client that has been heard, for tests that add a bad one. */
async function withGoodPeer(family: Family) {
  const server = await serve(family);
  const accepted = acceptor(server);
  const good = await connect(server);
  await good.emit("hello", 1);
  const goodSide = await accepted.next();
  expect(await take(goodSide.readable, 1)).toEqual([{ type: "hello", data: 1 }]);
  return { server, accepted, good, goodSide };
}

describe.each(FAMILIES)(`UDP on ${runtimeName} over %s`, (family) => {
  test("a client's datagrams make one connection, named by its address; replies reach the client", async () => {
    const server = await serve(family);
    expect(server.address).toEqual({ transport: family, host: LOOPBACK[family], port: expect.any(Number) });
    const accepted = acceptor(server);
    const client = await connect(server);
    expect(client.remoteAddress).toEqual({ host: LOOPBACK[family], port: portOf(server) });
    expect(client.path).toBeUndefined();
    await client.emit("hello", { n: 1 });
    const side = await accepted.next();
    expect(side.remoteAddress).toEqual({ host: LOOPBACK[family], port: expect.any(Number) });
    expect(await take(side.readable, 1)).toEqual([{ type: "hello", data: { n: 1 } }]);
    await client.emit("hello", { n: 2 });
    expect(await take(side.readable, 1)).toEqual([{ type: "hello", data: { n: 2 } }]);
    expect(server.connectionCount).toBe(1);
    await side.emit("world", { to: 1 });
    const writer = side.writable.getWriter();
    await writer.write({ type: "world", data: { to: 2 } });
    writer.releaseLock();
    expect(await take(client.readable, 2)).toEqual([
      { type: "world", data: { to: 1 } },
      { type: "world", data: { to: 2 } },
    ]);
  });

  test("a datagram may hold several frames; emits of one tick travel in one datagram", async () => {
    const server = await serve(family);
    const accepted = acceptor(server);
    const raw = await rawPeer(family);
    await raw.send('{"type":"a","data":1}\f{"type":"b","data":2}\f{"type":"c","data":3}\f', portOf(server));
    const side = await accepted.next();
    expect(await take(side.readable, 3)).toEqual([
      { type: "a", data: 1 },
      { type: "b", data: 2 },
      { type: "c", data: 3 },
    ]);
    const sends = [side.emit("x", 1), side.emit("y", 2), side.emit("z", 3)];
    await Promise.all(sends);
    await until(() => raw.received.length >= 1);
    await sleep(50);
    expect(raw.received.map((datagram) => new TextDecoder().decode(datagram))).toEqual([
      '{"type":"x","data":1}\f{"type":"y","data":2}\f{"type":"z","data":3}\f',
    ]);
  });

  test("frames that do not fit together go in separate datagrams, each whole", async () => {
    const server = await serve(family);
    const accepted = acceptor(server);
    const raw = await rawPeer(family);
    await raw.send('{"type":"hi"}\f', portOf(server));
    const side = await accepted.next();
    const big = "x".repeat(30_000);
    await Promise.all([side.emit("a", big), side.emit("b", big), side.emit("c", big)]);
    await until(() => raw.received.length >= 2);
    await sleep(50);
    const texts = raw.received.map((datagram) => new TextDecoder().decode(datagram));
    expect(texts.length).toBe(2);
    for (const text of texts) expect(text.endsWith("\f")).toBe(true);
    expect(
      texts
        .join("")
        .split("\f")
        .filter(Boolean)
        .map((frame) => JSON.parse(frame).type),
    ).toEqual(["a", "b", "c"]);
  });

  test("a frame that fills a datagram exactly is sent; one byte more is refused synchronously, nothing sent", async () => {
    const server = await serve(family);
    const accepted = acceptor(server);
    const client = await connect(server);
    // {"type":"t","data":"…"} and the delimiter: 23 bytes around the string.
    const fits = "y".repeat(LARGEST[family] - 23);
    expect(() => client.emit("t", `${fits}z`)).toThrow(expect.objectContaining({ code: "ERR_IPC_FRAME_TOO_LARGE" }));
    await client.emit("t", fits);
    const side = await accepted.next();
    const [message] = (await take(side.readable, 1)) as { data: string }[];
    expect(message?.data.length).toBe(fits.length);
    // A stream write of a frame too large rejects (and, as on every transport, errors the writable).
    const writer = client.writable.getWriter();
    expect(await outcome(writer.write({ type: "t", data: `${fits}z` }))).toEqual({ code: "ERR_IPC_FRAME_TOO_LARGE" });
  });

  test("maxDatagramSize bounds frames and raw chunks both ways", async () => {
    const server = await serve(family, { maxDatagramSize: 100 });
    const accepted = acceptor(server);
    const client = await connect(server, { maxDatagramSize: 100 });
    expect(() => client.emit("t", "y".repeat(100))).toThrow(
      expect.objectContaining({ code: "ERR_IPC_FRAME_TOO_LARGE" }),
    );
    await client.emit("t", "small");
    const side = await accepted.next();
    expect(await take(side.readable, 1)).toEqual([{ type: "t", data: "small" }]);
    expect(() => side.emit("t", "y".repeat(100))).toThrow(expect.objectContaining({ code: "ERR_IPC_FRAME_TOO_LARGE" }));

    const rawServer = await serve(family, { raw: true, maxDatagramSize: 100 });
    const rawClient = await ipc.connect({
      port: portOf(rawServer),
      host: LOOPBACK[family],
      transport: family,
      raw: true,
      maxDatagramSize: 100,
    });
    cleanups.push(() => rawClient.destroy());
    const writer = rawClient.writable.getWriter();
    await writer.write(new Uint8Array(100).fill(7));
    const rawSide = await acceptor(rawServer).next();
    expect(await take(rawSide.readable, 1)).toEqual([new Uint8Array(100).fill(7)]);
    expect(await outcome(writer.write(new Uint8Array(101)))).toEqual({ code: "ERR_IPC_FRAME_TOO_LARGE" });
  });

  test("empty datagrams are ignored, in framed and raw mode", async () => {
    for (const raw of [false, true]) {
      const server = await serve(family, { raw });
      const accepted = acceptor(server);
      const peer = await rawPeer(family);
      await peer.send(new Uint8Array(0), portOf(server));
      await peer.send('{"type":"after"}\f', portOf(server));
      const side = await accepted.next();
      const expected = raw ? encoder.encode('{"type":"after"}\f') : { type: "after" };
      expect(await take(side.readable, 1)).toEqual([expected]);
    }
  });

  test("raw mode: each chunk written is one datagram, each datagram one chunk", async () => {
    const server = await serve(family, { raw: true });
    const accepted = acceptor(server);
    const raw = await rawPeer(family);
    const bytes = new Uint8Array(256).map((_, index) => index);
    await raw.send(bytes, portOf(server));
    await raw.send(bytes.subarray(0, 3), portOf(server));
    const side = await accepted.next();
    expect(await take(side.readable, 2)).toEqual([bytes, bytes.subarray(0, 3)]);
    const writer = side.writable.getWriter();
    await writer.write(bytes.subarray(10, 20));
    await writer.write(bytes.subarray(20, 25));
    await until(() => raw.received.length >= 2);
    expect(raw.received).toEqual([bytes.subarray(10, 20), bytes.subarray(20, 25)]);
  });

  test("a datagram not ending with the delimiter is refused whole and errors that peer's connection only", async () => {
    const { server, accepted, good, goodSide } = await withGoodPeer(family);

    const bad = await rawPeer(family);
    await bad.send('{"type":"whole"}\f{"type":"cut', portOf(server));
    const badSide = await accepted.next();
    const reader = badSide.readable.getReader();
    expect(await outcome(reader.read())).toEqual({ code: "ERR_IPC_TRUNCATED_FRAME" });
    expect(await outcome(badSide.closed)).toEqual({ code: "ERR_IPC_TRUNCATED_FRAME" });

    // The same sender later is a new peer; the good one never noticed.
    await bad.send('{"type":"again"}\f', portOf(server));
    const again = await accepted.next();
    expect(await take(again.readable, 1)).toEqual([{ type: "again" }]);
    await good.emit("hello", 2);
    expect(await take(goodSide.readable, 1)).toEqual([{ type: "hello", data: 2 }]);
  });

  test("invalid JSON or UTF-8 errors the sender's connection; other peers go on", async () => {
    const { server, accepted, good, goodSide } = await withGoodPeer(family);
    const json = await rawPeer(family);
    await json.send("not json\f", portOf(server));
    expect(await outcome((await accepted.next()).closed)).toEqual({ code: "ERR_IPC_INVALID_JSON" });
    const utf8 = await rawPeer(family);
    await utf8.send(new Uint8Array([0x22, 0xff, 0xfe, 0x22, 0x0c]), portOf(server));
    const utf8Side = await accepted.next();
    expect(await outcome(utf8Side.readable.getReader().read())).toEqual({ code: "ERR_IPC_INVALID_UTF8" });
    await good.emit("hello", 2);
    expect(await take(goodSide.readable, 1)).toEqual([{ type: "hello", data: 2 }]);
    await goodSide.emit("still", "here");
    expect(await take(good.readable, 1)).toEqual([{ type: "still", data: "here" }]);
  });

  test("broadcast reaches every known peer", async () => {
    const server = await serve(family);
    const accepted = acceptor(server);
    const clients = await Promise.all([connect(server), connect(server), connect(server)]);
    for (const [n, client] of clients.entries()) {
      await client.emit("join", n);
      await take((await accepted.next()).readable, 1);
    }
    await server.broadcast("tick", { n: 1 });
    await server.broadcast({ type: "tock" });
    for (const client of clients) {
      expect(await take(client.readable, 2)).toEqual([{ type: "tick", data: { n: 1 } }, { type: "tock" }]);
    }
  });

  test("past maxConnections a new peer's datagrams are dropped; once a peer is closed, a new one gets in", async () => {
    const server = await serve(family, { maxConnections: 1 });
    const accepted = acceptor(server);
    const first = await connect(server);
    await first.emit("first");
    const firstSide = await accepted.next();
    const second = await rawPeer(family);
    await second.send('{"type":"dropped"}\f', portOf(server));
    await sleep(100);
    expect(server.connectionCount).toBe(1);
    await firstSide.close();
    expect(server.connectionCount).toBe(0);
    await second.send('{"type":"admitted"}\f', portOf(server));
    const secondSide = await accepted.next();
    expect(await take(secondSide.readable, 1)).toEqual([{ type: "admitted" }]);
    // The first client's next datagram is from a peer the server no longer knows: past the limit.
    await first.emit("late");
    await sleep(100);
    expect(server.connectionCount).toBe(1);
  });

  test("close() flushes what was sent; the peer is forgotten, and its next datagram is a new connection", async () => {
    const server = await serve(family);
    const accepted = acceptor(server);
    const client = await connect(server);
    await client.emit("hello");
    const side = await accepted.next();
    await take(side.readable, 1);
    void side.emit("last", 1);
    void side.emit("last", 2);
    await side.close();
    expect(await outcome(side.closed)).toEqual({ value: undefined });
    expect(await take(client.readable, 2)).toEqual([
      { type: "last", data: 1 },
      { type: "last", data: 2 },
    ]);
    await client.emit("back");
    const next = await accepted.next();
    expect(next).not.toBe(side);
    expect(await take(next.readable, 1)).toEqual([{ type: "back", data: {} }]);
  });

  test("leaving the connections loop stops taking new peers; live ones go on, the port goes with the last", async () => {
    const server = await serve(family);
    const client = await connect(server);
    await client.emit("first");
    let live: Connection | undefined;
    for await (const connection of server.connections) {
      live = connection;
      break;
    }
    const side = live as Connection;
    expect(await take(side.readable, 1)).toEqual([{ type: "first", data: {} }]);
    const stranger = await rawPeer(family);
    await stranger.send('{"type":"new"}\f', portOf(server));
    await sleep(50);
    expect(server.connectionCount).toBe(1);
    await side.emit("still", "here");
    expect(await take(client.readable, 1)).toEqual([{ type: "still", data: "here" }]);
    await side.close();
    // The port is free again: the socket went with the last connection.
    await until(() => server.connectionCount === 0);
    const deadline = Date.now() + 5000;
    for (;;) {
      const again = await ipc.serve({ port: portOf(server), transport: family }).catch(() => undefined);
      if (again !== undefined) {
        await again.close();
        break;
      }
      if (Date.now() > deadline) throw new Error("the port was not released");
      await sleep(10);
    }
  });

  test("a client hears only its server: datagrams from elsewhere are ignored", async () => {
    const server = await serve(family);
    const accepted = acceptor(server);
    const client = await connect(server);
    await client.emit("hello");
    const side = await accepted.next();
    const clientPort = (side.remoteAddress as { port: number }).port;
    const stranger = await rawPeer(family);
    await stranger.send('{"type":"stranger"}\f', clientPort);
    await sleep(50);
    await side.emit("server");
    expect(await take(client.readable, 1)).toEqual([{ type: "server", data: {} }]);
  });

  test("server.close() sends what was emitted, closes every connection and frees the port", async () => {
    const server = await serve(family);
    const accepted = acceptor(server);
    const client = await connect(server);
    await client.emit("hello");
    const side = await accepted.next();
    void side.emit("bye");
    await server.close();
    expect(await outcome(side.closed)).toEqual({ value: undefined });
    expect(await take(client.readable, 1)).toEqual([{ type: "bye", data: {} }]);
    const again = await ipc.serve({ port: portOf(server), transport: family });
    await again.close();
  });

  test("a client whose server is gone: never a crash; Node and Bun report ERR_IPC_NO_SERVER", async () => {
    const server = await serve(family);
    const port = portOf(server);
    await server.close();
    const client = await connect(server);
    expect(client.remoteAddress).toEqual({ host: LOOPBACK[family], port });
    await client.emit("anyone");
    await sleep(100);
    const second = await outcome(client.emit("anyone"));
    if (runtimeName === "deno") {
      // Deno's node:dgram does not pass the OS's "port unreachable" on: the sends just go.
      expect(second).toEqual({ value: undefined });
    } else {
      expect(await outcome(client.closed)).toEqual({ code: "ERR_IPC_NO_SERVER" });
      expect(await outcome(client.readable.getReader().read())).toEqual({ code: "ERR_IPC_NO_SERVER" });
    }
  });

  test("datagrams nobody reads are bounded: past 1 MiB unread, a peer's datagrams are dropped", async () => {
    const server = await serve(family, { raw: true });
    const accepted = acceptor(server);
    const raw = await rawPeer(family);
    const chunk = new Uint8Array(8 * 1024);
    await raw.send(chunk, portOf(server));
    const side = await accepted.next();
    // 2 MiB more, unread; paced so that the OS's own buffer is not what drops them.
    for (let n = 0; n < 256; n++) {
      await raw.send(chunk, portOf(server));
      if (n % 16 === 15) await sleep(5);
    }
    await sleep(200);
    const reader = side.readable.getReader();
    let count = 0;
    while (true) {
      const result = await Promise.race([reader.read(), sleep(300).then(() => undefined)]);
      if (result === undefined) break;
      count++;
    }
    expect(count).toBeGreaterThanOrEqual(64);
    expect(count).toBeLessThanOrEqual(1 + 128 + 2);
  });

  test("1,000 peers at once: a connection each, and a broadcast reaches every one", async () => {
    const server = await serve(family, { maxConnections: 1000 });
    const accepted = acceptor(server);
    const peers: Awaited<ReturnType<typeof rawPeer>>[] = [];
    for (let n = 0; n < 1000; n++) peers.push(await rawPeer(family));
    // In steps of 25, each taken before the next: the OS's receive buffer never overflows.
    for (const [n, peer] of peers.entries()) {
      await peer.send(`{"type":"join","data":${n}}\f`, portOf(server));
      if (n % 25 === 24) await until(() => server.connectionCount === n + 1);
    }
    const joined = new Set<number>();
    for (let n = 0; n < 1000; n++) {
      const [message] = (await take((await accepted.next()).readable, 1)) as { data: number }[];
      joined.add(message?.data ?? -1);
    }
    expect(joined.size).toBe(1000);
    expect(server.connectionCount).toBe(1000);
    await server.broadcast("all", 1);
    await until(() => peers.every((peer) => peer.received.length === 1));
    expect(new Set(peers.map((peer) => new TextDecoder().decode(peer.received[0])))).toEqual(
      new Set(['{"type":"all","data":1}\f']),
    );
    await server.close();
    expect(server.connectionCount).toBe(0);
  }, 60_000);

  test("10,000 messages each way on loopback, loss counted: none lost", async () => {
    const server = await serve(family);
    const accepted = acceptor(server);
    const client = await connect(server);
    const total = 10_000;
    // Sent in windows, so that the OS's receive buffer is never what drops a datagram.
    const sendAll = async (connection: Connection) => {
      const writer = connection.writable.getWriter();
      for (let n = 0; n < total; n++) {
        await writer.ready;
        void writer.write({ type: "n", data: n });
        if (n % 500 === 499) await sleep(2);
      }
      await writer.ready;
      writer.releaseLock();
    };
    const count = async (connection: Connection) => {
      const seen = new Set<number>();
      const reader = connection.readable.getReader();
      while (seen.size < total) {
        const result = await Promise.race([reader.read(), sleep(2000).then(() => undefined)]);
        if (result === undefined || result.done) break;
        seen.add((result.value as { data: number }).data);
      }
      reader.releaseLock();
      return total - seen.size;
    };
    await client.emit("start");
    const side = await accepted.next();
    await take(side.readable, 1);
    const [lostToServer] = await Promise.all([count(side), sendAll(client)]);
    const [lostToClient] = await Promise.all([count(client), sendAll(side)]);
    expect({ lostToServer, lostToClient }).toEqual({ lostToServer: 0, lostToClient: 0 });
  }, 60_000);

  test("sync: true: each message leaves once the server answered the previous one; the rest reject at close", async () => {
    const server = await serve(family);
    const accepted = acceptor(server);
    const client = await connect(server, { sync: true });
    const replies: unknown[] = [];
    // A sync client counts an answer as its readable decodes it: keep reading.
    void (async () => {
      for await (const message of client.readable) replies.push(message);
    })().catch(() => {});
    const sends = ["a", "b", "c"].map((type) => outcome(client.emit(type)));
    const side = await accepted.next();
    const reader = side.readable.getReader();
    // A read that lost the race stays pending and is the next one raced, so no message is skipped.
    let pending: Promise<unknown> | undefined;
    const next = async () => {
      pending ??= reader.read().then((result) => result.value);
      const first = await Promise.race([pending, sleep(300).then(() => "nothing")]);
      if (first !== "nothing") pending = undefined;
      return first;
    };
    expect(await next()).toEqual({ type: "a", data: {} });
    expect(await next()).toBe("nothing");
    await side.emit("ok", "a");
    expect(await next()).toEqual({ type: "b", data: {} });
    await side.emit("ok", "b");
    expect(await next()).toEqual({ type: "c", data: {} });
    expect(await Promise.all(sends)).toEqual([{ value: undefined }, { value: undefined }, { value: undefined }]);
    const waiting = outcome(client.emit("d"));
    await client.close();
    expect(await waiting).toEqual({ code: "ERR_IPC_CLOSED" });
    expect(replies).toEqual([
      { type: "ok", data: "a" },
      { type: "ok", data: "b" },
    ]);
  });

  test("an abort signal cancels serve and connect, and destroys what they made", async () => {
    const aborted = AbortSignal.abort();
    expect(await outcome(ipc.serve({ port: 0, transport: family, signal: aborted }))).toEqual({
      code: "ERR_IPC_ABORTED",
    });
    const server = await serve(family);
    expect(await outcome(connect(server, { signal: aborted }))).toEqual({ code: "ERR_IPC_ABORTED" });
    const controller = new AbortController();
    const client = await connect(server, { signal: controller.signal });
    controller.abort();
    expect(await outcome(client.closed)).toEqual({ value: undefined });
    expect(await outcome(client.emit("late"))).toEqual({ code: "ERR_IPC_CLOSED" });
  });
});

describe(`UDP options on ${runtimeName}`, () => {
  const invalid = { code: "ERR_IPC_INVALID_OPTION" };
  test.each([
    ["tls with UDP", { port: 0, transport: "udp4", tls: {} }],
    ["halfOpenTimeout with UDP", { port: 0, transport: "udp4", halfOpenTimeout: 10 }],
    ["an IPv6 host on udp4", { port: 0, transport: "udp4", host: "::1" }],
    ["an IPv4 host on udp6", { port: 0, transport: "udp6", host: "127.0.0.1" }],
    ["maxDatagramSize over the udp4 payload", { port: 0, transport: "udp4", maxDatagramSize: 65_508 }],
    ["maxDatagramSize of 0", { port: 0, transport: "udp6", maxDatagramSize: 0 }],
    ["maxDatagramSize on TCP", { port: 0, maxDatagramSize: 1000 }],
    ["an unknown transport", { port: 0, transport: "sctp" }],
    ["readableAll on UDP", { port: 0, transport: "udp4", readableAll: true }],
    ["no port", { transport: "udp4" }],
  ])("%s: ERR_IPC_INVALID_OPTION before anything is opened", async (_, options) => {
    expect(await outcome(ipc.serve(options as ServeOptions))).toEqual(invalid);
    if (!("readableAll" in options)) {
      const client = { ...options, port: (options as { port?: number }).port === 0 ? 9 : undefined };
      expect(await outcome(ipc.connect(client as ConnectOptions))).toEqual(invalid);
    }
  });

  test("a port in use: ERR_IPC_ADDRESS_IN_USE", async () => {
    const server = await ipc.serve({ port: 0, transport: "udp4" });
    try {
      const { port } = server.address as { port: number };
      expect(await outcome(ipc.serve({ port, transport: "udp4" }))).toEqual({ code: "ERR_IPC_ADDRESS_IN_USE" });
    } finally {
      await server.close();
    }
  });
});

test("UDP on Deno needs only --allow-net", async () => {
  const [deno] = command("deno", "", []);
  const output = await new Promise<string>((resolve, reject) =>
    execFile(
      deno,
      ["run", "--no-prompt", "--allow-net", `${fixtures}/deno-udp-echo.ts`],
      { timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
  expect(JSON.parse(output)).toEqual({ type: "pong", data: { type: "ping", data: 1 } });
}, 90_000);
