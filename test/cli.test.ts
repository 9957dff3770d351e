/**
 * The `ipc-streams` command. Its parsers are tested in-process; the command itself runs as a
 * child process on the lane's runtime (the built `cli.js`, see fixtures/cli.ts), against real
 * node-ipc 14 servers and node-ipc 9 clients, against itself, and against servers of this suite.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { parseAddress } from "../src/cli/address.ts";
import { parseCommandLine, unescapeDelimiter } from "../src/cli/args.ts";
import { type Line, lines } from "../src/cli/lines.ts";
import { type CliHost, main } from "../src/cli/main.ts";
import { VERSION } from "../src/cli/version.ts";
import { command, fixtures } from "./fixtures/children.ts";
import { type CliResult, cliScript, killAllCli, runCli, startCli } from "./fixtures/cli.ts";
import { Peer, type PeerEvent, stopAllPeers, stopSparePeers } from "./peers/harness.ts";
import { ipc, runtimeName } from "./runtime.ts";

const dir = mkdtempSync(join(tmpdir(), "ipcs-cli-"));
const tls = (name: string) => join(fixtures, "tls", name);
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  await killAllCli();
  await stopAllPeers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await stopSparePeers();
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
/** A fresh id, and the path of a socket named after it in this file's directory. */
function unique(): { id: string; path: string } {
  counter += 1;
  const id = `ipcs-cli-${runtimeName}-${process.pid}-${counter}`;
  return { id, path: join(dir, `s${counter}`) };
}

const isEvent =
  (ev: string, extra: Partial<PeerEvent> = {}) =>
  (event: PeerEvent) =>
    event.ev === ev && Object.entries(extra).every(([key, value]) => event[key] === value);

/** A one-line error report: `ipc-streams: <code>: … . …`, and nothing else on stderr. */
function expectOneError(result: CliResult, code: string): void {
  expect(result.stderr).toMatch(new RegExp(`^ipc-streams: ${code}: [^\\n]+\\. [^\\n]+\\n$`));
  expect(result.text).toBe("");
}

/** A node-ipc 14 server at node-ipc's default root under `id`, reporting events of `types`. */
async function nodeIpc14Server(id: string, types: readonly string[]): Promise<Peer> {
  const peer = await Peer.start("14");
  await peer.config({ id });
  const { path } = await peer.request<{ path: string }>("serve", { types });
  cleanups.push(() => rmSync(path, { force: true }));
  return peer;
}

/** Starts `ipc-streams serve …` and resolves once it serves, with the address it printed. */
async function cliServer(args: readonly string[]) {
  const child = await startCli(["serve", ...args]);
  const [, address] = await child.stderrMatch(/serving on (\S+)\n/);
  return { child, address: address as string };
}

describe("addresses", () => {
  test.each([
    ["world", {}, { id: "world" }],
    ["world", { legacy: true }, { id: "world", socketRoot: "/tmp/" }],
    ["world", { socketRoot: "/run/x", appspace: "my." }, { id: "world", socketRoot: "/run/x/", appspace: "my." }],
    ["unix:/tmp/app.world", {}, { path: "/tmp/app.world" }],
    ["tcp://127.0.0.1:8000", {}, { host: "127.0.0.1", port: 8000 }],
    ["tcp://[::1]:0", {}, { host: "::1", port: 0 }],
    ["tcp://:8000", {}, { port: 8000 }],
    ["tls://localhost:8443", {}, { host: "localhost", port: 8443 }],
    ["udp4://127.0.0.1:9000", {}, { host: "127.0.0.1", port: 9000, transport: "udp4" }],
    ["udp6://[::1]:9000", {}, { host: "::1", port: 9000, transport: "udp6" }],
  ])("%s %j → %j", (text, flags, options) => {
    expect(parseAddress(text, flags).options).toEqual(options);
  });

  test.each([
    ["localhost:8000", {}, "write tcp://localhost:8000"],
    ["/tmp/app.world", {}, "write unix:/tmp/app.world"],
    ["ftp://host:21", {}, "ftp:// is not an address"],
    ["tcp://host", {}, "lacks :port"],
    ["tcp://127.0.0.1:70000", {}, "out of range"],
    ["tcp://[localhost]:1", {}, "IPv6"],
    ["unix:", {}, "needs a socket path"],
    ["", {}, "empty"],
    ["unix:/x", { legacy: true }, "apply to an id"],
    ["world", { legacy: true, socketRoot: "/x/" }, "not both"],
  ])("%j %j is refused: %s", (text, flags, hint) => {
    expect(() => parseAddress(text, flags)).toThrow(expect.objectContaining({ code: "ERR_IPC_USAGE" }));
    expect(() => parseAddress(text, flags)).toThrow(hint);
  });
});

