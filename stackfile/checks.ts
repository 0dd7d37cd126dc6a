// Rules that span several keys: references resolve; names and volumes are unique per daemon, ports
// and host directories per machine (under any of their names and spellings); every key is applied
// on its daemon's kind or refused; TLS is on unless explicitly waived; workloads have an endpoint;
// no directory shared with a container is the host's own, and no restricted client can reach a
// socket more powerful than its own proxy's; nothing is listed twice.
import { isIP } from "node:net";
import {
    defaultBuilderContainerName, defaultBuilderVolume, defaultProxyContainerName, defaultProxySocketDir, defaultProxyStateVolume, defaultRegistryVolume,
    defaultStorageVolume, poolMemberName, poolMemberPort, poolMemberSocketDir,
} from "../components/defaults";
import { CONTAINERD_IMAGE_STORE } from "../components/dockerd";
import { LEASE_MARKER_SUFFIX } from "../components/markers";
import { isLocalDaemon, socketPathOf } from "../components/endpoints";
import { CLIENT_SOCKET } from "../components/paths";
import { isUrl, MAX_VOLUME_NAME, mirrorUrlProblem, normalizedImageReference, parseDaemonUrl } from "./docker-grammar";
import { DaemonIdentity, Fail, MachinePaths } from "./host-paths";
import { directoryKey, isLoopbackAddress, normalizePath, systemDirectoryProblem } from "./host-safety";
import { ClientSpec, DaemonSpec, HostSpec, PoolSpec, RegistrySpec, StackFile } from "./schema";
import { formatPath, KeyPath } from "./text";

export interface CheckFailure {
    path: KeyPath;
    /** Point at the key itself rather than its value (for "this entry" problems). */
    at?: "key" | "value";
    message: string;
}

/** What the rules need to know beyond the parsed file. */
export interface CheckContext {
    /** The names entries may use as daemons: the file's and `local`. */
    declaredDaemons: string[];
    /** The daemons the file itself declares. */
    fileDaemons: string[];
    /** Whether the file itself writes a key path (the schema fills in defaults for the rest). */
    written: (path: KeyPath) => boolean;
}

/**
 * Keys of a host that a host on a Kubernetes daemon does not apply, and why: refused where the file
 * writes them, never dropped. (A later change that applies one there removes it from this table;
 * the schema-by-kind test and docs/security-trust-model.md follow.)
 */
export const HOST_KEYS_NOT_ON_KUBERNETES: Record<string, string> = {
    unix: "a pod's socket has no directory on this machine; use the tcp endpoint (a Service)",
    "tcp.bind": "the endpoint is a Service (tcp.port is its port); there is no address to bind",
    dockerd: "the pod runs the image's dockerd with the project's TLS flags only, and no daemon.json is written there",
    registryAuth: "the credentials are given to the inner provider of a host on a Docker daemon only",
    registryCAs: "the CA files are uploaded into the DinD container of a host on a Docker daemon only",
    resources: "the limits are set on the DinD container of a host on a Docker daemon only (a pod's requests and limits are not set)",
    "storage.adopt": "the storage is a claim its StatefulSet makes, and adopt takes over a Docker volume",
    registryCaches: "a registry of the stack runs on a Docker daemon and is reached over a network of that daemon, which a pod is not on",
};

/** Docker Hub's own registry hosts: the only remote a pull-through cache may have to serve as a mirror, unless it says it mirrors Hub. */
const DOCKER_HUB_HOSTS = ["registry-1.docker.io", "index.docker.io", "registry.hub.docker.com", "docker.io"];

function identityOf(daemon: DaemonSpec | undefined, name: string): DaemonIdentity {
    const cluster = daemon?.kubernetes;
    if (cluster) {
        const key = `kubernetes:${cluster.kubeconfig ?? ""}:${cluster.context ?? ""}:${cluster.namespace}`;
        return { key, machine: key };
    }
    const parsed = daemon?.host === undefined ? undefined : parseDaemonUrl(daemon.host);
    if (!parsed || "problem" in parsed) return { key: `unknown:${name}`, machine: `unknown:${name}` };
    return { key: parsed.key, machine: parsed.machine, socket: parsed.socketPath };
}

