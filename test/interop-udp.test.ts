/**
 * UDP interoperation with the real node-ipc packages (9.2.1, @achrinza 10.1.11, 12.0.0, 14.0.0),
 * udp4 and udp6, both directions, on the runtime running the suite. node-ipc has no UDP client:
 * its side is always `serveNet(host, port, udpType)`, sending with `server.emit({address, port})`.
 * "node-ipc client → our server" is such a node-ipc process sending to our server; "our client →
 * node-ipc server" is our `connect()` to one. Outcomes go to the README table
 * (test/peers/outcomes.ts, report "interop-udp").
 */
import { createSocket } from "node:dgram";
import { afterEach, describe, expect } from "vitest";
import type { Connection, Server } from "../src/index.ts";
import { acceptor, take } from "./fixtures/sockets.ts";
import {
  EVENT_TIMEOUT,
  LINES,
  type Line,
  Peer,
  type PeerEvent,
  stopAllPeers,
  stopSparePeers,
} from "./peers/harness.ts";
import { FROM_US, recorder, runtimeLabel, TO_US } from "./peers/outcomes.ts";
import { ipc } from "./runtime.ts";

type Family = "udp4" | "udp6";
const FAMILIES: readonly Family[] = ["udp4", "udp6"];
const LOOPBACK = { udp4: "127.0.0.1", udp6: "::1" } as const;
const MANY = 1000;

const cleanups: (() => unknown)[] = [];
async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // Best effort: the next cleanup still runs.
    }
  }
}
afterEach(runCleanups);

const { scenario, peerNode } = recorder("interop-udp", async () => {
  await runCleanups();
  await stopAllPeers();
  await stopSparePeers();
});

async function startPeer(line: Line): Promise<Peer> {
  const peer = await Peer.start(line);
  peerNode(line, peer.node);
  cleanups.push(() => peer.stop());
  return peer;
}

