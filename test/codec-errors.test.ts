/**
 * The codec's limits and errors: every code produced by a real bad input, with what the user needs
 * to act on it (message, limit, excerpt), and the bound on buffered memory.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  EventValidator,
  FrameDecoderStream,
  FrameEncoder,
  FrameEncoderStream,
  FrameParser,
  IpcError,
  type IpcErrorCode,
  JsonFrameDecoderStream,
  JsonFrameEncoder,
  JsonFrameEncoderStream,
  JsonFrameParser,
} from "../src/index.ts";

const DELIMITERS = ["\f", "\n", "\r\n", "\u00a7", "\u{1F51A}"] as const;
const utf8 = (text: string) => new TextEncoder().encode(text);

/** Runs `action` and returns the IpcError it throws. */
function caught(action: () => unknown): IpcError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(IpcError);
    return error as IpcError;
  }
  throw new Error("expected an IpcError, nothing was thrown");
}

async function streamError<I, O>(chunks: readonly I[], transform: TransformStream<I, O>): Promise<IpcError> {
  let next = 0;
  const source = new ReadableStream<I>({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(chunks[next++] as I);
      else controller.close();
    },
  });
  const reader = source.pipeThrough(transform).getReader();
  try {
    for (;;) if ((await reader.read()).done) break;
  } catch (error) {
    expect(error).toBeInstanceOf(IpcError);
    return error as IpcError;
  }
  throw new Error("expected the stream to error");
}

function push(parser: JsonFrameParser | FrameParser, text: string): unknown[] {
  const out: unknown[] = [];
  parser.push(utf8(text), (value: unknown) => out.push(value));
  return out;
}