describe("command line", () => {
  const parse = (...argv: string[]) => parseCommandLine(argv, parseArgs);

  test("send: type, data and options", () => {
    expect(parse("send", "world", "hello", '{"n":1}', "--reply", "--timeout", "500")).toMatchObject({
      action: "run",
      command: "send",
      address: { scheme: "id", options: { id: "world" } },
      event: { type: "hello", data: { n: 1 } },
      reply: true,
      timeout: 500,
    });
    expect(parse("send", "world", "hello")).toMatchObject({ event: { type: "hello", data: {} }, timeout: 10_000 });
  });

  test("codec, TLS and help", () => {
    expect(
      parse("connect", "tls://localhost:1", "--ca", "a.pem", "--ca", "b.pem", "--delimiter", "\\n", "--validate"),
    ).toMatchObject({ tls: { ca: ["a.pem", "b.pem"] }, codec: { raw: false, delimiter: "\n", validate: true } });
    expect(parse("serve", "world", "--max-frame-size", "Infinity", "--type", "t")).toMatchObject({
      codec: { maxFrameSize: Number.POSITIVE_INFINITY },
      wrapType: "t",
    });
    expect(parse("help", "send")).toEqual({ action: "help", command: "send" });
    expect(parse("--version")).toEqual({ action: "version" });
  });

  test.each([
    [[], "no command"],
    [["listen", "world"], "unknown command"],
    [["connect"], "needs an <address>"],
    [["connect", "world", "--nope"], "--nope"],
    [["connect", "world", "--echo"], "--echo is an option of serve"],
    [["serve", "world", "--reply"], "--reply is an option of send"],
    [["send", "world"], "needs an event <type>"],
    [["send", "world", "t", "{bad"], "not JSON"],
    [["send", "world", "t", "1", "2"], "one [data-json]"],
    [["connect", "world", "--ca", "ca.pem"], "for tls:// addresses"],
    [["serve", "tls://127.0.0.1:0"], "needs --cert and --key"],
    [["connect", "world", "--raw", "--pretty"], "not --raw"],
    [["connect", "world", "--raw", "--delimiter", "x"], "do not apply"],
    [["connect", "world", "--timeout", "soon"], "--timeout"],
    [["connect", "world", "--max-frame-size", "0"], "--max-frame-size"],
    [["connect", "world", "--delimiter", "\\q"], "unknown escape"],
  ])("%j is a usage error: %s", (argv, hint) => {
    expect(() => parse(...argv)).toThrow(expect.objectContaining({ code: "ERR_IPC_USAGE" }));
    expect(() => parse(...argv)).toThrow(hint);
  });

  test("delimiter escapes", () => {
    expect(unescapeDelimiter("\\f")).toBe("\f");
    expect(unescapeDelimiter("\\x00\\u2028;")).toBe("\0\u2028;");
    expect(unescapeDelimiter("\\\\")).toBe("\\");
    expect(() => unescapeDelimiter("a\\")).toThrow("lone backslash");
  });
});

