import { IpcError, type IpcErrorCode } from "../errors.ts";
import type { Bytes, ConnectOptions } from "./api.ts";
import type { Connection } from "./connection.ts";

/**
 * node-ipc's `retry`: milliseconds between connection attempts by default.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY, reconnect } from "ipc-streams";
 *
 * const connections = reconnect({ id: "world", retry: 2 * DEFAULT_RETRY }); // every second
 * ```
 */
export const DEFAULT_RETRY = 500;

/** The longest wait a timer can take (2^31 − 1 ms); a longer one would fire at once. */
const LONGEST_WAIT = 2_147_483_647;

/**
 * How the wait between attempts grows while they keep failing: the k-th wait since the last
 * connection is `min(max, retry × factor^(k−1))`, then spread at random over ± `jitter` of it.
 * The defaults keep node-ipc's fixed interval. gRPC's policy (connection-backoff.md) is
 * `{ retry: 1000, backoff: { factor: 1.6, max: 120_000, jitter: 0.2 } }`.
 *
 * @example
 * ```ts
 * import { reconnect } from "ipc-streams";
 *
 * // 1 s, 1.6 s, 2.56 s, … up to 120 s, each ± 20 %: many clients do not come back in step.
 * const connections = reconnect({ id: "world", retry: 1000, backoff: { factor: 1.6, max: 120_000, jitter: 0.2 } });
 * ```
 */
export interface BackoffOptions {
  /**
   * Each wait is the one before times this (a finite number ≥ 1).
   * @default 1 (node-ipc's fixed interval)
   */
  readonly factor?: number;
  /**
   * The longest wait in milliseconds, before jitter (a positive number or `Infinity`).
   * @default Infinity
   */
  readonly max?: number;
  /**
   * Each wait is multiplied by a uniform random number in [1 − jitter, 1 + jitter] (0 ≤ jitter < 1).
   * @default 0
   */
  readonly jitter?: number;
}

/**
 * Options of `reconnect()`: everything `connect()` takes (its `signal` ends the whole stream), plus
 * node-ipc's `retry` and `maxRetries` and a `backoff`.
 *
 * @example
 * ```ts
 * import { type ReconnectOptions, reconnect } from "ipc-streams";
 *
 * const stop = new AbortController(); // stop.abort() is node-ipc's stopRetrying
 * const options: ReconnectOptions = { id: "world", retry: 500, maxRetries: 10, signal: stop.signal };
 * for await (const connection of reconnect(options)) await connection.emit("hello");
 * ```
 */
export interface ReconnectOptions extends ConnectOptions {
  /**
   * Milliseconds to wait before an attempt that follows a failed one or an ended connection
   * (node-ipc's `retry`); the first wait when `backoff` grows them.
   * @default 500
   */
  readonly retry?: number;
  /**
   * Failed attempts in a row that are retried (node-ipc's `maxRetries`): after `maxRetries + 1`
   * failures in a row the stream errors with the last one. The count starts over after each
   * connection made. `0` makes one attempt per connection.
   * @default Infinity
   */
  readonly maxRetries?: number;
  /**
   * How the wait grows while attempts keep failing; it starts over after each connection made.
   * @default { factor: 1, max: Infinity, jitter: 0 } (node-ipc's fixed `retry`)
   */
  readonly backoff?: BackoffOptions;
  /**
   * node-ipc's `stopRetrying`: aborting ends the stream at once (a pending read gets its end), stops
   * any attempt or wait, and closes the live connection (`Connection.close()`).
   * @default undefined
   */
  readonly signal?: AbortSignal;
}

/**
 * `reconnect()`: raw mode gives byte chunks, framed mode JSON messages (typed by the caller).
 *
 * @example
 * ```ts
 * import { type EventOf, reconnect } from "ipc-streams";
 *
 * type Reply = EventOf<{ world: { to: string } }>;
 * for await (const connection of reconnect<Reply>({ id: "world" })) {
 *   for await (const { data } of connection.readable) console.log(data.to);
 * }
 * ```
 */
export interface ReconnectFunction {
  (options: ReconnectOptions & { readonly raw: true }): ReadableStream<Connection<Bytes, Uint8Array>>;
  <In = unknown, Out = In>(options: ReconnectOptions): ReadableStream<Connection<In, Out>>;
}

/** The waits between attempts, checked. */
export interface RetrySchedule {
  readonly retry: number;
  readonly factor: number;
  readonly max: number;
  readonly jitter: number;
}

/**
 * The failures another attempt can get past: nobody listening yet, a connection reset, an attempt
 * that timed out. Anything else (an invalid option, a path, permission or TLS problem) would fail
 * the same way again.
 */
const RETRYABLE: ReadonlySet<IpcErrorCode> = new Set([
  "ERR_IPC_NO_SERVER",
  "ERR_IPC_CONNECTION_RESET",
  "ERR_IPC_CONNECT_TIMEOUT",
]);

/** Whether another connection attempt can succeed where this error failed one. */
export function isRetryable(error: unknown): boolean {
  return error instanceof IpcError && RETRYABLE.has(error.code);
}

/**
 * The wait before the `k`-th attempt since the last connection (k ≥ 1), in milliseconds.
 * @param random a uniform random number in [0, 1)
 */
