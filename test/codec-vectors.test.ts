/**
 * The codec against the byte-exact vectors of the node-ipc wire specification (section 11), through
 * the parser core and through the streams.
 */
import { describe, expect, test } from "vitest";
import {
  EventValidator,
  event,
  type FrameParserOptions,
  IpcError,
  JsonFrameDecoderStream,
  JsonFrameEncoder,
  JsonFrameEncoderStream,
  JsonFrameParser,
} from "../src/index.ts";
import { streamOf } from "./fixtures/bytes.ts";
import { GUARDED_LIMITS, GUARDED_VECTORS, RECEIVE_VECTORS, SEND_VECTORS, toHex } from "./vectors.ts";

/** What the parser core makes of some writes: the values, then the error and where it was thrown. */
function parseWrites(writes: readonly Uint8Array[], options: FrameParserOptions = {}) {
  const parser = new JsonFrameParser(options);
  const values: unknown[] = [];
  let push = 0;
  try {
    for (; push < writes.length; push++) parser.push(writes[push] as Uint8Array, (value) => values.push(value));
    parser.end();
    return { values, error: undefined, at: undefined };
  } catch (error) {
    return { values, error, at: push < writes.length ? push : "end" };
  }
}

/** Reads a stream to its end or error. */
async function drain<T>(readable: ReadableStream<T>): Promise<{ values: T[]; error: unknown }> {
  const values: T[] = [];
  const reader = readable.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { values, error: undefined };
      values.push(value);
    }
  } catch (error) {
    return { values, error };
  }
}

function codeOf(error: unknown): string | undefined {
  expect(error).toBeInstanceOf(IpcError);
  return (error as IpcError).code;
}

function validatorCode(validator: EventValidator, value: unknown): string | undefined {
  try {
    validator.validate(value);
    return undefined;
  } catch (error) {
    return codeOf(error);
  }
}

describe("send vectors (spec 11.1): JsonFrameEncoder().encode(event(type, data)) is node-ipc 14's bytes", () => {
  const encoder = new JsonFrameEncoder();
  for (const vector of SEND_VECTORS) {
    test(`${vector.id}: ${vector.call}`, () => {
      const [type, ...data] = vector.args;
      // `event(type)` and `event(type, undefined)` both stand for emit('hello') / emit('hello', undefined).
      const message = data.length === 0 ? event(type as string) : event(type as string, data[0]);
      expect(toHex(encoder.encode(message))).toBe(vector.hex14);
      expect(toHex(new TextEncoder().encode(encoder.encodeText(message)))).toBe(vector.hex14);
    });
  }

  test("event(type) with no data is the {} vector, as node-ipc's emit(type)", () => {
    const noData = SEND_VECTORS.find((vector) => vector.id === "no data arg");
    expect(toHex(encoder.encode(event("hello")))).toBe(noData?.hex14);
    expect(event("hello")).toEqual({ type: "hello", data: {} });
  });

  test("where node-ipc 9–12 rewrite data (null, '', NaN, _maxListeners) we follow 14", () => {
    const differing = SEND_VECTORS.filter((vector) => vector.hexLegacy !== vector.hex14).map((vector) => vector.id);
    expect(differing).toEqual(["null", "empty string", "NaN", "_maxListeners"]);
  });

  test("the calls node-ipc 14 guarded refuses are refused by EventValidator with the same code", () => {
    const validator = new EventValidator();
    for (const vector of SEND_VECTORS) {
      const [type, ...data] = vector.args;
      const code = validatorCode(validator, event(type as string, data[0]));
      expect({ id: vector.id, code }).toEqual({ id: vector.id, code: vector.guardedError });
    }
  });

  test("JsonFrameEncoderStream writes the same bytes, one frame per value", async () => {
    const messages = SEND_VECTORS.map((vector) => event(vector.args[0] as string, vector.args[1]));
    const { values, error } = await drain(streamOf(messages).pipeThrough(new JsonFrameEncoderStream()));
    expect(error).toBe(undefined);
    expect(values.map(toHex)).toEqual(SEND_VECTORS.map((vector) => vector.hex14));
  });
});

