/**
 * `reconnect()` and `sync: true` against real node-ipc servers (9.2.1, @achrinza 10.1.11, 12.0.0,
 * 14.0.0) over Unix sockets, TCP and TLS: a server that stops and starts again (its process exits,
 * a new one serves on the same address), one that stays down, and one that answers each message
 * of a sync client. Outcomes go into the README's interop table (test/peers/outcomes.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { reconnecting } from "../src/connection/reconnect.ts";
import type { Connection, ConnectOptions } from "../src/index.ts";
import {
  EVENT_TIMEOUT,
  freePort,
  isEvent,
  LINES,
  type Line,
  Peer,
  stopAllPeers,
  stopSparePeers,
  within,
} from "./peers/harness.ts";
import { FROM_US, recorder, runtimeLabel } from "./peers/outcomes.ts";
import { ipc } from "./runtime.ts";

const dir = mkdtempSync(join(tmpdir(), "ipcs-interop-rc-"));
const root = `${dir}/`;
const APPSPACE = "interop.";
const CA = readFileSync(new URL("./fixtures/tls/ca.pem", import.meta.url), "utf8");

const cleanups: (() => unknown)[] = [];
async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // best effort: the scenario's assertions report what matters
    }
  }
}

const { scenario, peerNode } = recorder("interop-reconnect", async () => {
  await runCleanups();
  await stopAllPeers();
  await stopSparePeers();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await runCleanups();
  await stopAllPeers();
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Kind = "unix" | "tcp" | "tls";

let counter = 0;

/** Where one scenario's node-ipc server lives: the same address for each of its restarts. */
interface Address {
  readonly kind: Kind;
  readonly id: string;
  /** The port, on TCP and TLS (node-ipc cannot take port 0: found free first). */
  readonly port: number;
  /** Our `connect` options to reach it. */
  readonly target: ConnectOptions;
}

