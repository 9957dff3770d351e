// The codec benchmark, run inside one runtime (node, bun or deno) by bench/codec/run.mjs.
//
//   <runtime> bench/codec/bench.mjs <path of the built ipc-streams core module> [rounds]
//
// Decodes and JSON-parses 1,000,000 frames of 101 bytes (node-ipc's benchmark frame: a {type,data}
// envelope with a 64-byte payload, delimiter included) delivered in 64 KiB chunks, four ways:
//   core      JsonFrameParser.push over the chunks
//   stream    a ReadableStream of the chunks piped through JsonFrameDecoderStream, read to the end
//   baseline  the naive way: TextDecoder (streaming) + string concatenation + split("\f") + JSON.parse
//   identity  the floor of the stream machinery: 1,000,000 chunks through an identity TransformStream
// Each round runs the four ways once, in an order rotated by one each round; the first round is a
// warm-up. Prints one JSON line with each way's wall-clock and CPU times.

const FRAMES = 1_000_000;
const CHUNK = 64 * 1024;
const FRAME_BYTES = 101;

const [modulePath, roundsArg] = typeof Deno === "object" ? Deno.args : process.argv.slice(2);
const { JsonFrameParser, JsonFrameDecoderStream } = await import(new URL(modulePath, `file://${cwd()}/`).href);
const rounds = Number(roundsArg ?? 7);

function cwd() {
  return typeof Deno === "object" ? Deno.cwd() : process.cwd();
}

function runtime() {
  if (typeof Bun === "object") return { name: "bun", version: Bun.version };
  if (typeof Deno === "object") return { name: "deno", version: Deno.version.deno, v8: Deno.version.v8 };
  return { name: "node", version: process.versions.node, v8: process.versions.v8 };
}

// node-ipc's benchmark message: a 64-byte payload in the {type, data} envelope.
const payload = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
const message = { type: "benchmark.frame", data: payload };
const frame = new TextEncoder().encode(`${JSON.stringify(message)}\f`);
if (payload.length !== 64 || frame.length !== FRAME_BYTES) {
  throw new Error(`benchmark frame is ${frame.length} bytes, expected ${FRAME_BYTES}`);
}

const all = new Uint8Array(FRAMES * FRAME_BYTES);
for (let i = 0; i < FRAMES; i++) all.set(frame, i * FRAME_BYTES);
const chunks = [];
for (let at = 0; at < all.length; at += CHUNK) chunks.push(all.subarray(at, at + CHUNK));

function check(count, last) {
  if (count !== FRAMES || last?.type !== message.type || last?.data !== payload) {
    throw new Error(`decoded ${count} frames, last ${JSON.stringify(last)}`);
  }
}

/** Reads `readable` to the end with one reader, then checks the count and the last value. */
async function readAndCheck(readable) {
  const reader = readable.getReader();
  let count = 0;
  let last;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    count++;
    last = value;
  }
  check(count, last);
}

function chunkSource(items) {
  let next = 0;
  return new ReadableStream({
    pull(controller) {
      if (next < items.length) controller.enqueue(items[next++]);
      else controller.close();
    },
  });
}

const ways = {
  core() {
    const parser = new JsonFrameParser();
    let count = 0;
    let last;
    const onValue = (value) => {
      count++;
      last = value;
    };
    for (const chunk of chunks) parser.push(chunk, onValue);
    parser.end();
    check(count, last);
  },

  async stream() {
    await readAndCheck(chunkSource(chunks).pipeThrough(new JsonFrameDecoderStream()));
  },

  baseline() {
    const decoder = new TextDecoder();
    let buffer = "";
    let count = 0;
    let last;
    for (const chunk of chunks) {
      buffer += decoder.decode(chunk, { stream: true });
      const parts = buffer.split("\f");
      buffer = parts.pop();
      for (const part of parts) {
        last = JSON.parse(part);
        count++;
      }
    }
    if (buffer.length > 0) throw new Error("baseline left a partial frame");
    check(count, last);
  },

  async identity() {
    // As many chunks as the stream way outputs, enqueued by the source about as many at a time as
    // one 64 KiB chunk holds frames, so that the source costs little and the floor is the
    // TransformStream, the pipe and the reader.
    const perPull = Math.floor(CHUNK / FRAME_BYTES);
    let produced = 0;
    const source = new ReadableStream({
      pull(controller) {
        const until = Math.min(FRAMES, produced + perPull);
        for (; produced < until; produced++) controller.enqueue(message);
        if (produced === FRAMES) controller.close();
      },
    });
    await readAndCheck(source.pipeThrough(new TransformStream()));
  },
};

// Wall-clock time, and the process's CPU time (user + system, all threads): on a shared machine
// the second is far less disturbed by other processes waiting for the same cores.
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const times = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
const cpuTimes = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
const order = Object.entries(ways);
for (let round = 0; round <= rounds; round++) {
  // Rotate the order each round, so that no way always runs after (and pays for the garbage of)
  // the same other way.
  const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
  for (const [name, way] of rotated) {
    const start = performance.now();
    const cpuStart = cpuMs();
    await way();
    const elapsed = performance.now() - start;
    const cpu = cpuMs() - cpuStart;
    if (round > 0) {
      times[name].push(elapsed);
      cpuTimes[name].push(cpu);
    }
  }
}

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const results = Object.fromEntries(
  Object.entries(times).map(([name, list]) => [
    name,
    {
      medianMs: median(list),
      bestMs: Math.min(...list),
      runsMs: list.map((ms) => Math.round(ms * 10) / 10),
      cpuMedianMs: median(cpuTimes[name]),
      cpuRunsMs: cpuTimes[name].map((ms) => Math.round(ms * 10) / 10),
    },
  ]),
);
console.log(
  JSON.stringify({
    runtime: runtime(),
    frames: FRAMES,
    frameBytes: FRAME_BYTES,
    chunkBytes: CHUNK,
    chunks: chunks.length,
    rounds,
    results,
  }),
);