export function crossChecks(stack: StackFile, context: CheckContext = {
    declaredDaemons: Object.keys(stack.daemons), fileDaemons: Object.keys(stack.daemons), written: () => true,
}): CheckFailure[] {
    const failures: CheckFailure[] = [];
    const fail: Fail = (path, message, at = "value") => failures.push({ path, message, at });
    /** The entry itself, or its key nearest to `path` that the file writes: where a problem about a default points. */
    const nearestWritten = (path: KeyPath): KeyPath => {
        for (let end = path.length; end > 2; end--) if (context.written(path.slice(0, end))) return path.slice(0, end);
        return path.slice(0, 2);
    };

    const declared = new Set(context.declaredDaemons);
    const identities = new Map<string, DaemonIdentity>();
    const declaredAs = new Map<string, string>();
    for (const [name, daemon] of Object.entries(stack.daemons)) {
        checkDaemon(daemon, ["daemons", name], fail);
        const identity = identityOf(daemon, name);
        identities.set(name, identity);
        // The implicit local daemon may well be one the file declares: claims are per daemon, not per name, anyway.
        if (!context.fileDaemons.includes(name)) continue;
        const first = declaredAs.get(identity.key);
        if (first) fail(["daemons", name, "host"], `daemon "${name}" is the same daemon as "${first}" (${stack.daemons[first].host ?? identity.key}): declare it once and use one name`);
        else declaredAs.set(identity.key, name);
    }
    const identity = (name: string) => identities.get(name) ?? identityOf(undefined, name);
    const claims = new ClaimRegistry(fail, identity);
    const machines = new MachinePaths(identity, stack, fail);

    /** A container name on a daemon: taken once, and never one a pool's lease marker could have. */
    const claimContainer = (containerName: string, claimant: Omit<Claimant, "what" | "scope">) => {
        if (LEASE_MARKER_NAME.test(containerName)) {
            fail(claimant.path, `container name "${containerName}" ends like a pool's lease marker (<member>${LEASE_MARKER_SUFFIX}<number>): choose another name`, claimant.at ?? "key");
        }
        claims.claim({ what: `container name "${containerName}"`, scope: "daemon", ...claimant });
    };
    const checkDaemonRef = (ref: string, path: KeyPath): DaemonSpec | undefined => {
        if (!declared.has(ref)) {
            fail([...path, "daemon"], `unknown daemon "${ref}": expected one of ${context.declaredDaemons.join(", ")} (declare it under daemons)`);
        }
        return Object.hasOwn(stack.daemons, ref) ? stack.daemons[ref] : undefined;
    };

    for (const [name, registry] of Object.entries(stack.registries)) {
        const path = ["registries", name];
        const daemon = checkDaemonRef(registry.daemon, path);
        if (daemon?.kubernetes) {
            fail(context.written([...path, "daemon"]) ? [...path, "daemon"] : path, `daemon "${registry.daemon}" is a Kubernetes cluster: a registry of the stack ` +
                "runs as a container on a Docker daemon (its hosts reach it over a network of that daemon); run it on a Docker daemon", context.written([...path, "daemon"]) ? "value" : "key");
            continue;
        }
        checkRegistry(registry, path, daemon, fail);
        claimContainer(name, { daemon: registry.daemon, path, at: "key", label: formatPath(path) });
        claims.claim(registry.storage.volume
            ? { what: `volume "${registry.storage.volume}"`, daemon: registry.daemon, scope: "daemon", path: [...path, "storage", "volume"], label: formatPath([...path, "storage", "volume"]) }
            : defaultClaim(`volume "${defaultRegistryVolume(name)}"`, `"${defaultRegistryVolume(name)}"`, registry.daemon, "daemon", path, nearestWritten([...path, "storage", "volume"]), "storage volume", "storage.volume"));
        claims.claim({ what: `host port ${registry.port}`, daemon: registry.daemon, scope: "machine", path: [...path, "port"], label: formatPath([...path, "port"]) });
    }

    for (const [name, host] of Object.entries(stack.hosts)) {
        const path = ["hosts", name];
        const daemon = checkDaemonRef(host.daemon, path);
        checkMirrors(stack, host, path, fail);
        const volume = host.storage.volume ?? defaultStorageVolume(name);
        claimContainer(name, { daemon: host.daemon, path, at: "key", label: formatPath(path) });
        claims.claim(host.storage.volume
            ? { what: `volume "${volume}"`, daemon: host.daemon, scope: "daemon", path: [...path, "storage", "volume"], label: formatPath([...path, "storage", "volume"]) }
            : defaultClaim(`volume "${volume}"`, `"${volume}"`, host.daemon, "daemon", path, nearestWritten([...path, "storage", "volume"]), "storage volume", "storage.volume"));
        // An explicit volume name is held to the limit by the schema; the derived one is checked here.
        if (volume.length > MAX_VOLUME_NAME) {
            fail(path, `the storage volume's default name ${defaultStorageVolume("<host>")} would be ${volume.length} characters long: ` +
                `Docker allows ${MAX_VOLUME_NAME}; shorten the host name or set storage.volume`, "key");
        }
        if (daemon?.kubernetes) {
            // Each host has a Service of its own there: ports do not collide.
            checkKubernetesHost(host, path, daemon, context.written, fail);
            continue;
        }
        if (host.tcp) claims.claim({ what: `host port ${host.tcp.port}`, daemon: host.daemon, scope: "machine", path: [...path, "tcp", "port"], label: formatPath([...path, "tcp", "port"]) });
        if (host.unix) {
            const at = [...path, "unix", "hostDir"];
            claims.claim({ what: `host directory ${host.unix.hostDir}`, identity: `host directory ${directoryKey(host.unix.hostDir)}`, daemon: host.daemon, scope: "machine", path: at, label: formatPath(at) });
            machines.socketDirectory(host.daemon, host.unix.hostDir, at, `${formatPath(at)} (${host.unix.hostDir})`, "the DinD host's inner docker.sock, a privileged daemon (root on the outer machine)");
        }
        checkRegistryCaches(stack, host, path, fail);
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
        if (daemon?.kubernetes) {
            const written = context.written([...tpath, "daemon"]);
            fail(written ? [...tpath, "daemon"] : tpath, `daemon "${template.daemon}" is a Kubernetes cluster: a pool runs on a Docker daemon, where its lease markers ` +
                "are containers that lease creates atomically (a cluster has no such containers); run the pool on a Docker daemon, or declare its hosts under hosts", written ? "value" : "key");
            continue;
        }
        checkMirrors(stack, template, tpath, fail);
        checkRegistryCaches(stack, template, tpath, fail);
        checkPoolTemplate(name, pool, tpath, fail);
        checkPoolCache(stack, pool, path, fail);
        const sockets = machines.socketsOn(template.daemon);
        const unsafeDir = template.unix && systemDirectoryProblem(template.unix.hostDir, sockets);
        if (unsafeDir) fail([...tpath, "unix", "hostDir"], unsafeDir);
        for (let n = 1; n <= pool.size; n++) {
            const member = poolMemberName(name, n);
            const of = ` (pool member ${member})`;
            claimContainer(member, { daemon: template.daemon, path, at: "key", label: `${formatPath(path)}${of}` });
            const volume = defaultStorageVolume(member);
            claims.claim({ what: `volume "${volume}"${of}`, identity: `volume "${volume}"`, daemon: template.daemon, scope: "daemon", path, at: "key", label: `${formatPath(path)}${of}` });
            if (volume.length > MAX_VOLUME_NAME) {
                fail(path, `member ${member}'s storage volume ${volume} would be ${volume.length} characters long: Docker allows ${MAX_VOLUME_NAME}; shorten the pool's name`, "key");
            }
            if (template.tcp) {
                const port = poolMemberPort(template.tcp.port, n);
                const at = [...tpath, "tcp", "port"];
                if (port <= 65535) claims.claim({ what: `host port ${port}${of}`, identity: `host port ${port}`, daemon: template.daemon, scope: "machine", path: at, label: `${formatPath(at)}${of}` });
            }
            if (template.unix && !unsafeDir) {
                const dir = poolMemberSocketDir(template.unix.hostDir, member);
                const at = [...tpath, "unix", "hostDir"];
                claims.claim({ what: `host directory ${dir}${of}`, identity: `host directory ${directoryKey(dir)}`, daemon: template.daemon, scope: "machine", path: at, label: `${formatPath(at)}${of}` });
                machines.socketDirectory(template.daemon, dir, at, `${formatPath(at)}${of} (${dir})`, "a pool member's inner docker.sock, a privileged daemon (root on the outer machine)");
            }
        }
        checkHost(template, tpath, daemon, fail);
    }

    for (const [name, client] of Object.entries(stack.clients)) {
        const path = ["clients", name];
        const daemon = checkDaemonRef(client.daemon, path);
        claimContainer(name, { daemon: client.daemon, path, at: "key", label: formatPath(path) });
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
            const proxyName = defaultProxyContainerName(name);
            claimContainer(proxyName, { daemon: client.daemon, path: nearestWritten(access), at: "key",
                label: `the policy proxy of ${formatPath(path)} (named ${proxyName})`, ownWhat: `the name of its policy proxy, "${proxyName}",`, fix: ": rename the client" });
            const stateVolume = defaultProxyStateVolume(name);
            claims.claim({ what: `volume "${stateVolume}"`, daemon: client.daemon, scope: "daemon", path: nearestWritten(access), at: "key",
                label: `the policy proxy's state volume of ${formatPath(path)} (named ${stateVolume})`, ownWhat: `the name of its policy proxy's state volume, "${stateVolume}",`, fix: ": rename the client" });
            if (client.builder !== false) checkBuilder(stack, name, claims, nearestWritten, fail);
            const socketDir = client.access.socketDir ?? defaultProxySocketDir(name);
            const dirClaim: Claimant = client.access.socketDir
                ? { what: `host directory ${socketDir}`, identity: `host directory ${directoryKey(socketDir)}`, daemon: client.daemon, scope: "machine", path: [...access, "socketDir"], label: formatPath([...access, "socketDir"]) }
                : { ...defaultClaim(`host directory ${socketDir}`, socketDir, client.daemon, "machine", path, nearestWritten([...access, "socketDir"]), "socketDir", "access.socketDir"), identity: `host directory ${directoryKey(socketDir)}` };
            claims.claim(dirClaim);
            machines.socketDirectory(client.daemon, socketDir, dirClaim.path, client.access.socketDir ? `${dirClaim.label} (${socketDir})` : `the default socketDir of ${formatPath(path)} (${socketDir})`,
                `the policy proxy socket of ${formatPath(path)}`, name, dirClaim.at);
            if (name.includes(".")) {
                fail(path, "a client whose access is restricted needs a name without '.': the names it chooses get its name " +
                    "and a '.' as a prefix, which must never be another client's prefix (or set access: full)", "key");
            }
            if (client.workspace) machines.restrictedRoot(client.daemon, name, client.workspace, [...path, "workspace"], "workspace", "its workspace is mounted in it");
            client.access.binds.forEach((root, i) => {
                if (root !== "workspace") machines.restrictedRoot(client.daemon, name, root, [...access, "binds", i], "bind root", "it may bind anything below it into its containers");
            });
        }
        if (daemon?.host && !client.socket && !socketPathOf(daemon.host)) {
            fail([...path, "daemon"], `daemon "${client.daemon}" is ${daemon.host}, so its socket path is not known here: set socket`);
        }
        checkClientWorkspace(client, path, machines.socketsOn(client.daemon), fail);
        if (daemon?.host?.startsWith("tcp://") && client.user && client.socketGroup === undefined) {
            fail([...path, "user"], `daemon "${client.daemon}" is ${daemon.host}, where the socket's group cannot be read from here ` +
                "(the Engine API does not tell it): set socketGroup to the group id of the daemon's socket on that machine, so that this user can use it");
        }
    }
    machines.check();
    return failures;
}

