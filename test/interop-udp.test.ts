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

/** The `data` of up to `count` messages, until none came for `quiet` ms: what is missing was lost. */
async function receive(connection: Connection, count: number, quiet = 5000): Promise<unknown[]> {
  const reader = connection.readable.getReader();
  const values: unknown[] = [];
  while (values.length < count) {
    const result = await Promise.race([reader.read(), sleep(quiet).then(() => undefined)]);
    if (result === undefined || result.done) break;
    values.push((result.value as { data: unknown }).data);
  }
  return values;
}

/** Our `count` emits of `type`, paced so that a node-ipc process printing each one keeps up. */
async function emitMany(connection: Connection, type: string, count: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    await connection.emit(type, n);
    if (n % 20 === 19) await sleep(5);
  }
}

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

      on(TO_US, `${MANY} datagrams from node-ipc arrive in order; ${MANY} replies arrive, none lost`, async () => {
        const server = await ourServer(family);
        const accepted = acceptor(server);
        const { peer } = await nodeIpcServer(line, family, ["reply"]);
        await peer.request("emitManyTo", { address: LOOPBACK[family], port: portOf(server), type: "n", count: MANY });
        const connection = await accepted.next();
        expect(await receive(connection, MANY)).toEqual([...Array(MANY).keys()]);
        await emitMany(connection, "reply", MANY);
        const replies = await peer.collect(serverMessage("reply"), MANY, "replies");
        expect(replies.map((event) => event.data)).toEqual([...Array(MANY).keys()]);
      });

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

      on(FROM_US, `${MANY} messages each way, none lost`, async () => {
        const { peer, port } = await nodeIpcServer(line, family, ["n"]);
        const client = await ourClient(family, port);
        await emitMany(client, "n", MANY);
        const events = await peer.collect(serverMessage("n"), MANY, "messages");
        expect(events.map((event) => event.data)).toEqual([...Array(MANY).keys()]);
        const target = events[0]?.from as { address: string; port: number };
        await peer.request("emitManyTo", { ...target, type: "back", count: MANY });
        expect(await receive(client, MANY)).toEqual([...Array(MANY).keys()]);
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
