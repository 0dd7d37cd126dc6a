// Rules that span several keys: references resolve, names, ports and directories are unique
// per daemon (under any of its names and spellings), TLS is on unless explicitly waived,
// workloads have an endpoint, shared host directories are not the host's own, nothing is
// listed twice.
import { isIP } from "node:net";
import {
    defaultBuilderContainerName, defaultBuilderVolume, defaultOuterDaemon, defaultProxyContainerName, defaultProxySocketDir, defaultProxyStateVolume,
    defaultRegistryVolume, defaultStorageVolume,
} from "../components/defaults";
import { isLocalDaemon, socketPathOf } from "../components/endpoints";
import { CLIENT_SOCKET } from "../components/paths";
import { MAX_VOLUME_NAME, normalizedImageReference, parseDaemonUrl } from "./docker-grammar";
import { directoryKey, isLoopbackAddress, normalizePath, systemDirectoryProblem } from "./host-safety";
import { ClientSpec, DaemonSpec, HostSpec, SecretRef, StackFile } from "./schema";
import { formatPath, KeyPath } from "./text";

export interface CheckFailure {
    path: KeyPath;
    /** Point at the key itself rather than its value (for "this entry" problems). */
    at?: "key" | "value";
    message: string;
}

/**
 * `declaredDaemons` are the names entries may use (the file's and `local`); `fileDaemons` the ones the
 * file itself declares; `env` holds the variables `{ env: NAME }` secrets are read from.
 */
