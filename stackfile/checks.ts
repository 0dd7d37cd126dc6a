// Rules that span several keys: references resolve, names and ports are unique
// per daemon, TLS is on unless explicitly waived, workloads have an endpoint.
import { isIP } from "node:net";
import { defaultProxyContainerName, defaultProxySocketDir, defaultStorageVolume } from "../components/defaults";
import { isLocalDaemon, LOOPBACK, socketPathOf } from "../components/endpoints";
import { DaemonSpec, HostSpec, StackFile } from "./schema";
import { KeyPath } from "./yaml";

export interface CheckFailure {
    path: KeyPath;
    /** Point at the key itself rather than its value (for "this entry" problems). */
    at?: "key" | "value";
    message: string;
}

export function crossChecks(stack: StackFile, declaredDaemons = Object.keys(stack.daemons)): CheckFailure[] {
    const failures: CheckFailure[] = [];
    const fail = (path: KeyPath, message: string, at: "key" | "value" = "value") => failures.push({ path, message, at });

    for (const [name, daemon] of Object.entries(stack.daemons)) checkDaemon(daemon, ["daemons", name], fail);

    const claims = new ClaimRegistry(fail);
    const checkDaemonRef = (ref: string, path: KeyPath): DaemonSpec | undefined => {
        if (!declaredDaemons.includes(ref)) {
            fail([...path, "daemon"], `unknown daemon "${ref}": expected one of ${declaredDaemons.join(", ")} (declare it under daemons)`);
        }
        return stack.daemons[ref];
    };

    for (const [name, host] of Object.entries(stack.hosts)) {
        const path = ["hosts", name];
        const daemon = checkDaemonRef(host.daemon, path);
        claims.claim(`container name "${name}"`, host.daemon, path, "key");
        claims.claim(`volume "${host.storage.volume ?? defaultStorageVolume(name)}"`, host.daemon, [...path, "storage", "volume"],
            host.storage.volume ? "value" : "key");
        if (host.tcp) claims.claim(`host port ${host.tcp.port}`, host.daemon, [...path, "tcp", "port"]);
        if (host.unix) claims.claim(`host directory ${host.unix.hostDir}`, host.daemon, [...path, "unix", "hostDir"]);
        checkHost(host, path, daemon, fail);
    }
    for (const [name, client] of Object.entries(stack.clients)) {
        const path = ["clients", name];
        const daemon = checkDaemonRef(client.daemon, path);
        claims.claim(`container name "${name}"`, client.daemon, path, "key");
        if (client.access !== "full") {
            const access = [...path, "access"];
            claims.claim(`container name "${defaultProxyContainerName(name)}"`, client.daemon, access, "key");
            claims.claim(`host directory ${client.access.socketDir ?? defaultProxySocketDir(name)}`, client.daemon,
                client.access.socketDir ? [...access, "socketDir"] : access, client.access.socketDir ? "value" : "key");
            if (name.includes(".")) {
                fail(path, "a client whose access is restricted needs a name without '.': the names it chooses get its name " +
                    "and a '.' as a prefix, which must never be another client's prefix (or set access: full)", "key");
            }
        }
        if (daemon && !client.socket && !socketPathOf(daemon.host)) {
            fail([...path, "daemon"], `daemon "${client.daemon}" is ${daemon.host}, so its socket path is not known here: set socket`);
        }
    }
    return failures;
}

type Fail = (path: KeyPath, message: string, at?: "key" | "value") => void;

/** Remembers who took a name or port on a daemon and reports the second taker. */
class ClaimRegistry {
    private readonly owners = new Map<string, KeyPath>();
    constructor(private readonly fail: Fail) {}

    claim(what: string, scope: string, path: KeyPath, at: "key" | "value" = "value") {
        const key = `${scope}\u0000${what}`;
        const owner = this.owners.get(key);
        if (owner) this.fail(path, `${what} on daemon "${scope}" is already taken by ${formatPath(owner)}`, at);
        else this.owners.set(key, path);
    }
}

function checkDaemon(daemon: DaemonSpec, path: KeyPath, fail: Fail) {
    const scheme = daemon.host.slice(0, daemon.host.indexOf(":"));
    if (daemon.certPath && scheme !== "tcp") fail([...path, "certPath"], "certPath applies to tcp:// daemons only");
    if (daemon.sshOpts && scheme !== "ssh") fail([...path, "sshOpts"], "sshOpts applies to ssh:// daemons only");
    if (daemon.insecure && (scheme !== "tcp" || daemon.certPath)) {
        fail([...path, "insecure"], "insecure: true applies to a tcp:// daemon without certPath only");
    }
    if (scheme === "tcp" && !daemon.certPath && !daemon.insecure) {
        fail([...path, "host"], "a tcp:// daemon needs certPath (a directory with ca.pem, cert.pem and key.pem); " +
            "set insecure: true instead only to accept an unauthenticated, unencrypted connection");
    }
}

