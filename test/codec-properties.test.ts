/**
 * Property tests of the codec: whatever the values, delimiters and chunking, what is encoded
 * decodes to the same thing, through the parser cores and through the streams.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  FrameDecoderStream,
  FrameEncoder,
  FrameParser,
  JsonFrameDecoderStream,
  JsonFrameEncoder,
  JsonFrameParser,
} from "../src/index.ts";
import { concat, streamOf } from "./fixtures/bytes.ts";

const RUNS = { numRuns: 60 };

/** "\f" (node-ipc), "\n" (lines), "\r\n" (multi-character), "§" (2 bytes), "🔚" (4 bytes). */
const DELIMITERS = ["\f", "\n", "\r\n", "\u00a7", "\u{1F51A}"] as const;

/** Cuts bytes into chunks whose sizes cycle through `sizes`. */
function rechunk(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] as number;
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return chunks;
}

/** Chunk sizes: all 1-byte chunks, or a random cycle of small and large sizes. */
const chunkSizes = fc.oneof(
  fc.constant([1]),
  fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
  fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 }),
);

/** JSON values with any code points in strings (control characters, U+2028, NUL, astral, lone surrogates). */
const jsonValues = fc.array(fc.jsonValue({ maxDepth: 3, stringUnit: "binary" }), { maxLength: 12 });

async function readAll<T>(readable: ReadableStream<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of readable as unknown as AsyncIterable<T>) values.push(value);
  return values;
}

function parseAll(chunks: readonly Uint8Array[], delimiter: string): unknown[] {
  const parser = new JsonFrameParser({ delimiter, maxFrameSize: Number.POSITIVE_INFINITY });
  const values: unknown[] = [];
  for (const chunk of chunks) parser.push(chunk, (value) => values.push(value));
  parser.end();
  expect(parser.bufferedBytes).toBe(0);
  return values;
}

describe("JSON frames round-trip whatever the chunking", () => {
  for (const delimiter of DELIMITERS) {
    const name = JSON.stringify(delimiter);

    test(`delimiter ${name}: parser core`, () => {
      const encoder = new JsonFrameEncoder({ delimiter, maxFrameSize: Number.POSITIVE_INFINITY });
      fc.assert(
        fc.property(jsonValues, chunkSizes, (values, sizes) => {
          // A non-ASCII delimiter can occur inside a string: the encoder must refuse those values.
          const sendable = values.filter((value) => {
            if (!JSON.stringify(value).includes(delimiter)) return true;
            expect(() => encoder.encode(value)).toThrow("contains the delimiter");
            return false;
          });
          const bytes = concat(sendable.map((value) => encoder.encode(value)));
          const expected = sendable.map((value) => JSON.parse(JSON.stringify(value)));
          expect(parseAll(rechunk(bytes, sizes), delimiter)).toEqual(expected);
        }),
        RUNS,
      );
    });

    test(`delimiter ${name}: JsonFrameEncoderStream → JsonFrameDecoderStream`, async () => {
      await fc.assert(
        fc.asyncProperty(jsonValues, chunkSizes, async (values, sizes) => {
          const sendable = values.filter((value) => !JSON.stringify(value).includes(delimiter));
          const encoder = new JsonFrameEncoder({ delimiter });
          const bytes = concat(sendable.map((value) => encoder.encode(value)));
          const decoded = await readAll(
            streamOf(rechunk(bytes, sizes)).pipeThrough(new JsonFrameDecoderStream({ delimiter })),
          );
          expect(decoded).toEqual(sendable.map((value) => JSON.parse(JSON.stringify(value))));
        }),
        { numRuns: 25 },
      );
    });
  }

  test("the caller may overwrite its chunk after push: unfinished frames are copied", () => {
    fc.assert(
      fc.property(jsonValues, fc.integer({ min: 1, max: 50 }), (values, size) => {
        const bytes = concat(values.map((value) => new JsonFrameEncoder().encode(value)));
        const parser = new JsonFrameParser();
        const scratch = new Uint8Array(size);
        const decoded: unknown[] = [];
        for (let at = 0; at < bytes.length; at += size) {
          const piece = bytes.subarray(at, at + size);
          scratch.set(piece);
          parser.push(scratch.subarray(0, piece.length), (value) => decoded.push(value));
          scratch.fill(0x7b); // "{": garbage if the parser kept a view
        }
        parser.end();
        expect(decoded).toEqual(values.map((value) => JSON.parse(JSON.stringify(value))));
      }),
      RUNS,
    );
  });

  test("frames that span chunks decode intact whatever their size, small after large and back", () => {
    // The parser reuses its buffer for the frame that spans chunks unless it grew past 64 KiB:
    // every size around that line, in chunkings that split every frame, must come back whole.
    const sizes = [10, 300, 64 * 1024 - 3, 64 * 1024 + 5, 12, 200 * 1024, 7, 40_000, 3];
    const values = sizes.map((size, index) => `${index}:${"x".repeat(size)}`);
    const bytes = concat(values.map((value) => new JsonFrameEncoder({ maxFrameSize: Infinity }).encode(value)));
    for (const size of [5, 997, 16 * 1024, 70_001]) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.slice(at, at + size));
      expect(parseAll(chunks, "\f")).toEqual(values);
    }
  });
});

