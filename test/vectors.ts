/**
 * Byte-exact test vectors from the node-ipc wire specification (NODE-IPC-PROTOCOL.md section 11),
 * captured from real node-ipc 9.2.1, 10.1.11, 12.0.0 and 14.0.0 peers.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { untag } from "./peers/tagged.mjs";

/** One emit call and the exact frame each node-ipc generation writes for it (section 11.1). */
export interface SendVector {
  readonly id: string;
  /** The node-ipc call, as written in the spec. */
  readonly call: string;
  /** The arguments of that call: `[type]` or `[type, data]`. */
  readonly args: readonly [unknown] | readonly [unknown, unknown];
  /** The same arguments in the tagged JSON form (test/peers/tagged.ts), to hand to a peer process. */
  readonly taggedArgs: readonly unknown[];
  /** Hex of the frame written by node-ipc 9.2.1, 10.1.11 and 12.0.0. */
  readonly hexLegacy: string;
  /** Hex of the frame written by node-ipc 14.0.0 (fast profile); what ipc-streams writes. */
  readonly hex14: string;
  /** The code node-ipc 14 guarded/assured throws from emit, when it refuses the call. */
  readonly guardedError?: string;
}

/** One record of test/peers/send-vectors.json. */
interface SendVectorRecord {
  id: string;
  call: string;
  args: unknown[];
  hex_9_10_12: string;
  hex_14: string;
  guarded?: string;
}

/**
 * The send vectors of section 11.1, read from test/peers/send-vectors.json: one copy of the spec's
 * table, shared with the interop suite, which hands the tagged arguments to real node-ipc peers.
 */
export const SEND_VECTORS: readonly SendVector[] = (
  JSON.parse(
    readFileSync(fileURLToPath(new URL("./peers/send-vectors.json", import.meta.url)), "utf8"),
  ) as SendVectorRecord[]
).map((record) => ({
  id: record.id,
  call: record.call,
  args: untag(record.args) as [unknown] | [unknown, unknown],
  taggedArgs: record.args,
  hexLegacy: record.hex_9_10_12,
  hex14: record.hex_14,
  ...(record.guarded === undefined ? {} : { guardedError: record.guarded }),
}));

/** Bytes from hex. */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Hex from bytes. */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** UTF-8 bytes of a text. */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

/** One node-ipc 14 event as the application sees it: the handler named `type` called with `data`. */
export type DeliveredEvent = readonly [type: unknown, data: unknown];

/**
 * Bytes a peer writes to a node-ipc receiver and what comes out (section 11.2). Pauses between
 * writes do not matter to ipc-streams (it has no timer), so only the write boundaries are kept.
 */
export interface ReceiveVector {
  readonly id: string;
  /** The peer's writes, in order. */
  readonly writes: readonly Uint8Array<ArrayBuffer>[];
  /** A delimiter other than the default. */
  readonly delimiter?: string;
  /** The JSON values JsonFrameParser yields, in order, before any error. */
  readonly values: readonly unknown[];
  /** The code JsonFrameParser fails with after those values, and whether during a push or at the end. */
  readonly error?: { readonly code: string; readonly at: "push" | "end" };
  /** The code EventValidator (default options) gives for the first value it rejects. */
  readonly validatorError?: string;
  /** What node-ipc 14 (fast) hands its handlers, when it neither crashes nor closes first. */
  readonly nodeIpc14: readonly DeliveredEvent[];
  /** What node-ipc 14 does, in words, from the spec. */
  readonly nodeIpc14Outcome: string;
}

