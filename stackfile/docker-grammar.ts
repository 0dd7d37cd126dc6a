// Docker's own grammars and limits, so that a file that validates is one Docker accepts at `up`.
// Each *Problem function returns what is wrong with a value in the stack file's terms, or undefined.
import { isIP } from "node:net";
import { defaultOuterDaemon } from "../components/defaults";
import { MEMORY } from "../components/dockerd";
import { canonicalAddress, directoryKey, isLoopbackAddress, normalizePath } from "./host-safety";

/** Container and volume names (moby's RestrictedNamePattern). */
export const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** The local volume driver keeps each volume in a directory named after it: NAME_MAX bytes. */
export const MAX_VOLUME_NAME = 255;
/** Networks every daemon has already: creating one of these fails. */
export const PREDEFINED_NETWORKS = ["bridge", "host", "none"];
/** sun_path is 108 bytes on Linux, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;
/** Linux ids are 32-bit; 2^32-1 is (uid_t)-1, "no id". */
export const MAX_ID = 2 ** 32 - 2;
/** What the docker CLI dials for a tcp:// DOCKER_HOST without a port (opts.ParseTCPAddr, defaultTCPHost). */
const DOCKER_CLI_DEFAULT_TCP_PORT = 2375;

// distribution/reference's grammar, piece by piece (reference/regexp.go).
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_NAME = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST_ALGORITHM = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*$/;
/** go-digest's registered algorithms and their exact lowercase-hex lengths. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const MAX_REFERENCE_NAME = 255;
const MAX_TAG = 128;

interface ImageReference { domain?: string; path: string; tag?: string; digest?: string }

function splitReference(ref: string): ImageReference {
    const at = ref.indexOf("@");
    const named = at < 0 ? ref : ref.slice(0, at);
    const digest = at < 0 ? undefined : ref.slice(at + 1);
    const colon = named.lastIndexOf(":");
    const hasTag = colon > named.lastIndexOf("/");
    const name = hasTag ? named.slice(0, colon) : named;
    const tag = hasTag ? named.slice(colon + 1) : undefined;
    // The first component is a registry when it looks like one (distribution's splitDockerDomain).
    const slash = name.indexOf("/");
    const first = slash < 0 ? "" : name.slice(0, slash);
    const isDomain = slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase());
    return isDomain ? { domain: first, path: name.slice(slash + 1), tag, digest } : { path: name, tag, digest };
}

/** What Docker refuses in an image reference (distribution/reference and go-digest). */
export function imageReferenceProblem(ref: string): string | undefined {
    const example = "expected an image reference such as busybox:1.36 or registry:5000/team/app@sha256:<64 hex digits>";
    if (ref.length > 1024) return `${example}; this one is ${ref.length} characters long`;
    if (ref.length === 0) return example;
    const { domain, path, tag, digest } = splitReference(ref);
    if (/^[a-f0-9]{64}$/.test(ref)) return "a 64-digit hexadecimal string is an image id, not a reference Docker accepts here";
    if (domain !== undefined) {
        const portAt = domain.startsWith("[") ? domain.indexOf("]:") + 1 : domain.lastIndexOf(":");
        const host = portAt > 0 ? domain.slice(0, portAt) : domain;
        const port = portAt > 0 ? domain.slice(portAt + 1) : undefined;
        if (!(DOMAIN_NAME.test(host) || IPV6_HOST.test(host)) || (port !== undefined && !/^[0-9]+$/.test(port))) {
            return `${example}; "${domain}" is not a registry host[:port]`;
        }
    }
    if (path !== path.toLowerCase() && path.split("/").every((c) => PATH_COMPONENT.test(c.toLowerCase()))) {
        return "the repository name must be lowercase (Docker refuses uppercase letters after the registry)";
    }
    if (!path.split("/").every((c) => PATH_COMPONENT.test(c))) {
        return `${example}; each part of the repository name is lowercase letters and digits, separated by '.', '_', '__' or '-'`;
    }
    const nameLength = (domain === undefined ? 0 : domain.length + 1) + path.length;
    if (nameLength > MAX_REFERENCE_NAME) return `the repository name is ${nameLength} characters long: Docker allows ${MAX_REFERENCE_NAME}`;
    if (tag !== undefined && tag.length > MAX_TAG) return `the tag is ${tag.length} characters long: Docker allows ${MAX_TAG}`;
    if (tag !== undefined && !TAG.test(tag)) return "an image tag is letters, digits, '_', '.' and '-', and does not start with '.' or '-'";
    if (digest !== undefined) return digestProblem(digest);
    return undefined;
}

