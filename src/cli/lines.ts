/**
 * Stdin as lines, for the command line: split on `\n` (a `\r` before it is dropped), decoded as
 * UTF-8 line by line, each line bounded in size, the last one taken even without its newline.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";

/** One line of input: its text, or why it has none. */
export type Line =
  | { readonly number: number; readonly text: string }
  | { readonly number: number; readonly problem: "too-long" | "not-utf8" };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Reads `input` to its end as lines. A line longer than `maxBytes` is reported as `too-long`
 * (its bytes are dropped as they come, so the bound holds), one that is not UTF-8 as `not-utf8`.
 * Cancelling the reader ends the lines.
 *
 * @param reader the bytes (stdin)
 * @param maxBytes the longest line kept
 * @example
 * ```ts
 * declare const stdin: ReadableStream<Uint8Array>;
 * for await (const line of lines(stdin.getReader(), 1 << 20)) if ("text" in line) console.log(line.number, line.text);
 * ```
 */
export async function* lines(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): AsyncGenerator<Line> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  let number = 0;
  const finish = (last: Uint8Array): Line => {
    number++;
    const wasTooLong = tooLong || pendingBytes + last.byteLength > maxBytes;
    const parts = pending;
    pending = [];
    pendingBytes = 0;
    tooLong = false;
    if (wasTooLong) return { number, problem: "too-long" };
    let bytes = parts.length === 0 ? last : concatBytes([...parts, last]);
    if (bytes[bytes.byteLength - 1] === CARRIAGE_RETURN) bytes = bytes.subarray(0, -1);
    try {
      return { number, text: decoder.decode(bytes) };
    } catch {
      return { number, problem: "not-utf8" };
    }
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let start = 0;
    for (let end = value.indexOf(NEWLINE); end !== -1; end = value.indexOf(NEWLINE, start)) {
      yield finish(value.subarray(start, end));
      start = end + 1;
    }
    const rest = value.subarray(start);
    if (rest.byteLength === 0) continue;
    if (tooLong || pendingBytes + rest.byteLength > maxBytes) {
      tooLong = true;
      pending = [];
      pendingBytes = 0;
    } else {
      // The chunk may be reused by its producer once read: keep a copy of the unfinished line.
      pending.push(rest.slice());
      pendingBytes += rest.byteLength;
    }
  }
  if (pendingBytes > 0 || tooLong) yield finish(new Uint8Array(0));
}
