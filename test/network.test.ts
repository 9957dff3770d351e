/**
 * What only TCP and TLS have: ports and hosts, remote addresses, certificates and their refusals,
 * connect timeouts. Everything the transports share is in the suites parametrised over
 * test/fixtures/transports.ts. Runs unchanged on Node, Bun and Deno.
 */
import { X509Certificate } from "node:crypto";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { describe, expect, test } from "vitest";
import type { ConnectOptions, Server, TlsOptions } from "../src/index.ts";
import { acceptor, echo, take } from "./fixtures/sockets.ts";
import { certificates } from "./fixtures/transports.ts";
import { ipc, runtimeName } from "./runtime.ts";

const serverTls = { ...certificates.server, ca: certificates.ca, requestCert: true } satisfies TlsOptions;
const trusting = { ca: certificates.ca } satisfies TlsOptions;

/** The SHA-256 fingerprint of a PEM certificate, as `connection.tls.peerCertificate` gives it. */
const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

/** Connects and checks that an echo comes back. */
async function expectEcho(options: ConnectOptions): Promise<void> {
  const client = await ipc.connect(options);
  await client.emit("ping", 1);
  expect(await take(client.readable, 1)).toEqual([{ type: "ping", data: 1 }]);
  await client.close();
}

/** A TCP server that accepts and then says nothing, holding its sockets until closed. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: NetServer = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe(`TCP on ${runtimeName}`, () => {
  test("port 0 takes a free port: server.address names it, connection.remoteAddress names the peer", async () => {
    const server = await ipc.serve({ port: 0 });
    expect(server.address).toEqual({ transport: "tcp", host: "127.0.0.1", port: expect.any(Number) });
    const { port } = server.address as { port: number };
    expect(port).toBeGreaterThan(0);
    expect(server.path).toBeUndefined();
    const accepted = acceptor(server);
    const client = await ipc.connect({ port });
    const side = await accepted.next();
    expect(client.remoteAddress).toEqual({ host: "127.0.0.1", port });
    expect(side.remoteAddress).toEqual({ host: "127.0.0.1", port: expect.any(Number) });
    expect(client.path).toBeUndefined();
    expect(client.tls).toBeUndefined();
    await client.emit("hello", "tcp");
    expect(await take(side.readable, 1)).toEqual([{ type: "hello", data: "tcp" }]);
    await client.close();
    await server.close();
  });

  test('IPv6: host "::1" (with or without brackets) serves and connects', async () => {
    const server = await ipc.serve({ port: 0, host: "::1" });
    echo(server);
    const { host, port } = server.address as { host: string; port: number };
    expect(host).toBe("::1");
    await expectEcho({ port, host: "::1" });
    await expectEcho({ port, host: "[::1]" });
    await server.close();
  });

  test("nobody listening: ERR_IPC_NO_SERVER", async () => {
    const server = await ipc.serve({ port: 0 });
    const { port } = server.address as { port: number };
    await server.close();
    await expect(ipc.connect({ port })).rejects.toMatchObject({ code: "ERR_IPC_NO_SERVER" });
    await expect(ipc.connect({ port, tls: trusting })).rejects.toMatchObject({ code: "ERR_IPC_NO_SERVER" });
  });

  test("a second serve on a used port: ERR_IPC_ADDRESS_IN_USE", async () => {
    const server = await ipc.serve({ port: 0 });
    const { port } = server.address as { port: number };
    await expect(ipc.serve({ port })).rejects.toMatchObject({ code: "ERR_IPC_ADDRESS_IN_USE" });
    await server.close();
  });

  test("option mistakes are refused up front with ERR_IPC_INVALID_OPTION", async () => {
    const refused = [
      () => ipc.serve({ port: 0, tls: {} }),
      () => ipc.serve({ port: 0, tls: { cert: certificates.server.cert } }),
      () => ipc.serve({ port: 0, tls: { ...certificates.server, servername: "localhost" } }),
      () => ipc.serve({ port: 0, readableAll: true }),
      () => ipc.serve({ port: 65536 }),
      () => ipc.serve({ port: 0, path: "/tmp/x" }),
      () => ipc.connect({ port: 0 }),
      () => ipc.connect({ port: 1.5 }),
      () => ipc.connect({ port: 1, host: "" }),
      () => ipc.connect({ port: 1, tls: { requestCert: true } }),
      () => ipc.connect({ port: 1, tls: { cert: certificates.client.cert } }),
      () => ipc.connect({ port: 1, tls: { ca: "not a certificate" } }),
      () => ipc.connect({ port: 1, connectTimeout: 0 }),
    ];
    for (const call of refused)
      await expect(call(), String(call)).rejects.toMatchObject({ code: "ERR_IPC_INVALID_OPTION" });
  });

  test("an unanswered handshake ends at connectTimeout (ERR_IPC_CONNECT_TIMEOUT) or on abort", async () => {
    const silent = await silentServer();
    const started = Date.now();
    await expect(ipc.connect({ port: silent.port, tls: trusting, connectTimeout: 300 })).rejects.toMatchObject({
      code: "ERR_IPC_CONNECT_TIMEOUT",
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    const controller = new AbortController();
    const connecting = ipc.connect({ port: silent.port, tls: trusting, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(connecting).rejects.toMatchObject({ code: "ERR_IPC_ABORTED" });
    await silent.close();
  });
});

describe(`TLS on ${runtimeName}`, () => {
  test("server-authenticated: the client verifies the server; connection.tls says what was agreed", async () => {
    const server = await ipc.serve({ port: 0, tls: certificates.server });
    expect(server.address).toMatchObject({ transport: "tls", host: "127.0.0.1" });
    const { port } = server.address as { port: number };
    const accepted = acceptor(server);
    const client = await ipc.connect({ port, tls: trusting });
    const side = await accepted.next();
    expect(client.tls).toMatchObject({
      authorized: true,
      protocol: "TLSv1.2",
      peerCertificate: {
        subject: { CN: "localhost" },
        fingerprint256: fingerprintOf(certificates.server.cert),
        validTo: new X509Certificate(certificates.server.cert).validTo,
      },
    });
    // The client sent no certificate, so nothing about it was verified.
    expect(side.tls).toMatchObject({ authorized: false, peerCertificate: undefined });
    expect(side.remoteAddress).toEqual({ host: "127.0.0.1", port: expect.any(Number) });
    await client.emit("secret", { n: 1 });
    expect(await take(side.readable, 1)).toEqual([{ type: "secret", data: { n: 1 } }]);
    await client.close();
    await server.close();
  });

  test("PEM may be bytes; without ca the client trusts only the system store, which lacks the test CA", async () => {
    const bytes = (pem: string) => new TextEncoder().encode(pem);
    const server = await ipc.serve({
      port: 0,
      tls: { cert: bytes(certificates.server.cert), key: bytes(certificates.server.key) },
    });
    echo(server);
    const { port } = server.address as { port: number };
    await expectEcho({ port, tls: { ca: [bytes(certificates.ca)] } });
    await expect(ipc.connect({ port, tls: {} })).rejects.toMatchObject({ code: "ERR_IPC_TLS" });
    await server.close();
  });

  test("a server speaks TLS 1.3 to clients that offer it (ours ask for 1.2)", async () => {
    const server = await ipc.serve({ port: 0, tls: certificates.server });
    const accepted = acceptor(server);
    const { port } = server.address as { port: number };
    const socket = connectTls({ host: "127.0.0.1", port, ca: [certificates.ca] });
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("secureConnect", () => resolve()));
    expect(socket.getProtocol()).toBe("TLSv1.3");
    const side = await accepted.next();
    expect(side.tls?.protocol).toBe("TLSv1.3");
    socket.write('{"type":"hello","data":1}\f');
    expect(await take(side.readable, 1)).toEqual([{ type: "hello", data: 1 }]);
    socket.destroy();
    await server.close();
  });

  test('host "localhost" and "::1" verify against the certificate\'s names', async () => {
    for (const host of ["localhost", "::1"]) {
      const server = await ipc.serve({ port: 0, host: host === "::1" ? "::1" : "127.0.0.1", tls: certificates.server });
      echo(server);
      const { port } = server.address as { port: number };
      await expectEcho({ port, host, tls: trusting });
      await server.close();
    }
  });

  test("mutual TLS: a client with a certificate from the trusted CA is let in, and both sides see the other's", async () => {
    const server = await ipc.serve({ port: 0, tls: serverTls });
    const { port } = server.address as { port: number };
    const accepted = acceptor(server);
    const client = await ipc.connect({ port, tls: { ...trusting, ...certificates.client } });
    const side = await accepted.next();
    expect(side.tls).toMatchObject({
      authorized: true,
      peerCertificate: {
        subject: { CN: "ipc-streams-client" },
        fingerprint256: fingerprintOf(certificates.client.cert),
      },
    });
    expect(client.tls?.authorized).toBe(true);
    await side.emit("welcome");
    expect(await take(client.readable, 1)).toEqual([{ type: "welcome", data: {} }]);
    await client.close();
    await server.close();
  });

  test("mutual TLS refusals: no certificate, another CA, expired; each ERR_IPC_TLS, and the server goes on", async () => {
    const server = await ipc.serve({ port: 0, tls: serverTls });
    echo(server);
    const { port } = server.address as { port: number };
    for (const [what, certificate] of [
      ["no certificate", {}],
      ["a certificate from another CA", certificates.other],
      ["an expired certificate", certificates.expired],
    ] as const) {
      await expect(ipc.connect({ port, tls: { ...trusting, ...certificate } }), what).rejects.toMatchObject({
        code: "ERR_IPC_TLS",
      });
    }
    expect(server.connectionCount).toBe(0);
    await expectEcho({ port, tls: { ...trusting, ...certificates.client } });
    await server.close();
  });

  test("the client refuses a server it cannot verify: unknown CA, wrong host name, expired (ERR_IPC_TLS)", async () => {
    const cases: [string, TlsOptions, TlsOptions][] = [
      ["unknown CA", certificates.server, { ca: certificates.otherCa }],
      ["a certificate for another host", certificates.wrongHost, trusting],
      [
        "servername that the certificate does not name",
        certificates.server,
        { ...trusting, servername: "example.com" },
      ],
      ["an expired certificate", certificates.expired, trusting],
    ];
    for (const [what, served, client] of cases) {
      const server: Server = await ipc.serve({ port: 0, tls: served });
      const { port } = server.address as { port: number };
      const failure = await ipc.connect({ port, tls: client }).then(
        () => new Error(`${what}: connected`),
        (error: unknown) => error,
      );
      expect(failure, what).toMatchObject({ code: "ERR_IPC_TLS" });
      expect(String((failure as Error).message), what).toMatch(/TLS/);
      await server.close();
    }
  });

  test("rejectUnauthorized: false is the only way to an unverified server, and connection.tls says so", async () => {
    const server = await ipc.serve({ port: 0, tls: certificates.server });
    echo(server);
    const { port } = server.address as { port: number };
    const client = await ipc.connect({ port, tls: { rejectUnauthorized: false } });
    expect(client.tls?.authorized).toBe(false);
    expect(client.tls?.authorizationError).toEqual(expect.any(String));
    await client.emit("anyway");
    expect(await take(client.readable, 1)).toEqual([{ type: "anyway", data: {} }]);
    await client.close();
    await server.close();
  });
});
