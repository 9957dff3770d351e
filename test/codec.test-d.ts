/** Type tests of the codec's public types: run with `vitest run --typecheck`. */
import { describe, expectTypeOf, test } from "vitest";
import {
  type Connection,
  type EmitData,
  type EmitType,
  type EventOf,
  event,
  type IpcEvent,
  JsonFrameDecoderStream,
  JsonFrameEncoderStream,
  JsonFrameParser,
} from "../src/index.ts";

interface ClientEvents {
  hello: { name: string };
  bye: null;
  count: number;
}
type ClientMessage = EventOf<ClientEvents>;

describe("EventOf", () => {
  test("maps an event map to the union of its envelopes", () => {
    expectTypeOf<ClientMessage>().toEqualTypeOf<
      IpcEvent<"hello", { name: string }> | IpcEvent<"bye", null> | IpcEvent<"count", number>
    >();
    expectTypeOf<EventOf<{ only: string[] }>>().toEqualTypeOf<IpcEvent<"only", string[]>>();
  });

  test("narrows data by type", () => {
    const handle = (message: ClientMessage) => {
      if (message.type === "hello") expectTypeOf(message.data).toEqualTypeOf<{ name: string }>();
      else if (message.type === "count") expectTypeOf(message.data).toEqualTypeOf<number>();
      else expectTypeOf(message.data).toEqualTypeOf<null>();
    };
    expectTypeOf(handle).parameter(0).toEqualTypeOf<ClientMessage>();
  });
});

describe("event()", () => {
  test("infers the literal type and the data", () => {
    expectTypeOf(event("hello", { a: 1 })).toEqualTypeOf<IpcEvent<"hello", { a: number }>>();
    expectTypeOf(event("n", 5)).toEqualTypeOf<IpcEvent<"n", number>>();
    expectTypeOf(event("ping")).toEqualTypeOf<IpcEvent<"ping", Record<string, never>>>();
  });

  test("an event built by event() is assignable to the union of a map", () => {
    expectTypeOf(event("hello", { name: "x" })).toMatchTypeOf<ClientMessage>();
    expectTypeOf(event("hello", { name: 1 })).not.toMatchTypeOf<ClientMessage>();
  });
});

describe("streams and parsers", () => {
  test("JsonFrameDecoderStream<T> yields T (unknown by default)", () => {
    expectTypeOf(new JsonFrameDecoderStream().readable).toEqualTypeOf<ReadableStream<unknown>>();
    expectTypeOf(new JsonFrameDecoderStream<ClientMessage>().readable).toEqualTypeOf<ReadableStream<ClientMessage>>();
    expectTypeOf(new JsonFrameDecoderStream().writable).toEqualTypeOf<WritableStream<Uint8Array>>();
    const bytes = new ReadableStream<Uint8Array<ArrayBuffer>>();
    expectTypeOf(bytes.pipeThrough(new JsonFrameDecoderStream<ClientMessage>())).toEqualTypeOf<
      ReadableStream<ClientMessage>
    >();
  });

  test("JsonFrameEncoderStream<T> takes T and yields bytes", () => {
    expectTypeOf(new JsonFrameEncoderStream<ClientMessage>().writable).toEqualTypeOf<WritableStream<ClientMessage>>();
    expectTypeOf(new JsonFrameEncoderStream().readable).toEqualTypeOf<ReadableStream<Uint8Array<ArrayBuffer>>>();
  });

  test("JsonFrameParser<T> hands T to the callback", () => {
    const parser = new JsonFrameParser<ClientMessage>();
    parser.push(new Uint8Array(0), (value) => expectTypeOf(value).toEqualTypeOf<ClientMessage>());
  });
});

describe("Connection<In, Out>.emit", () => {
  test("EmitType and EmitData read the Out union", () => {
    expectTypeOf<EmitType<ClientMessage>>().toEqualTypeOf<"hello" | "bye" | "count">();
    expectTypeOf<EmitData<ClientMessage, "hello">>().toEqualTypeOf<{ name: string }>();
    expectTypeOf<EmitData<ClientMessage, "bye">>().toEqualTypeOf<null>();
    // Untyped connections take any type and any data.
    expectTypeOf<EmitType<unknown>>().toEqualTypeOf<string>();
    expectTypeOf<EmitData<unknown, "x">>().toEqualTypeOf<unknown>();
  });

  test("emit checks the type name and its data", () => {
    const typed = {} as Connection<unknown, ClientMessage>;
    expectTypeOf(typed.emit("hello", { name: "x" })).toEqualTypeOf<Promise<void>>();
    typed.emit("count", 3);
    typed.emit("bye");
    // @ts-expect-error: not an event of the map
    typed.emit("nope", {});
    // @ts-expect-error: wrong data for "hello"
    typed.emit("hello", { name: 1 });
    // @ts-expect-error: wrong data for "count"
    typed.emit("count", "3");

    const untyped = {} as Connection;
    untyped.emit("anything", { at: "all" });
    expectTypeOf(untyped.readable).toEqualTypeOf<ReadableStream<unknown>>();
  });

  test("readable and writable carry In and Out", () => {
    const connection = {} as Connection<EventOf<{ reply: string }>, ClientMessage>;
    expectTypeOf(connection.readable).toEqualTypeOf<ReadableStream<IpcEvent<"reply", string>>>();
    expectTypeOf(connection.writable).toEqualTypeOf<WritableStream<ClientMessage>>();
  });
});