describe("arbitrary bytes", () => {
  const noFormFeed = (bytes: Uint8Array) => bytes.map((byte) => (byte === 0x0c ? 0x20 : byte));
  const jsonBytes = fc
    .jsonValue({ maxDepth: 2, stringUnit: "binary" })
    .map((value) => new JsonFrameEncoder().encode(value).subarray(0, -1));
  /** Frames: valid JSON, random bytes (mostly invalid UTF-8), or valid JSON with one random byte put in. */
  const frame = fc.oneof(
    jsonBytes,
    fc.uint8Array({ maxLength: 12 }).map(noFormFeed),
    fc.tuple(jsonBytes, fc.nat(), fc.integer({ min: 0x80, max: 0xff })).map(([bytes, at, byte]) => {
      const out = Array.from(bytes);
      out.splice(at % (out.length + 1), 0, byte);
      return Uint8Array.from(out);
    }),
  );

  /** The reference: frame by frame, strict UTF-8 then JSON.parse, stopping at the first failure. */
  function reference(frames: readonly Uint8Array[]): { values: unknown[]; code: string | undefined } {
    const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const values: unknown[] = [];
    for (const bytes of frames) {
      let text: string;
      try {
        text = strict.decode(bytes);
      } catch {
        return { values, code: "ERR_IPC_INVALID_UTF8" };
      }
      try {
        values.push(JSON.parse(text));
      } catch {
        return { values, code: "ERR_IPC_INVALID_JSON" };
      }
    }
    return { values, code: undefined };
  }

  test("JsonFrameParser agrees with a frame-by-frame strict reference, in any chunking", () => {
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 10 }), chunkSizes, (frames, sizes) => {
        const bytes = concat(frames.flatMap((bytes) => [bytes, Uint8Array.of(0x0c)]));
        const parser = new JsonFrameParser();
        const values: unknown[] = [];
        let code: string | undefined;
        try {
          for (const chunk of rechunk(bytes, sizes)) parser.push(chunk, (value) => values.push(value));
          parser.end();
        } catch (error) {
          code = (error as { code?: string }).code;
        }
        expect({ values, code }).toEqual(reference(frames));
      }),
      { numRuns: 150 },
    );
  });
});

