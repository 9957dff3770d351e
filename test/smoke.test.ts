import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ipc, runtimeName } from "./runtime.ts";

const dir = mkdtempSync(join(tmpdir(), "ipcs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`smoke on ${runtimeName}`, () => {
  test("echo", async () => {
    const server = await ipc.serve({ id: "echo", socketRoot: `${dir}/` });
    (async () => {
      for await (const connection of server.connections) {
        // server.close() below may interrupt the pipe; that rejection is expected here.
        connection.readable.pipeTo(connection.writable).catch(() => {});
      }
    })();
    const client = await ipc.connect({ id: "echo", socketRoot: `${dir}/` });
    await client.emit("hello", { a: 1 });
    const reader = client.readable.getReader();
    const { value } = await reader.read();
    expect(value).toEqual({ type: "hello", data: { a: 1 } });
    reader.releaseLock();
    await client.close();
    await server.close();
  });
});
