// A client for examples/server.mjs: says hello, prints the answer, leaves. It exits with code 1
// and says why when no server is there, the server sends something that is not a message or
// leaves without answering, or no answer comes within 5 s.
//   node examples/client.mjs   |   bun examples/client.mjs   |   deno run -A examples/client.mjs
import process from "node:process";
import { connect } from "ipc-streams";

const me = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : `node ${process.version}`;
const timer = setTimeout(() => {
  console.error("client: no answer within 5 s");
  process.exit(1);
}, 5000);
let connection;
try {
  connection = await connect({ id: "world" });
  await connection.emit("hello", { from: me });
  let answered = false;
  for await (const { type, data } of connection.readable) {
    console.log(`client: got ${type} for ${data?.to}`);
    answered = true;
    break; // one answer is all we wanted
  }
  if (!answered) throw new Error("the server left without answering");
} catch (error) {
  console.error(`client: ${error.message}`); // no server (ERR_IPC_NO_SERVER), a bad frame, …
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
  await connection?.close();
}