function checkHost(host: HostSpec, path: KeyPath, daemon: DaemonSpec | undefined, fail: Fail) {
    const tcp = host.tcp;
    if (tcp && !tcp.tls && !tcp.insecure) {
        fail([...path, "tcp", "tls"], "tls: false would serve the Docker API unencrypted and unauthenticated: " +
            "set insecure: true beside it to accept that");
    }
    if (tcp?.insecure && tcp.tls) fail([...path, "tcp", "insecure"], "insecure: true goes with tls: false only");
    for (const [index, san] of (tcp?.sans ?? []).entries()) {
        if (isIP(san) === 0 && !/^[a-zA-Z0-9*]([a-zA-Z0-9-.]*[a-zA-Z0-9])?$/.test(san)) {
            fail([...path, "tcp", "sans", index], "expected a DNS name or an IP address");
        }
    }

    const needsInnerProvider = host.preload.length > 0 || host.workloads !== undefined;
    if (needsInnerProvider && !tcp && !host.unix) {
        fail([...path, host.workloads ? "workloads" : "preload"], "preload and workloads need an endpoint to reach the inner daemon: add tcp or unix to this host", "key");
    }
    if (daemon && needsInnerProvider) checkInnerReachable(host, path, daemon, fail);
    if (host.workloads) checkWorkloads(host, path, fail);
}

/** The inner daemon is driven from this machine: its endpoint must be reachable from here. */
function checkInnerReachable(host: HostSpec, path: KeyPath, daemon: DaemonSpec, fail: Fail) {
    if (daemon.host.startsWith("ssh://") && host.preload.length > 0) {
        fail([...path, "preload"], `preload copies images over the Docker Engine API, reached over unix:// or tcp:// only; daemon "${host.daemon}" is ${daemon.host}`, "key");
    }
    if (isLocalDaemon(daemon.host)) return;
    if (host.tcp && LOOPBACK.test(host.tcp.bind)) {
        fail([...path, "tcp", "bind"], `daemon "${host.daemon}" is on another machine, where ${host.tcp.bind} is not reachable from here: ` +
            "bind an address this machine can reach (workloads and preload use it)");
    }
    if (!host.tcp && host.unix) {
        fail([...path, "unix"], `daemon "${host.daemon}" is on another machine, so its unix socket is not reachable from here: add a tcp endpoint`, "key");
    }
}

function checkWorkloads(host: HostSpec, path: KeyPath, fail: Fail) {
    const workloads = host.workloads!;
    const wpath = [...path, "workloads"];
    reportRepeats(workloads.networks, [...wpath, "networks"], "network", fail);
    reportRepeats(workloads.volumes, [...wpath, "volumes"], "volume", fail);
    const published = new Map<string, KeyPath>();
    for (const [name, container] of Object.entries(workloads.containers)) {
        const cpath = [...wpath, "containers", name];
        container.networks.forEach((network, i) => {
            if (!workloads.networks.includes(network)) {
                fail([...cpath, "networks", i], `unknown network "${network}": expected one declared under ${formatPath([...wpath, "networks"])} (${listOrNone(workloads.networks)})`);
            }
        });
        container.volumes.forEach((mount, i) => {
            if (!workloads.volumes.includes(mount.volume)) {
                fail([...cpath, "volumes", i, "volume"], `unknown volume "${mount.volume}": expected one declared under ${formatPath([...wpath, "volumes"])} (${listOrNone(workloads.volumes)})`);
            }
        });
        container.ports.forEach((p, i) => {
            const key = `${p.external}/${p.protocol}`;
            const owner = published.get(key);
            const ppath = [...cpath, "ports", i, "external"];
            if (owner) fail(ppath, `external port ${key} is already published on this host by ${formatPath(owner)}`);
            else published.set(key, ppath);
        });
    }
}

function reportRepeats(names: string[], path: KeyPath, what: string, fail: Fail) {
    names.forEach((n, i) => {
        if (names.indexOf(n) !== i) fail([...path, i], `${what} "${n}" is listed twice`);
    });
}

function listOrNone(names: string[]): string {
    return names.length > 0 ? [...new Set(names)].join(", ") : "none declared";
}

/** hosts.builder.tcp.port, clients.agent, ports[0] */
export function formatPath(path: KeyPath): string {
    if (path.length === 0) return "(top level)";
    return path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}
