/**
 * A server's life on its socket path: restart, stale and live sockets, files that are not
 * sockets, permissions, the secure default root, path length, maxConnections, AbortSignal and a
 * graceful close. Runs unchanged on Node, Bun and Deno (see test/runtime.ts).
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { type Child, spawnChild } from "./fixtures/children.ts";
import { acceptor, drain, echo, outcome, socketDirectory, take, thrownBy } from "./fixtures/sockets.ts";
import { endpoints, TRANSPORTS } from "./fixtures/transports.ts";
import { ipc, runtimeName } from "./runtime.ts";

const sockets = socketDirectory();
const children: Child[] = [];
afterAll(async () => {
  await Promise.all(children.map((child) => child.kill()));
  sockets.remove();
});

/** The permission bits of a path. */
const modeOf = (path: string) => lstatSync(path).mode & 0o777;

/** Connects, sends one event and expects it echoed: the server at `path` is alive and serving. */
async function expectEcho(path: string, data: unknown = "ping"): Promise<void> {
  const client = await ipc.connect({ path });
  await client.emit("echo", data);
  expect(await take(client.readable, 1)).toEqual([{ type: "echo", data }]);
  await client.close();
}

describe(`sockets on ${runtimeName}: the socket path`, () => {
  test("server restart: close() removes the socket file; serving again on the same id works", async () => {
    const options = { id: "restart", socketRoot: `${sockets.dir}/` };
    const path = `${sockets.dir}/app.restart`;
    const first = await ipc.serve(options);
    expect(first.path).toBe(path);
    echo(first);
    await expectEcho(path, 1);
    await first.close();
    expect(existsSync(path)).toBe(false);
    await expect(ipc.connect(options)).rejects.toMatchObject({ code: "ERR_IPC_NO_SERVER" });
    const second = await ipc.serve(options);
    echo(second);
    await expectEcho(path, 2);
    await second.close();
    expect(existsSync(path)).toBe(false);
  });

  test("a stale socket left by a killed server process is replaced", async () => {
    const path = sockets.path("stale");
    const child = spawnChild(runtimeName, "test/fixtures/raw-peer.mjs", ["listen", path]);
    children.push(child);
    expect(await child.line()).toEqual({ ready: true, address: { transport: "unix", path } });
    await child.kill();
    expect(lstatSync(path).isSocket()).toBe(true);
    await expect(ipc.connect({ path })).rejects.toMatchObject({ code: "ERR_IPC_NO_SERVER" });
    const server = await ipc.serve({ path });
    echo(server);
    await expectEcho(path);
    await server.close();
  });

  test("a second serve on a live path fails with ERR_IPC_ADDRESS_IN_USE and the first keeps working", async () => {
    const path = sockets.path("live");
    const first = await ipc.serve({ path });
    echo(first);
    const before = await ipc.connect({ path });
    await expect(ipc.serve({ path })).rejects.toMatchObject({ code: "ERR_IPC_ADDRESS_IN_USE", path });
    expect(lstatSync(path).isSocket()).toBe(true);
    // The connection made before and a new one both work.
    await before.emit("still", "here");
    expect(await take(before.readable, 1)).toEqual([{ type: "still", data: "here" }]);
    await expectEcho(path);
    await before.close();
    await first.close();
  });

  test("a file that is not a socket is never deleted: ERR_IPC_NOT_A_SOCKET", async () => {
    const file = sockets.path("regular");
    writeFileSync(file, "precious");
    await expect(ipc.serve({ path: file })).rejects.toMatchObject({ code: "ERR_IPC_NOT_A_SOCKET", path: file });
    expect(readFileSync(file, "utf8")).toBe("precious");
    const directory = sockets.path("directory");
    mkdirSync(directory);
    await expect(ipc.serve({ path: directory })).rejects.toMatchObject({ code: "ERR_IPC_NOT_A_SOCKET" });
    expect(lstatSync(directory).isDirectory()).toBe(true);
  });

  test("socket permissions: owner-only 0600 by default; readableAll and writableAll add bits", async () => {
    const cases = [
      [{}, 0o600],
      [{ readableAll: true }, 0o644],
      [{ writableAll: true }, 0o622],
      [{ readableAll: true, writableAll: true }, 0o666],
    ] as const;
    for (const [options, mode] of cases) {
      const path = sockets.path(`mode-${mode.toString(8)}`);
      const server = await ipc.serve({ path, ...options });
      expect(modeOf(path)).toBe(mode);
      echo(server);
      await expectEcho(path);
      await server.close();
    }
  });

  test("a path longer than 107 bytes fails with ERR_IPC_PATH_TOO_LONG before binding", async () => {
    const longest = `${sockets.dir}/${"p".repeat(107 - sockets.dir.length - 1)}`;
    expect(new TextEncoder().encode(longest).byteLength).toBe(107);
    const tooLong = `${longest}q`;
    await expect(ipc.serve({ path: tooLong })).rejects.toMatchObject({ code: "ERR_IPC_PATH_TOO_LONG", limit: 107 });
    await expect(ipc.connect({ path: tooLong })).rejects.toMatchObject({ code: "ERR_IPC_PATH_TOO_LONG" });
    expect(existsSync(tooLong)).toBe(false);
    // Multi-byte characters count in bytes.
    const wide = `${sockets.dir}/${"é".repeat(54)}`;
    await expect(ipc.serve({ path: wide })).rejects.toMatchObject({ code: "ERR_IPC_PATH_TOO_LONG" });
    // 107 bytes is fine.
    const server = await ipc.serve({ path: longest });
    echo(server);
    await expectEcho(longest);
    await server.close();
  });
});