describe("maxFrameSize", () => {
  for (const delimiter of DELIMITERS) {
    const name = JSON.stringify(delimiter);
    const delimiterLength = utf8(delimiter).length;

    test(`delimiter ${name}: a frame of exactly the limit passes, limit + 1 is rejected, in any chunking`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 50 }), (limit, size) => {
          for (const extra of [0, 1]) {
            const frame = utf8("x".repeat(limit + extra) + delimiter);
            const parser = new FrameParser({ delimiter, maxFrameSize: limit });
            const frames: number[] = [];
            const run = () => {
              for (let at = 0; at < frame.length; at += size) {
                parser.push(frame.subarray(at, at + size), (f) => frames.push(f.length));
              }
            };
            if (extra === 0) {
              run();
              expect(frames).toEqual([limit]);
            } else {
              const error = caught(run);
              expect(error.code).toBe("ERR_IPC_FRAME_TOO_LARGE");
              expect(error.limit).toBe(limit);
              expect(frames).toEqual([]);
            }
          }
        }),
        { numRuns: 40 },
      );
    });

    test(`delimiter ${name}: an oversized frame is rejected before its delimiter arrives, buffering at most limit + delimiter length`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 200 }),
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 30 }),
          (limit, garbage) => {
            // Bytes that cannot contain the delimiter's first byte: the frame never ends.
            const first = utf8(delimiter)[0] as number;
            const chunks = garbage.map((chunk) => chunk.map((byte) => (byte === first ? 0x78 : byte)));
            const parser = new JsonFrameParser({ delimiter, maxFrameSize: limit });
            let fed = 0;
            let offered = 0;
            try {
              for (const chunk of chunks) {
                offered = fed + chunk.length;
                parser.push(chunk, () => expect.unreachable());
                fed = offered;
                expect(parser.bufferedBytes).toBe(fed);
                expect(parser.bufferedBytes).toBeLessThanOrEqual(limit + delimiterLength - 1);
              }
            } catch (error) {
              expect((error as IpcError).code).toBe("ERR_IPC_FRAME_TOO_LARGE");
              // Rejected only once certain: even if the bytes ended with most of a delimiter.
              expect(offered - (delimiterLength - 1)).toBeGreaterThan(limit);
              expect(parser.bufferedBytes).toBeLessThanOrEqual(limit + delimiterLength);
              return;
            }
            expect(fed).toBeLessThanOrEqual(limit + delimiterLength - 1);
          },
        ),
        { numRuns: 40 },
      );
    });
  }

  test("frames are measured in UTF-8 bytes, without the delimiter; JSON runs are checked frame by frame", () => {
    // 100 × "é" is 200 bytes: fits a 200-byte limit as a raw frame, not with JSON quotes around it.
    expect(push(new FrameParser({ maxFrameSize: 200 }), `${"é".repeat(100)}\f`)).toHaveLength(1);
    const values: unknown[] = [];
    const parser = new JsonFrameParser({ maxFrameSize: 200 });
    const error = caught(() => parser.push(utf8(`1\f2\f"${"é".repeat(100)}"\f3\f`), (v) => values.push(v)));
    expect(values).toEqual([1, 2]);
    expect(error.code).toBe("ERR_IPC_FRAME_TOO_LARGE");
    expect(error.message).toBe("frame of 202 bytes exceeds maxFrameSize (200 bytes)");
    // Many small frames in one chunk are fine even when the chunk is far above the limit.
    const many = `${'{"type":"a","data":1}\f'.repeat(1000)}`;
    expect(push(new JsonFrameParser({ maxFrameSize: 21 }), many)).toHaveLength(1000);
  });

  test("Infinity lifts the bound", () => {
    const parser = new JsonFrameParser({ maxFrameSize: Number.POSITIVE_INFINITY });
    expect(push(parser, `"${"x".repeat(3_000_000)}"\f`)).toEqual(["x".repeat(3_000_000)]);
  });

  test("the default bound is 1 MiB, as node-ipc 14 guarded", () => {
    const at = `"${"x".repeat(1024 * 1024 - 2)}"\f`;
    expect(push(new JsonFrameParser(), at)).toHaveLength(1);
    expect(caught(() => push(new JsonFrameParser(), `"${"x".repeat(1024 * 1024 - 1)}"\f`)).limit).toBe(1024 * 1024);
  });

  test("encoders refuse oversized frames too, counting UTF-8 bytes", () => {
    const json = new JsonFrameEncoder({ maxFrameSize: 10 });
    expect(json.encode("é".repeat(4))).toHaveLength(11); // "éééé" with quotes: 10 bytes, + \f
    const error = caught(() => json.encode("é".repeat(5)));
    expect(error.code).toBe("ERR_IPC_FRAME_TOO_LARGE");
    expect(error.limit).toBe(10);
    expect(error.message).toBe("frame of 12 bytes exceeds maxFrameSize (10 bytes)");
    expect(caught(() => new FrameEncoder({ maxFrameSize: 3 }).encode(utf8("abcd"))).code).toBe(
      "ERR_IPC_FRAME_TOO_LARGE",
    );
    expect(new FrameEncoder({ maxFrameSize: 3 }).encode(utf8("abc"))).toHaveLength(4);
  });
});