describe("receive vectors (spec 11.2), same write splits as the spec", () => {
  for (const vector of RECEIVE_VECTORS) {
    const options = vector.delimiter === undefined ? {} : { delimiter: vector.delimiter };

    test(`${vector.id} through JsonFrameParser (node-ipc 14: ${vector.nodeIpc14Outcome})`, () => {
      const { values, error, at } = parseWrites(vector.writes, options);
      expect(values).toEqual(vector.values);
      if (vector.error === undefined) {
        expect(error).toBe(undefined);
      } else {
        expect(codeOf(error)).toBe(vector.error.code);
        expect(at === "end" ? "end" : "push").toBe(vector.error.at);
      }
    });

    test(`${vector.id} through JsonFrameDecoderStream`, async () => {
      const { values, error } = await drain(streamOf(vector.writes).pipeThrough(new JsonFrameDecoderStream(options)));
      expect(values).toEqual(vector.values);
      if (vector.error === undefined) expect(error).toBe(undefined);
      else expect(codeOf(error)).toBe(vector.error.code);
    });

    test(`${vector.id}: values are what node-ipc 14 hands its handlers, EventValidator as guarded`, () => {
      const { values } = parseWrites(vector.writes, options);
      const validator = new EventValidator();
      const codes = values.map((value) => validatorCode(validator, value)).filter((code) => code !== undefined);
      expect(codes).toEqual(vector.validatorError === undefined ? [] : [vector.validatorError]);
      if (vector.validatorError === undefined) {
        // Where node-ipc 14 delivers, we deliver the same {type, data}; where it crashes, we do not.
        expect(values.map((value) => [(value as { type: unknown }).type, (value as { data: unknown }).data])).toEqual(
          vector.id === "D20" ? [] : vector.nodeIpc14,
        );
      }
    });
  }

  test("D20: node-ipc replaces invalid UTF-8 with U+FFFD; we reject it with an excerpt", () => {
    const { error } = parseWrites(RECEIVE_VECTORS.find((vector) => vector.id === "D20")?.writes ?? []);
    expect(codeOf(error)).toBe("ERR_IPC_INVALID_UTF8");
    expect((error as IpcError).excerpt).toBe('{"type":"a","data":"\uFFFD\uFFFD"}');
  });

  test("every vector also decodes when delivered one byte at a time", () => {
    for (const vector of RECEIVE_VECTORS) {
      const bytes = vector.writes.flatMap((write) => [...write]).map((byte) => Uint8Array.of(byte));
      const options = vector.delimiter === undefined ? {} : { delimiter: vector.delimiter };
      const { values, error } = parseWrites(bytes, options);
      expect({ id: vector.id, values }).toEqual({ id: vector.id, values: vector.values });
      expect(error === undefined ? undefined : codeOf(error)).toBe(vector.error?.code);
    }
  });
});

describe(`guarded vectors (spec 11.2) with maxFrameSize ${GUARDED_LIMITS.maxFrameSize}, maxTypeLength ${GUARDED_LIMITS.maxTypeLength}`, () => {
  for (const vector of GUARDED_VECTORS) {
    test(vector.id, async () => {
      const { values, error, at } = parseWrites(vector.writes, { maxFrameSize: GUARDED_LIMITS.maxFrameSize });
      const validator = new EventValidator({ maxTypeLength: GUARDED_LIMITS.maxTypeLength, ...vector.validator });
      const { result } = vector;
      if (result === "delivered") {
        expect(error).toBe(undefined);
        expect(values.length).toBe(1);
        expect(validator.validate(values[0])).toBe(values[0]);
      } else if (result.by === "parser") {
        expect(values).toEqual([]);
        expect(codeOf(error)).toBe(result.code);
        expect(at).toBe(result.push);
        expect((error as IpcError).limit).toBe(GUARDED_LIMITS.maxFrameSize);
        const streamed = await drain(
          streamOf(vector.writes).pipeThrough(
            new JsonFrameDecoderStream({ maxFrameSize: GUARDED_LIMITS.maxFrameSize }),
          ),
        );
        expect(codeOf(streamed.error)).toBe(result.code);
      } else {
        expect(error).toBe(undefined);
        expect(values.length).toBe(1);
        expect(validatorCode(validator, values[0])).toBe(result.code);
      }
    });
  }
});