export const RECEIVE_VECTORS: readonly ReceiveVector[] = [
  {
    id: "D1",
    writes: [utf8('{"type":"a","data":{"x":1}}\f')],
    values: [{ type: "a", data: { x: 1 } }],
    nodeIpc14: [["a", { x: 1 }]],
    nodeIpc14Outcome: "a({x:1})",
  },
  {
    id: "D2",
    writes: [utf8('{"type":"a","data":1}\f{"type":"b","data":2}\f')],
    values: [
      { type: "a", data: 1 },
      { type: "b", data: 2 },
    ],
    nodeIpc14: [
      ["a", 1],
      ["b", 2],
    ],
    nodeIpc14Outcome: "a(1), b(2)",
  },
  {
    id: "D3",
    writes: [utf8('{"type":"a","da'), utf8('ta":"split"}\f')],
    values: [{ type: "a", data: "split" }],
    nodeIpc14: [["a", "split"]],
    nodeIpc14Outcome: 'a("split") after the 2nd write',
  },
  {
    id: "D4",
    writes: [utf8('{"type":"a","data":1}\f{"type":"b",'), utf8('"data":2}\f')],
    values: [
      { type: "a", data: 1 },
      { type: "b", data: 2 },
    ],
    nodeIpc14: [
      ["a", 1],
      ["b", 2],
    ],
    nodeIpc14Outcome: "a(1) at once, b(2) after the 2nd write",
  },
  {
    id: "D5",
    writes: [fromHex("7b2274797065223a2261222c2264617461223a22f09f"), fromHex("9880227d0c")],
    values: [{ type: "a", data: "\u{1F600}" }],
    nodeIpc14: [["a", "\u{1F600}"]],
    nodeIpc14Outcome: 'a("😀")',
  },
  {
    id: "D6",
    writes: [utf8("\f")],
    values: [],
    error: { code: "ERR_IPC_INVALID_JSON", at: "push" },
    nodeIpc14: [],
    nodeIpc14Outcome: "ERR_IPC_INVALID_JSON, closed",
  },
  {
    id: "D7",
    writes: [utf8('{"type":"a","data":1}\f\f')],
    values: [{ type: "a", data: 1 }],
    error: { code: "ERR_IPC_INVALID_JSON", at: "push" },
    nodeIpc14: [["a", 1]],
    nodeIpc14Outcome: "a(1) then closed",
  },
  {
    id: "D8",
    writes: [utf8("{bad json}\f"), utf8('{"type":"a","data":"after-bad"}\f')],
    values: [],
    error: { code: "ERR_IPC_INVALID_JSON", at: "push" },
    nodeIpc14: [],
    nodeIpc14Outcome: "closed after the first",
  },
  {
    id: "D9",
    writes: [utf8("5\f")],
    values: [5],
    validatorError: "ERR_IPC_INVALID_MESSAGE",
    nodeIpc14: [],
    nodeIpc14Outcome: "crash (guarded: ERR_IPC_INVALID_MESSAGE)",
  },
  {
    id: "D10",
    writes: [utf8("null\f")],
    values: [null],
    validatorError: "ERR_IPC_INVALID_MESSAGE",
    nodeIpc14: [],
    nodeIpc14Outcome: "crash (guarded: ERR_IPC_INVALID_MESSAGE)",
  },
  {
    id: "D11",
    writes: [utf8('{"data":1}\f')],
    values: [{ data: 1 }],
    validatorError: "ERR_IPC_INVALID_EVENT",
    nodeIpc14: [],
    nodeIpc14Outcome: "crash (guarded: ERR_IPC_INVALID_EVENT)",
  },
  {
    id: "D12",
    writes: [utf8('{"type":"a"}\f')],
    values: [{ type: "a" }],
    nodeIpc14: [["a", undefined]],
    nodeIpc14Outcome: "a(undefined)",
  },
  {
    id: "D13",
    writes: [utf8(' {"type":"a", "data":1, "extra":true} \n\f')],
    values: [{ type: "a", data: 1, extra: true }],
    nodeIpc14: [["a", 1]],
    nodeIpc14Outcome: "a(1)",
  },
  {
    id: "D14",
    writes: [utf8('{"type":"a","data":"x\\fy"}\f')],
    values: [{ type: "a", data: "x\fy" }],
    nodeIpc14: [["a", "x\fy"]],
    nodeIpc14Outcome: 'a("x\\u000Cy")',
  },
  {
    id: "D15",
    writes: [utf8('{"type":"a","data":{"id":"peer-7"}}\f')],
    values: [{ type: "a", data: { id: "peer-7" } }],
    nodeIpc14: [["a", { id: "peer-7" }]],
    nodeIpc14Outcome: "a({id:'peer-7'}); socket.id unset",
  },
  {
    id: "D16",
    writes: [utf8('{"type":"connect","data":{"spoof":1}}\f')],
    values: [{ type: "connect", data: { spoof: 1 } }],
    validatorError: "ERR_IPC_RESERVED_EVENT",
    nodeIpc14: [["connect", { spoof: 1 }]],
    nodeIpc14Outcome: "connect handlers called (guarded: closed)",
  },
  {
    id: "D17",
    writes: [utf8('{"type":"__proto__","data":1}\f')],
    values: [JSON.parse('{"type":"__proto__","data":1}')],
    validatorError: "ERR_IPC_INVALID_EVENT",
    nodeIpc14: [["__proto__", 1]],
    nodeIpc14Outcome: "dispatched as __proto__ (guarded: ERR_IPC_INVALID_EVENT)",
  },
  {
    id: "D18",
    writes: [utf8('{"type":"a","data":1}')],
    values: [],
    error: { code: "ERR_IPC_TRUNCATED_FRAME", at: "end" },
    nodeIpc14: [],
    nodeIpc14Outcome: "nothing (the partial frame is dropped silently)",
  },
  {
    id: "D19",
    writes: [utf8('{"type":"a","data":1}\r\n')],
    delimiter: "\r\n",
    values: [{ type: "a", data: 1 }],
    nodeIpc14: [["a", 1]],
    nodeIpc14Outcome: "a(1)",
  },
  {
    id: "D20",
    writes: [fromHex("7b2274797065223a2261222c2264617461223a22fffe227d0c")],
    values: [],
    error: { code: "ERR_IPC_INVALID_UTF8", at: "push" },
    nodeIpc14: [["a", "\uFFFD\uFFFD"]],
    nodeIpc14Outcome: 'a("\\uFFFD\\uFFFD") (we deliberately reject invalid UTF-8 instead)',
  },
  {
    id: "D21",
    writes: [utf8('{"type":"a","data":"\\ud800"}\f')],
    values: [{ type: "a", data: "\ud800" }],
    nodeIpc14: [["a", "\ud800"]],
    nodeIpc14Outcome: "a with a 1-unit lone-surrogate string",
  },
  {
    id: "D22",
    writes: [utf8('{"type":"a","data":1,"data":2}\f')],
    values: [{ type: "a", data: 2 }],
    nodeIpc14: [["a", 2]],
    nodeIpc14Outcome: "a(2)",
  },
  {
    id: "D23",
    writes: [utf8('{"type":"a","data":12345678901234567890}\f')],
    values: [{ type: "a", data: 12345678901234567000 }],
    nodeIpc14: [["a", 12345678901234567000]],
    nodeIpc14Outcome: "a(12345678901234567000)",
  },
];