function digestProblem(digest: string): string | undefined {
    const colon = digest.indexOf(":");
    const algorithm = colon < 0 ? digest : digest.slice(0, colon);
    const hex = colon < 0 ? "" : digest.slice(colon + 1);
    if (colon < 0 || !DIGEST_ALGORITHM.test(algorithm)) return "a digest is written algorithm:hex, such as sha256:<64 hex digits>";
    const length = DIGEST_HEX_LENGTH[algorithm];
    if (!Object.hasOwn(DIGEST_HEX_LENGTH, algorithm)) {
        return `unsupported digest algorithm "${algorithm}": Docker knows ${Object.keys(DIGEST_HEX_LENGTH).join(", ")}`;
    }
    if (hex.length !== length || !/^[a-f0-9]*$/.test(hex)) {
        return `a ${algorithm} digest is exactly ${length} lowercase hexadecimal digits; this one has ${hex.length}` +
            (/[A-F]/.test(hex) ? " and uppercase letters" : /[^a-fA-F0-9]/.test(hex) ? " and characters that are not hex digits" : "");
    }
    return undefined;
}

/** The reference Docker resolves `ref` to: docker.io/library/busybox:latest for busybox. */
export function normalizedImageReference(ref: string): string {
    const { domain, path, tag, digest } = splitReference(ref);
    const registry = domain === undefined || domain === "index.docker.io" ? "docker.io" : domain;
    const repository = registry === "docker.io" && !path.includes("/") ? `library/${path}` : path;
    const suffix = `${tag !== undefined ? `:${tag}` : digest === undefined ? ":latest" : ""}${digest !== undefined ? `@${digest}` : ""}`;
    return `${registry}/${repository}${suffix}`;
}

/** Numeric ids and user/group names as Docker's `--user` takes them. */
export function userProblem(user: string): string | undefined {
    const parts = user.split(":");
    const expected = "expected a user such as \"1000\", \"1000:1000\" or \"app:app\"";
    if (parts.length > 2 || parts.some((p) => p === "")) return expected;
    for (const part of parts) {
        if (/^[0-9]+$/.test(part)) {
            if (Number(part) > MAX_ID) return `user and group ids go from 0 to ${MAX_ID}; ${part} is out of range`;
        } else if (!/^[a-zA-Z0-9_.][a-zA-Z0-9_.-]{0,31}$/.test(part)) {
            return `${expected}: a name is up to 32 letters, digits, '_', '.' or '-', not starting with '-'`;
        }
    }
    return undefined;
}

/** The path the kernel has to fit in sun_path. */
export function socketPathProblem(socketPath: string, what: string): string | undefined {
    const bytes = Buffer.byteLength(socketPath);
    return bytes > MAX_SOCKET_PATH_BYTES
        ? `${what} ${socketPath} is ${bytes} bytes long: a unix socket path has at most ${MAX_SOCKET_PATH_BYTES} bytes (the kernel's sun_path)`
        : undefined;
}

/** Mount targets inside a container, as Docker checks them. */
export function mountTargetProblem(target: string): string | undefined {
    if (normalizePath(target) === "/") return "a volume cannot be mounted at / (Docker refuses it)";
    return undefined;
}

/**
 * A daemon URL, parsed: `key` is the same for every spelling of one daemon, `machine` for every
 * daemon on one machine (as far as the URL tells: this machine for a unix socket or a loopback address).
 */
export interface DaemonUrl { scheme: "unix" | "tcp" | "ssh"; key: string; machine: string; socketPath?: string }

/** The machine key of the machine running Pulumi. */
export const THIS_MACHINE = "this machine";

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;
const SSH_USER = /^[a-zA-Z0-9_.][a-zA-Z0-9_.-]{0,31}$/;

