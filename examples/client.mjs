// A client for examples/server.mjs: says hello, prints the answer, leaves.
//   node examples/client.mjs   |   bun examples/client.mjs   |   deno run -A examples/client.mjs
import process from "node:process";
import { connect } from "ipc-streams";

const me = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : `node ${process.version}`;
const connection = await connect({ id: "world" });
await connection.emit("hello", { from: me });
for await (const { type, data } of connection.readable) {
  console.log(`client: got ${type} for ${data.to}`);
  break; // one answer is all we wanted
}
await connection.close();