/** node-ipc 14 guarded limits of section 11.2's guarded vectors. */
export const GUARDED_LIMITS = { maxFrameSize: 200, maxTypeLength: 8 } as const;

/**
 * Guarded vectors G1–G8 and G11 (section 11.2), through `maxFrameSize` and EventValidator. G9/G10
 * (message timeout) have no counterpart: ipc-streams has no timer in the codec.
 */
export interface GuardedVector {
  readonly id: string;
  /** The peer's writes. */
  readonly writes: readonly Uint8Array<ArrayBuffer>[];
  /** EventValidator options beyond `maxTypeLength: 8`. */
  readonly validator?: { readonly allowReservedTypes?: boolean; readonly allowedTypes?: readonly string[] };
  /** `"delivered"`, or the code, and whether the parser (with the push index) or the validator raises it. */
  readonly result: "delivered" | { readonly code: string; readonly by: "parser" | "validator"; readonly push?: number };
}

const FRAME_HEAD = '{"type":"a","data":"';

export const GUARDED_VECTORS: readonly GuardedVector[] = [
  { id: "G1", writes: [utf8(`${FRAME_HEAD}${"x".repeat(178)}"}\f`)], result: "delivered" },
  {
    id: "G2",
    writes: [utf8(`${FRAME_HEAD}${"x".repeat(179)}"}\f`)],
    result: { code: "ERR_IPC_FRAME_TOO_LARGE", by: "parser", push: 0 },
  },
  {
    id: "G3",
    writes: [utf8(`${FRAME_HEAD}${"x".repeat(150)}`), utf8("x".repeat(150)), utf8('"}\f')],
    result: { code: "ERR_IPC_FRAME_TOO_LARGE", by: "parser", push: 1 },
  },
  {
    id: "G4",
    writes: [utf8(`${FRAME_HEAD}${"é".repeat(100)}"}\f`)],
    result: { code: "ERR_IPC_FRAME_TOO_LARGE", by: "parser", push: 0 },
  },
  { id: "G5 (8)", writes: [utf8('{"type":"abcdefgh","data":1}\f')], result: "delivered" },
  {
    id: "G5 (9)",
    writes: [utf8('{"type":"abcdefghi","data":1}\f')],
    result: { code: "ERR_IPC_EVENT_TOO_LARGE", by: "validator" },
  },
  {
    id: "G6 connect",
    writes: [utf8('{"type":"connect","data":1}\f')],
    result: { code: "ERR_IPC_RESERVED_EVENT", by: "validator" },
  },
  {
    id: "G6 data",
    writes: [utf8('{"type":"data","data":1}\f')],
    result: { code: "ERR_IPC_RESERVED_EVENT", by: "validator" },
  },
  {
    id: "G6 connect, allowReservedTypes",
    writes: [utf8('{"type":"connect","data":1}\f')],
    validator: { allowReservedTypes: true },
    result: "delivered",
  },
  {
    id: "G6 data, allowReservedTypes",
    writes: [utf8('{"type":"data","data":1}\f')],
    validator: { allowReservedTypes: true },
    result: "delivered",
  },
  { id: "G7", writes: [utf8("[1]\f")], result: { code: "ERR_IPC_INVALID_MESSAGE", by: "validator" } },
  { id: "G8 no type", writes: [utf8('{"data":1}\f')], result: { code: "ERR_IPC_INVALID_EVENT", by: "validator" } },
  {
    id: "G8 empty type",
    writes: [utf8('{"type":"","data":1}\f')],
    result: { code: "ERR_IPC_INVALID_EVENT", by: "validator" },
  },
  {
    id: "G11 assured",
    writes: [utf8('{"type":"b","data":1}\f')],
    validator: { allowedTypes: ["a"] },
    result: { code: "ERR_IPC_EVENT_NOT_ALLOWED", by: "validator" },
  },
  { id: "G11 guarded", writes: [utf8('{"type":"b","data":1}\f')], result: "delivered" },
];