/** A stack file's `daemons.<name>.host`: unix:///path, tcp://host:port or ssh://[user@]host[:port]. */
export function parseDaemonUrl(url: string): DaemonUrl | { problem: string } {
    const expected = "expected a daemon URL: unix:///absolute/path, tcp://host:port or ssh://[user@]host[:port]";
    if (url.length > 2048) return { problem: `${expected}; this one is ${url.length} characters long` };
    if (url.startsWith("unix://")) {
        const socketPath = url.slice("unix://".length);
        if (!socketPath.startsWith("/") || socketPath.split("/").includes("..")) {
            return { problem: `${expected}; the socket path must be absolute, without '..'` };
        }
        const tooLong = socketPathProblem(socketPath, "the socket path");
        if (tooLong) return { problem: tooLong };
        return { scheme: "unix", key: `unix://${directoryKey(socketPath)}`, machine: THIS_MACHINE, socketPath };
    }
    const match = /^(tcp|ssh):\/\/(?:([^@/]*)@)?(\[[^\]/]*\]|[^:/[\]]*)(?::([^/]*))?(\/?)$/.exec(url);
    if (!match) return { problem: expected };
    const [, scheme, user, host, port] = match;
    if (user !== undefined && (scheme === "tcp" || !SSH_USER.test(user))) {
        return { problem: scheme === "tcp" ? `${expected}; a tcp:// URL has no user` : `${expected}; "${user}" is not a user name` };
    }
    const address = canonicalHost(host);
    if (typeof address !== "string") return { problem: `${expected}; ${address.problem}` };
    if (port === undefined && scheme === "tcp") return { problem: `${expected}; a tcp:// URL needs a port (2376 is Docker's TLS port)` };
    const number = port === undefined ? 22 : Number(port);
    if (port !== undefined && (!/^[0-9]{1,5}$/.test(port) || number < 1 || number > 65535)) {
        return { problem: `${expected}; the port must be a number from 1 to 65535` };
    }
    const machine = isLoopbackAddress(address.replace(/^\[(.*)\]$/, "$1")) ? THIS_MACHINE : address;
    return { scheme: scheme as "tcp" | "ssh", key: `${scheme}://${user ? `${user}@` : ""}${address}:${number}`, machine };
}

/** A host name, an IPv4 address or a bracketed IPv6 address; its canonical spelling. */
function canonicalHost(host: string): string | { problem: string } {
    if (host.startsWith("[")) {
        const inner = host.slice(1, -1);
        if (isIP(inner) !== 6 || inner.includes("%")) return { problem: `"${host}" is not an IPv6 address (zone ids are not accepted)` };
        return `[${canonicalAddress(inner)}]`;
    }
    if (isIP(host) === 4) return canonicalAddress(host);
    if (/^[0-9.]+$/.test(host) || !HOSTNAME.test(host)) return { problem: `"${host.slice(0, 60)}" is not a host name or an IP address` };
    const name = host.toLowerCase().replace(/\.$/, "");
    // The docker CLI and the provider dial localhost at the loopback address: one daemon either way.
    return name === "localhost" ? "127.0.0.1" : name;
}

/**
 * The daemon the docker CLI talks to for `DOCKER_HOST` (docker/cli opts.ParseHost): a bare host:port
 * means tcp://, a missing tcp port is 2375 and a missing host localhost, `unix://` alone the default
 * socket. Returns the explicit URL this program uses, or why it cannot.
 */