describe("stdin lines", () => {
  const split = async (chunks: readonly (string | number[])[], maxBytes = 16): Promise<Line[]> => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) {
          controller.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : new Uint8Array(chunk));
        }
        controller.close();
      },
    });
    const found: Line[] = [];
    for await (const line of lines(stream.getReader(), maxBytes)) found.push(line);
    return found;
  };

  test("split on \\n across chunks, \\r\\n too, the last line without its newline", async () => {
    expect(await split(['{"a"', ":1}\r\n\nx", "y"])).toEqual([
      { number: 1, text: '{"a":1}' },
      { number: 2, text: "" },
      { number: 3, text: "xy" },
    ]);
  });

  test("a line over the bound, or not UTF-8, is reported and the next one is read", async () => {
    expect(await split(["0123456789", "0123456789\nok\n", [0xff, 0x0a], "é\n"], 16)).toEqual([
      { number: 1, problem: "too-long" },
      { number: 2, text: "ok" },
      { number: 3, problem: "not-utf8" },
      { number: 4, text: "é" },
    ]);
  });
});

describe("main, in-process", () => {
  /** A host on this process's runtime with `input` as stdin and stdout collected. */
  function fakeHost(input = "", signal = new AbortController().signal) {
    const chunks: Uint8Array[] = [];
    const errors: string[] = [];
    const host: CliHost = {
      api: ipc,
      parseArgs,
      stdin: () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(input));
            controller.close();
          },
        }),
      stdout: new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) }),
      stderr: (line) => void errors.push(line),
      readFile: async (path) => readFileSync(path),
      signal,
    };
    return { host, errors, stdout: () => Buffer.concat(chunks).toString("utf8") };
  }

  test("connect: stdin lines out, messages in, a bad line reported on stderr", async () => {
    const { path } = unique();
    const server = await ipc.serve({ path });
    cleanups.push(() => server.destroy());
    const received: unknown[] = [];
    void (async () => {
      for await (const connection of server.connections) {
        for await (const message of connection.readable) {
          received.push(message);
          await connection.emit("seen", received.length);
        }
        await connection.close();
      }
    })();
    const { host, errors, stdout } = fakeHost('{"type":"a","data":1}\n[2]\n{"type":"b"}\n');
    expect(await main(["connect", `unix:${path}`], host)).toBe(0);
    expect(received).toEqual([
      { type: "a", data: 1 },
      { type: "b", data: {} },
    ]);
    expect(stdout()).toBe('{"type":"seen","data":1}\n{"type":"seen","data":2}\n');
    expect(errors).toEqual([
      `ipc-streams: connected to unix:${path}`,
      expect.stringMatching(/^ipc-streams: ERR_IPC_INVALID_MESSAGE: stdin line 2 is not a \{"type","data"\} event/),
    ]);
  });

  test("serve: ends on its signal, closing its connections and removing its socket file", async () => {
    const { path } = unique();
    const stop = new AbortController();
    const { host, errors, stdout } = fakeHost("", stop.signal);
    const serving = main(["serve", `unix:${path}`, "--echo", "--quiet"], host);
    await expect.poll(() => existsSync(path)).toBe(true);
    const client = await ipc.connect({ path });
    await client.emit("hi", 1);
    const reader = client.readable.getReader();
    expect((await reader.read()).value).toEqual({ type: "hi", data: 1 });
    stop.abort();
    expect(await serving).toBe(0);
    expect((await reader.read()).done).toBe(true);
    await client.close();
    expect(existsSync(path)).toBe(false);
    expect(stdout()).toBe('{"connection":1,"message":{"type":"hi","data":1}}\n');
    expect(errors).toEqual([]);
  });
});

describe("package", () => {
  test("the bin is the built cli.js, with a node shebang, and --version is package.json's", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    expect(pkg.bin).toEqual({ "ipc-streams": "./dist/cli.js" });
    expect(VERSION).toBe(pkg.version);
    expect(readFileSync(await cliScript(), "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
    const version = await runCli(["--version"]);
    expect(version).toMatchObject({ code: 0, text: `ipc-streams ${pkg.version}\n`, stderr: "" });
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.text).toContain("Exit codes:");
    expect(help.stderr).toBe("");
  });
});