export function crossChecks(stack: StackFile, declaredDaemons = Object.keys(stack.daemons), fileDaemons = declaredDaemons,
    env: NodeJS.ProcessEnv = process.env): CheckFailure[] {
    const failures: CheckFailure[] = [];
    const fail = (path: KeyPath, message: string, at: "key" | "value" = "value") => failures.push({ path, message, at });

    const declared = new Set(declaredDaemons);
    const inFile = new Set(fileDaemons);
    const daemonKeys = new Map<string, string>();
    const declaredAs = new Map<string, string>();
    for (const [name, daemon] of Object.entries(stack.daemons)) {
        checkDaemon(daemon, ["daemons", name], fail);
        const key = daemonKey(daemon);
        daemonKeys.set(name, key);
        // The implicit local daemon may well be one the file declares: claims are per daemon, not per name, anyway.
        if (!inFile.has(name)) continue;
        const first = declaredAs.get(key);
        if (first) fail(["daemons", name, "host"], `daemon "${name}" is the same daemon as "${first}" (${key}): declare it once and use one name`);
        else declaredAs.set(key, name);
    }

    const claims = new ClaimRegistry(fail, daemonKeys);
    const checkDaemonRef = (ref: string, path: KeyPath): DaemonSpec | undefined => {
        if (!declared.has(ref)) {
            fail([...path, "daemon"], `unknown daemon "${ref}": expected one of ${declaredDaemons.join(", ")} (declare it under daemons)`);
        }
        return Object.hasOwn(stack.daemons, ref) ? stack.daemons[ref] : undefined;
    };

    const checkSecret = (ref: SecretRef | undefined, path: KeyPath) => {
        if (ref && "env" in ref && env[ref.env] === undefined) fail(path, `environment variable ${ref.env} is not set (it holds this secret)`);
    };
    for (const [name, registry] of Object.entries(stack.registries)) {
        const path = ["registries", name];
        checkDaemonRef(registry.daemon, path);
        claims.claim(`container name "${name}"`, registry.daemon, path, "key");
        claims.claim(`volume "${registry.storage.volume ?? defaultRegistryVolume(name)}"`, registry.daemon, [...path, "storage", "volume"],
            registry.storage.volume ? "value" : "key");
        claims.claim(`host port ${registry.port}`, registry.daemon, [...path, "port"]);
        checkSecret(registry.proxy?.password, [...path, "proxy", "password"]);
    }

    for (const [name, host] of Object.entries(stack.hosts)) {
        const path = ["hosts", name];
        const daemon = checkDaemonRef(host.daemon, path);
        host.registryAuth.forEach((auth, i) => checkSecret(auth.password, [...path, "registryAuth", i, "password"]));
        checkMirrors(stack, name, fail);
        const volume = host.storage.volume ?? defaultStorageVolume(name);
        claims.claim(`container name "${name}"`, host.daemon, path, "key");
        claims.claim(`volume "${volume}"`, host.daemon, [...path, "storage", "volume"], host.storage.volume ? "value" : "key");
        // An explicit volume name is held to the limit by the schema; the derived one is checked here.
        if (volume.length > MAX_VOLUME_NAME) {
            fail(path, `the storage volume's default name ${defaultStorageVolume("<host>")} would be ${volume.length} characters long: ` +
                `Docker allows ${MAX_VOLUME_NAME}; shorten the host name or set storage.volume`, "key");
        }
        if (daemon?.kubernetes) {
            // Each host has a Service of its own there: ports do not collide.
            checkKubernetesHost(host, path, daemon, fail);
            continue;
        }
        if (host.tcp) claims.claim(`host port ${host.tcp.port}`, host.daemon, [...path, "tcp", "port"]);
        if (host.unix) {
            claims.claim(`host directory ${host.unix.hostDir}`, host.daemon, [...path, "unix", "hostDir"], "value",
                `host directory ${directoryKey(host.unix.hostDir)}`);
            const unsafe = systemDirectoryProblem(host.unix.hostDir, daemonSockets(daemon));
            if (unsafe) fail([...path, "unix", "hostDir"], unsafe);
        }
        checkHost(host, path, daemon, fail);
    }
    for (const [name, client] of Object.entries(stack.clients)) {
        const path = ["clients", name];
        const daemon = checkDaemonRef(client.daemon, path);
        claims.claim(`container name "${name}"`, client.daemon, path, "key");
        if (daemon?.kubernetes) {
            fail([...path, "daemon"], `daemon "${client.daemon}" is a Kubernetes cluster, which has no Docker socket to share ` +
                "(its nodes' container runtime is not a Docker daemon, and handing a node's runtime to a pod is root on that node): " +
                "use a DinD host there, or a client on a Docker daemon");
            continue;
        }
        if (client.access === "full" && client.builder !== undefined) {
            fail([...path, "builder"], "a client with access: full has the daemon's own socket, and the daemon's BuildKit with it: " +
                "builder is for a restricted client, whose proxy refuses the daemon's BuildKit", "key");
        }
        if (client.access !== "full") {
            const access = [...path, "access"];
            claims.claim(`container name "${defaultProxyContainerName(name)}"`, client.daemon, access, "key");
            claims.claim(`volume "${defaultProxyStateVolume(name)}"`, client.daemon, access, "key");
            if (client.builder !== false) checkBuilder(stack, name, claims, fail);
            const socketDir = client.access.socketDir ?? defaultProxySocketDir(name);
            const socketDirPath = client.access.socketDir ? [...access, "socketDir"] : access;
            claims.claim(`host directory ${socketDir}`, client.daemon, socketDirPath, client.access.socketDir ? "value" : "key",
                `host directory ${directoryKey(socketDir)}`);
            const unsafe = systemDirectoryProblem(socketDir, daemonSockets(daemon));
            if (unsafe) fail(socketDirPath, unsafe);
            if (name.includes(".")) {
                fail(path, "a client whose access is restricted needs a name without '.': the names it chooses get its name " +
                    "and a '.' as a prefix, which must never be another client's prefix (or set access: full)", "key");
            }
        }
        if (daemon?.host && !client.socket && !socketPathOf(daemon.host)) {
            fail([...path, "daemon"], `daemon "${client.daemon}" is ${daemon.host}, so its socket path is not known here: set socket`);
        }
        checkClient(client, path, daemon, fail);
        if (daemon?.host?.startsWith("tcp://") && client.user && client.socketGroup === undefined) {
            fail([...path, "user"], `daemon "${client.daemon}" is ${daemon.host}, where the socket's group cannot be read from here ` +
                "(the Engine API does not tell it): set socketGroup to the group id of the daemon's socket on that machine, so that this user can use it");
        }
    }
    return failures;
}

/** One spelling per daemon: unix:///var/run//docker.sock and unix:///run/docker.sock are one daemon. */
function daemonKey(daemon: DaemonSpec): string {
    const cluster = daemon.kubernetes;
    if (cluster) return `kubernetes:${cluster.kubeconfig ?? ""}:${cluster.context ?? ""}:${cluster.namespace}`;
    if (daemon.host === undefined) return "";
    const parsed = parseDaemonUrl(daemon.host);
    return "problem" in parsed ? daemon.host : parsed.key;
}

