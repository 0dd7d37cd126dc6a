// Where a Docker daemon is, seen from the machine running Pulumi.
import { isIP } from "node:net";

/** The socket path of a unix:// daemon URL. */
export function socketPathOf(daemonHost: string): string | undefined {
    return daemonHost.startsWith("unix://") ? daemonHost.slice("unix://".length) : undefined;
}

/** The name or address the daemon's machine is reached at from here (127.0.0.1 for a unix socket). */
export function machineAddressOf(daemonHost: string): string {
    if (daemonHost.startsWith("unix://")) return "127.0.0.1";
    return new URL(daemonHost).hostname.replace(/^\[(.*)\]$/, "$1");
}

export const LOOPBACK = /^(127\.|::1$|localhost$)/;

/** True when the daemon runs on this machine, so its loopback binds are reachable from here. */
export function isLocalDaemon(daemonHost: string): boolean {
    return LOOPBACK.test(machineAddressOf(daemonHost));
}

export function isWildcard(address: string): boolean {
    return address === "0.0.0.0" || address === "::";
}

/** The address to dial for a port bound to `bind` on the daemon's machine: a wildcard bind is reached at the machine's address. */
export function dialAddress(daemonHost: string, bind: string): string {
    if (!isWildcard(bind)) return bind;
    return isLocalDaemon(daemonHost) ? "127.0.0.1" : machineAddressOf(daemonHost);
}

/** tcp://host:port, with IPv6 addresses bracketed. */
export function tcpUrl(address: string, port: number): string {
    return `tcp://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}
