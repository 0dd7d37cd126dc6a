// What a stack file may ask of the machine that runs the outer daemon: no system directory
// shared into a container, addresses written plainly, one spelling per path and address.
import { isIP } from "node:net";
import * as posix from "node:path/posix";

/**
 * Directories that hold the host's own files or its services' sockets (Docker's, containerd's, the
 * kubelet's, systemd's, D-Bus's): neither they nor anything below them may be shared.
 */
const SYSTEM_TREES = [
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/sbin", "/sys", "/usr",
    "/var/lib/docker", "/var/lib/containerd", "/var/lib/kubelet", "/run/docker", "/run/containerd", "/run/dbus", "/run/systemd",
];
/**
 * Below /run live the sockets of the host's services: a directory there may hold a socket of this stack
 * (a DinD host's, a policy proxy's), but a restricted client may not reach anything below it.
 */
export const SOCKET_TREE = "/run";
/** Directories whose subdirectories are fine but which may not be shared themselves. */
const SYSTEM_DIRECTORIES = [
    "/", "/home", "/media", "/mnt", "/opt", "/run", "/run/user", "/srv", "/tmp", "/var", "/var/lib", "/var/log", "/var/tmp",
];

/** `/a//b/./c/` -> `/a/b/c`; `..` is refused before paths get here. */
export function normalizePath(path: string): string {
    const normalized = posix.normalize(path);
    return normalized.length > 1 ? normalized.replace(/\/+$/, "") : normalized;
}

/** The symbolic links of current Linux systems that make two spellings one directory. */
const ALIASES: [RegExp, string][] = [[/^\/var\/run(?=\/|$)/, "/run"], [/^\/var\/lock(?=\/|$)/, "/run/lock"]];

/** One key for every spelling of a host path: /var/run is /run and /var/lock is /run/lock on current Linux systems. */
export function directoryKey(path: string): string {
    return ALIASES.reduce((key, [alias, target]) => key.replace(alias, target), normalizePath(path));
}

/** How `path` relates to `other`, both compared by directoryKey: the same, inside it, containing it, or apart. */
export function relation(path: string, other: string): "same" | "inside" | "contains" | undefined {
    const [a, b] = [directoryKey(path), directoryKey(other)];
    if (a === b) return "same";
    if (isBelow(a, b)) return "inside";
    if (isBelow(b, a)) return "contains";
    return undefined;
}

function isBelow(key: string, ancestor: string): boolean {
    return ancestor === "/" ? key !== "/" : key.startsWith(`${ancestor}/`);
}

/**
 * Host paths claimed on one machine, each with its owner. `related` finds the claims a path is,
 * is inside of or contains, in time proportional to the path's depth (a fleet of thousands of
 * hosts each claiming a directory stays linear).
 */
export class HostPathIndex<T> {
    private readonly at = new Map<string, T[]>();
    /** Every proper ancestor of a claimed path -> the claims below it. */
    private readonly below = new Map<string, T[]>();

    add(path: string, owner: T) {
        const key = directoryKey(path);
        push(this.at, key, owner);
        for (const ancestor of ancestorsOf(key)) push(this.below, ancestor, owner);
    }

    /** The claims `path` overlaps, with how: "inside" means `path` is inside the claim. */
    related(path: string): { owner: T; relation: "same" | "inside" | "contains" }[] {
        const key = directoryKey(path);
        return [
            ...(this.at.get(key) ?? []).map((owner) => ({ owner, relation: "same" as const })),
            ...ancestorsOf(key).flatMap((ancestor) => (this.at.get(ancestor) ?? []).map((owner) => ({ owner, relation: "inside" as const }))),
            ...(this.below.get(key) ?? []).map((owner) => ({ owner, relation: "contains" as const })),
        ];
    }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
}

/** /a/b/c -> /a/b, /a, /. */
function ancestorsOf(key: string): string[] {
    const ancestors: string[] = [];
    for (let i = key.lastIndexOf("/"); i > 0; i = key.lastIndexOf("/", i - 1)) ancestors.push(key.slice(0, i));
    if (key !== "/") ancestors.push("/");
    return ancestors;
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
        const related = relation(dir, socket);
        if (related === "contains" || related === "same" || related === "inside") {
            return `${dir} ${related === "contains" ? "holds" : related === "same" ? "is" : "is inside"} the outer daemon's socket ${socket}: ` +
                "choose a directory of its own, such as /srv/dind/<name>";
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