/** The outer daemon's socket, and the usual one, which a tcp:// or ssh:// daemon most likely has too. */
function daemonSockets(daemon: DaemonSpec | undefined): string[] {
    return [defaultOuterDaemon({}).host, daemon?.host].flatMap((host) => (host && socketPathOf(host) ? [socketPathOf(host)!] : []));
}

function checkClient(client: ClientSpec, path: KeyPath, daemon: DaemonSpec | undefined, fail: Fail) {
    if (!client.workspace) return;
    const unsafe = systemDirectoryProblem(client.workspace, daemonSockets(daemon));
    if (unsafe) fail([...path, "workspace"], unsafe);
    else if (normalizePath(client.workspace) === CLIENT_SOCKET) {
        fail([...path, "workspace"], `the daemon's socket is mounted at ${CLIENT_SOCKET} in the client: the workspace cannot be mounted there too`);
    }
}

type Fail = (path: KeyPath, message: string, at?: "key" | "value") => void;

/** A builder's container and volumes are the client's; its registries are the stack's, on the client's daemon. */
function checkBuilder(stack: StackFile, clientName: string, claims: ClaimRegistry, fail: Fail) {
    const client = stack.clients[clientName];
    const path = ["clients", clientName, "builder"];
    const at = client.builder ? path : ["clients", clientName];
    claims.claim(`container name "${defaultBuilderContainerName(clientName)}"`, client.daemon, at, "key");
    claims.claim(`volume "${defaultBuilderVolume(clientName)}"`, client.daemon, at, "key");
    claims.claim(`volume "${defaultBuilderVolume(clientName)}-socket"`, client.daemon, at, "key");
    (client.builder || { registries: [] }).registries.forEach((ref, i) => {
        const registry = stack.registries[ref];
        const declared = Object.keys(stack.registries);
        if (!Object.hasOwn(stack.registries, ref)) {
            fail([...path, "registries", i], `unknown registry "${ref}": expected one of ${listOrNone(declared)} (declare it under registries)`);
        } else if (registry.daemon !== client.daemon) {
            fail([...path, "registries", i], `registry "${ref}" runs on daemon "${registry.daemon}" and this client on "${client.daemon}": ` +
                "a client's builder reaches a registry of the stack over a network of their shared daemon");
        }
    });
}

/** A mirror is a URL, or a registry of this stack on the host's own daemon (they share a network there). */
function checkMirrors(stack: StackFile, hostName: string, fail: Fail) {
    const host = stack.hosts[hostName];
    (host.dockerd?.["registry-mirrors"] ?? []).forEach((mirror, i) => {
        const path = ["hosts", hostName, "dockerd", "registry-mirrors", i];
        if (/^https?:\/\/[^\s/]+\/?$/.test(mirror)) return;
        const registry = stack.registries[mirror];
        const declared = Object.keys(stack.registries);
        if (!registry) {
            fail(path, `"${mirror}" is neither a URL (http:// or https://) nor a registry declared under registries (${listOrNone(declared)})`);
        } else if (registry.daemon !== host.daemon) {
            fail(path, `registry "${mirror}" runs on daemon "${registry.daemon}" and this host on "${host.daemon}": a host reaches a registry of the stack over a network of their shared daemon`);
        }
    });
}

/** Remembers who took a name or port on a daemon (under any of its names) and reports the second taker. */
class ClaimRegistry {
    private readonly owners = new Map<string, KeyPath>();
    constructor(private readonly fail: Fail, private readonly daemonKeys: Map<string, string>) {}

    /** `identity` is what is compared (one spelling of a path); `what` is how messages name it. */
    claim(what: string, scope: string, path: KeyPath, at: "key" | "value" = "value", identity = what) {
        const key = `${this.daemonKeys.get(scope) ?? scope}\u0000${identity}`;
        const owner = this.owners.get(key);
        if (owner) this.fail(path, `${what} on daemon "${scope}" is already taken by ${formatPath(owner)}`, at);
        else this.owners.set(key, path);
    }
}