/** One side of a name, port or directory that must be unique. */
interface Claimant {
    /** How the thing claimed is named in messages: `volume "x"`, `host port 23760`. */
    what: string;
    /** What is compared (one spelling of a path); `what` unless given. */
    identity?: string;
    daemon: string;
    /** Names and volumes are a daemon's; host ports and directories belong to the machine, whatever daemon runs there. */
    scope: "daemon" | "machine";
    path: KeyPath;
    at?: "key" | "value";
    /** How messages name this claim when another entry clashes with it. */
    label: string;
    /** For a default: how the problem names it at this entry, and what to set instead. */
    ownWhat?: string;
    fix?: string;
}

/** A claim of a default the file did not write: the problem points at the entry, names the default and the key to set. */
function defaultClaim(what: string, shown: string, daemon: string, scope: "daemon" | "machine", entry: KeyPath, at: KeyPath, noun: string, key: string): Claimant {
    return {
        what, daemon, scope, path: at, at: "key",
        label: `the default ${noun} of ${formatPath(entry)} (${key} is not set)`,
        ownWhat: `its default ${noun} ${shown} (${key} is not set)`,
        fix: `: set ${key}`,
    };
}

/** A pull-through cache that serves Docker Hub's images: its remote is Hub's, or it says it mirrors Hub. */
function servesDockerHub(registry: RegistrySpec): boolean {
    return registry.proxy !== undefined && (registry.proxy.hubMirror === true || DOCKER_HUB_HOSTS.includes(new URL(registry.proxy.remote).hostname.toLowerCase()));
}

