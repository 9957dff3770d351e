/**
 * Records node-ipc interoperation scenarios for the README table: every scenario is registered
 * when declared, so one that never ran counts as failed. After a complete run of the file,
 * `test-results/<report>-<lane>.json` holds every outcome; scripts/interop-table.mjs merges the
 * files of one lane (a run filtered with -t records nothing).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, test } from "vitest";
import { runtimeName } from "../runtime.ts";
import type { Line } from "./harness.ts";

/** `node20`, `node22`, `bun` or `deno`: the two Node lanes are reported apart. */
export const runtimeLabel = runtimeName === "node" ? `node${process.versions.node.split(".")[0]}` : runtimeName;

export const TO_US = "node-ipc client → our server";
export const FROM_US = "our client → node-ipc server";
export type Direction = typeof TO_US | typeof FROM_US;
/** The table's transport dimension. */
export type Transport = "unix" | "tcp" | "tls" | "udp4" | "udp6";

interface Outcome {
  line: Line;
  transport: Transport;
  direction: Direction;
  scenario: string;
  /** The scenario checks something the node-ipc line cannot do (the table lists these apart). */
  limitation?: true;
  ran: boolean;
  passed: boolean;
  error?: string;
}

export interface ScenarioOptions {
  timeout?: number;
  limitation?: boolean;
}

/** The recorder of one test file. */
export interface Recorder {
  /** Declares a scenario: a vitest test whose outcome goes into the table. */
  scenario(
    line: Line,
    transport: Transport,
    direction: Direction,
    name: string,
    body: () => Promise<void>,
    options?: ScenarioOptions,
  ): void;
  /** Notes the Node version a line's peer runs on. */
  peerNode(line: Line, version: string): void;
}

/**
 * A recorder writing `test-results/<report>-<lane>.json` after the file's tests, unless some
 * scenario did not run. `cleanup` runs first, whatever happened.
 */
export function recorder(report: string, cleanup: () => Promise<void> = async () => {}): Recorder {
  const outcomes: Outcome[] = [];
  const peerNodes: Partial<Record<Line, string>> = {};
  afterAll(async () => {
    await cleanup();
    if (outcomes.some((outcome) => !outcome.ran)) return;
    const resultsDir = fileURLToPath(new URL("../../test-results/", import.meta.url));
    mkdirSync(resultsDir, { recursive: true });
    const record = {
      runtime: runtimeLabel,
      runtimeVersion: runtimeVersion(),
      peerNode: peerNodes,
      finished: new Date().toISOString(),
      scenarios: outcomes,
    };
    writeFileSync(join(resultsDir, `${report}-${runtimeLabel}.json`), `${JSON.stringify(record, null, 1)}\n`);
  });
  return {
    scenario(line, transport, direction, name, body, { timeout, limitation = false } = {}) {
      const outcome: Outcome = { line, transport, direction, scenario: name, ran: false, passed: false };
      if (limitation) outcome.limitation = true;
      outcomes.push(outcome);
      test(
        name,
        async () => {
          outcome.ran = true;
          try {
            await body();
            outcome.passed = true;
          } catch (error) {
            outcome.error = String(error instanceof Error ? error.message : error).slice(0, 500);
            throw error;
          }
        },
        timeout,
      );
    },
    peerNode(line, version) {
      peerNodes[line] = version;
    },
  };
}

function runtimeVersion(): string {
  const globals = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (globals.Bun) return globals.Bun.version;
  if (globals.Deno) return globals.Deno.version.deno;
  return process.version;
}
