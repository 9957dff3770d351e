/**
 * Cross-process, cross-runtime: a server in each runtime (a Node, a Bun and a Deno child process)
 * serves clients from each runtime, all 9 pairs, with messages both ways.
 *
 * Every lane runs all 9 pairs, so each lane proves the whole matrix on its own. "node" is the
 * lane's own Node when the suite runs on Node (Node 20 on the node20 lane), Node 22 otherwise.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Child, type RuntimeName, spawnChild } from "./fixtures/children.ts";
import { nodeBundle } from "./fixtures/node-bundle.ts";
import { socketDirectory } from "./fixtures/sockets.ts";
import { runtimeName } from "./runtime.ts";

const runtimes: readonly RuntimeName[] = ["node", "bun", "deno"];
/** Messages each client sends (every third one is 300 KB of multi-byte text). */
const MESSAGES = 30;

const sockets = socketDirectory();
const children: Child[] = [];
let env: Record<string, string> = {};

beforeAll(async () => {
  env = { IPC_STREAMS_NODE_BUNDLE: await nodeBundle() };
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.kill()));
  sockets.remove();
});

function peer(runtime: RuntimeName, args: string[]): Child {
  const child = spawnChild(runtime, "test/fixtures/peer.mjs", args, env);
  children.push(child);
  return child;
}

describe(`cross-runtime on ${runtimeName}: every server runtime with every client runtime`, () => {
  for (const serverRuntime of runtimes) {
    test(`a ${serverRuntime} server and node, bun and deno clients exchange messages both ways`, async () => {
      const path = sockets.path(`cross-${serverRuntime}`);
      const server = peer(serverRuntime, ["server", path]);
      expect(await server.line()).toEqual({ ready: true, runtime: serverRuntime });

      const clients = runtimes.map((clientRuntime) => peer(clientRuntime, ["client", path, String(MESSAGES)]));
      const reports = await Promise.all(clients.map((client) => client.line()));
      for (const [i, report] of reports.entries()) {
        // What the client saw: every reply, in order, from a server of the right runtime.
        expect(report).toEqual({ ok: true, client: runtimes[i], server: serverRuntime, replies: MESSAGES });
      }
      expect(await Promise.all(clients.map((client) => client.exited))).toEqual([0, 0, 0]);

      // What the server saw: every message of every client.
      const served = await Promise.all(runtimes.map(() => server.line()));
      expect(served.sort((a, b) => String(a.served).localeCompare(String(b.served)))).toEqual(
        [...runtimes].sort().map((client) => ({ served: client, count: MESSAGES })),
      );
      server.process.stdin?.end();
      expect(await server.line()).toEqual({ closed: true });
      expect(await server.exited).toBe(0);
      expect(server.stderr()).toBe("");
    });
  }
});