/**
 * A host's (or a pool template's, at `hostPath`) mirrors: a URL, or a registry of this stack on the
 * host's own daemon that dockerd would pull Docker Hub's images through.
 */
function checkMirrors(stack: StackFile, host: HostSpec, hostPath: KeyPath, fail: Fail) {
    const declared = Object.keys(stack.registries);
    (host.dockerd?.["registry-mirrors"] ?? []).forEach((mirror, i) => {
        const path = [...hostPath, "dockerd", "registry-mirrors", i];
        if (isUrl(mirror)) {
            // Checked here rather than by the schema, so that the rest of the host is still checked.
            const problem = mirrorUrlProblem(mirror);
            if (problem) fail(path, problem);
            return;
        }
        const registry = Object.hasOwn(stack.registries, mirror) ? stack.registries[mirror] : undefined;
        if (!registry) {
            fail(path, `"${mirror}" is neither a URL (http:// or https://) nor a registry declared under registries (${listOrNone(declared)})`);
        } else if (registry.daemon !== host.daemon) {
            fail(path, `registry "${mirror}" runs on daemon "${registry.daemon}" and this host on "${host.daemon}": a host reaches a registry of the stack over a network of their shared daemon`);
        } else if (registry.proxy && !servesDockerHub(registry)) {
            fail(path, `registry "${mirror}" is a pull-through cache of ${registry.proxy.remote}, but dockerd uses registry-mirrors for Docker Hub's images only: ` +
                `it would never pull through this one. List it only if that remote serves Docker Hub's images, and say so with ` +
                `${formatPath(["registries", mirror, "proxy", "hubMirror"])}: true; for another registry's images, list it under registryCaches`);
        }
    });
}