export function retryDelay(schedule: RetrySchedule, k: number, random: () => number = Math.random): number {
  const base = Math.min(schedule.max, schedule.retry * schedule.factor ** (k - 1));
  const wait = schedule.jitter === 0 ? base : base * (1 + schedule.jitter * (2 * random() - 1));
  return Math.min(wait, LONGEST_WAIT);
}

/** Checks `reconnect()`'s own options; throws `ERR_IPC_INVALID_OPTION`. */
export function checkReconnectOptions(options: ReconnectOptions): RetrySchedule & { readonly maxRetries: number } {
  if (options === null || typeof options !== "object") {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "options must be an object");
  }
  const { retry = DEFAULT_RETRY, maxRetries = Number.POSITIVE_INFINITY, backoff = {}, signal } = options;
  if (!(typeof retry === "number" && Number.isFinite(retry) && retry >= 0)) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "retry must be a finite number of milliseconds, 0 or more");
  }
  if (!(maxRetries === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxRetries) && maxRetries >= 0))) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "maxRetries must be an integer, 0 or more, or Infinity");
  }
  if (backoff === null || typeof backoff !== "object") {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "backoff must be an object { factor, max, jitter }");
  }
  const { factor = 1, max = Number.POSITIVE_INFINITY, jitter = 0 } = backoff;
  if (!(typeof factor === "number" && Number.isFinite(factor) && factor >= 1)) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "backoff.factor must be a finite number, 1 or more");
  }
  if (!(typeof max === "number" && max > 0)) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "backoff.max must be a positive number of milliseconds, or Infinity");
  }
  if (!(typeof jitter === "number" && jitter >= 0 && jitter < 1)) {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "backoff.jitter must be a number from 0 up to (not including) 1");
  }
  if (signal !== undefined && typeof (signal as Partial<AbortSignal> | null)?.addEventListener !== "function") {
    throw new IpcError("ERR_IPC_INVALID_OPTION", "signal must be an AbortSignal");
  }
  return { retry, maxRetries, factor, max, jitter };
}

/**
 * The stream `reconnect()` returns, over any `connect` (the runtime's, or a test's). Each read
 * closes the connection the previous read gave (and waits until it is closed), then connects,
 * retrying retryable failures; nothing is connected ahead of a read.
 * @internal
 * @param random the source of jitter
 */
export function reconnecting<In, Out>(
  connect: (options: ConnectOptions) => Promise<Connection<In, Out>>,
  options: ReconnectOptions,
  random: () => number = Math.random,
): ReadableStream<Connection<In, Out>> {
  const schedule = checkReconnectOptions(options);
  const { retry: _retry, maxRetries: _maxRetries, backoff: _backoff, signal, ...connectOptions } = options;
  /** Aborted when the stream ends for good: it stops the wait or attempt under way. */
  const stop = new AbortController();
  let live: Connection<In, Out> | undefined;
  let controller!: ReadableStreamDefaultController<Connection<In, Out>>;
  /** Whether a connection was handed out (the next attempt then waits first). */
  let connectedBefore = false;

  const end = (reason: unknown): Promise<void> | undefined => {
    signal?.removeEventListener("abort", onAbort);
    stop.abort(reason);
    const connection = live;
    live = undefined;
    return connection?.close(reason);
  };
  const onAbort = () => {
    void end(signal?.reason);
    try {
      controller.close();
    } catch {
      // Already closed or errored.
    }
  };

  return new ReadableStream<Connection<In, Out>>(
    {
      start(started) {
        controller = started;
        if (signal?.aborted) onAbort();
        else signal?.addEventListener("abort", onAbort, { once: true });
      },
      async pull(pulled) {
        const previous = live;
        if (previous !== undefined) {
          await previous.close();
          if (live === previous) live = undefined;
        }
        let failures = 0;
        let error: unknown;
        for (let wait = connectedBefore ? 1 : 0; ; wait++) {
          if (wait > 0) await sleep(retryDelay(schedule, wait, random), stop.signal);
          if (stop.signal.aborted) return;
          try {
            const connection = await attempt(connect, connectOptions, stop.signal);
            if (stop.signal.aborted) {
              connection.destroy();
              return;
            }
            live = connection;
            connectedBefore = true;
            pulled.enqueue(connection);
            return;
          } catch (failure) {
            if (stop.signal.aborted) return;
            error = failure;
          }
          failures++;
          if (!isRetryable(error) || failures > schedule.maxRetries) break;
        }
        void end(error);
        pulled.error(error);
      },
      cancel: (reason) => end(reason),
    },
    { highWaterMark: 0 },
  );
}

/** One `connect`, given up when `stop` aborts; the connection made is not tied to `stop`. */
async function attempt<In, Out>(
  connect: (options: ConnectOptions) => Promise<Connection<In, Out>>,
  options: ConnectOptions,
  stop: AbortSignal,
): Promise<Connection<In, Out>> {
  const controller = new AbortController();
  const onStop = () => controller.abort(stop.reason);
  stop.addEventListener("abort", onStop, { once: true });
  try {
    return await connect({ ...options, signal: controller.signal });
  } finally {
    stop.removeEventListener("abort", onStop);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the timer is cleared then). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
