/**
 * node-ipc's Windows named-pipe mapping: the pipe a socket path turns into, pinned case by case.
 */
import { describe, expect, test } from "vitest";
import { windowsPipeName } from "../src/unix/windows-pipe.ts";

// Expected values follow node-ipc 9.2.1 dao/client.js (same rule in 10.1.0, 12.0.0, 13.0.0 and
// @achrinza/node-ipc 9.2.9 / 10.1.11): unless the path starts with `\\.\pipe\`, drop one leading
// `/`, replace every `/` with `-` and prefix `\\.\pipe\`. Strings use JS escapes: "\\\\" is `\\`.
const CASES: readonly (readonly [name: string, path: string, pipe: string])[] = [
  ["node-ipc 9–12 default socketRoot + appspace + id", "/tmp/app.world", "\\\\.\\pipe\\tmp-app.world"],
  ["node-ipc 13 Windows default socketRoot", "/node-ipc-alice/app.world", "\\\\.\\pipe\\node-ipc-alice-app.world"],
  ["nested directories", "/var/run/my/app.world", "\\\\.\\pipe\\var-run-my-app.world"],
  ["no leading slash", "tmp/app.world", "\\\\.\\pipe\\tmp-app.world"],
  ["bare name", "app.world", "\\\\.\\pipe\\app.world"],
  ["only one leading slash is dropped", "//tmp/app.world", "\\\\.\\pipe\\-tmp-app.world"],
  ["trailing slash", "/tmp/", "\\\\.\\pipe\\tmp-"],
  ["repeated inner slashes", "/tmp//app.world", "\\\\.\\pipe\\tmp--app.world"],
  ["existing dashes are kept", "/tmp/my-app.world", "\\\\.\\pipe\\tmp-my-app.world"],
  ["existing pipe name is unchanged", "\\\\.\\pipe\\my-pipe", "\\\\.\\pipe\\my-pipe"],
  ["existing pipe name keeps its slashes", "\\\\.\\pipe\\a/b", "\\\\.\\pipe\\a/b"],
  ["`\\\\?\\pipe\\` is not recognised", "\\\\?\\pipe\\my-pipe", "\\\\.\\pipe\\\\\\?\\pipe\\my-pipe"],
  ["the pipe prefix match is case-sensitive", "\\\\.\\PIPE\\my-pipe", "\\\\.\\pipe\\\\\\.\\PIPE\\my-pipe"],
  ["backslashes are untouched", "C:\\tmp\\app.world", "\\\\.\\pipe\\C:\\tmp\\app.world"],
  ["mixed separators", "C:\\Users/alice/app.world", "\\\\.\\pipe\\C:\\Users-alice-app.world"],
  ["empty path", "", "\\\\.\\pipe\\"],
];

describe("windowsPipeName", () => {
  test.each(CASES)("%s: %s", (_name, path, pipe) => {
    expect(windowsPipeName(path)).toBe(pipe);
  });

  test("the prefix is the nine characters \\\\.\\pipe\\", () => {
    expect(windowsPipeName("/tmp/app.world")).toBe(String.raw`\\.\pipe\tmp-app.world`);
  });

  test("mapping a mapped name again changes nothing", () => {
    for (const [, path] of CASES) {
      const pipe = windowsPipeName(path);
      expect(windowsPipeName(pipe)).toBe(pipe);
    }
  });
});