describe(`sockets on ${runtimeName}: the default secure socket root`, () => {
  const saved = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR, TMPDIR: process.env.TMPDIR };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const uid = process.getuid?.() ?? 0;

  test("with XDG_RUNTIME_DIR set: $XDG_RUNTIME_DIR/node-ipc/, created 0700, used by connect too", async () => {
    const xdg = sockets.path("xdg");
    mkdirSync(xdg, { mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = xdg;
    const server = await ipc.serve({ id: "secure" });
    expect(server.path).toBe(`${xdg}/node-ipc/app.secure`);
    expect(lstatSync(`${xdg}/node-ipc`).isDirectory()).toBe(true);
    expect(modeOf(`${xdg}/node-ipc`)).toBe(0o700);
    expect(modeOf(String(server.path))).toBe(0o600);
    echo(server);
    const client = await ipc.connect({ id: "secure" });
    expect(client.path).toBe(server.path);
    await client.emit("hi", 1);
    expect(await take(client.readable, 1)).toEqual([{ type: "hi", data: 1 }]);
    await client.close();
    await server.close();
  });

  test("without XDG_RUNTIME_DIR: <tmpdir>/node-ipc-<uid>/, with tmpdir from $TMPDIR", async () => {
    const tmp = sockets.path("tmp");
    mkdirSync(tmp);
    process.env.XDG_RUNTIME_DIR = "";
    process.env.TMPDIR = tmp;
    const server = await ipc.serve({ id: "fallback" });
    expect(server.path).toBe(`${tmp}/node-ipc-${uid}/app.fallback`);
    expect(modeOf(`${tmp}/node-ipc-${uid}`)).toBe(0o700);
    echo(server);
    await expectEcho(String(server.path));
    await server.close();
  });

  test("a root with group/other bits, owned by someone else, or a symlink: ERR_IPC_SOCKET_ROOT, never chmod-ed", async () => {
    const shared = sockets.path("shared");
    mkdirSync(`${shared}/node-ipc`, { recursive: true });
    chmodSync(`${shared}/node-ipc`, 0o755);
    process.env.XDG_RUNTIME_DIR = shared;
    await expect(ipc.serve({ id: "refused" })).rejects.toMatchObject({
      code: "ERR_IPC_SOCKET_ROOT",
      path: `${shared}/node-ipc`,
    });
    expect(modeOf(`${shared}/node-ipc`)).toBe(0o755);
    expect(existsSync(`${shared}/node-ipc/app.refused`)).toBe(false);

    const linked = sockets.path("linked");
    const target = sockets.path("link-target");
    mkdirSync(linked);
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, `${linked}/node-ipc`);
    process.env.XDG_RUNTIME_DIR = linked;
    await expect(ipc.serve({ id: "refused" })).rejects.toMatchObject({ code: "ERR_IPC_SOCKET_ROOT" });
    expect(existsSync(`${target}/app.refused`)).toBe(false);

    // Another owner can only be arranged as root (which is how CI runs); as a normal user the
    // directory could not be made at all.
    if (uid === 0) {
      const foreign = sockets.path("foreign");
      mkdirSync(`${foreign}/node-ipc`, { recursive: true, mode: 0o700 });
      chownSync(`${foreign}/node-ipc`, 65534, 65534);
      process.env.XDG_RUNTIME_DIR = foreign;
      await expect(ipc.serve({ id: "refused" })).rejects.toMatchObject({ code: "ERR_IPC_SOCKET_ROOT" });
      expect(lstatSync(`${foreign}/node-ipc`).uid).toBe(65534);
      expect(modeOf(`${foreign}/node-ipc`)).toBe(0o700);
    }
  });
});

