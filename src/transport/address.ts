import { describeEndpoint } from "../net/options.ts";
import type { Address, UdpAddress } from "./contract.ts";

/** The socket path of a Unix address; `undefined` for the network transports. */
export function pathOf(address: Address | UdpAddress): string | undefined {
  return address.transport === "unix" ? address.path : undefined;
}

/** An address as people read it: the socket path, or `host:port` (`[::1]:8000`). */
export function describeAddress(address: Address | UdpAddress): string {
  return address.transport === "unix" ? address.path : describeEndpoint(address.host, address.port);
}