export function daemonUrlFromDockerHost(value: string): { url: string } | { problem: string } {
    const trimmed = value.trim();
    const refuse = (why: string) => ({ problem: `DOCKER_HOST=${JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)} ${why}` });
    if (trimmed === "") return { url: defaultOuterDaemon({}).host };
    const sep = trimmed.indexOf("://");
    const scheme = sep < 0 ? "tcp" : trimmed.slice(0, sep);
    const rest = sep < 0 ? trimmed : trimmed.slice(sep + 3);
    let url: string;
    if (scheme === "unix") {
        url = rest === "" ? defaultOuterDaemon({}).host : `unix://${rest}`;
    } else if (scheme === "tcp") {
        const hostPort = /^(\[[^\]]*\]|[^:/]*)(?::([^/]*))?(\/?)$/.exec(rest);
        if (!hostPort) return refuse("is not an address the docker CLI accepts (tcp://host:port, without a path)");
        const [, host, port] = hostPort;
        url = `tcp://${host === "" ? "localhost" : host}:${port === undefined || port === "" ? DOCKER_CLI_DEFAULT_TCP_PORT : port}`;
    } else if (scheme === "ssh") {
        url = trimmed;
    } else {
        return refuse(`uses ${scheme}://, which this program cannot drive: use unix://, tcp:// or ssh://, or declare daemons.local in the stack file`);
    }
    const parsed = parseDaemonUrl(url);
    return "problem" in parsed ? refuse(`cannot be used: ${parsed.problem}`) : { url };
}

/** An IP prefix as Go's netip.ParsePrefix reads it (dockerd parses `default-address-pools` bases so). */
export function parsePrefix(text: string): { address: string; bits: number; length: 32 | 128 } | undefined {
    const match = /^([^/]+)\/([0-9]{1,3})$/.exec(text);
    if (!match) return undefined;
    const [, address, bits] = match;
    const family = isIP(address);
    // netip refuses zone ids and IPv4 with leading zeros (isIP does too).
    if (family === 0 || address.includes("%")) return undefined;
    const length = family === 4 ? 32 : 128;
    return Number(bits) <= length && !/^0[0-9]/.test(bits) ? { address, bits: Number(bits), length } : undefined;
}

/** What dockerd refuses in an entry of `default-address-pools` (libnetwork's defaultipam, netip). */
export function addressPoolProblem(pool: { base: string; size: number }): { key: "base" | "size"; problem: string } | undefined {
    const prefix = parsePrefix(pool.base);
    if (!prefix) {
        return { key: "base", problem: `expected a CIDR such as 10.199.0.0/16: dockerd reads base as an IPv4 or IPv6 prefix (address/length, the length at most 32 or 128), got ${JSON.stringify(pool.base)}` };
    }
    // A size outside 1-128 is the schema's to report.
    if (!Number.isInteger(pool.size) || pool.size < 1 || pool.size > 128) return undefined;
    if (pool.size < prefix.bits || pool.size > prefix.length) {
        return {
            key: "size",
            problem: `dockerd splits ${pool.base} into networks of /size, so size must be from the base's prefix length (${prefix.bits}) ` +
                `to ${prefix.length}; ${pool.size} is ${pool.size < prefix.bits ? "smaller than the base's prefix (dockerd: \"has a smaller prefix than the target size of that pool\")" : `longer than an IPv${prefix.length === 32 ? 4 : 6} address`}`,
        };
    }
    return undefined;
}

/**
 * What dockerd refuses in a `registry-mirrors` URL (moby's registry.ValidateMirror): http or https,
 * no query or fragment, no user or password (which would also be a secret written in the file; never
 * quoted back). Docker accepts a path.
 */
export function mirrorUrlProblem(mirror: string): string | undefined {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(mirror)) return undefined;
    let url: URL;
    try {
        url = new URL(mirror);
    } catch {
        return "dockerd refuses this mirror: it is not a valid URL";
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return `dockerd refuses mirrors with the scheme ${url.protocol.slice(0, -1)}://: use http:// or https://`;
    if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(mirror)) {
        return "dockerd refuses a user name or password in a mirror URL (and a password here would be a secret written in the file): " +
            "give the mirror's credentials with registryAuth, the password as { env: NAME } or { secret: KEY }";
    }
    if (url.search || url.hash || /[?#]/.test(mirror)) return "dockerd refuses a query or fragment at the end of a mirror URL";
    return undefined;
}

/** True for a registry-mirrors entry written as a URL (anything else names a registry of the stack). */
export function isUrl(text: string): boolean {
    return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text);
}

/**
 * What dockerd refuses in an `insecure-registries` entry (moby's loadInsecureRegistries): a CIDR, or
 * a registry host[:port]; http:// and https:// are stripped, any other scheme is refused.
 */