function checkDaemon(daemon: DaemonSpec, path: KeyPath, fail: Fail) {
    if (daemon.kubernetes) {
        for (const key of ["host", "certPath", "sshOpts"] as const) {
            if (daemon[key] !== undefined) fail([...path, key], `${key} applies to Docker daemons; this one is a Kubernetes cluster (kubernetes)`, "key");
        }
        if (daemon.insecure) fail([...path, "insecure"], "insecure applies to Docker daemons; this one is a Kubernetes cluster (kubernetes)", "key");
        return;
    }
    if (daemon.host === undefined) {
        fail(path, "a daemon needs host (a Docker daemon URL) or kubernetes (a cluster)", "key");
        return;
    }
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
    if (host.storage.size) fail([...path, "storage", "size"], "size applies to hosts on a kubernetes daemon (a claim's size); a Docker volume has none");
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
    reportRepeats(host.preload.map(normalizedImageReference), [...path, "preload"], "image", fail, host.preload);
    if (needsInnerProvider && !tcp && !host.unix) {
        fail([...path, host.workloads ? "workloads" : "preload"], "preload and workloads need an endpoint to reach the inner daemon: add tcp or unix to this host", "key");
    }
    if (daemon?.host && needsInnerProvider) checkInnerReachable(host, path, daemon.host, fail);
    if (host.workloads) checkWorkloads(host, path, fail);
}

/** A DinD host on Kubernetes: a pod behind a Service, always with mutual TLS, no host directory. */
function checkKubernetesHost(host: HostSpec, path: KeyPath, daemon: DaemonSpec, fail: Fail) {
    const where = `daemon "${host.daemon}" is a Kubernetes cluster`;
    if (host.unix) fail([...path, "unix"], `${where}: a pod's socket has no directory on this machine; use the tcp endpoint (a Service)`, "key");
    if (host.tcp && (!host.tcp.tls || host.tcp.insecure)) {
        fail([...path, "tcp", "tls"], `${where}: its Service is reachable by every pod in the cluster, so the endpoint always speaks mutual TLS`);
    }
    if (host.tcp && host.tcp.bind !== "127.0.0.1") {
        fail([...path, "tcp", "bind"], `${where}: the endpoint is a Service (tcp.port is its port); there is no address to bind`);
    }
    const needsInnerProvider = host.preload.length > 0 || host.workloads !== undefined;
    if (needsInnerProvider && daemon.kubernetes?.skipAwait) {
        fail([...path, host.workloads ? "workloads" : "preload"], `${where} with skipAwait: nothing waits for the inner daemon, so preload and workloads cannot run`, "key");
    }
    if (host.workloads) checkWorkloads(host, path, fail);
}

/** The inner daemon is driven from this machine: its endpoint must be reachable from here. */
function checkInnerReachable(host: HostSpec, path: KeyPath, daemonHost: string, fail: Fail) {
    if (isLocalDaemon(daemonHost)) return;
    if (host.tcp && isLoopbackAddress(host.tcp.bind)) {
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
    const networks = new Set(workloads.networks);
    const volumes = new Set(workloads.volumes);
    for (const [name, container] of Object.entries(workloads.containers)) {
        const cpath = [...wpath, "containers", name];
        reportRepeats(container.networks, [...cpath, "networks"], "network", fail);
        reportRepeats(container.volumes.map((v) => normalizePath(v.path)), [...cpath, "volumes"], "mount target", fail,
            container.volumes.map((v) => v.path), "path");
        container.networks.forEach((network, i) => {
            if (!networks.has(network)) {
                fail([...cpath, "networks", i], `unknown network "${network}": expected one declared under ${formatPath([...wpath, "networks"])} (${listOrNone(workloads.networks)})`);
            }
        });
        container.volumes.forEach((mount, i) => {
            if (!volumes.has(mount.volume)) {
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

/** Entries that are one thing twice (compared as `keys`; `written` is what the file says). */
function reportRepeats(keys: string[], path: KeyPath, what: string, fail: Fail, written = keys, field?: string) {
    const first = new Map<string, number>();
    keys.forEach((key, i) => {
        const earlier = first.get(key);
        if (earlier === undefined) first.set(key, i);
        else if (written[earlier] === written[i]) fail([...path, i, ...(field ? [field] : [])], `${what} "${written[i]}" is listed twice`);
        else fail([...path, i, ...(field ? [field] : [])], `${what} "${written[i]}" is the same as "${written[earlier]}" at [${earlier}]: it is listed twice`);
    });
}

function listOrNone(names: string[]): string {
    return names.length > 0 ? [...new Set(names)].join(", ") : "none declared";
}
