/** The namespace prefix of a local Windows named pipe: `\\.\pipe\`. */
const PIPE_PREFIX = "\\\\.\\pipe\\";

/**
 * The Windows named pipe that node-ipc uses for a socket path, so that a peer on Windows listens on
 * or connects to the same pipe as node-ipc given the same path.
 *
 * - A path starting with `\\.\pipe\` (case-sensitive) is returned unchanged, as node-ipc's client does.
 * - Any other path loses one leading `/`, has every other `/` replaced by `-`, and gets `\\.\pipe\` in front.
 * - Backslashes are never touched, so `\\?\pipe\x` and `C:\dir\x` are prefixed like any other path.
 *
 * node-ipc's server prefixes even a path that is already a pipe name, so only a plain socket path names
 * the same pipe on both of its sides.
 *
 * @example
 * ```ts
 * windowsPipeName("/tmp/app.world"); // the pipe \\.\pipe\tmp-app.world
 * windowsPipeName("\\\\.\\pipe\\my-pipe"); // the pipe \\.\pipe\my-pipe, unchanged
 * ```
 */
export function windowsPipeName(path: string): string {
  if (path.startsWith(PIPE_PREFIX)) return path;
  const relative = path.startsWith("/") ? path.slice(1) : path;
  return PIPE_PREFIX + relative.replaceAll("/", "-");
}