export function insecureRegistryProblem(entry: string): string | undefined {
    const scheme = /^([^:/]*):\/\/(.*)$/.exec(entry);
    if (scheme && !/^https?$/i.test(scheme[1])) return `dockerd refuses an insecure registry with the scheme ${scheme[1]}:// ("should not contain '://'")`;
    const rest = scheme ? scheme[2] : entry;
    if (rest.startsWith("-") || rest.endsWith("-")) return "dockerd refuses a registry name that begins or ends with a hyphen";
    if (rest.includes("/") ? parsePrefix(rest) !== undefined : false) return undefined;
    const hostPort = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::([0-9]+))?$/.exec(rest);
    const host = hostPort?.[1];
    const port = hostPort?.[2];
    const hostOk = host !== undefined && (DOMAIN_NAME.test(host) || (IPV6_HOST.test(host) && isIP(host.slice(1, -1)) === 6));
    if (!hostOk) return `dockerd refuses this insecure registry: expected a registry host[:port] such as registry.internal:5000, or a CIDR such as 10.0.0.0/8`;
    if (port !== undefined && Number(port) > 65535) return `dockerd refuses the port ${port}: a port is at most 65535`;
    return undefined;
}

/** dockerd's smallest memory limit (moby's linuxMinMemory): "Minimum memory limit allowed is 6MB". */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/**
 * The fewest CPUs Docker can give a container: it sets the CFS quota to cpus x 100 ms a period, and
 * the kernel takes no quota under 1 ms (moby: "range of CPUs is from 0.01 to N.00").
 */
export const MIN_CPUS = 0.01;

/** What Docker refuses in `resources.cpus`: below 0.01, or finer than its nano-CPU unit (1e-9). */
export function cpusProblem(cpus: number): string | undefined {
    if (cpus < MIN_CPUS) {
        return `Docker gives a container at least ${MIN_CPUS} CPUs (a CFS quota of 1 ms per 100 ms period; "range of CPUs is from 0.01")`;
    }
    const nanos = cpus * 1e9;
    if (Math.abs(nanos - Math.round(nanos)) > 1e-3) return "Docker counts CPUs in billionths (NanoCPUs): this is too precise";
    return undefined;
}

/** What Docker refuses in `resources.memory` (written as docker run's --memory): a limit under 6 MB. */
export function memoryProblem(memory: string): string | undefined {
    const match = MEMORY.exec(memory);
    if (!match) return undefined;
    const bytes = Number(match[1]) * 1024 ** "bkmg".indexOf(match[2]?.toLowerCase() ?? "b");
    return bytes < MIN_MEMORY_BYTES
        ? `Docker refuses a memory limit under 6 MB ("Minimum memory limit allowed is 6MB"): this is ${bytes} bytes`
        : undefined;
}

/** A `dns` entry of daemon.json: dockerd reads each as an IP address (netip.ParseAddr). */
export function dnsServerProblem(server: string): string | undefined {
    const [address, zone] = server.split("%");
    return isIP(address) === 0 || (zone !== undefined && (isIP(address) !== 6 || zone === ""))
        ? "dockerd reads dns entries as IP addresses (\"IP address is not correctly formatted\")"
        : undefined;
}

/** A `dns-search` entry: moby's ValidateDNSSearch (a domain of letters, digits and '-', or "."). */
export function dnsSearchProblem(domain: string): string | undefined {
    const trimmed = domain.trim();
    if (trimmed === ".") return undefined;
    return /[a-zA-Z]/.test(trimmed) && DOMAIN_NAME.test(trimmed.replace(/\.$/, "")) && trimmed.length < 255
        ? undefined
        : "dockerd refuses this search domain (\"is not a valid domain\")";
}

/** A `labels` entry of daemon.json: moby's ValidateLabel (key=value, outside Docker's own namespaces). */
export function daemonLabelProblem(label: string): string | undefined {
    if (!label.includes("=")) return "dockerd takes labels as key=value (\"bad attribute format\")";
    return /^(com\.docker\.|io\.docker\.|org\.dockerproject\.)/i.test(label)
        ? "dockerd refuses labels in com.docker.*, io.docker.* and org.dockerproject.*, which are reserved for its own use"
        : undefined;
}