describe("against a node-ipc 14 server (an id at node-ipc's default root)", () => {
  test("send delivers one event and exits 0, printing nothing", async () => {
    const { id } = unique();
    const peer = await nodeIpc14Server(id, ["hello"]);
    const result = await runCli(["send", id, "hello", '{"from":"cli"}']);
    expect(result).toMatchObject({ code: 0, text: "", stderr: "" });
    const hello = await peer.next(isEvent("server.message"), "hello");
    expect({ type: hello.type, data: hello.data }).toEqual({ type: "hello", data: { from: "cli" } });
  });

  test("send --reply waits for one message back and prints it", async () => {
    const { id } = unique();
    const peer = await nodeIpc14Server(id, ["ping"]);
    const child = await startCli(["send", id, "ping", "[1]", "--reply"]);
    const ping = await peer.next(isEvent("server.message"), "ping");
    expect(ping.data).toEqual([1]);
    await peer.request("serverEmit", { socket: ping.socket, args: ["pong", { n: 2 }] });
    expect(await child.exited).toMatchObject({ code: 0, text: '{"type":"pong","data":{"n":2}}\n', stderr: "" });
  });

  test("send --reply gives up after --timeout with exit 3", async () => {
    const { id } = unique();
    await nodeIpc14Server(id, ["ping"]);
    const result = await runCli(["send", id, "ping", "--reply", "--timeout", "300"]);
    expect(result.code).toBe(3);
    expectOneError(result, "ERR_IPC_REPLY_TIMEOUT");
  });

  test("send --reply stopped by SIGINT exits 130 at once", async () => {
    const { id } = unique();
    const peer = await nodeIpc14Server(id, ["ping"]);
    const child = await startCli(["send", id, "ping", "--reply"]);
    await peer.next(isEvent("server.message"), "ping");
    child.signal("SIGINT");
    const result = await child.exited;
    expect(result.code).toBe(130);
    expectOneError(result, "ERR_IPC_ABORTED");
    expect(result.stderr).toContain("SIGINT");
  });

  test("connect sends stdin lines (skipping a bad one) and prints what the server sends", async () => {
    const { id } = unique();
    const peer = await nodeIpc14Server(id, ["hello"]);
    const child = await startCli(["connect", id, "--quiet"]);
    const { socket } = await peer.next(isEvent("server.connect"), "connect");
    child.write('{"type":"hello","data":1}\nnot json\n');
    await peer.request("serverEmit", { socket, args: ["news", { n: 2 }] });
    expect(await child.line()).toEqual({ type: "news", data: { n: 2 } });
    child.write('{"type":"hello","data":3}\n');
    const received = await peer.collect(isEvent("server.message"), 2, "two hellos");
    expect(received.map(({ data }) => data)).toEqual([1, 3]);
    child.end();
    const result = await child.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^ipc-streams: ERR_IPC_INVALID_JSON: stdin line 2 is not JSON: not json\. [^\n]+\n$/);
  });

  test("connect --type sends each line as the data of one event type, and ends with stdin", async () => {
    const { id } = unique();
    const peer = await nodeIpc14Server(id, ["note"]);
    const result = await runCli(["connect", id, "--type", "note", "--quiet"], '1\n"two"\n{"type":"x"}\n');
    expect(result).toMatchObject({ code: 0, text: "", stderr: "" });
    const notes = await peer.collect(isEvent("server.message"), 3, "three notes");
    expect(notes.map(({ type, data }) => ({ type, data }))).toEqual([
      { type: "note", data: 1 },
      { type: "note", data: "two" },
      { type: "note", data: { type: "x" } },
    ]);
  });
});

