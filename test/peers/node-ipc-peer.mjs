// A real node-ipc peer, driven by the interop tests over stdin/stdout.
//
//   node test/peers/node-ipc-peer.mjs <line>      line: 9 | 10 | 12 | 14
//
// Each process loads one node-ipc line (node-ipc keeps global state, so one process = one
// instance) and is silent except for its protocol on stdout. Plain JS: Node 20 runs 9, 10 and 12.
//
// Protocol: one JSON object per line, both ways (described in README.md next to this file).
//   test -> peer  {"id":1,"op":"connect","name":"c1","types":["reply"]}
//   peer -> test  {"re":1,"ok":true,"result":{...}}   or   {"re":1,"ok":false,"error":{...}}
//   peer -> test  {"ev":"message","name":"c1","type":"reply","data":{...}}   (unsolicited events)
// Values JSON cannot carry are tagged: {"$":"undefined"}, {"$":"NaN"}, {"$":"bytes","base64":…}…

import { isAbsolute, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { tag, untag } from "./tagged.mjs";

const PACKAGES = { 9: "node-ipc-9", 10: "node-ipc-10", 12: "node-ipc-12", 14: "node-ipc-14" };
const line = process.argv[2];
if (!(line in PACKAGES)) {
  process.stderr.write(`usage: node-ipc-peer.mjs <${Object.keys(PACKAGES).join("|")}>\n`);
  process.exit(2);
}
const ipc = (await import(PACKAGES[line])).default;
ipc.config.silent = true;

function out(message) {
  process.stdout.write(`${JSON.stringify(tag(message))}\n`);
}

function describeError(error) {
  if (error === null || typeof error !== "object") return { message: String(error) };
  // 9–12 report malformed JSON as {message, err, response}.
  return { code: error.code, name: error.name, message: String(error.message ?? error) };
}

// ---------------------------------------------------------------------------------------------
// Clients (ipc.of[name]) and the server (ipc.server)

function client(name) {
  const found = ipc.of[name];
  if (!found) throw new Error(`no client named ${name}`);
  return found;
}

/** Where the TLS test certificates are: `tls` arguments name files in there. */
const CERTIFICATES = fileURLToPath(new URL("../fixtures/tls/", import.meta.url));

function certificatePath(file) {
  if (typeof file !== "string" || file === "" || isAbsolute(file) || file.includes("/") || file.includes("..")) {
    throw new Error(`tls: ${JSON.stringify(file)} is not a file name in test/fixtures/tls`);
  }
  return join(CERTIFICATES, file);
}

/**
 * node-ipc's `config.tls` from a `tls` argument: `public`, `private` and `trustedConnections` name
 * files in test/fixtures/tls (node-ipc reads them itself); other members pass through. A fresh
 * object each time, since 9–12 write the file contents into `config.tls`.
 */
function tlsConfig(tls) {
  if (tls === undefined || tls === null) return undefined;
  const config = { ...tls };
  for (const member of ["public", "private"]) if (member in config) config[member] = certificatePath(config[member]);
  if ("trustedConnections" in config) {
    const files = config.trustedConnections;
    config.trustedConnections = Array.isArray(files) ? files.map(certificatePath) : certificatePath(files);
  }
  return config;
}

/** What a TLS socket knows about its session right now (`undefined` on Unix sockets and TCP). */
function tlsState(socket) {
  if (!socket?.encrypted) return undefined;
  const certificate = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined;
  return { authorized: socket.authorized === true, peerCN: certificate?.subject?.CN ?? null };
}

function watchClient(name, types) {
  const c = client(name);
  c.on("connect", () => out({ ev: "connect", name, tls: tlsState(c.socket) }));
  c.on("disconnect", () => out({ ev: "disconnect", name }));
  c.on("destroy", () => out({ ev: "destroy", name }));
  c.on("error", (error) => out({ ev: "error", name, error: describeError(error) }));
  if (ipc.config.rawBuffer) c.on("data", (bytes) => out({ ev: "data", name, bytes }));
  for (const type of types) c.on(type, (data) => out({ ev: "message", name, type, data }));
}

const sockets = [];
const socketIndex = new Map();

function serverSocket(index) {
  const socket = sockets[index];
  if (!socket) throw new Error(`no server socket #${index}`);
  return socket;
}

function serve(path, net, types) {
  return new Promise((resolve, reject) => {
    let started = false;
    const onStart = () => {
      started = true;
      resolve({ path: ipc.server.path, port: ipc.server.port ?? null });
    };
    if (net) ipc.serveNet(net.host, net.port, onStart);
    else if (path) ipc.serve(path, onStart);
    else ipc.serve(onStart);
    const server = ipc.server;
    server.on("connect", (socket) => {
      const index = sockets.push(socket) - 1;
      socketIndex.set(socket, index);
      out({ ev: "server.connect", socket: index, tls: tlsState(socket) });
    });
    server.on("socket.disconnected", (socket) => out({ ev: "server.disconnect", socket: socketIndex.get(socket) }));
    server.on("error", (error) => {
      out({ ev: "server.error", error: describeError(error) });
      if (!started) reject(error); // 9–12 report a failed listen (EADDRINUSE…) only as `error`
    });
    if (ipc.config.rawBuffer) {
      server.on("data", (bytes, socket) => out({ ev: "server.data", socket: socketIndex.get(socket), bytes }));
    }
    for (const type of types) {
      server.on(type, (data, socket) => out({ ev: "server.message", socket: socketIndex.get(socket), type, data }));
    }
    try {
      // 14 throws synchronously for root/unlink problems, TLS configuration and assured transport
      // rules; 9–12 publish `error`.
      server.start();
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * ipc.serveNet(host, port, udpType) + server.start(): node-ipc's UDP server, its only UDP role.
 * Resolves once the socket is bound (9–12 publish `start` before it is). Each message reports its
 * sender as a socket index (a fresh one per datagram on 9–12, whose handlers get Node's `rinfo`)
 * and as `from`.
 */
function serveUdp(host, port, udpType, types) {
  return new Promise((resolve, reject) => {
    let started = false;
    ipc.serveNet(host, port, udpType, () => {
      started = true;
      const socket = ipc.server.server;
      const bound = () => resolve({ port: socket.address().port });
      try {
        bound();
      } catch {
        socket.once("listening", bound);
      }
    });
    const server = ipc.server;
    server.on("error", (error) => {
      out({ ev: "server.error", error: describeError(error) });
      if (!started) reject(error);
    });
    for (const type of types) {
      server.on(type, (data, socket) => {
        const index = socketIndex.get(socket) ?? sockets.push(socket) - 1;
        socketIndex.set(socket, index);
        out({ ev: "server.message", socket: index, type, data, from: { address: socket.address, port: socket.port } });
      });
    }
    try {
      server.start();
    } catch (error) {
      reject(error);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Operations

const operations = {
  /** Sets ipc.config members (silent stays on). Returns the socket-path settings in effect. */
  config({ set }) {
    Object.assign(ipc.config, set, { silent: true });
    const { socketRoot, appspace, id } = ipc.config;
    return { socketRoot, appspace, id };
  },
  /**
   * ipc.connectTo(name[, path]), or ipc.connectToNet(name, host, port) with `net: {host, port}`
   * (and `tls`: config.tls first): starts connecting; `connect` arrives as an event.
   */
  connect({ name, path, net, tls, types = [] }) {
    if (tls !== undefined) ipc.config.tls = tlsConfig(tls);
    if (net) ipc.connectToNet(name, net.host, net.port);
    else if (path) ipc.connectTo(name, path);
    else ipc.connectTo(name);
    watchClient(name, types);
    const c = client(name);
    return { path: c.path, port: c.port ?? null };
  },
  /** ipc.of[name].emit(...args). In raw mode args is [bytes]. */
  emit({ name, args }) {
    client(name).emit(...args);
  },
  /** count emits of `type`, with data 0, 1, 2… */
  emitMany({ name, type, count }) {
    const c = client(name);
    for (let i = 0; i < count; i++) c.emit(type, i);
  },
  /** ipc.disconnect(name). */
  disconnect({ name }) {
    ipc.disconnect(name);
  },
  /**
   * ipc.serve([path]), or ipc.serveNet(host, port) with `net: {host, port}` (and `tls`:
   * config.tls first), + server.start(); resolves on `start`.
   */
  serve({ path, net, tls, types = [] }) {
    if (tls !== undefined) ipc.config.tls = tlsConfig(tls);
    return serve(path, net, types);
  },
  /** ipc.server.emit(socket, ...args). In raw mode args is [bytes]. */
  serverEmit({ socket, args }) {
    ipc.server.emit(serverSocket(socket), ...args);
  },
  serverEmitMany({ socket, type, count }) {
    const target = serverSocket(socket);
    for (let i = 0; i < count; i++) ipc.server.emit(target, type, i);
  },
  /** ipc.server.broadcast(...args). */
  broadcast({ args }) {
    ipc.server.broadcast(...args);
  },
  /** A UDP server (see serveUdp); resolves with its port once bound. */
  serveUdp({ host, port, udpType, types = [] }) {
    return serveUdp(host, port, udpType, types);
  },
  /** ipc.server.emit({address, port}, ...args): how node-ipc sends a datagram to anyone. */
  emitTo({ address, port, args }) {
    ipc.server.emit({ address, port }, ...args);
  },
  /** count emits of `type` to {address, port}, with data start, start + 1, … */
  emitManyTo({ address, port, type, start = 0, count }) {
    for (let i = 0; i < count; i++) ipc.server.emit({ address, port }, type, start + i);
  },
  /** ipc.server.stop(). */
  stop() {
    ipc.server.stop();
  },
};

const input = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
input.on("line", async (text) => {
  if (text.trim() === "") return;
  let request;
  try {
    // node-ipc writes raw bytes as given: hand it Buffers, as its own users do.
    request = untag(JSON.parse(text), (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    out({ ev: "protocol-error", error: describeError(error) });
    return;
  }
  const operation = operations[request.op];
  try {
    if (!operation) throw new Error(`unknown op ${request.op}`);
    const result = await operation(request);
    out({ re: request.id, ok: true, result: result ?? null });
  } catch (error) {
    out({ re: request.id, ok: false, error: describeError(error) });
  }
});
// The test owns this process: when it goes away (stdin closes), so do we.
input.on("close", () => process.exit(0));

out({ ev: "ready", line, node: process.version, socketRoot: ipc.config.socketRoot });