describe("every error code from real bad input", () => {
  test("ERR_IPC_FRAME_TOO_LARGE names the limit and shows the frame's start", () => {
    const error = caught(() =>
      push(new JsonFrameParser({ maxFrameSize: 100 }), `{"type":"big","data":"${"y".repeat(200)}`),
    );
    expect(error.code).toBe("ERR_IPC_FRAME_TOO_LARGE");
    expect(error.limit).toBe(100);
    expect(error.message).toBe(
      "frame of at least 222 bytes exceeds maxFrameSize (100 bytes) before its delimiter arrived",
    );
    expect(error.excerpt).toBe(`{"type":"big","data":"${"y".repeat(42)}…`);
  });

  test("ERR_IPC_INVALID_JSON shows the bad frame, keeps the SyntaxError as cause", () => {
    const parser = new JsonFrameParser();
    const values: unknown[] = [];
    const error = caught(() =>
      parser.push(utf8('{"type":"ok","data":1}\f{"type":"a",data:1}\f'), (v) => values.push(v)),
    );
    expect(values).toEqual([{ type: "ok", data: 1 }]);
    expect(error.code).toBe("ERR_IPC_INVALID_JSON");
    expect(error.excerpt).toBe('{"type":"a",data:1}');
    expect(error.message).toBe('frame is not valid JSON: {"type":"a",data:1}');
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(caught(() => push(new JsonFrameParser(), "\f")).message).toBe("empty frame: ");
    expect(caught(() => push(new JsonFrameParser(), "a\fb\f")).excerpt).toBe("a");
  });

  test("ERR_IPC_INVALID_UTF8: frames before the bad one are delivered, the excerpt shows U+FFFD", () => {
    const bytes = new Uint8Array([...utf8('1\f2\f"ok\xff'), 0xc3, 0x28, ...utf8('"\f3\f')]);
    for (const parser of [new JsonFrameParser(), new JsonFrameParser({ maxFrameSize: 3 })]) {
      const values: unknown[] = [];
      const error = caught(() => parser.push(bytes, (v) => values.push(v)));
      // maxFrameSize 3 makes the third frame too large, which is found first.
      if (error.code === "ERR_IPC_FRAME_TOO_LARGE") continue;
      expect(values).toEqual([1, 2]);
      expect(error.code).toBe("ERR_IPC_INVALID_UTF8");
      expect(error.excerpt).toBe('"ok\u00ff\uFFFD("');
    }
    // A real U+FFFD in the input is valid UTF-8 and decodes as itself.
    expect(push(new JsonFrameParser(), '"\uFFFD"\f["\uFFFD"]\f')).toEqual(["\uFFFD", ["\uFFFD"]]);
    // Truncated sequence at a frame's end, split across pushes.
    const parser = new JsonFrameParser();
    parser.push(new Uint8Array([0x22, 0xf0, 0x9f]), () => expect.unreachable());
    expect(caught(() => parser.push(new Uint8Array([0x22, 0x0c]), () => expect.unreachable())).code).toBe(
      "ERR_IPC_INVALID_UTF8",
    );
  });

  test("ERR_IPC_TRUNCATED_FRAME at the end of input, with the unfinished bytes", () => {
    const parser = new JsonFrameParser();
    expect(push(parser, '{"type":"a","data":1}\f{"type":"b"')).toEqual([{ type: "a", data: 1 }]);
    const error = caught(() => parser.end());
    expect(error.code).toBe("ERR_IPC_TRUNCATED_FRAME");
    expect(error.message).toBe("input ended inside a frame: 11 bytes after the last delimiter");
    expect(error.excerpt).toBe('{"type":"b"');
    // A multi-byte delimiter cut in half is also a truncated frame.
    const lines = new FrameParser({ delimiter: "\r\n" });
    push(lines, "a\r");
    expect(caught(() => lines.end()).code).toBe("ERR_IPC_TRUNCATED_FRAME");
    // Nothing pending: a clean end.
    const clean = new FrameParser();
    push(clean, "a\f");
    clean.end();
  });

  test("ERR_IPC_INVALID_PAYLOAD for values JSON cannot carry and frames containing the delimiter", () => {
    const encoder = new JsonFrameEncoder();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const value of [10n, cycle, undefined, () => 1, Symbol("s"), { toJSON: () => undefined }]) {
      const error = caught(() => encoder.encode(value));
      expect(error.code).toBe("ERR_IPC_INVALID_PAYLOAD");
      expect(error.message).toMatch(/^value cannot be encoded as JSON: /);
    }
    expect(caught(() => encoder.encode(10n)).cause).toBeInstanceOf(TypeError);
    const framed = caught(() => new FrameEncoder().encode(utf8("one\ftwo")));
    expect(framed.code).toBe("ERR_IPC_INVALID_PAYLOAD");
    expect(framed.excerpt).toBe("one\\ftwo");
  });

  test("EventValidator codes, in node-ipc 14's order of checks", () => {
    const cases: [unknown, IpcErrorCode, string][] = [
      [[1], "ERR_IPC_INVALID_MESSAGE", "message is not a JSON object: [1]"],
      [null, "ERR_IPC_INVALID_MESSAGE", "message is not a JSON object: null"],
      [{ data: 1 }, "ERR_IPC_INVALID_EVENT", "event type must be a non-empty string, got undefined"],
      [{ type: 5 }, "ERR_IPC_INVALID_EVENT", "event type must be a non-empty string, got 5"],
      [{ type: "" }, "ERR_IPC_INVALID_EVENT", 'event type must be a non-empty string, got ""'],
      [{ type: "toString" }, "ERR_IPC_INVALID_EVENT", 'event type "toString" is an Object.prototype member name'],
      [{ type: "x".repeat(9) }, "ERR_IPC_EVENT_TOO_LARGE", "event type of 9 characters exceeds maxTypeLength (8)"],
      // Length is checked before the prototype names, as node-ipc 14 does.
      [{ type: "constructor" }, "ERR_IPC_EVENT_TOO_LARGE", "event type of 11 characters exceeds maxTypeLength (8)"],
      [{ type: "error" }, "ERR_IPC_RESERVED_EVENT", 'event type "error" is a reserved node-ipc lifecycle name'],
      [{ type: "b" }, "ERR_IPC_EVENT_NOT_ALLOWED", 'event type "b" is not in allowedTypes'],
    ];
    const validator = new EventValidator({ maxTypeLength: 8, allowedTypes: ["a", "error", "toString"] });
    for (const [value, code, message] of cases) {
      const error = caught(() => validator.validate(value));
      expect({ code: error.code, message: error.message }).toEqual({ code, message });
    }
    expect(caught(() => validator.validate({ type: "x".repeat(9) })).limit).toBe(8);
    const event = { type: "a", data: 1 };
    expect(validator.validate(event)).toBe(event);
  });

  test("the streams error with the same codes", async () => {
    expect((await streamError([utf8("{oops}\f")], new JsonFrameDecoderStream())).code).toBe("ERR_IPC_INVALID_JSON");
    expect((await streamError([utf8('"a')], new JsonFrameDecoderStream())).code).toBe("ERR_IPC_TRUNCATED_FRAME");
    expect((await streamError([utf8("abc")], new FrameDecoderStream({ maxFrameSize: 2 }))).code).toBe(
      "ERR_IPC_FRAME_TOO_LARGE",
    );
    expect((await streamError([utf8("abc")], new FrameDecoderStream())).code).toBe("ERR_IPC_TRUNCATED_FRAME");
    expect((await streamError([1, 2n], new JsonFrameEncoderStream())).code).toBe("ERR_IPC_INVALID_PAYLOAD");
    expect((await streamError([utf8("a\fb")], new FrameEncoderStream())).code).toBe("ERR_IPC_INVALID_PAYLOAD");
  });
});

