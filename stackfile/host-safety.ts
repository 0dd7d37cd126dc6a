// What a stack file may ask of the machine that runs the outer daemon: no system directory
// shared into a container, addresses written plainly, one spelling per path and address.
import { isIP } from "node:net";
import * as posix from "node:path/posix";

/** Directories that hold the host's own files: neither they nor anything below them may be shared. */
const SYSTEM_TREES = [
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/sbin", "/sys", "/usr",
    "/var/lib/docker", "/var/lib/containerd", "/run/docker", "/run/containerd",
];
/** Directories whose subdirectories are fine but which may not be shared themselves. */
const SYSTEM_DIRECTORIES = [
    "/", "/home", "/media", "/mnt", "/opt", "/run", "/run/user", "/srv", "/tmp", "/var", "/var/lib", "/var/log", "/var/tmp",
];

/** `/a//b/./c/` -> `/a/b/c`; `..` is refused before paths get here. */
export function normalizePath(path: string): string {
    const normalized = posix.normalize(path);
    return normalized.length > 1 ? normalized.replace(/\/+$/, "") : normalized;
}

/** One key for every spelling of a host directory: /var/run is /run on current Linux systems. */
export function directoryKey(path: string): string {
    return normalizePath(path).replace(/^\/var\/run(?=\/|$)/, "/run");
}

/**
 * Why `dir` may not be shared with a container: a system directory, or the directory holding an outer
 * daemon's socket or one above it (sharing it would hand out that socket, or let a container replace it).
 */
export function systemDirectoryProblem(dir: string, daemonSockets: string[]): string | undefined {
    const key = directoryKey(dir);
    const tree = SYSTEM_TREES.find((t) => key === t || key.startsWith(`${t}/`));
    if (tree) return `${dir} is ${key === tree ? "" : "inside "}${tree}, which holds the host's own files: choose a directory of its own, such as /srv/dind/<name>`;
    if (SYSTEM_DIRECTORIES.includes(key)) return `${dir} is a system directory of the host: choose a subdirectory of its own, such as /srv/dind/<name>`;
    for (const socket of daemonSockets) {
        const socketDir = posix.dirname(directoryKey(socket));
        if (socketDir === key || socketDir.startsWith(`${key}/`)) {
            return `${dir} holds the outer daemon's socket ${socket}: choose a directory of its own, such as /srv/dind/<name>`;
        }
    }
    return undefined;
}

/** Why `ip` is not a plain IP address Docker publishes on as written (zone ids make it bind every interface). */
export function plainAddressProblem(ip: string): string | undefined {
    if (ip.includes("%")) return "expected a plain IP address without a zone id (%...): Docker would publish on every interface";
    return isIP(ip) === 0 ? "expected a plain IPv4 or IPv6 address such as 127.0.0.1 or ::1" : undefined;
}

/** The one spelling of an address: IPv6 compressed and lowercase (RFC 5952), IPv4-mapped IPv6 as IPv4. */
export function canonicalAddress(ip: string): string {
    if (isIP(ip) !== 6) return ip;
    const [head, tail = ""] = ip.toLowerCase().split("::");
    const groups = (part: string) => (part === "" ? [] : part.split(":").flatMap((g) => {
        if (!g.includes(".")) return [parseInt(g, 16)];
        const [a, b, c, d] = g.split(".").map(Number);
        return [(a << 8) | b, (c << 8) | d];
    }));
    const left = groups(head);
    const right = ip.includes("::") ? groups(tail) : [];
    const words = [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
    if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
        return `${words[6] >> 8}.${words[6] & 255}.${words[7] >> 8}.${words[7] & 255}`;
    }
    // Compress the longest run of two or more zero words, the first one on a tie.
    let best = { start: -1, length: 1 };
    for (let i = 0; i < 8;) {
        let j = i;
        while (j < 8 && words[j] === 0) j++;
        if (j - i > best.length) best = { start: i, length: j - i };
        i = j === i ? i + 1 : j;
    }
    const hex = words.map((w) => w.toString(16));
    if (best.start < 0) return hex.join(":");
    return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}

/** Loopback addresses, in canonical form: 127.0.0.0/8 and ::1. */
export function isLoopbackAddress(ip: string): boolean {
    const canonical = canonicalAddress(ip);
    return /^127\./.test(canonical) || canonical === "::1";
}
