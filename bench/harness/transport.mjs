// The transports a benchmark run can use (`--transport unix|tcp|tls`, or a comma list of them) and
// the endpoints the peers get from them. A server gets a Unix socket path, or a host and port 0
// (it picks a free port and reports it in its `{"ready":true,"port":n}` line); the client then gets
// the path, or the host and that port. TLS is server-authenticated: the server presents the test
// certificate (test/fixtures/tls/server.pem, valid for 127.0.0.1), the client trusts ca.pem and
// sends no certificate.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export const TRANSPORTS = ["unix", "tcp", "tls"];

/** The loopback address every network run uses (ipc-streams' and node-ipc's default host). */
export const HOST = "127.0.0.1";

export const TRANSPORT_TITLES = { unix: "Unix sockets", tcp: `TCP (${HOST})`, tls: `TLS over TCP (${HOST})` };

const TLS_FILES = { cert: "server.pem", key: "server.key", ca: "ca.pem" };

/**
 * The certificate files for TLS runs, copied from test/fixtures/tls/ into `dir` so that a change to
 * the fixtures cannot pull them away mid-run. Returns `{ cert, key, ca }` paths, or `{ missing }`.
 */
export function tlsFiles(root, dir) {
  const source = join(root, "test", "fixtures", "tls");
  const absent = Object.values(TLS_FILES).filter((name) => !existsSync(join(source, name)));
  if (absent.length) return { missing: `test/fixtures/tls/ lacks ${absent.join(", ")}` };
  mkdirSync(dir, { recursive: true });
  const files = {};
  for (const [key, name] of Object.entries(TLS_FILES)) {
    files[key] = join(dir, name);
    copyFileSync(join(source, name), files[key]);
  }
  return files;
}

/**
 * What a server listens on: `{ transport: "unix", path }`, or `{ transport, host, port: 0 }` with,
 * for TLS, the certificate and key files.
 */
export function serverEndpoint(transport, { path, tls }) {
  if (transport === "unix") return { transport, path };
  return { transport, host: HOST, port: 0, ...(transport === "tls" ? { cert: tls.cert, key: tls.key } : {}) };
}

/** What the client connects to, given the server's endpoint and its ready message. */
export function clientEndpoint(server, ready, { tls }) {
  if (server.transport === "unix") return server;
  if (!(Number.isInteger(ready.port) && ready.port > 0)) {
    throw new Error(`the server is ready but reported no port (${JSON.stringify(ready)})`);
  }
  return { transport: server.transport, host: server.host, port: ready.port, ...(tls ? { ca: tls.ca } : {}) };
}

/** The command-line arguments that give a JavaScript peer its endpoint. */
export function endpointArgs(endpoint) {
  if (endpoint.transport === "unix") return ["--path", endpoint.path];
  const args = ["--transport", endpoint.transport, "--host", endpoint.host, "--port", String(endpoint.port)];
  for (const name of ["cert", "key", "ca"]) if (endpoint[name]) args.push(`--${name}`, endpoint[name]);
  return args;
}

/** The endpoint of a job description from before transports (`{ path }` only): a Unix socket. */
export function endpointOf(job) {
  return job.endpoint ?? { transport: "unix", path: job.path };
}