describe("options validation (ERR_IPC_INVALID_OPTION)", () => {
  const constructors = [
    FrameParser,
    JsonFrameParser,
    FrameEncoder,
    JsonFrameEncoder,
    FrameDecoderStream,
    JsonFrameDecoderStream,
    FrameEncoderStream,
    JsonFrameEncoderStream,
  ];

  for (const Codec of constructors) {
    test(Codec.name, () => {
      const bad: [Record<string, unknown>, string][] = [
        [{ delimiter: "" }, "delimiter must be a non-empty string"],
        [{ delimiter: 12 }, "delimiter must be a non-empty string"],
        [{ delimiter: "\ud800" }, "delimiter must be valid Unicode text (no lone surrogates)"],
        [{ maxFrameSize: 0 }, "maxFrameSize must be a positive integer or Infinity"],
        [{ maxFrameSize: -1 }, "maxFrameSize must be a positive integer or Infinity"],
        [{ maxFrameSize: 1.5 }, "maxFrameSize must be a positive integer or Infinity"],
        [{ maxFrameSize: Number.NaN }, "maxFrameSize must be a positive integer or Infinity"],
        [{ maxFrameSize: "10" }, "maxFrameSize must be a positive integer or Infinity"],
      ];
      for (const [options, message] of bad) {
        const error = caught(() => new Codec(options as never));
        expect({ code: error.code, message: error.message }).toEqual({ code: "ERR_IPC_INVALID_OPTION", message });
      }
      // The defaults and explicit undefined are fine.
      new Codec();
      new Codec({ delimiter: undefined, maxFrameSize: undefined } as never);
    });
  }

  test("EventValidator", () => {
    for (const options of [{ maxTypeLength: 0 }, { maxTypeLength: 2.5 }, { allowedTypes: [] }]) {
      expect(caught(() => new EventValidator(options)).code).toBe("ERR_IPC_INVALID_OPTION");
    }
    new EventValidator({ maxTypeLength: Number.POSITIVE_INFINITY, allowedTypes: new Set(["a"]) });
  });
});
