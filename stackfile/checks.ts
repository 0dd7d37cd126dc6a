// Rules that span several keys: references resolve, names, ports and directories are unique
// per daemon (under any of its names and spellings), TLS is on unless explicitly waived,
// workloads have an endpoint, shared host directories are not the host's own, nothing is
// listed twice.
import { isIP } from "node:net";
import {
    defaultOuterDaemon, defaultProxyContainerName, defaultProxySocketDir, defaultRegistryVolume, defaultStorageVolume, poolMemberName, poolMemberPort, poolMemberSocketDir,
} from "../components/defaults";
import { CONTAINERD_IMAGE_STORE } from "../components/dockerd";
import { LEASE_MARKER_SUFFIX } from "../components/markers";
import { isLocalDaemon, socketPathOf } from "../components/endpoints";
import { CLIENT_SOCKET } from "../components/paths";
import { MAX_VOLUME_NAME, normalizedImageReference, parseDaemonUrl } from "./docker-grammar";
import { directoryKey, isLoopbackAddress, normalizePath, systemDirectoryProblem } from "./host-safety";
import { ClientSpec, DaemonSpec, HostSpec, PoolSpec, SecretRef, StackFile } from "./schema";
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
    /** A container name on a daemon: taken once, and never one a pool's lease marker could have. */
    const claimContainer = (containerName: string, daemon: string, path: KeyPath, at: "key" | "value" = "key") => {
        if (LEASE_MARKER_NAME.test(containerName)) {
            fail(path, `container name "${containerName}" ends like a pool's lease marker (<member>${LEASE_MARKER_SUFFIX}<number>): choose another name`, at);
        }
        claims.claim(`container name "${containerName}"`, daemon, path, at);
    };
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
        claimContainer(name, registry.daemon, path);
        claims.claim(`volume "${registry.storage.volume ?? defaultRegistryVolume(name)}"`, registry.daemon, [...path, "storage", "volume"],
            registry.storage.volume ? "value" : "key");
        claims.claim(`host port ${registry.port}`, registry.daemon, [...path, "port"]);
        checkSecret(registry.proxy?.password, [...path, "proxy", "password"]);
    }

    for (const [name, host] of Object.entries(stack.hosts)) {
        const path = ["hosts", name];
        const daemon = checkDaemonRef(host.daemon, path);
        host.registryAuth.forEach((auth, i) => checkSecret(auth.password, [...path, "registryAuth", i, "password"]));
        checkRegistryUse(stack, host, path, fail);
        const volume = host.storage.volume ?? defaultStorageVolume(name);
        claimContainer(name, host.daemon, path);
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
    for (const [name, pool] of Object.entries(stack.pools)) {
        const path = ["pools", name];
        // Names of members and what they hold must tell pools apart (up leaves a leased member alone by its name).
        const other = Object.keys(stack.pools).find((p) => p !== name && new RegExp(`^${p.replace(/[.]/g, "\\.")}-[0-9]+(-|$)`).test(name));
        if (other) fail(path, `pool name "${name}" starts like the members of pool ${other} (${poolMemberName(other, 1)}, ...): choose another name`, "key");
        const tpath = [...path, "template"];
        const template = pool.template;
        const daemon = checkDaemonRef(template.daemon, tpath);
        template.registryAuth.forEach((auth, i) => checkSecret(auth.password, [...tpath, "registryAuth", i, "password"]));
        if (daemon?.kubernetes) {
            fail([...tpath, "daemon"], `daemon "${template.daemon}" is a Kubernetes cluster: pools run on Docker daemons, where their lease markers are containers`);
            continue;
        }
        checkRegistryUse(stack, template, tpath, fail);
        checkPoolTemplate(name, pool, tpath, fail);
        checkPoolCache(stack, pool, path, fail);
        for (let n = 1; n <= pool.size; n++) {
            const member = poolMemberName(name, n);
            const of = ` (pool member ${member})`;
            claimContainer(member, template.daemon, path);
            const volume = defaultStorageVolume(member);
            claims.claim(`volume "${volume}"${of}`, template.daemon, path, "key", `volume "${volume}"`);
            if (volume.length > MAX_VOLUME_NAME) {
                fail(path, `member ${member}'s storage volume ${volume} would be ${volume.length} characters long: Docker allows ${MAX_VOLUME_NAME}; shorten the pool's name`, "key");
            }
            if (template.tcp) {
                const port = poolMemberPort(template.tcp.port, n);
                if (port <= 65535) claims.claim(`host port ${port}${of}`, template.daemon, [...tpath, "tcp", "port"], "value", `host port ${port}`);
            }
            if (template.unix) {
                const dir = poolMemberSocketDir(template.unix.hostDir, member);
                claims.claim(`host directory ${dir}${of}`, template.daemon, [...tpath, "unix", "hostDir"], "value", `host directory ${directoryKey(dir)}`);
            }
        }
        if (template.unix) {
            const unsafe = systemDirectoryProblem(template.unix.hostDir, daemonSockets(daemon));
            if (unsafe) fail([...tpath, "unix", "hostDir"], unsafe);
        }
        checkHost(template, tpath, daemon, fail);
    }
    for (const [name, client] of Object.entries(stack.clients)) {
        const path = ["clients", name];
        const daemon = checkDaemonRef(client.daemon, path);
        claimContainer(name, client.daemon, path);
        if (daemon?.kubernetes) {
            fail([...path, "daemon"], `daemon "${client.daemon}" is a Kubernetes cluster, which has no Docker socket to share ` +
                "(its nodes' container runtime is not a Docker daemon, and handing a node's runtime to a pod is root on that node): " +
                "use a DinD host there, or a client on a Docker daemon");
            continue;
        }
        if (client.access !== "full") {
            const access = [...path, "access"];
            claimContainer(defaultProxyContainerName(name), client.daemon, access);
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

/** The registries of the stack a host (or a pool's template, at `hostPath`) uses: its mirrors and its caches for other registries. */
function checkRegistryUse(stack: StackFile, host: HostSpec, hostPath: KeyPath, fail: Fail) {
    const declared = Object.keys(stack.registries);
    const sameDaemon = (name: string, path: KeyPath) => {
        const registry = stack.registries[name];
        if (registry.daemon !== host.daemon) {
            fail(path, `registry "${name}" runs on daemon "${registry.daemon}" and this host on "${host.daemon}": a host reaches a registry of the stack over a network of their shared daemon`);
        }
    };
    // A mirror is a URL, or a registry of this stack on the host's own daemon (they share a network there).
    (host.dockerd?.["registry-mirrors"] ?? []).forEach((mirror, i) => {
        const path = [...hostPath, "dockerd", "registry-mirrors", i];
        if (/^https?:\/\/[^\s/]+\/?$/.test(mirror)) return;
        if (!Object.hasOwn(stack.registries, mirror)) {
            fail(path, `"${mirror}" is neither a URL (http:// or https://) nor a registry declared under registries (${listOrNone(declared)})`);
        } else {
            sameDaemon(mirror, path);
        }
    });
    // A cache for another registry: a pull-through cache of the stack whose remote is not Docker Hub, one per remote.
    const remotes = new Map<string, string>();
    reportRepeats(host.registryCaches, [...hostPath, "registryCaches"], "registry", fail);
    host.registryCaches.forEach((cache, i) => {
        const path = [...hostPath, "registryCaches", i];
        if (!Object.hasOwn(stack.registries, cache)) {
            fail(path, `unknown registry "${cache}": expected one declared under registries (${listOrNone(declared)})`);
            return;
        }
        sameDaemon(cache, path);
        const remote = stack.registries[cache].proxy?.remote;
        if (!remote) {
            fail(path, `registry "${cache}" is not a pull-through cache (it has no proxy.remote): registryCaches lists caches of other registries`);
            return;
        }
        const remoteHost = new URL(remote).host;
        if (DOCKER_HUB_HOSTS.includes(remoteHost)) {
            fail(path, `registry "${cache}" caches Docker Hub: list it under dockerd.registry-mirrors, where every Docker Hub pull of the inner daemon goes through it`);
            return;
        }
        const first = remotes.get(remoteHost);
        // The same registry listed twice is reported as a repeat.
        if (first && first !== cache) fail(path, `registries "${first}" and "${cache}" both cache ${remoteHost}: images of a registry come through one cache`);
        else remotes.set(remoteHost, cache);
    });
}

/** Docker Hub's registry names, which dockerd's registry-mirrors serve. */
const DOCKER_HUB_HOSTS = ["registry-1.docker.io", "index.docker.io", "docker.io"];

/** What a pool's template must leave to the pool: a name, a volume, an endpoint that lease hands out. */
function checkPoolTemplate(pool: string, spec: PoolSpec, tpath: KeyPath, fail: Fail) {
    const template = spec.template;
    if (!template.tcp && !template.unix) fail(tpath, "a pool's template needs a tcp or unix endpoint: lease hands it to the job that leases a member", "key");
    if (template.storage.volume) {
        fail([...tpath, "storage", "volume"], `each member's storage volume is its own, <member>-docker (${defaultStorageVolume(poolMemberName(pool, 1))}, ...): a pool's template cannot name one`);
    }
    if (template.storage.retain) {
        fail([...tpath, "storage", "retain"], "a pool member's storage goes with it (a failed member is replaced with fresh storage): caches outlive members through cache.registry, not retained volumes");
    }
    if (template.tcp && poolMemberPort(template.tcp.port, spec.size) > 65535) {
        fail([...tpath, "tcp", "port"], `the pool's ${spec.size} members take the ports ${template.tcp.port} to ${poolMemberPort(template.tcp.port, spec.size)}, past 65535: lower the port or the size`);
    }
}

/** A pool's build-cache registry is a registry of the stack on the pool's daemon. */
function checkPoolCache(stack: StackFile, spec: PoolSpec, path: KeyPath, fail: Fail) {
    const registry = spec.cache?.registry;
    if (registry === undefined) return;
    const rpath = [...path, "cache", "registry"];
    if (!Object.hasOwn(stack.registries, registry)) {
        fail(rpath, `unknown registry "${registry}": expected one declared under registries (${listOrNone(Object.keys(stack.registries))})`);
    } else if (stack.registries[registry].proxy) {
        fail(rpath, `registry "${registry}" is a pull-through cache, which refuses pushes: a build cache needs a plain registry of the stack`);
    } else if (stack.registries[registry].daemon !== spec.template.daemon) {
        fail(rpath, `registry "${registry}" runs on daemon "${stack.registries[registry].daemon}" and this pool on "${spec.template.daemon}": members reach a registry of the stack over a network of their shared daemon`);
    }
    const features = spec.template.dockerd?.features as Record<string, unknown> | undefined;
    if (features?.[CONTAINERD_IMAGE_STORE] === false) {
        fail([...path, "template", "dockerd", "features", CONTAINERD_IMAGE_STORE], "cache.registry needs the containerd image store: BuildKit in a daemon without it cannot export a cache to a registry");
    }
}

/** A name a lease marker could have: `<member>.lease-<epoch>`. */
const LEASE_MARKER_NAME = new RegExp(`${LEASE_MARKER_SUFFIX.replace(/[.-]/g, "\\$&")}[0-9]+$`);

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