async function addressFor(kind: Kind, line: Line): Promise<Address> {
  counter++;
  const id = `ipcs-rc-${runtimeLabel}-${line}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
  if (kind === "unix") return { kind, id, port: 0, target: { id, socketRoot: root, appspace: APPSPACE } };
  const port = await freePort();
  const target: ConnectOptions =
    kind === "tls" ? { host: "127.0.0.1", port, tls: { ca: CA } } : { host: "127.0.0.1", port };
  return { kind, id, port, target };
}

/** A node-ipc process of `line` serving at `address`, answering nothing by itself. */
async function nodeIpcServer(line: Line, address: Address, types: string[] = ["hello", "request"]): Promise<Peer> {
  const peer = await Peer.start(line);
  peerNode(line, peer.node);
  cleanups.push(() => peer.stop());
  if (address.kind === "unix") {
    await peer.config({ socketRoot: root, appspace: APPSPACE, id: address.id });
    await peer.request("serve", { types });
  } else {
    await peer.config({ id: address.id });
    const tls = address.kind === "tls" ? { public: "server.pem", private: "server.key" } : undefined;
    await peer.request("serve", { net: { host: "127.0.0.1", port: address.port }, tls, types });
  }
  return peer;
}

/** Reads our readable in the background (a sync client must take its replies in). */
function readAll(connection: Connection): { readonly messages: unknown[]; readonly done: Promise<void> } {
  const messages: unknown[] = [];
  const done = (async () => {
    for await (const message of connection.readable) messages.push(message);
  })().catch(() => {});
  return { messages, done };
}

const TRANSPORTS_FROM_US: readonly Kind[] = ["unix", "tcp", "tls"];
const SLOW = 120_000;

for (const line of LINES) {
  describe(`node-ipc ${line}`, () => {
    for (const kind of TRANSPORTS_FROM_US) {
      describe(kind, () => {
        scenario(
          line,
          kind,
          FROM_US,
          "reconnect: the server stops and starts again: a new connection each time, counted",
          async () => {
            const address = await addressFor(kind, line);
            let peer = await nodeIpcServer(line, address);
            const stream = ipc.reconnect({ ...address.target, retry: 50 });
            const reader = stream.getReader();
            cleanups.push(() => reader.cancel());
            const seen = new Set<Connection>();
            for (let round = 1; round <= 3; round++) {
              const { value: connection } = await within(reader.read(), EVENT_TIMEOUT, `connection ${round}`);
              expect(connection).toBeDefined();
              seen.add(connection as Connection);
              const { socket } = await peer.next(isEvent("server.connect"), `server connect ${round}`);
              await (connection as Connection).emit("hello", { round });
              const hello = await peer.next(isEvent("server.message", { socket }), `hello ${round}`);
              expect(hello.data).toEqual({ round });
              await peer.request("serverEmit", { socket, args: ["reply", { round }] });
              const reply = await within(
                (connection as Connection).readable.getReader().read(),
                EVENT_TIMEOUT,
                `reply ${round}`,
              );
              expect(reply.value).toEqual({ type: "reply", data: { round } });
              if (round === 3) break;
              await peer.stop(); // the node-ipc process exits: our connection ends (the next read closes it)
              peer = await nodeIpcServer(line, address); // a new one serves on the same address
            }
            expect(seen.size).toBe(3);
            await reader.cancel();
          },
          { timeout: SLOW },
        );

        scenario(
          line,
          kind,
          FROM_US,
          "reconnect: maxRetries ends it when the server stays down",
          async () => {
            const address = await addressFor(kind, line);
            const peer = await nodeIpcServer(line, address);
            let attempts = 0;
            const counting = (options: ConnectOptions) => {
              attempts++;
              return ipc.connect(options);
            };
            const reader = reconnecting(counting, { ...address.target, retry: 30, maxRetries: 3 }).getReader();
            cleanups.push(() => reader.cancel());
            const { value: connection } = await within(reader.read(), EVENT_TIMEOUT, "the connection");
            await peer.next(isEvent("server.connect"), "server connect");
            expect(connection).toBeDefined();
            await peer.stop();
            const failure = await within(
              reader.read().then(
                () => undefined,
                (error: { code?: string }) => error.code,
              ),
              EVENT_TIMEOUT,
              "the stream's error",
            );
            expect({ failure, attempts }).toEqual({ failure: "ERR_IPC_NO_SERVER", attempts: 1 + 4 });
          },
          { timeout: SLOW },
        );

        scenario(
          line,
          kind,
          FROM_US,
          "sync: true: the server answers each message, the next leaves only then",
          async () => {
            const address = await addressFor(kind, line);
            const peer = await nodeIpcServer(line, address);
            const connection = await ipc.connect({ ...address.target, sync: true });
            cleanups.push(() => connection.close());
            const { socket } = await peer.next(isEvent("server.connect"), "server connect");
            const inbox = readAll(connection);
            const resolved: number[] = [];
            const sends = [1, 2, 3, 4].map((n) => connection.emit("request", n).then(() => resolved.push(n)));
            for (const n of [1, 2, 3, 4]) {
              const request = await peer.next(isEvent("server.message", { socket }), `request ${n}`);
              expect(request.data).toBe(n);
              await delay(150);
              expect(peer.has(isEvent("server.message", { socket }))).toBe(false); // not before the answer
              await peer.request("serverEmit", { socket, args: ["reply", n] });
            }
            await within(Promise.all(sends), EVENT_TIMEOUT, "every send");
            expect(resolved).toEqual([1, 2, 3, 4]);
            await within(
              (async () => {
                while (inbox.messages.length < 4) await delay(10);
              })(),
              EVENT_TIMEOUT,
              "the four replies",
            );
            expect(inbox.messages).toEqual([1, 2, 3, 4].map((n) => ({ type: "reply", data: n })));
          },
          { timeout: SLOW },
        );
      });
    }
  });
}