/** A UDP port free right now, for a node-ipc server (node-ipc cannot bind port 0). */
async function freePort(family: Family): Promise<number> {
  const socket = createSocket({ type: family });
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK[family], resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

const serverMessage =
  (type: string, extra: (event: PeerEvent) => boolean = () => true) =>
  (event: PeerEvent) =>
    event.ev === "server.message" && event.type === type && extra(event);

/** A node-ipc UDP server on loopback, its handlers on `types`. */
async function nodeIpcServer(line: Line, family: Family, types: string[]): Promise<{ peer: Peer; port: number }> {
  const peer = await startPeer(line);
  const port = await freePort(family);
  await peer.request("serveUdp", { host: LOOPBACK[family], port, udpType: family, types });
  return { peer, port };
}

async function ourServer(family: Family): Promise<Server> {
  const server = await ipc.serve({ host: LOOPBACK[family], port: 0, transport: family });
  cleanups.push(() => server.destroy());
  return server;
}

async function ourClient(family: Family, port: number): Promise<Connection> {
  const connection = await ipc.connect({ host: LOOPBACK[family], port, transport: family });
  cleanups.push(() => connection.destroy());
  return connection;
}

const portOf = (server: Server) => (server.address as { port: number }).port;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Messages go in windows of this many, each received before the next is sent: UDP has no flow
 * control, and a receiver held up for a moment (a GC, a busy machine) must not find its socket's
 * buffer overflowed by a sender that did not wait.
 */
const WINDOW = 50;

/** The `data` of up to `count` messages, until none came for `quiet` ms: what is missing was lost. */
async function receive(reader: ReadableStreamDefaultReader<unknown>, count: number, quiet = 5000): Promise<unknown[]> {
  const values: unknown[] = [];
  while (values.length < count) {
    const result = await Promise.race([reader.read(), sleep(quiet).then(() => undefined)]);
    if (result === undefined || result.done) break;
    values.push((result.value as { data: unknown }).data);
  }
  return values;
}

/** The window starting at `start`: its numbers. */
const windowOf = (start: number) => [...Array(WINDOW).keys()].map((n) => start + n);

/** Our emits of `type` with data `start`, `start + 1`, … for one window. */
async function emitWindow(connection: Connection, type: string, start: number): Promise<void> {
  for (const n of windowOf(start)) await connection.emit(type, n);
}

/** node-ipc's events of `type` whose data lies in the window starting at `start`. */
const inWindow = (type: string, start: number) =>
  serverMessage(type, (event) => typeof event.data === "number" && event.data >= start && event.data < start + WINDOW);

for (const line of LINES) {
  for (const family of FAMILIES) {
    const on = (
      direction: typeof TO_US | typeof FROM_US,
      name: string,
      body: () => Promise<void>,
      limitation = false,
    ) => scenario(line, family, direction, name, body, { timeout: 4 * EVENT_TIMEOUT, limitation });

    describe(`node-ipc ${line} · ${family} on ${runtimeLabel}`, () => {
      on(TO_US, "server.emit({address, port}) reaches our server; our reply reaches its on(type)", async () => {
        const server = await ourServer(family);
        const accepted = acceptor(server);
        const { peer } = await nodeIpcServer(line, family, ["world"]);
        await peer.request("emitTo", { address: LOOPBACK[family], port: portOf(server), args: ["hello", { n: 1 }] });
        const connection = await accepted.next();
        expect(await take(connection.readable, 1)).toEqual([{ type: "hello", data: { n: 1 } }]);
        await connection.emit("world", { to: "node-ipc", text: "héllo 😀 \f inside" });
        const reply = await peer.next(serverMessage("world"), "world");
        expect(reply.data).toEqual({ to: "node-ipc", text: "héllo 😀 \f inside" });
        expect(reply.from).toEqual({ address: LOOPBACK[family], port: portOf(server) });
      });

      on(
        TO_US,
        `${MANY} datagrams from node-ipc arrive in order; ${MANY} replies arrive, none lost (${WINDOW} at a time)`,
        async () => {
          const server = await ourServer(family);
          const accepted = acceptor(server);
          const { peer } = await nodeIpcServer(line, family, ["reply"]);
          const target = { address: LOOPBACK[family], port: portOf(server) };
          let connection: Connection | undefined;
          let reader: ReadableStreamDefaultReader<unknown> | undefined;
          const received: unknown[] = [];
          for (let start = 0; start < MANY; start += WINDOW) {
            await peer.request("emitManyTo", { ...target, type: "n", start, count: WINDOW });
            connection ??= await accepted.next();
            reader ??= connection.readable.getReader();
            received.push(...(await receive(reader, WINDOW)));
          }
          expect(received).toEqual([...Array(MANY).keys()]);
          const replies: unknown[] = [];
          for (let start = 0; start < MANY; start += WINDOW) {
            await emitWindow(connection as Connection, "reply", start);
            const events = await peer.collect(inWindow("reply", start), WINDOW, "replies");
            replies.push(...events.map((event) => event.data));
          }
          expect(replies).toEqual([...Array(MANY).keys()]);
        },
      );

      on(TO_US, "our emits of one tick travel in one datagram; node-ipc reads every frame of it", async () => {
        const server = await ourServer(family);
        const accepted = acceptor(server);
        const { peer } = await nodeIpcServer(line, family, ["a", "b", "c"]);
        await peer.request("emitTo", { address: LOOPBACK[family], port: portOf(server), args: ["hello"] });
        const connection = await accepted.next();
        await Promise.all([connection.emit("a", 1), connection.emit("b", 2), connection.emit("c", 3)]);
        for (const [type, data] of [
          ["a", 1],
          ["b", 2],
          ["c", 3],
        ] as const) {
          expect((await peer.next(serverMessage(type), type)).data).toBe(data);
        }
      });

      on(FROM_US, "our emit reaches server.on(type); server.emit(socket) reaches our client", async () => {
        const { peer, port } = await nodeIpcServer(line, family, ["hello"]);
        const client = await ourClient(family, port);
        await client.emit("hello", { from: "us", text: "∑ 😀" });
        const hello = await peer.next(serverMessage("hello"), "hello");
        expect(hello.data).toEqual({ from: "us", text: "∑ 😀" });
        await peer.request("serverEmit", { socket: hello.socket, args: ["world", { to: "us" }] });
        expect(await take(client.readable, 1)).toEqual([{ type: "world", data: { to: "us" } }]);
      });

      on(FROM_US, `${MANY} messages each way, none lost (${WINDOW} at a time)`, async () => {
        const { peer, port } = await nodeIpcServer(line, family, ["n"]);
        const client = await ourClient(family, port);
        const arrived: unknown[] = [];
        let target: { address: string; port: number } | undefined;
        for (let start = 0; start < MANY; start += WINDOW) {
          await emitWindow(client, "n", start);
          const events = await peer.collect(inWindow("n", start), WINDOW, "messages");
          target ??= events[0]?.from as { address: string; port: number };
          arrived.push(...events.map((event) => event.data));
        }
        expect(arrived).toEqual([...Array(MANY).keys()]);
        const reader = client.readable.getReader();
        const back: unknown[] = [];
        for (let start = 0; start < MANY; start += WINDOW) {
          await peer.request("emitManyTo", { ...target, type: "back", start, count: WINDOW });
          back.push(...(await receive(reader, WINDOW)));
        }
        expect(back).toEqual([...Array(MANY).keys()]);
      });

      if (line === "14") {
        on(FROM_US, "server.broadcast reaches our client (node-ipc 14 sends to every peer it saw)", async () => {
          const { peer, port } = await nodeIpcServer(line, family, ["hello"]);
          const client = await ourClient(family, port);
          await client.emit("hello");
          await peer.next(serverMessage("hello"), "hello");
          await peer.request("broadcast", { args: ["news", { n: 1 }] });
          expect(await take(client.readable, 1)).toEqual([{ type: "news", data: { n: 1 } }]);
        });
      } else {
        on(
          FROM_US,
          "server.broadcast over UDP reaches nobody (9–12 skip the one socket they track); server.emit still does",
          async () => {
            const { peer, port } = await nodeIpcServer(line, family, ["hello"]);
            const client = await ourClient(family, port);
            await client.emit("hello");
            const hello = await peer.next(serverMessage("hello"), "hello");
            await peer.request("broadcast", { args: ["news", { n: 1 }] });
            await sleep(200);
            await peer.request("serverEmit", { socket: hello.socket, args: ["direct", { n: 2 }] });
            // The first message to arrive is the direct one: the broadcast never came.
            expect(await take(client.readable, 1)).toEqual([{ type: "direct", data: { n: 2 } }]);
          },
          true,
        );
      }
    });
  }
}
