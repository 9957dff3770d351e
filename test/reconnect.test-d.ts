/** Type tests of `reconnect()` and its options: run with `vitest run --typecheck`. */
import { describe, expectTypeOf, test } from "vitest";
import type { Bytes, Connection, EventOf, ReconnectFunction, ReconnectOptions } from "../src/index.ts";

declare const reconnect: ReconnectFunction;

describe("reconnect", () => {
  test("a stream of connections, typed like connect's; raw gives bytes", () => {
    type Reply = EventOf<{ reply: string }>;
    expectTypeOf(reconnect<Reply>({ id: "world" })).toEqualTypeOf<ReadableStream<Connection<Reply, Reply>>>();
    expectTypeOf(reconnect({ id: "world", raw: true })).toEqualTypeOf<ReadableStream<Connection<Bytes, Uint8Array>>>();
    expectTypeOf(reconnect({ id: "world" })).toEqualTypeOf<ReadableStream<Connection<unknown, unknown>>>();
  });

  test("its options: connect's, plus retry, maxRetries, backoff and sync", () => {
    const options: ReconnectOptions = {
      port: 8000,
      retry: 1000,
      maxRetries: 5,
      backoff: { factor: 1.6, max: 120_000, jitter: 0.2 },
      sync: true,
      signal: new AbortController().signal,
    };
    expectTypeOf(options).toMatchTypeOf<ReconnectOptions>();
    // @ts-expect-error: backoff is an object
    reconnect({ id: "world", backoff: 2 });
    // @ts-expect-error: retry is a number of milliseconds
    reconnect({ id: "world", retry: "500" });
  });
});
