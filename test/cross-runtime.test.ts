/**
 * Cross-process, cross-runtime: a server in each runtime (a Node, a Bun and a Deno child process)
 * serves clients from each runtime, all 9 pairs, with messages both ways, over a Unix socket, TCP,
 * TLS, and UDP over IPv4 and IPv6.
 *
 * Every lane runs all 9 pairs, so each lane proves the whole matrix on its own. "node" is the
 * lane's own Node when the suite runs on Node (Node 20 on the node20 lane), Node 22 otherwise.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ServerAddress } from "../src/index.ts";
import { type Child, type RuntimeName, spawnChild } from "./fixtures/children.ts";
import { nodeBundle } from "./fixtures/node-bundle.ts";
import { type Endpoints, endpoints, TRANSPORTS } from "./fixtures/transports.ts";
import { runtimeName } from "./runtime.ts";

const runtimes: readonly RuntimeName[] = ["node", "bun", "deno"];
/** Messages each client sends (every third one is 300 KB of multi-byte text). */
const MESSAGES = 30;

const at = Object.fromEntries(TRANSPORTS.map((transport) => [transport, endpoints(transport)]));
const ALL = [...TRANSPORTS, "udp4", "udp6"] as const;
const children: Child[] = [];
let env: Record<string, string> = {};

beforeAll(async () => {
  env = { IPC_STREAMS_NODE_BUNDLE: await nodeBundle() };
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.kill()));
  for (const endpoint of Object.values(at)) endpoint?.remove();
});

function peer(runtime: RuntimeName, args: string[]): Child {
  const child = spawnChild(runtime, "test/fixtures/peer.mjs", args, env);
  children.push(child);
  return child;
}

/** The child arguments of a transport: the byte-stream transports', or a UDP loopback address as JSON. */
function addressesOf(transport: (typeof ALL)[number]): Pick<Endpoints, "childListen" | "childReach"> {
  if (transport !== "udp4" && transport !== "udp6") return at[transport] as Endpoints;
  const host = transport === "udp4" ? "127.0.0.1" : "::1";
  return {
    childListen: () => JSON.stringify({ host, port: 0, transport }),
    childReach: ({ address }) => JSON.stringify({ host, port: (address as { port: number }).port, transport }),
  };
}

describe.each(ALL)(
  `cross-runtime on ${runtimeName} over %s: every server runtime with every client runtime`,
  (transport) => {
    for (const serverRuntime of runtimes) {
      test(`a ${serverRuntime} server and node, bun and deno clients exchange messages both ways`, async () => {
        const endpoint = addressesOf(transport);
        const server = peer(serverRuntime, ["server", endpoint.childListen(`cross-${serverRuntime}`)]);
        const { address, ...ready } = await server.line();
        expect(ready).toEqual({ ready: true, runtime: serverRuntime });
        const reach = endpoint.childReach({ address: address as ServerAddress });

        const clients = runtimes.map((clientRuntime) => peer(clientRuntime, ["client", reach, String(MESSAGES)]));
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
  },
);
