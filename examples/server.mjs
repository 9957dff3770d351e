// A "world" server: answers every "hello" with a "world". Stop it with Ctrl-C.
//   node examples/server.mjs   |   bun examples/server.mjs   |   deno run -A examples/server.mjs
import process from "node:process";
import { serve } from "ipc-streams";

const server = await serve({ id: "world" });
console.log(`server: listening on ${server.path}`);
process.on("SIGINT", () => server.close());
process.on("SIGTERM", () => server.close());

for await (const connection of server.connections) {
  (async () => {
    try {
      for await (const { type, data } of connection.readable) {
        console.log(`server: got ${type} from ${data?.from}`);
        if (type === "hello") await connection.emit("world", { to: data.from });
      }
    } catch {
      // a client that sent bad input or left mid-reply: drop it, serve the others
    }
    await connection.close(); // the client is done: finish our side too
  })();
}
console.log("server: closed");
