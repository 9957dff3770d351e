/**
 * node-ipc's sync mode on our client (`connect({ sync: true })`): a message leaves only once a
 * message from the peer arrived for the previous one, sends resolve in order, and the messages
 * still waiting when the connection ends reject with ERR_IPC_CLOSED. Over every transport.
 */
import { afterAll, describe, expect, test } from "vitest";
import type { Connection, Server } from "../src/index.ts";
import { acceptor, socketDirectory, take } from "./fixtures/sockets.ts";
import { endpoints, TRANSPORTS } from "./fixtures/transports.ts";
import { ipc, runtimeName } from "./runtime.ts";

const sockets = socketDirectory();
afterAll(() => sockets.remove());

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the messages that arrive within `ms` (the reader is released after). */
async function arrivingWithin<T>(readable: ReadableStream<T>, ms: number): Promise<T[]> {
  const reader = readable.getReader();
  const values: T[] = [];
  const deadline = delay(ms).then(() => "late" as const);
  let pending = reader.read();
  try {
    for (;;) {
      const result = await Promise.race([pending, deadline]);
      if (result === "late" || result.done) break;
      values.push(result.value);
      pending = reader.read();
    }
  } finally {
    reader.releaseLock();
    await pending.catch(() => {});
  }
  return values;
}

/** A rejection's code, or "fulfilled". */
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "fulfilled",
    (error: { code?: string }) => error.code ?? String(error),
  );

