/**
 * The `<address>` argument of the command line, turned into the options of `serve()` and
 * `connect()`.
 *
 * @module
 */
import { LEGACY_SOCKET_ROOT } from "../unix/paths.ts";
import { usage } from "./errors.ts";

/** The transports an address can name; `id` is a Unix socket named node-ipc's way. */
export type Scheme = "id" | "unix" | "tcp" | "tls" | "udp4" | "udp6";

/** The datagram transports, which `serve()` and `connect()` take as `transport`. */
export type DatagramTransport = "udp4" | "udp6";

/** What an address contributes to the options of `serve()` and `connect()`. */
export interface AddressOptions {
  readonly id?: string;
  readonly path?: string;
  readonly socketRoot?: string;
  readonly appspace?: string;
  readonly host?: string;
  readonly port?: number;
  readonly transport?: DatagramTransport;
}

/** An address, parsed. */
export interface ParsedAddress {
  /** Which form it was written in. */
  readonly scheme: Scheme;
  /** The options it names; TLS files are added by the caller (`tls://` needs them). */
  readonly options: AddressOptions;
}

/** The settings that shape a bare id's socket path. */
export interface SocketPathFlags {
  /** `--socket-root`: the directory; a missing trailing `/` is added. */
  readonly socketRoot?: string | undefined;
  /** `--appspace`: the prefix before the id. */
  readonly appspace?: string | undefined;
  /** `--legacy`: node-ipc 9–12's root, `/tmp/`. */
  readonly legacy?: boolean | undefined;
}

/** The forms, for messages. */
export const ADDRESS_FORMS =
  "an id (world), unix:/path, tcp://host:port, tls://host:port, udp4://host:port or udp6://[::1]:port";

const NETWORK = /^(tcp|tls|udp4|udp6):\/\/(\[[^\]]*\]|[^:/[\]]*):(\d+)$/;

/**
 * Parses an address: a bare id (`world`, a Unix socket at node-ipc's default root, or `/tmp/`
 * with `legacy`), `unix:/path`, `tcp://host:port`, `tls://host:port`, `udp4://host:port` or
 * `udp6://[::1]:port` (an empty host, as in `tcp://:8000`, means the library's default host).
 * Throws `ERR_IPC_USAGE` for anything else, with a hint at the form that was probably meant.
 *
 * @param text the argument as typed
 * @param flags `--socket-root`, `--appspace` and `--legacy`, which only a bare id takes
 * @example
 * ```ts
 * parseAddress("world", { legacy: true }).options; // { id: "world", socketRoot: "/tmp/" }
 * parseAddress("udp6://[::1]:8000").options; // { host: "::1", port: 8000, transport: "udp6" }
 * ```
 */
export function parseAddress(text: string, flags: SocketPathFlags = {}): ParsedAddress {
  const parsed = parseForm(text);
  const { socketRoot, appspace, legacy } = flags;
  if (parsed.scheme !== "id") {
    if (socketRoot !== undefined || appspace !== undefined || legacy) {
      throw usage(`--socket-root, --appspace and --legacy apply to an id, not to ${text}`);
    }
    return parsed;
  }
  if (legacy && socketRoot !== undefined) throw usage("give --legacy or --socket-root, not both");
  const root = legacy ? LEGACY_SOCKET_ROOT : socketRoot;
  if (root === "") throw usage("--socket-root must name a directory");
  if (appspace === "") throw usage("--appspace must not be empty (node-ipc's is app.)");
  return {
    scheme: "id",
    options: {
      ...parsed.options,
      ...(root === undefined ? {} : { socketRoot: root.endsWith("/") ? root : `${root}/` }),
      ...(appspace === undefined ? {} : { appspace }),
    },
  };
}

function parseForm(text: string): ParsedAddress {
  if (text === "") throw usage(`the address is empty; give ${ADDRESS_FORMS}`);
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length);
    if (path === "") throw usage("unix: needs a socket path, as in unix:/tmp/app.world");
    return { scheme: "unix", options: { path } };
  }
  const network = NETWORK.exec(text);
  if (network !== null) {
    const scheme = network[1] as "tcp" | "tls" | DatagramTransport;
    const host = hostOf(network[2] as string, text);
    const port = Number(network[3]);
    if (port > 65535) throw usage(`the port of ${text} is out of range (0 to 65535)`);
    const options: AddressOptions = {
      ...(host === undefined ? {} : { host }),
      port,
      ...(scheme === "udp4" || scheme === "udp6" ? { transport: scheme } : {}),
    };
    return { scheme, options };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme !== null) {
    throw usage(`${scheme[1]}:// is not an address ipc-streams knows, or it lacks :port; give ${ADDRESS_FORMS}`);
  }
  if (/^[^/]*:\d+$/.test(text)) throw usage(`${text} looks like a TCP address: write tcp://${text}`);
  if (text.includes("/")) throw usage(`an id cannot contain "/": for a socket path write unix:${text}`);
  return { scheme: "id", options: { id: text } };
}

/** The host part, without the brackets around an IPv6 address; empty means the default host. */
function hostOf(host: string, text: string): string | undefined {
  if (host.startsWith("[")) {
    const inner = host.slice(1, -1);
    if (!inner.includes(":")) throw usage(`brackets in ${text} are for IPv6 addresses only`);
    return inner;
  }
  return host === "" ? undefined : host;
}
