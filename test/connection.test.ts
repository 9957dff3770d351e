/**
 * `Connection` over a scripted channel: how it reacts to what an adapter reports, independent of
 * any socket. Runtime-free; runs unchanged on Node, Bun and Deno.
 */
import { describe, expect, test } from "vitest";
import { Connection, IpcError } from "../src/index.ts";
import type { ByteChannel } from "../src/runtime.ts";
import { runtimeName } from "./runtime.ts";

/** A channel whose socket is already gone for writing: every write is refused as closed. */
function closedForWriting(): { channel: ByteChannel; close: () => void } {
  let close!: () => void;
  const closed = new Promise<void>((resolve) => {
    close = resolve;
  });
  const channel: ByteChannel = {
    read: () => closed.then(() => null),
    write: () => {
      throw new IpcError("ERR_IPC_CLOSED", "the socket is closed for writing");
    },
    end: () => Promise.resolve(),
    destroy: close,
    closed,
  };
  return { channel, close };
}

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
}

describe(`Connection on ${runtimeName}`, () => {
  test("a write refused because the socket closed ends writing, not the connection: closed fulfils", async () => {
    const { channel, close } = closedForWriting();
    const connection = new Connection(channel, "/scripted");
    expect(await codeOf(connection.emit("late", 1))).toBe("ERR_IPC_CLOSED");
    // The writable is errored with the same code, and later sends are refused at once.
    expect(await codeOf(connection.writable.getWriter().write({ type: "later" }))).toBe("ERR_IPC_CLOSED");
    expect(await codeOf(connection.emit("later", 2))).toBe("ERR_IPC_CLOSED");
    close();
    // A peer that went away is a clean end: no failure recorded.
    expect(await codeOf(connection.closed)).toBe(undefined);
  });

  test("a write that breaks the socket tears the connection down: closed rejects with that error", async () => {
    const { channel, close } = closedForWriting();
    const broken: ByteChannel = {
      ...channel,
      write: () => {
        throw new IpcError("ERR_IPC_CONNECTION_RESET", "socket error: ECONNRESET");
      },
    };
    const connection = new Connection(broken, "/scripted");
    expect(await codeOf(connection.emit("late", 1))).toBe("ERR_IPC_CONNECTION_RESET");
    close();
    expect(await codeOf(connection.closed)).toBe("ERR_IPC_CONNECTION_RESET");
  });
});