describe.each(TRANSPORTS)(`sync mode on ${runtimeName} over %s`, (transport) => {
  const where = endpoints(transport);
  afterAll(() => where.remove());
  let count = 0;

  async function pair(
    options: { sync?: boolean } = { sync: true },
  ): Promise<{ server: Server; peer: Connection; client: Connection; done(): Promise<void> }> {
    const server = await ipc.serve(where.listen(`sync-${++count}`));
    const accepted = acceptor(server);
    const client = await ipc.connect({ ...where.reach(server), ...options });
    const peer = await accepted.next();
    return {
      server,
      peer,
      client,
      done: async () => {
        client.destroy();
        await server.close();
      },
    };
  }

  test("one message at a time: the next leaves only once the peer answered", async () => {
    const { peer, client, done } = await pair();
    // The client reads its replies, as a sync client must.
    const replies: unknown[] = [];
    const reading = (async () => {
      for await (const reply of client.readable) replies.push(reply);
    })();
    const resolved: number[] = [];
    const sends = [1, 2, 3, 4].map((n) => client.emit("request", n).then(() => resolved.push(n)));
    for (const n of [1, 2, 3, 4]) {
      expect(await take(peer.readable, 1)).toEqual([{ type: "request", data: n }]);
      // Unanswered, the next one does not come.
      expect(await arrivingWithin(peer.readable, 150)).toEqual([]);
      await peer.emit("reply", n);
    }
    await Promise.all(sends);
    expect(resolved).toEqual([1, 2, 3, 4]);
    await peer.close();
    await reading;
    expect(replies).toEqual([1, 2, 3, 4].map((n) => ({ type: "reply", data: n })));
    await done();
  });

  test("without sync every message leaves at once (the control)", async () => {
    const { peer, client, done } = await pair({});
    await Promise.all([1, 2, 3].map((n) => client.emit("request", n)));
    expect(await take(peer.readable, 3)).toEqual([1, 2, 3].map((n) => ({ type: "request", data: n })));
    await done();
  });

  test("writable writes and emits share the queue, in the order handed over", async () => {
    const { peer, client, done } = await pair();
    void (async () => {
      for await (const _ of client.readable) {
        // taken in: each one lets the next message go
      }
    })().catch(() => {});
    const writer = client.writable.getWriter();
    const sent = [writer.write({ type: "w", data: 1 }), client.emit("e", 2), writer.write({ type: "w", data: 3 })];
    const seen: unknown[] = [];
    while (seen.length < 3) {
      const [message] = await take(peer.readable, 1);
      seen.push(message);
      expect(await arrivingWithin(peer.readable, 100)).toEqual([]);
      await peer.emit("ack");
    }
    expect(seen).toEqual([
      { type: "w", data: 1 },
      { type: "e", data: 2 },
      { type: "w", data: 3 },
    ]);
    await Promise.all(sent);
    writer.releaseLock();
    await done();
  });

  test("a message from the peer while nothing waits is not saved up", async () => {
    const { peer, client, done } = await pair();
    void (async () => {
      for await (const _ of client.readable) {
        // taken in
      }
    })().catch(() => {});
    await client.emit("first", 1);
    expect(await take(peer.readable, 1)).toEqual([{ type: "first", data: 1 }]);
    await peer.emit("reply", 1);
    await peer.emit("extra", 2); // arrives while nothing waits: not credit for two sends
    await delay(100);
    const later = [client.emit("second", 2), client.emit("third", 3)];
    expect(await take(peer.readable, 1)).toEqual([{ type: "second", data: 2 }]);
    expect(await arrivingWithin(peer.readable, 150)).toEqual([]);
    await peer.emit("reply", 2);
    expect(await take(peer.readable, 1)).toEqual([{ type: "third", data: 3 }]);
    await Promise.all(later);
    await done();
  });

  test("close(): the messages still waiting reject with ERR_IPC_CLOSED; the one sent arrives", async () => {
    const { peer, client, done } = await pair();
    const first = client.emit("request", 1);
    const waiting = [client.emit("request", 2), client.emit("request", 3)];
    await first;
    await client.close();
    expect(await Promise.all(waiting.map(codeOf))).toEqual(["ERR_IPC_CLOSED", "ERR_IPC_CLOSED"]);
    const received: unknown[] = [];
    for await (const message of peer.readable) received.push(message);
    expect(received).toEqual([{ type: "request", data: 1 }]);
    await done();
  });

  test("the peer goes away: waiting sends and writes reject with ERR_IPC_CLOSED", async () => {
    const { peer, client, done } = await pair();
    const reading = (async () => {
      for await (const _ of client.readable) {
        // until the peer ends
      }
    })();
    const writer = client.writable.getWriter();
    const first = writer.write({ type: "w", data: 1 });
    const waiting = [writer.write({ type: "w", data: 2 }), client.emit("e", 3)];
    await first;
    expect(await take(peer.readable, 1)).toEqual([{ type: "w", data: 1 }]);
    await peer.close();
    await reading;
    expect(await Promise.all(waiting.map(codeOf))).toEqual(["ERR_IPC_CLOSED", "ERR_IPC_CLOSED"]);
    writer.releaseLock();
    await done();
  });

  test("destroy(): waiting sends reject with ERR_IPC_CLOSED at once", async () => {
    const { peer, client, done } = await pair();
    await client.emit("request", 1);
    let settled = false;
    const waiting = client.emit("request", 2).finally(() => {
      settled = true;
    });
    expect(await take(peer.readable, 1)).toEqual([{ type: "request", data: 1 }]);
    await delay(100);
    expect(settled).toBe(false); // held back, not sent
    client.destroy();
    expect(await codeOf(waiting)).toBe("ERR_IPC_CLOSED");
    await done();
  });

  test("cancelling readable: no reply can arrive, so the messages waiting reject with ERR_IPC_CLOSED", async () => {
    const { peer, client, done } = await pair();
    await client.emit("request", 1);
    const waiting = client.emit("request", 2);
    expect(await take(peer.readable, 1)).toEqual([{ type: "request", data: 1 }]);
    await client.readable.cancel();
    expect(await codeOf(waiting)).toBe("ERR_IPC_CLOSED");
    expect(await arrivingWithin(peer.readable, 100)).toEqual([]);
    await done();
  });

  test("a reply counts once decoded: unread replies beyond the one read ahead hold the queue", async () => {
    const { peer, client, done } = await pair();
    const sends = [1, 2, 3].map((n) => client.emit("request", n));
    expect(await take(peer.readable, 1)).toEqual([{ type: "request", data: 1 }]);
    await peer.emit("reply", 1); // decoded ahead of any read: request 2 leaves
    expect(await take(peer.readable, 1)).toEqual([{ type: "request", data: 2 }]);
    await peer.emit("reply", 2); // stays undecoded while nobody reads
    expect(await arrivingWithin(peer.readable, 200)).toEqual([]);
    expect(await take(client.readable, 1)).toEqual([{ type: "reply", data: 1 }]);
    expect(await take(peer.readable, 1)).toEqual([{ type: "request", data: 3 }]);
    await Promise.all(sends);
    await done();
  });

  test("reconnect({ sync: true }) gives sync connections", async () => {
    const server = await ipc.serve(where.listen(`sync-${++count}`));
    const accepted = acceptor(server);
    const reader = ipc.reconnect({ ...where.reach(server), sync: true }).getReader();
    const { value: client } = await reader.read();
    const peer = await accepted.next();
    const sends = [client!.emit("request", 1), client!.emit("request", 2)];
    expect(await take(peer.readable, 1)).toEqual([{ type: "request", data: 1 }]);
    expect(await arrivingWithin(peer.readable, 150)).toEqual([]);
    await peer.emit("reply", 1);
    expect(await take(peer.readable, 1)).toEqual([{ type: "request", data: 2 }]);
    await Promise.all(sends);
    await reader.cancel();
    await server.close();
  });

  test("sync must be a boolean: ERR_IPC_INVALID_OPTION before connecting", async () => {
    await expect(ipc.connect({ path: sockets.path("none"), sync: "yes" as unknown as boolean })).rejects.toMatchObject({
      code: "ERR_IPC_INVALID_OPTION",
    });
  });
});