describe.each(TRANSPORTS)(`sockets on ${runtimeName} over %s: limits, cancellation and closing`, (transport) => {
  const at = endpoints(transport);
  afterAll(() => at.remove());

  test("maxConnections: an excess peer is accepted, then closed at once; the others keep working", async () => {
    const name = "max";
    const server = await ipc.serve({ ...at.listen(name), maxConnections: 2 });
    const accepted = acceptor(server);
    const first = await ipc.connect(at.reach(server));
    const firstSide = await accepted.next();
    const second = await ipc.connect(at.reach(server));
    const secondSide = await accepted.next();
    // The OS accepts the third connection; the server closes it without reading. Over TLS that
    // close can cut the client's handshake short: then connect() fails instead.
    const third = await ipc.connect(at.reach(server)).catch((error: unknown) => {
      if (transport !== "tls") throw error;
      expect(error).toMatchObject({ code: "ERR_IPC_TLS" });
      return undefined;
    });
    if (third !== undefined) {
      expect(await drain(third.readable)).toEqual([]);
      await third.close();
    }
    expect(server.connectionCount).toBe(2);
    await first.emit("one");
    await second.emit("two");
    expect(await take(firstSide.readable, 1)).toEqual([{ type: "one", data: {} }]);
    expect(await take(secondSide.readable, 1)).toEqual([{ type: "two", data: {} }]);
    // Once one leaves (its server side reads the end and closes too), a new peer is served again.
    await first.close();
    expect(await drain(firstSide.readable)).toEqual([]);
    await firstSide.close();
    expect(server.connectionCount).toBe(1);
    const fourth = await ipc.connect(at.reach(server));
    const fourthSide = await accepted.next();
    await fourth.emit("four");
    expect(await take(fourthSide.readable, 1)).toEqual([{ type: "four", data: {} }]);
    await Promise.all([second.close(), fourth.close()]);
    await server.close();
  });

  test("AbortSignal: an aborted connect or serve fails with ERR_IPC_ABORTED and leaves nothing", async () => {
    const name = "abort";
    const aborted = AbortSignal.abort();
    await expect(ipc.serve({ ...at.listen(name), signal: aborted })).rejects.toMatchObject({ code: "ERR_IPC_ABORTED" });
    expect(at.leftBehind(name)).toBe(false);

    // Aborted while serve() is on its way: it fails and leaves no socket file behind.
    const during = new AbortController();
    const serving = ipc.serve({ ...at.listen(name), signal: during.signal });
    during.abort();
    await expect(serving).rejects.toMatchObject({ code: "ERR_IPC_ABORTED" });
    expect(at.leftBehind(name)).toBe(false);

    const server = await ipc.serve(at.listen(name));
    const accepted = acceptor(server);
    await expect(ipc.connect({ ...at.reach(server), signal: aborted })).rejects.toMatchObject({
      code: "ERR_IPC_ABORTED",
    });
    const connecting = new AbortController();
    const connection = ipc.connect({ ...at.reach(server), signal: connecting.signal });
    connecting.abort();
    await expect(connection).rejects.toMatchObject({ code: "ERR_IPC_ABORTED" });
    // A Unix socket's connection is accepted at once, so the server has it; it is closed, and the
    // server sees it end. Over TCP the abort may come before the handshake: nothing to see then.
    if (transport === "unix") {
      const late = await accepted.next();
      expect(await outcome(late.readable)).toEqual({ values: [] });
    }
    await server.close();
  });

  test("AbortSignal: aborting after connect/serve closes the connection and the server", async () => {
    const name = "abort-after";
    const serving = new AbortController();
    const server = await ipc.serve({ ...at.listen(name), signal: serving.signal });
    const accepted = acceptor(server);
    const connecting = new AbortController();
    const client = await ipc.connect({ ...at.reach(server), signal: connecting.signal });
    const serverSide = await accepted.next();
    await client.emit("before", 1);
    connecting.abort();
    await client.closed;
    expect(await drain(serverSide.readable)).toEqual([{ type: "before", data: 1 }]);
    serving.abort();
    await server.closed;
    expect(at.leftBehind(name)).toBe(false);
    await expect(ipc.connect(at.reach(server))).rejects.toMatchObject({ code: "ERR_IPC_NO_SERVER" });
  });

  test("close() while a reader and a writer hold the streams: the reader ends, what was written arrives", async () => {
    const name = "close-locked";
    const server = await ipc.serve(at.listen(name));
    const accepted = acceptor(server);
    const client = await ipc.connect(at.reach(server));
    const side = await accepted.next();
    const reader = client.readable.getReader();
    const pendingRead = reader.read();
    const writer = client.writable.getWriter();
    for (let i = 0; i < 100; i++) void writer.write({ type: "queued", data: i }).catch(() => {});
    await client.close();
    expect(await pendingRead).toEqual({ done: true, value: undefined });
    expect(await drain(side.readable)).toEqual(Array.from({ length: 100 }, (_, i) => ({ type: "queued", data: i })));
    await expect(writer.write({ type: "late", data: 0 })).rejects.toMatchObject({ code: "ERR_IPC_CLOSED" });
    await expect(client.closed).resolves.toBeUndefined();
    await side.close();
    await server.close();
  });

  test("server.close(): messages written before it arrive, connections end, the socket file goes", async () => {
    const name = "graceful";
    const server = await ipc.serve(at.listen(name));
    const accepted = acceptor(server);
    const viaEmit = await ipc.connect(at.reach(server));
    const emitSide = await accepted.next();
    const viaWriter = await ipc.connect(at.reach(server));
    const writerSide = await accepted.next();
    const count = 2000;
    for (let i = 0; i < count; i++) void emitSide.emit("n", i);
    const writer = writerSide.writable.getWriter();
    for (let i = 0; i < count; i++) void writer.write({ type: "w", data: i }).catch(() => {});
    const closing = server.close();
    const [byEmit, byWriter] = await Promise.all([drain(viaEmit.readable), drain(viaWriter.readable)]);
    expect(byEmit).toEqual(Array.from({ length: count }, (_, i) => ({ type: "n", data: i })));
    expect(byWriter).toEqual(Array.from({ length: count }, (_, i) => ({ type: "w", data: i })));
    await closing;
    await expect(server.closed).resolves.toBeUndefined();
    // A `for await` over server.connections finishes.
    await accepted.ended;
    await expect(emitSide.closed).resolves.toBeUndefined();
    expect(at.leftBehind(name)).toBe(false);
    expect(thrownBy(() => server.broadcast("late"))).toBeUndefined();
    await Promise.all([viaEmit.close(), viaWriter.close()]);
    await expect(viaEmit.closed).resolves.toBeUndefined();
  });
});