/** A builder's container and volumes are the client's; its registries are the stack's, on the client's daemon. */
function checkBuilder(stack: StackFile, clientName: string, claims: ClaimRegistry, nearestWritten: (path: KeyPath) => KeyPath, fail: Fail) {
    const client = stack.clients[clientName];
    const entry = ["clients", clientName];
    const path = [...entry, "builder"];
    const at = nearestWritten(path);
    const claim = (what: string, shown: string, noun: string) => claims.claim({
        what, daemon: client.daemon, scope: "daemon", path: at, at: "key",
        label: `the ${noun} of ${formatPath(entry)}'s builder (named ${shown})`, ownWhat: `the name of its builder's ${noun}, ${shown},`, fix: ": rename the client",
    });
    claim(`container name "${defaultBuilderContainerName(clientName)}"`, `"${defaultBuilderContainerName(clientName)}"`, "container");
    claim(`volume "${defaultBuilderVolume(clientName)}"`, `"${defaultBuilderVolume(clientName)}"`, "state volume");
    claim(`volume "${defaultBuilderVolume(clientName)}-socket"`, `"${defaultBuilderVolume(clientName)}-socket"`, "socket volume");
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

/** A Docker host's (or a pool template's) caches for other registries: pull-through caches of the stack that do not serve Docker Hub, one per remote. */
function checkRegistryCaches(stack: StackFile, host: HostSpec, hostPath: KeyPath, fail: Fail) {
    const declared = Object.keys(stack.registries);
    const remotes = new Map<string, string>();
    reportRepeats(host.registryCaches, [...hostPath, "registryCaches"], "registry", fail);
    host.registryCaches.forEach((cache, i) => {
        const path = [...hostPath, "registryCaches", i];
        if (!Object.hasOwn(stack.registries, cache)) {
            fail(path, `unknown registry "${cache}": expected one declared under registries (${listOrNone(declared)})`);
            return;
        }
        const registry = stack.registries[cache];
        if (registry.daemon !== host.daemon) {
            fail(path, `registry "${cache}" runs on daemon "${registry.daemon}" and this host on "${host.daemon}": a host reaches a registry of the stack over a network of their shared daemon`);
        }
        if (!registry.proxy) {
            fail(path, `registry "${cache}" is not a pull-through cache (it has no proxy.remote): registryCaches lists caches of other registries`);
            return;
        }
        if (servesDockerHub(registry)) {
            fail(path, `registry "${cache}" caches Docker Hub: list it under dockerd.registry-mirrors, where every Docker Hub pull of the inner daemon goes through it`);
            return;
        }
        const remoteHost = new URL(registry.proxy.remote).host;
        const first = remotes.get(remoteHost);
        // The same registry listed twice is reported as a repeat.
        if (first && first !== cache) fail(path, `registries "${first}" and "${cache}" both cache ${remoteHost}: images of a registry come through one cache`);
        else remotes.set(remoteHost, cache);
    });
}

/** What a pool's template must leave to the pool: a name, a volume, an endpoint that lease hands out. */
function checkPoolTemplate(pool: string, spec: PoolSpec, tpath: KeyPath, fail: Fail) {
    const template = spec.template;
    if (!template.tcp && !template.unix) fail(tpath, "a pool's template needs a tcp or unix endpoint: lease hands it to the job that leases a member", "key");
    if (template.storage.volume) {
        fail([...tpath, "storage", "volume"], `each member's storage volume is its own, <member>-docker (${defaultStorageVolume(poolMemberName(pool, 1))}, ...): a pool's template cannot name one`);
    }
    if (template.storage.adopt) {
        fail([...tpath, "storage", "adopt"], "each member's storage volume is made by the pool and goes with its member: a pool's template cannot adopt an existing volume");
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

/** Remembers who took a name, port or directory on a daemon or machine (under any of their names) and reports the second taker. */
class ClaimRegistry {
    private readonly owners = new Map<string, Claimant>();
    constructor(private readonly fail: Fail, private readonly identity: (daemon: string) => DaemonIdentity) {}

    claim(claimant: Claimant) {
        const daemon = this.identity(claimant.daemon);
        const key = `${claimant.scope === "daemon" ? daemon.key : daemon.machine}\u0000${claimant.identity ?? claimant.what}`;
        const owner = this.owners.get(key);
        if (!owner) {
            this.owners.set(key, claimant);
            return;
        }
        const where = owner.daemon === claimant.daemon ? ""
            : daemon.key === this.identity(owner.daemon).key ? `, on daemon "${owner.daemon}" (the same daemon)`
            : `, on daemon "${owner.daemon}" (the same machine)`;
        this.fail(claimant.path, `${claimant.ownWhat ?? claimant.what} on daemon "${claimant.daemon}" is already taken by ${owner.label}${where}${claimant.fix ?? ""}`,
            claimant.at ?? "value");
    }
}

function checkDaemon(daemon: DaemonSpec, path: KeyPath, fail: Fail) {
    if (daemon.kubernetes) {
        for (const key of ["host", "certPath", "sshOpts"] as const) {
            if (daemon[key] !== undefined) fail([...path, key], `${key} applies to Docker daemons; this one is a Kubernetes cluster (kubernetes)`, "key");
        }
        if (daemon.insecure) fail([...path, "insecure"], "insecure applies to Docker daemons; this one is a Kubernetes cluster (kubernetes)", "key");
        if (daemon.kubernetes.nodeAddress !== undefined && daemon.kubernetes.service !== "NodePort") {
            fail([...path, "kubernetes", "nodeAddress"], "nodeAddress is where NodePort Services are dialled; with service: ClusterIP the cluster IPs are", "key");
        }
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

function checkRegistry(registry: RegistrySpec, path: KeyPath, daemon: DaemonSpec | undefined, fail: Fail) {
    if (registry.readinessTimeout !== undefined && daemon?.host?.startsWith("ssh://")) {
        fail([...path, "readinessTimeout"], `daemon "${registry.daemon}" is an ssh:// daemon: a registry's readiness is watched over the Engine API, ` +
            "which this program does not reach on an ssh:// daemon at up, so nothing waits for it there; remove readinessTimeout or run the registry on a unix:// or tcp:// daemon", "key");
    }
    if (registry.storage.size) {
        fail([...path, "storage", "size"], "size applies to hosts on a kubernetes daemon (a claim's size); a registry's storage is a Docker volume, which has none");
    }
    if (registry.storage.class) {
        fail([...path, "storage", "class"], "class applies to hosts on a kubernetes daemon (a claim's storage class); a registry's storage is a Docker volume, which has none");
    }
}

function checkClientWorkspace(client: ClientSpec, path: KeyPath, sockets: string[], fail: Fail) {
    if (!client.workspace) return;
    const unsafe = systemDirectoryProblem(client.workspace, sockets);
    if (unsafe) fail([...path, "workspace"], unsafe);
    else if (normalizePath(client.workspace) === CLIENT_SOCKET) {
        fail([...path, "workspace"], `the daemon's socket is mounted at ${CLIENT_SOCKET} in the client: the workspace cannot be mounted there too`);
    }
}

function checkHost(host: HostSpec, path: KeyPath, daemon: DaemonSpec | undefined, fail: Fail) {
    if (host.storage.size) fail([...path, "storage", "size"], "size applies to hosts on a kubernetes daemon (a claim's size); a Docker volume has none");
    if (host.resources?.pids !== undefined && daemon?.host?.startsWith("ssh://")) {
        fail([...path, "resources", "pids"], `daemon "${host.daemon}" is an ssh:// daemon: the pids limit is applied over the Engine API once the container ` +
            "exists (the Docker provider has no such argument), and this program does not reach an ssh:// daemon's Engine API then; set it on a unix:// or tcp:// daemon");
    }
    if (host.storage.class) fail([...path, "storage", "class"], "class applies to hosts on a kubernetes daemon (a claim's storage class); a Docker volume has none");
    const tcp = host.tcp;
    if (tcp && !tcp.tls && !tcp.insecure) {
        fail([...path, "tcp", "tls"], "tls: false would serve the Docker API unencrypted and unauthenticated: " +
            "set insecure: true beside it to accept that");
    }
    if (tcp?.insecure && tcp.tls) fail([...path, "tcp", "insecure"], "insecure: true goes with tls: false only");
    checkSans(host, path, fail);

    const needsInnerProvider = host.preload.length > 0 || host.workloads !== undefined;
    reportRepeats(host.preload.map(normalizedImageReference), [...path, "preload"], "image", fail, host.preload);
    if (needsInnerProvider && !tcp && !host.unix) {
        fail([...path, host.workloads ? "workloads" : "preload"], "preload and workloads need an endpoint to reach the inner daemon: add tcp or unix to this host", "key");
    }
    if (daemon?.host && needsInnerProvider) checkInnerReachable(host, path, daemon.host, fail);
    if (host.workloads) checkWorkloads(host, path, fail);
}

function checkSans(host: HostSpec, path: KeyPath, fail: Fail) {
    for (const [index, san] of (host.tcp?.sans ?? []).entries()) {
        if (isIP(san) === 0 && !/^[a-zA-Z0-9*]([a-zA-Z0-9-.]*[a-zA-Z0-9])?$/.test(san)) {
            fail([...path, "tcp", "sans", index], "expected a DNS name or an IP address");
        }
    }
}

/** A DinD host on Kubernetes: a pod behind a Service, always with mutual TLS, no host directory; what it does not apply is refused. */
function checkKubernetesHost(host: HostSpec, path: KeyPath, daemon: DaemonSpec, written: (path: KeyPath) => boolean, fail: Fail) {
    const where = `daemon "${host.daemon}" is a Kubernetes cluster`;
    for (const [key, why] of Object.entries(HOST_KEYS_NOT_ON_KUBERNETES)) {
        const keyPath = [...path, ...key.split(".")];
        if (written(keyPath)) fail(keyPath, key === "unix" || key === "tcp.bind" ? `${where}: ${why}` : `${where}, where ${key} does not apply: ${why}`,
            key === "tcp.bind" ? "value" : "key");
    }
    if (host.tcp && (!host.tcp.tls || host.tcp.insecure)) {
        fail([...path, "tcp", "tls"], `${where}: its Service is reachable by every pod in the cluster, so the endpoint always speaks mutual TLS`);
    }
    checkSans(host, path, fail);
    reportRepeats(host.preload.map(normalizedImageReference), [...path, "preload"], "image", fail, host.preload);
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