describe("byte frames round-trip whatever the chunking", () => {
  for (const delimiter of DELIMITERS) {
    const name = JSON.stringify(delimiter);
    const delimiterBytes = new TextEncoder().encode(delimiter);
    /** Frames the FrameEncoder accepts: they must not contain (or end into) the delimiter. */
    const frames = fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 });

    test(`delimiter ${name}: FrameParser and FrameDecoderStream`, async () => {
      const encoder = new FrameEncoder({ delimiter });
      await fc.assert(
        fc.asyncProperty(frames, chunkSizes, async (candidates, sizes) => {
          const accepted: Uint8Array[] = [];
          const encoded: Uint8Array[] = [];
          for (const frame of candidates) {
            const joined = concat([frame, delimiterBytes]);
            const splitsEarly = indexOf(joined, delimiterBytes) !== frame.length;
            if (splitsEarly) {
              expect(() => encoder.encode(frame)).toThrow("contains the delimiter");
              continue;
            }
            accepted.push(frame);
            encoded.push(encoder.encode(frame));
          }
          const chunks = rechunk(concat(encoded), sizes);
          const parser = new FrameParser({ delimiter });
          const parsed: Uint8Array[] = [];
          // Frames may be views into the chunk: copy them before the next push.
          for (const chunk of chunks) parser.push(chunk, (frame) => parsed.push(frame.slice()));
          parser.end();
          expect(parsed.map((frame) => [...frame])).toEqual(accepted.map((frame) => [...frame]));
          const streamed = await readAll(streamOf(chunks).pipeThrough(new FrameDecoderStream({ delimiter })));
          expect(streamed.map((frame) => [...frame])).toEqual(accepted.map((frame) => [...frame]));
        }),
        { numRuns: 40 },
      );
    });
  }

  test("FrameEncoder refuses a frame containing the delimiter, or ending in a prefix that completes it early", () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    expect(() => new FrameEncoder().encode(bytes("a\fb"))).toThrow("contains the delimiter");
    expect(() => new FrameEncoder({ delimiter: "\r\n" }).encode(bytes("a\r\nb"))).toThrow("contains the delimiter");
    // "x" + "a" + "aa" would be read back as "x", then a stray "a".
    expect(() => new FrameEncoder({ delimiter: "aa" }).encode(bytes("xa"))).toThrow("contains the delimiter");
    expect(() => new JsonFrameEncoder({ delimiter: '"}' }).encode({ a: "x" })).toThrow("contains the delimiter");
    expect(() => new JsonFrameEncoder({ delimiter: "}}" }).encode({ a: {} })).toThrow("contains the delimiter");
    expect(() => new JsonFrameEncoder({ delimiter: "\u00a7" }).encode("\u00a7")).toThrow("contains the delimiter");
    // A "\r" at the end of a frame is harmless with "\n" (it is not a delimiter prefix).
    expect([...new FrameEncoder({ delimiter: "\n" }).encode(bytes("a\r"))]).toEqual([0x61, 0x0d, 0x0a]);
  });
});

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe("text edge cases", () => {
  const samples = ["\u00e9", "\u20ac", "\u{1F600}", "\u2028\u2029", "\f", "\u0000", "a\fb\nc\r\n", "\ud800", "\ufeff"];

  test("2/3/4-byte UTF-8 characters split at every offset decode intact", () => {
    for (const sample of samples) {
      for (const delimiter of DELIMITERS) {
        const bytes = new JsonFrameEncoder({ delimiter }).encode({ type: "t", data: `x${sample}y${sample}` });
        for (let cut = 0; cut <= bytes.length; cut++) {
          for (let cut2 = cut; cut2 <= bytes.length; cut2 += 3) {
            const chunks = [bytes.subarray(0, cut), bytes.subarray(cut, cut2), bytes.subarray(cut2)];
            expect(parseAll(chunks, delimiter)).toEqual([{ type: "t", data: `x${sample}y${sample}` }]);
          }
        }
      }
    }
  });

  test('"\\f", U+2028 and NUL inside strings are escaped or raw exactly as node-ipc, and never split a frame', () => {
    const bytes = new JsonFrameEncoder().encode({ type: "t", data: "a\fb\u2028c\u0000d" });
    expect(new TextDecoder().decode(bytes)).toBe('{"type":"t","data":"a\\fb\u2028c\\u0000d"}\f');
    expect(bytes.indexOf(0x0c)).toBe(bytes.length - 1);
    expect(parseAll([bytes], "\f")).toEqual([{ type: "t", data: "a\fb\u2028c\u0000d" }]);
  });

  test("a BOM is kept as a character, not stripped at frame starts (and is not JSON whitespace)", () => {
    const bytes = new TextEncoder().encode('"\ufeff"\f\ufeff1\f');
    const parser = new JsonFrameParser();
    const values: unknown[] = [];
    expect(() => parser.push(bytes, (value) => values.push(value))).toThrow(
      expect.objectContaining({ code: "ERR_IPC_INVALID_JSON" }),
    );
    expect(values).toEqual(["\ufeff"]);
  });
});
