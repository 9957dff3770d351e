// A client for examples/server.mjs that outlives it: stop the server and start it again, and this
// client connects again (retrying every 0.5 s, then less often) and says hello once more. Ctrl-C
// stops it.
//   node examples/reconnect.mjs   |   bun examples/reconnect.mjs   |   deno run -A examples/reconnect.mjs
import process from "node:process";
import { reconnect } from "ipc-streams";

const me = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : `node ${process.version}`;
const stop = new AbortController();
process.on("SIGINT", () => stop.abort());
process.on("SIGTERM", () => stop.abort());

// Nothing is carried over from one connection to the next: a hello the server has not answered
// yet is sent again on the next connection, with that connection's new one.
const unanswered = new Set();
let hellos = 0;
const connections = reconnect({
  id: "world",
  signal: stop.signal, // node-ipc's stopRetrying
  retry: 500, // node-ipc's retry (the default)
  backoff: { factor: 1.6, max: 10_000, jitter: 0.2 }, // then 0.8 s, 1.28 s, … at most 10 s, ± 20 %
});
try {
  for await (const connection of connections) {
    console.log("client: connected");
    unanswered.add(`${me} #${++hellos}`);
    try {
      for (const from of unanswered) await connection.emit("hello", { from });
      for await (const { type, data } of connection.readable) {
        console.log(`client: got ${type} for ${data?.to}`);
        if (type === "world") unanswered.delete(data?.to);
      }
    } catch {
      // the connection broke, or the server sent something that is not a message: connect again
    }
    if (!stop.signal.aborted) console.log("client: disconnected; connecting again");
  }
} catch (error) {
  console.error(`client: giving up: ${error.code}`); // a failure no retry can help
  process.exitCode = 1;
}
console.log("client: stopped");
