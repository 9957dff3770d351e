// Driver for the idle-connection benchmark: plain node:net, no ipc library. Opens `--count` Unix
// socket connections to `--path` in batches of `--batch`, waiting for each batch to connect and then
// `--pause` ms (1,000 connects/s by default), so that the accept backlog stays far below its limit
// unless the server stops accepting; a connect the kernel refuses is counted, not retried. Each sends
// one small node-ipc event (`--send one`, counted by the server, no reply) or nothing (`--send none`),
// then idles. Prints {"opened":n,"refused":m,"errors":{code:count}} when every connect has settled
// and holds the connections until SIGTERM.
//
//   node idle-client.mjs --path <socket> [--count 1000 --batch 25 --pause 25 --send one|none]
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, writeLine } from "./workload.mjs";

const options = parseArgs(process.argv.slice(2));
const count = Number(options.count ?? 1000);
const batch = Number(options.batch ?? 25);
const pause = Number(options.pause ?? 25);
const event = options.send === "none" ? undefined : '{"type":"one","data":{}}\f';

const sockets = [];
const errors = {};
let refused = 0;

function open() {
  return new Promise((resolve) => {
    const socket = connect(options.path);
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      // A later error (the server going away) must not crash the driver.
      socket.on("error", () => {});
      if (event) socket.write(event);
      sockets.push(socket);
      resolve();
    });
    socket.once("error", (error) => {
      refused++;
      errors[error.code] = (errors[error.code] ?? 0) + 1;
      resolve();
    });
  });
}

for (let started = 0; started < count; started += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, count - started) }, open));
  await sleep(pause);
}
await writeLine({ opened: sockets.length, refused, errors });
// Idle: the open sockets keep the process alive until the harness stops it.