describe("framing options against node-ipc 14", () => {
  test("--delimiter meets a server with another delimiter", async () => {
    const { id } = unique();
    const peer = await Peer.start("14");
    await peer.config({ id, delimiter: "\n" });
    const { path } = await peer.request<{ path: string }>("serve", { types: ["hi"] });
    cleanups.push(() => rmSync(path, { force: true }));
    const result = await runCli(["send", id, "hi", '"there"', "--delimiter", "\\n"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect((await peer.next(isEvent("server.message"), "hi")).data).toBe("there");
  });
});

describe("serve with a node-ipc 9 client (--legacy: /tmp/app.<id>)", () => {
  test("--echo answers each message, stdout says which connection sent it, stdin lines are broadcast", async () => {
    const { id } = unique();
    const { child, address } = await cliServer([id, "--legacy", "--echo"]);
    expect(address).toBe(`unix:/tmp/app.${id}`);
    const peer = await Peer.start("9");
    await peer.request("connect", { name: id, types: ["hello", "news"] });
    await peer.next(isEvent("connect"), "connect");
    await peer.request("emit", { name: id, args: ["hello", { n: 1 }] });
    expect(await child.line()).toEqual({ connection: 1, message: { type: "hello", data: { n: 1 } } });
    const echoed = await peer.next(isEvent("message", { type: "hello" }), "the echo");
    expect(echoed.data).toEqual({ n: 1 });
    child.write('{"type":"news","data":"all"}\n');
    const news = await peer.next(isEvent("message", { type: "news" }), "the broadcast");
    expect(news.data).toBe("all");
    await peer.stop();
    child.signal("SIGTERM");
    const result = await child.exited;
    expect(result.code).toBe(0);
    expect(existsSync(`/tmp/app.${id}`)).toBe(false);
  });
});

describe("the command against itself", () => {
  test("tcp: serve --echo on a free port, send --reply to the address it printed", async () => {
    const { child, address } = await cliServer(["tcp://127.0.0.1:0", "--echo"]);
    expect(address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const result = await runCli(["send", address, "ping", "[1,2]", "--reply"]);
    expect(result).toMatchObject({ code: 0, text: '{"type":"ping","data":[1,2]}\n', stderr: "" });
    expect(await child.line()).toEqual({ connection: 1, message: { type: "ping", data: [1, 2] } });
    child.signal("SIGTERM");
    expect((await child.exited).code).toBe(0);
  });

  test.each([
    ["udp4", "udp4://127.0.0.1:0"],
    ["udp6", "udp6://[::1]:0"],
  ])("%s: serve --echo, send --reply, and connect piping stdin to stdout", async (_, listen) => {
    const { child, address } = await cliServer([listen, "--echo"]);
    expect(address).toMatch(/^udp[46]:\/\/(127\.0\.0\.1|\[::1\]):\d+$/);
    const result = await runCli(["send", address, "ping", "[1,2]", "--reply"]);
    expect(result).toMatchObject({ code: 0, text: '{"type":"ping","data":[1,2]}\n', stderr: "" });
    expect(await child.line()).toEqual({ connection: 1, message: { type: "ping", data: [1, 2] } });
    const piped = await runCli(["connect", address, "--quiet"], '{"type":"a","data":1}\n{"type":"b","data":2}\n');
    expect(piped).toMatchObject({ code: 0, text: '{"type":"a","data":1}\n{"type":"b","data":2}\n', stderr: "" });
    child.signal("SIGTERM");
    expect((await child.exited).code).toBe(0);
  });

  test("udp: a frame too large for a datagram is reported and skipped, never sent", async () => {
    const { child, address } = await cliServer(["udp4://127.0.0.1:0", "--echo"]);
    const big = JSON.stringify({ type: "big", data: "x".repeat(70_000) });
    const piped = await runCli(["connect", address, "--quiet"], `${big}\n{"type":"small"}\n`);
    expect(piped.code).toBe(0);
    expect(piped.text).toBe('{"type":"small","data":{}}\n');
    expect(piped.stderr).toContain("ERR_IPC_FRAME_TOO_LARGE");
    child.signal("SIGTERM");
    expect((await child.exited).code).toBe(0);
  });

  test("tls: --cert and --key serve, --ca verifies; without --ca ERR_IPC_TLS, exit 3", async () => {
    const { child, address } = await cliServer([
      "tls://127.0.0.1:0",
      "--cert",
      tls("server.pem"),
      "--key",
      tls("server.key"),
      "--echo",
    ]);
    const port = address.split(":").pop();
    const reply = await runCli(["send", `tls://localhost:${port}`, "hi", "--ca", tls("ca.pem"), "--reply"]);
    expect(reply).toMatchObject({ code: 0, text: '{"type":"hi","data":{}}\n', stderr: "" });
    const refused = await runCli(["send", address, "hi"]);
    expect(refused.code).toBe(3);
    expectOneError(refused, "ERR_IPC_TLS");
    child.signal("SIGTERM");
    expect((await child.exited).code).toBe(0);
  });

  test("tls: serve with --ca asks for a client certificate; --cert and --key give one", async () => {
    const { child, address } = await cliServer([
      "tls://127.0.0.1:0",
      ...["--cert", tls("server.pem"), "--key", tls("server.key"), "--ca", tls("ca.pem")],
    ]);
    const trusted = ["--ca", tls("ca.pem")];
    const withCertificate = ["--cert", tls("client.pem"), "--key", tls("client.key")];
    expect(await runCli(["send", address, "mutual", ...trusted, ...withCertificate])).toMatchObject({ code: 0 });
    expect(await child.line()).toEqual({ connection: 1, message: { type: "mutual", data: {} } });
    const refused = await runCli(["send", address, "anonymous", ...trusted]);
    expect(refused.code).toBe(3);
    expectOneError(refused, "ERR_IPC_TLS");
  });

  test("--socket-root and --appspace shape an id's path on both sides", async () => {
    const root = mkdtempSync(join(dir, "root-"));
    const flags = ["--socket-root", root, "--appspace", "my."];
    const { child, address } = await cliServer(["world", ...flags]);
    expect(address).toBe(`unix:${root}/my.world`);
    expect(await runCli(["send", "world", "hi", ...flags])).toMatchObject({ code: 0, stderr: "" });
    expect(await child.line()).toEqual({ connection: 1, message: { type: "hi", data: {} } });
  });

  test("serve --raw: bytes from a connection to stdout, stdin to every connection, --echo back", async () => {
    const { path } = unique();
    const { child } = await cliServer([`unix:${path}`, "--raw", "--echo"]);
    const client = await ipc.connect({ path, raw: true });
    cleanups.push(() => client.destroy());
    const reader = client.readable.getReader();
    const writer = client.writable.getWriter();
    await writer.write(new Uint8Array([0, 12, 255]));
    const echoed = await reader.read();
    expect([...(echoed.value ?? [])]).toEqual([0, 12, 255]);
    child.write(new Uint8Array([7, 10, 8]));
    const broadcast = await reader.read();
    expect([...(broadcast.value ?? [])]).toEqual([7, 10, 8]);
    child.signal("SIGTERM");
    const result = await child.exited;
    expect(result.code).toBe(0);
    expect([...result.stdout]).toEqual([0, 12, 255]);
  });

  test("serve reports a connection's bad input, closes it, and goes on serving the others", async () => {
    const { path } = unique();
    const { child } = await cliServer([`unix:${path}`, "--echo"]);
    const bad = createConnection({ path });
    bad.on("error", () => {});
    bad.write("{oops\f");
    await child.stderrMatch(/ipc-streams: ERR_IPC_INVALID_JSON: connection 1: [^\n]+\n/);
    bad.destroy();
    const result = await runCli(["send", `unix:${path}`, "still", "true", "--reply"]);
    expect(result).toMatchObject({ code: 0, text: '{"type":"still","data":true}\n' });
    expect(await child.line()).toEqual({ connection: 2, message: { type: "still", data: true } });
    child.signal("SIGTERM");
    expect((await child.exited).code).toBe(0);
    expect(existsSync(path)).toBe(false);
  });
});

describe("connect against servers of this suite", () => {
  /** Serves `path`, handing each connection to `handle`. */
  async function server(path: string, raw: boolean, handle: (connection: never) => Promise<void>) {
    const served = raw ? await ipc.serve({ path, raw: true }) : await ipc.serve({ path });
    cleanups.push(() => served.destroy());
    void (async () => {
      for await (const connection of served.connections) void handle(connection as never).catch(() => {});
    })();
  }

  test("ends with exit 0 when the peer ends, while stdin is still open", async () => {
    const { path } = unique();
    await server(path, false, async (connection: Awaited<ReturnType<typeof ipc.connect>>) => {
      // Once the client is connected and has sent one line: a server that closes at once can
      // make Bun's connect() itself fail with ECONNRESET, which is not what this test is about.
      const reader = connection.readable.getReader();
      await reader.read();
      reader.releaseLock();
      await connection.emit("bye", 1);
      await connection.close();
    });
    const child = await startCli(["connect", `unix:${path}`, "--pretty", "--quiet"]);
    child.write('{"type":"hello"}\n');
    const result = await child.exited;
    expect(result).toMatchObject({ code: 0, stderr: "", text: '{\n  "type": "bye",\n  "data": 1\n}\n' });
  });

  test("ends with exit 4 when the peer sends bad input", async () => {
    const { path } = unique();
    await server(path, true, async (connection: Awaited<ReturnType<typeof ipc.connect<Uint8Array>>>) => {
      const writer = connection.writable.getWriter();
      await writer.write(new TextEncoder().encode('{"type":"ok","data":0}\f{oops\f'));
    });
    const child = await startCli(["connect", `unix:${path}`, "--quiet"]);
    const result = await child.exited;
    expect(result.code).toBe(4);
    expect(result.text).toBe('{"type":"ok","data":0}\n');
    expect(result.stderr).toMatch(/^ipc-streams: ERR_IPC_INVALID_JSON: [^\n]+\. The peer does not speak [^\n]+\n$/);
  });

  test("once stdin ended, waits at most 2 s for a peer that never ends its side", async () => {
    const { path } = unique();
    const served = await ipc.serve({ path, halfOpenTimeout: Number.POSITIVE_INFINITY });
    cleanups.push(() => served.destroy());
    const started = performance.now();
    const result = await runCli(["connect", `unix:${path}`, "--quiet"], '{"type":"hi"}\n');
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(performance.now() - started).toBeGreaterThan(1_900);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test("--max-frame-size: a larger frame from the peer is exit 4", async () => {
    const { path } = unique();
    await server(path, false, async (connection: Awaited<ReturnType<typeof ipc.connect>>) => {
      await connection.emit("big", "x".repeat(100));
    });
    const result = await runCli(["connect", `unix:${path}`, "--max-frame-size", "64", "--quiet"]);
    expect(result.code).toBe(4);
    expectOneError(result, "ERR_IPC_FRAME_TOO_LARGE");
  });

  test("--validate: a reserved type on stdin is skipped, one from the peer is exit 4", async () => {
    const { path } = unique();
    const received: unknown[] = [];
    await server(path, false, async (connection: Awaited<ReturnType<typeof ipc.connect>>) => {
      for await (const message of connection.readable) {
        received.push(message);
        await connection.emit("connect", "spoofed");
      }
    });
    const input = '{"type":"error","data":1}\n{"type":"ok","data":2}\n';
    const child = await startCli(["connect", `unix:${path}`, "--validate", "--quiet"]);
    child.write(input);
    const result = await child.exited;
    expect(result.code).toBe(4);
    expect(received).toEqual([{ type: "ok", data: 2 }]);
    expect(result.stderr.split("\n").slice(0, -1)).toEqual([
      expect.stringMatching(/^ipc-streams: ERR_IPC_RESERVED_EVENT: stdin line 1: .+\. Skipped: nothing was sent$/),
      expect.stringMatching(/^ipc-streams: ERR_IPC_RESERVED_EVENT: .+\. The peer does not speak .+$/),
    ]);
  });

  test("--raw passes bytes both ways untouched", async () => {
    const { path } = unique();
    await server(path, true, async (connection: Awaited<ReturnType<typeof ipc.connect<Uint8Array>>>) => {
      await connection.readable.pipeTo(connection.writable);
    });
    const bytes = new Uint8Array([0, 255, 10, 12, 13, 123, 200, 10]);
    const child = await startCli(["connect", `unix:${path}`, "--raw", "--quiet"]);
    child.write(bytes);
    child.end();
    const result = await child.exited;
    expect(result.code).toBe(0);
    expect([...result.stdout]).toEqual([...bytes]);
  });
});

describe("error exits", () => {
  test("usage errors: exit 2, one line on stderr, nothing on stdout", async () => {
    for (const argv of [["connect"], ["send", "world", "hello", "{bad"], ["serve", "world", "--nope"]]) {
      const result = await runCli(argv);
      expect(result.code).toBe(2);
      expectOneError(result, "ERR_IPC_USAGE");
    }
  });

  test("an unreadable --ca file: exit 2, ERR_IPC_FILE", async () => {
    const result = await runCli(["send", "tls://127.0.0.1:1", "hello", "--ca", join(dir, "missing.pem")]);
    expect(result.code).toBe(2);
    expectOneError(result, "ERR_IPC_FILE");
  });

  test("serving where another server is live: exit 3, ERR_IPC_ADDRESS_IN_USE, the first one goes on", async () => {
    const { path } = unique();
    const { child } = await cliServer([`unix:${path}`]);
    const second = await runCli(["serve", `unix:${path}`]);
    expect(second.code).toBe(3);
    expectOneError(second, "ERR_IPC_ADDRESS_IN_USE");
    expect(await runCli(["send", `unix:${path}`, "still"])).toMatchObject({ code: 0 });
    // Connection 1 was the second server's probe, which found this one alive.
    expect(await child.line()).toEqual({ connection: 2, message: { type: "still", data: {} } });
  });

  test("no server: exit 3, with a hint at --legacy for an id", async () => {
    const { id, path } = unique();
    const byPath = await runCli(["send", `unix:${path}`, "hello"]);
    expect(byPath.code).toBe(3);
    expectOneError(byPath, "ERR_IPC_NO_SERVER");
    const byId = await runCli(["send", id, "hello"]);
    expect(byId.code).toBe(3);
    expectOneError(byId, "ERR_IPC_NO_SERVER");
    expect(byId.stderr).toContain("--legacy");
  });

  test("Deno without env access: exit 2, and the flags to give", async () => {
    // --deny-env, since a Deno lane's children inherit its -A.
    const [deno] = command("deno", "", []);
    const argv = ["send", "world", "hello"];
    const result = await runCli(argv, "", {}, (script) => [deno, ["run", "--deny-env", script, ...argv]]);
    expect(result.code).toBe(2);
    expectOneError(result, "ERR_IPC_SYSTEM");
    expect(result.stderr).toContain("--allow-env");
    expect(result.stderr).toContain("deno run -A npm:ipc-streams");
  });

  test("a default socket root others may use: exit 3, ERR_IPC_SOCKET_ROOT, what to do", async () => {
    const runtimeDir = mkdtempSync(join(dir, "xdg-"));
    mkdirSync(join(runtimeDir, "node-ipc"));
    chmodSync(join(runtimeDir, "node-ipc"), 0o755);
    const result = await runCli(["serve", "world"], "", { XDG_RUNTIME_DIR: runtimeDir });
    expect(result.code).toBe(3);
    expectOneError(result, "ERR_IPC_SOCKET_ROOT");
    expect(result.stderr).toContain("chmod 700");
  });
});
