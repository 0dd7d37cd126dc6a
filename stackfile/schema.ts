// The stack file's shape: the single source of its TypeScript types (z.infer).
// Cross-field rules (references, uniqueness, the TLS rule) live in checks.ts; Docker's grammars
// and limits in docker-grammar.ts, host safety in host-safety.ts. Defaults come from the
// components (components/defaults.ts), and contract-check.ts proves at compile time that each
// section has the shape of the component arguments it becomes.
import { z } from "zod";
import { MANAGED_DOCKERD_OPTIONS, MEMORY, STORAGE_SIZE } from "../components/dockerd";
import {
    DEFAULT_BUILDER_IMAGE, DEFAULT_CLIENT_IMAGE, DEFAULT_DIND_IMAGE, DEFAULT_DOOD_HOST_NAMESPACES, DEFAULT_DOOD_PRIVILEGED, DEFAULT_DOOD_SCOPE, DEFAULT_MOUNT_READ_ONLY, DEFAULT_NESTED_RESTART, DEFAULT_PORT_PROTOCOL, DEFAULT_STORAGE_RETAIN, DEFAULT_KUBERNETES_SERVICE_TYPE,
    DEFAULT_REGISTRY_BIND, DEFAULT_REGISTRY_IMAGE, DEFAULT_REGISTRY_INSECURE, DEFAULT_TCP_BIND, DEFAULT_TCP_INSECURE, DEFAULT_TCP_TLS, MAX_POOL_SIZE,
} from "../components/defaults";
import { socketIn } from "../components/paths";
import {
    addressPoolProblem, cpusProblem, daemonLabelProblem, dnsSearchProblem, dnsServerProblem, imageReferenceProblem, insecureRegistryProblem, MAX_ID, MAX_VOLUME_NAME, memoryProblem, mountTargetProblem, NAME,
    parseDaemonUrl, PREDEFINED_NETWORKS, socketPathProblem, userProblem,
} from "./docker-grammar";
import { normalizePath, plainAddressProblem } from "./host-safety";

/** The outer daemon every host and client uses unless it names another. */
export const DEFAULT_DAEMON = "local";

/** Top-level keys starting with x- hold YAML anchors and are ignored, as in Compose files. */
export const EXTENSION_KEY = /^x-/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A zod refinement from a rule that says what is wrong (docker-grammar.ts, host-safety.ts). */
const rule = <T = string>(problem: (value: T) => string | undefined) => (value: T, ctx: z.RefinementCtx) => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: "custom", message, input: value });
};


const name = (what: string) =>
    z.string({ error: `expected ${what} name (a string)` }).regex(NAME, {
        error: `expected ${what} name: a letter or digit, then letters, digits, '_', '.' or '-' (2 characters at least)`,
    });
const volumeName = name("a volume").max(MAX_VOLUME_NAME, { error: `expected a volume name of at most ${MAX_VOLUME_NAME} characters` });
const networkName = name("a network").refine((n) => !PREDEFINED_NETWORKS.includes(n), {
    error: `${PREDEFINED_NETWORKS.join(", ")} are the daemon's predefined networks: choose another name`,
});
const imageRef = z.string({ error: "expected an image reference (a string)" }).superRefine(rule(imageReferenceProblem));
const isCleanAbsolute = (p: string) => p.startsWith("/") && !p.split("/").includes("..");
const absolutePath = z
    .string({ error: "expected an absolute path (a string)" })
    .max(4095, { error: "expected a path of at most 4095 characters", abort: true })
    .refine(isCleanAbsolute, {
        error: "expected an absolute path without '..' (starting with /)",
    });
/** A path Docker mounts: its volume specification is split at ':'. */
const mountPath = absolutePath.refine((p) => !p.includes(":"), { error: "a path Docker mounts cannot contain ':'" });
/** An address a port is published on: a plain IPv4 or IPv6 address (see host-safety.ts). */
const plainAddress = z.string({ error: "expected an IP address (a string)" }).superRefine(rule(plainAddressProblem));
const port = z
    .number({ error: "expected a port number (an integer 1-65535)" })
    .int({ error: "expected a port number (an integer 1-65535)" })
    .min(1, { error: "expected a port number (an integer 1-65535)" })
    .max(65535, { error: "expected a port number (an integer 1-65535)" });
const id = (what: string) => z
    .number({ error: `expected a numeric ${what} id` })
    .int({ error: `expected a numeric ${what} id` })
    .min(0, { error: `expected a numeric ${what} id (0 to ${MAX_ID})` })
    .max(MAX_ID, { error: `expected a numeric ${what} id (0 to ${MAX_ID})` });
const env = z
    .record(z.string().regex(ENV_NAME, { error: "expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*)" }),
        z.string({ error: "expected a string value (quote numbers and booleans)" }), {
        error: "expected a map of environment variables",
    })
    .default({});
const command = z.array(z.string({ error: "expected a string" }), { error: "expected a list of strings" });
const bool = (what: string) => z.boolean({ error: `expected true or false (${what})` });

export const kubernetesSchema = z.strictObject({
    /** The kubeconfig context. Default: the kubeconfig's current context. */
    context: z.string({ error: "expected a kubeconfig context name (a string)" }).min(1, { error: "expected a kubeconfig context name" }).optional(),
    /** The kubeconfig file. Default: $KUBECONFIG, else ~/.kube/config. */
    kubeconfig: absolutePath.optional(),
    /** The namespace of every object (it must exist). */
    namespace: z.string({ error: "expected a namespace name (a string)" }).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
        error: "expected a namespace name: lower-case letters, digits and '-' (a DNS label)",
    }).max(63, { error: "expected a namespace name of 63 characters at most" }),
    /** For a cluster without controllers (an API server alone): do not wait for pods, delete in the background. */
    skipAwait: bool("skipAwait").default(false),
    /** How this machine reaches the hosts' endpoints: NodePort Services at a node's address, or ClusterIP (Pulumi in the cluster). */
    service: z.enum(["NodePort", "ClusterIP"], { error: "expected NodePort or ClusterIP" }).default(DEFAULT_KUBERNETES_SERVICE_TYPE),
    /** Where NodePorts are dialled. Default: the first Ready node's InternalIP, asked of the cluster at each run. */
    nodeAddress: z.string({ error: "expected an IP address or a DNS name (a string)" }).max(253, { error: "expected a DNS name (253 characters at most)" })
        .regex(/^([0-9a-fA-F:.]+|[a-zA-Z0-9]([a-zA-Z0-9-.]*[a-zA-Z0-9])?)$/, { error: "expected an IP address or a DNS name" }).optional(),
    /** The stack's hosts on this cluster run on different nodes while there are enough (a preferred pod anti-affinity). */
    spread: bool("spread").default(false),
});

export const daemonSchema = z.strictObject({
    /** unix:///path/to/docker.sock, tcp://host:port or ssh://[user@]host[:port]. Either host or kubernetes. */
    host: z.string({ error: "expected a daemon URL (a string)" }).superRefine(rule((url) => {
        const parsed = parseDaemonUrl(url);
        return "problem" in parsed ? parsed.problem : undefined;
    })).optional(),
    /** A Kubernetes cluster instead of a Docker daemon: DinD hosts become StatefulSets there. */
    kubernetes: kubernetesSchema.optional(),
    /** tcp:// only: a directory holding ca.pem, cert.pem and key.pem for the daemon's TLS. */
    certPath: absolutePath.optional(),
    /** tcp:// only: talk to the daemon without TLS. Refused unless set explicitly. */
    insecure: bool("insecure").default(false),
    /** ssh:// only: extra ssh options. */
    sshOpts: command.optional(),
});

export const storageSchema = z.strictObject({
    /** The named volume on /var/lib/docker. Default: defaultStorageVolume(<host>), applied by DindHost. */
    volume: volumeName.optional(),
    /** Keep the volume on destroy. */
    retain: bool("retain").default(DEFAULT_STORAGE_RETAIN),
    /** Docker daemons only: take over a volume of this name that this stack did not create, on purpose (never by default). */
    adopt: z.enum(["keep", "delete"], {
        error: "expected keep (use the existing volume, destroy leaves it) or delete (use it, destroy deletes it with its data unless retain)",
    }).optional(),
    /** kubernetes daemons only: the size the claim requests. Default: DEFAULT_CLAIM_SIZE. */
    size: z.string({ error: "expected a size such as 20Gi (a string)" }).regex(/^[1-9][0-9]*(Ki|Mi|Gi|Ti)$/, {
        error: "expected a size such as 20Gi: a whole number and Ki, Mi, Gi or Ti",
    }).optional(),
    /** kubernetes daemons only: the claim's storage class. Default: the cluster's default class. */
    class: z.string({ error: "expected a storage class name (a string)" }).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
        error: "expected a storage class name: lower-case letters, digits, '-' and '.' (a DNS subdomain)",
    }).max(253, { error: "expected a storage class name of 253 characters at most" }).optional(),
});

export const tcpEndpointSchema = z.strictObject({
    /** The port on the outer daemon's host. */
    port,
    /** The address it is bound to on the outer daemon's host. */
    bind: plainAddress.default(DEFAULT_TCP_BIND),
    /** Mutual TLS. */
    tls: bool("tls").default(DEFAULT_TCP_TLS),
    /** Must be true, together with tls: false, to serve plain TCP. */
    insecure: bool("insecure").default(DEFAULT_TCP_INSECURE),
    /** Extra names or IPs the server certificate must cover (beyond localhost, the bind address and the daemon's host). */
    sans: z.array(z.string({ error: "expected a DNS name or IP address" }).max(253, { error: "expected a DNS name (253 characters at most)", abort: true }),
        { error: "expected a list of names" }).default([]),
});

export const unixEndpointSchema = z.strictObject({
    /** Absolute host directory that will hold the inner docker.sock. */
    hostDir: mountPath.superRefine(rule((dir) => socketPathProblem(socketIn(normalizePath(dir)), "the inner socket"))),
});

export const nestedContainerSchema = z.strictObject({
    image: imageRef,
    command: command.optional(),
    env,
    ports: z
        .array(
            z.strictObject({
                internal: port,
                external: port,
                protocol: z.enum(["tcp", "udp"], { error: "expected tcp or udp" }).default(DEFAULT_PORT_PROTOCOL),
            }),
            { error: "expected a list of ports" },
        )
        .default([]),
    networks: z.array(networkName, { error: "expected a list of network names" }).default([]),
    volumes: z
        .array(z.strictObject({
            volume: volumeName,
            path: mountPath.superRefine(rule(mountTargetProblem)),
            readOnly: bool("readOnly").default(DEFAULT_MOUNT_READ_ONLY),
        }), {
            error: "expected a list of volume mounts",
        })
        .default([]),
    restart: z.enum(["no", "on-failure", "always", "unless-stopped"], {
        error: "expected one of no, on-failure, always, unless-stopped",
    }).default(DEFAULT_NESTED_RESTART),
});

export const workloadsSchema = z.strictObject({
    networks: z.array(networkName, { error: "expected a list of network names" }).default([]),
    volumes: z.array(volumeName, { error: "expected a list of volume names" }).default([]),
    containers: z.record(name("a container"), nestedContainerSchema, { error: "expected a map of containers" }).default({}),
});

/**
 * A secret given by reference, never by value: an environment variable of the process that runs
 * Pulumi, or a key of the stack's Pulumi secret configuration. Its issues never quote the value.
 */
export type SecretRef = { env: string } | { secret: string };
const SECRET_REF_MESSAGE = "expected { env: NAME } or { secret: KEY } (a Pulumi secret config key): a secret is never written in the file";
export const secretRefSchema = z.custom<SecretRef>((value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
    const keys = Object.keys(value);
    const ref = value as Record<string, unknown>;
    return keys.length === 1 && ((keys[0] === "env" && typeof ref.env === "string" && ENV_NAME.test(ref.env))
        || (keys[0] === "secret" && typeof ref.secret === "string" && ref.secret.length > 0));
}, { error: SECRET_REF_MESSAGE, params: { plain: true } });

/** A key dockerd would accept but this project sets itself: refused with the reason. */
const managedOption = (option: string) => z.custom<never>(() => false, {
    error: `"${option}" is managed by dind-provisioner: ${MANAGED_DOCKERD_OPTIONS[option]}`, params: { plain: true, at: "key" },
}).optional();
const text = z.string({ error: "expected a string" });
const texts = z.array(text, { error: "expected a list of strings" });
const integer = z.number({ error: "expected an integer" }).int({ error: "expected an integer" });
const options = z.record(z.string(), z.unknown(), { error: "expected a map" });

/**
 * dockerd's daemon.json, as Docker documents it for Linux
 * (https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file), with types.
 */
export const dockerdSchema = z.strictObject({
    ...Object.fromEntries(Object.keys(MANAGED_DOCKERD_OPTIONS).map((option) => [option, managedOption(option)])),
    "allow-nondistributable-artifacts": texts.optional(),
    "api-cors-header": text.optional(),
    "authorization-plugins": texts.optional(),
    bip: text.optional(),
    bridge: text.optional(),
    builder: options.optional(),
    "cdi-spec-dirs": texts.optional(),
    "cgroup-parent": text.optional(),
    containerd: text.optional(),
    "containerd-namespace": text.optional(),
    "containerd-plugins-namespace": text.optional(),
    debug: bool("debug").optional(),
    "default-address-pools": z.array(z.strictObject({
        base: z.string({ error: "expected a CIDR such as 10.199.0.0/16" }),
        size: integer.min(1, { error: "expected a prefix length (1-128)" }).max(128, { error: "expected a prefix length (1-128)" }),
    }).superRefine((pool, ctx) => {
        const found = addressPoolProblem(pool);
        if (found) ctx.addIssue({ code: "custom", message: found.problem, path: [found.key], input: pool[found.key], params: { plain: true } });
    }), { error: "expected a list of { base, size }" }).optional(),
    "default-cgroupns-mode": z.enum(["private", "host"], { error: "expected private or host" }).optional(),
    "default-gateway": text.optional(),
    "default-gateway-v6": text.optional(),
    "default-ipc-mode": z.enum(["private", "shareable"], { error: "expected private or shareable" }).optional(),
    "default-network-opts": options.optional(),
    "default-runtime": text.optional(),
    "default-shm-size": text.optional(),
    "default-ulimits": options.optional(),
    dns: z.array(text.superRefine(rule(dnsServerProblem)), { error: "expected a list of strings" }).optional(),
    "dns-opts": texts.optional(),
    "dns-search": z.array(text.superRefine(rule(dnsSearchProblem)), { error: "expected a list of strings" }).optional(),
    "exec-opts": texts.optional(),
    "exec-root": text.optional(),
    experimental: bool("experimental").optional(),
    features: options.optional(),
    "fixed-cidr": text.optional(),
    "fixed-cidr-v6": text.optional(),
    group: text.optional(),
    "host-gateway-ip": text.optional(),
    icc: bool("icc").optional(),
    init: bool("init").optional(),
    "init-path": text.optional(),
    "insecure-registries": z.array(text.superRefine(rule(insecureRegistryProblem)), { error: "expected a list of strings" }).optional(),
    ip: text.optional(),
    "ip-forward": bool("ip-forward").optional(),
    "ip-masq": bool("ip-masq").optional(),
    ip6tables: bool("ip6tables").optional(),
    iptables: bool("iptables").optional(),
    ipv6: bool("ipv6").optional(),
    labels: z.array(text.superRefine(rule(daemonLabelProblem)), { error: "expected a list of strings" }).optional(),
    "live-restore": bool("live-restore").optional(),
    "log-driver": text.optional(),
    "log-format": z.enum(["text", "json"], { error: "expected text or json" }).optional(),
    "log-level": z.enum(["debug", "info", "warn", "error", "fatal"], { error: "expected one of debug, info, warn, error, fatal" }).optional(),
    "log-opts": options.optional(),
    "max-concurrent-downloads": integer.min(1, { error: "expected a positive integer" }).optional(),
    "max-concurrent-uploads": integer.min(1, { error: "expected a positive integer" }).optional(),
    "max-download-attempts": integer.min(1, { error: "expected a positive integer" }).optional(),
    "metrics-addr": text.optional(),
    mtu: z.union([
        z.literal("auto"),
        integer.min(68, { error: "expected an MTU (68-65535) or auto" }).max(65535, { error: "expected an MTU (68-65535) or auto" }),
    ], { error: "expected an MTU (68-65535) or auto (the DinD container's own interface MTU)" }).optional(),
    "no-new-privileges": bool("no-new-privileges").optional(),
    "node-generic-resources": texts.optional(),
    "oom-score-adjust": integer.optional(),
    proxies: options.optional(),
    "raw-logs": bool("raw-logs").optional(),
    /** URLs, or names under the top-level `registries`. */
    "registry-mirrors": z.array(z.string({ error: "expected a registry name or URL" }), { error: "expected a list of registry names or URLs" }).optional(),
    runtimes: options.optional(),
    "seccomp-profile": text.optional(),
    "selinux-enabled": bool("selinux-enabled").optional(),
    "shutdown-timeout": integer.optional(),
    "storage-driver": text.optional(),
    "storage-opts": texts.optional(),
    "swarm-default-advertise-addr": text.optional(),
    "userland-proxy": bool("userland-proxy").optional(),
    "userland-proxy-path": text.optional(),
    "userns-remap": text.optional(),
});

// A registry as image names spell it: host[:port].
const REGISTRY_ADDRESS = /^[a-zA-Z0-9]([a-zA-Z0-9-.]*[a-zA-Z0-9])?(:[0-9]+)?$/;
const registryAddress = z.string({ error: "expected a registry host[:port]" }).regex(REGISTRY_ADDRESS, {
    error: "expected a registry host[:port] such as registry.internal:5000",
});

export const resourcesSchema = z.strictObject({
    cpus: z.number({ error: "expected a number of CPUs such as 2 or 1.5" }).positive({ error: "expected a positive number of CPUs", abort: true })
        .superRefine(rule(cpusProblem)).optional(),
    memory: z.string({ error: "expected a memory size such as 4g (a string)" }).regex(MEMORY, { error: "expected a memory size such as 4g, 512m or 1073741824" })
        .superRefine(rule(memoryProblem)).optional(),
    pids: integer.min(1, { error: "expected a positive number of processes" }).optional(),
});

export const registryAuthSchema = z.strictObject({
    address: registryAddress,
    username: text,
    password: secretRefSchema,
});

export const hostSchema = z.strictObject({
    daemon: name("a daemon").default(DEFAULT_DAEMON),
    image: imageRef.default(DEFAULT_DIND_IMAGE),
    storage: storageSchema.default({ retain: DEFAULT_STORAGE_RETAIN }),
    tcp: tcpEndpointSchema.optional(),
    unix: unixEndpointSchema.optional(),
    preload: z.array(imageRef, { error: "expected a list of image references" }).default([]),
    env,
    workloads: workloadsSchema.optional(),
    /** The inner daemon's daemon.json. */
    dockerd: dockerdSchema.optional(),
    /** Credentials for nested image pulls. */
    registryAuth: z.array(registryAuthSchema, { error: "expected a list of { address, username, password }" }).default([]),
    /** Registry host:port -> CA file on this machine. */
    registryCAs: z.record(registryAddress, absolutePath, { error: "expected a map of registry host:port to a CA file path" }).default({}),
    resources: resourcesSchema.optional(),
    /** Registries of the stack (pull-through caches of registries other than Docker Hub) the nested workloads' images come through. */
    registryCaches: z.array(name("a registry"), { error: "expected a list of registry names" }).default([]),
    /** An OCI runtime of the outer daemon; any but runc makes the container unprivileged. */
    runtime: z.string({ error: "expected a runtime name such as sysbox-runc" }).regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, {
        error: "expected a runtime name such as sysbox-runc",
    }).optional(),
});

export const registrySchema = z.strictObject({
    daemon: name("a daemon").default(DEFAULT_DAEMON),
    image: imageRef.default(DEFAULT_REGISTRY_IMAGE),
    port,
    bind: plainAddress.default(DEFAULT_REGISTRY_BIND),
    proxy: z.strictObject({
        remote: z.string({ error: "expected a registry URL (http:// or https://)" }).superRefine((remote, ctx) => {
            // A user and password in the URL would be a secret written in the file: named, never quoted back.
            if (remote.includes("@")) {
                ctx.addIssue({ code: "custom", input: remote, params: { plain: true }, message: "expected a registry URL without a user or password " +
                    "(a password here would be a secret written in the file): give username, and password as { env: NAME } or { secret: KEY }" });
            } else if (!/^https?:\/\/[^\s/?#]+\/?$/.test(remote)) {
                ctx.addIssue({ code: "custom", input: remote, message: "expected a registry URL such as https://registry-1.docker.io" });
            }
        }),
        username: text.optional(),
        password: secretRefSchema.optional(),
        /**
         * The remote serves Docker Hub's images though it is not Docker Hub (a mirror of it): dockerd
         * uses registry mirrors for Docker Hub's images only, so only such a cache may be a host's mirror.
         */
        hubMirror: bool("hubMirror").optional(),
    }).optional(),
    storage: storageSchema.default({ retain: DEFAULT_STORAGE_RETAIN }),
    /** Plain HTTP instead of TLS. */
    insecure: bool("insecure").default(DEFAULT_REGISTRY_INSECURE),
    /** Seconds its /v2/ gets to answer before up fails. Default: DEFAULT_REGISTRY_READINESS_TIMEOUT, applied by DindRegistry. */
    readinessTimeout: integer.min(1, { error: "expected a number of seconds (1 to 3600)" }).max(3600, { error: "expected a number of seconds (1 to 3600)" }).optional(),
});

export const poolCacheSchema = z.strictObject({
    /** The storage a member's images and build cache may keep; release evicts the least recently used beyond it. */
    keep: z.string({ error: "expected a storage size such as 20GB (a string)" }).regex(STORAGE_SIZE, {
        error: "expected a storage size such as 20GB, 512MiB or 1000000 (bytes; B, kB, MB, GB, TB or KiB, MiB, GiB, TiB)",
    }).optional(),
    /** A registry of the stack that builds export their BuildKit cache to and import it from. */
    registry: name("a registry").optional(),
});

const poolSize = z.number({ error: `expected a number of hosts (1 to ${MAX_POOL_SIZE})` })
    .int({ error: `expected a whole number of hosts (1 to ${MAX_POOL_SIZE})` })
    .min(1, { error: "a pool needs at least 1 host (remove the pool to have none)" })
    .max(MAX_POOL_SIZE, {
        error: `a pool has at most ${MAX_POOL_SIZE} hosts: each is a privileged container with a daemon and a port of its own; split a larger fleet into several pools`,
    });

export const poolSchema = z.strictObject({
    /** How many identical hosts. */
    size: poolSize,
    /** The host each member is made from (a host's keys); names, ports, socket directories and volumes are derived per member. */
    template: hostSchema,
    /** Caches that outlive members. */
    cache: poolCacheSchema.optional(),
});

/**
 * What a DooD client may ask its daemon for, enforced by a policy proxy in front of the socket.
 * The default is the restricted policy; `full` gives the daemon's own socket (root on its machine).
 */
export const accessPolicySchema = z.strictObject({
    /** Privileged containers and execs, added capabilities, devices, security options, host sysctls. */
    privileged: bool("privileged").default(DEFAULT_DOOD_PRIVILEGED),
    /** The host's pid, network, ipc, uts, user and cgroup namespaces. */
    hostNamespaces: bool("hostNamespaces").default(DEFAULT_DOOD_HOST_NAMESPACES),
    /** Host paths under which bind mounts are allowed; `workspace` is the client's own workspace. */
    binds: z.array(z.string({ error: "expected an absolute path or the word workspace" }).refine(
        (p) => p === "workspace" || isCleanAbsolute(p),
        { error: "expected an absolute path without '..' or the word workspace" },
    ), {
        error: "expected a list of absolute paths and/or the word workspace",
    }).default(["workspace"]),
    /** own: the client sees and touches only what it created; all: everything on the daemon. */
    scope: z.enum(["own", "all"], { error: "expected own or all" }).default(DEFAULT_DOOD_SCOPE),
    /** Host directory where the client's proxied docker.sock appears. Default: /run/dind-provisioner/dood/<client>. */
    socketDir: absolutePath.optional(),
});

const RESTRICTED_ACCESS = accessPolicySchema.parse({});

export const accessSchema = z.union([
    z.literal("full", { error: "expected full" }),
    accessPolicySchema,
], { error: "expected full or a map with privileged, hostNamespaces, binds, scope, socketDir" }).default(RESTRICTED_ACCESS);

/** A restricted client's own BuildKit builder (the default for such a client); `false`: none. */
export const builderSchema = z.strictObject({
    /** The builder's image: rootless buildkitd started by buildkitd-userns. */
    image: imageRef.default(DEFAULT_BUILDER_IMAGE),
    /** Registries of this stack its builds reach by name (they share a network on the client's daemon). */
    registries: z.array(name("a registry"), { error: "expected a list of registry names" }).default([]),
});

export const clientSchema = z.strictObject({
    daemon: name("a daemon").default(DEFAULT_DAEMON),
    image: imageRef.default(DEFAULT_CLIENT_IMAGE),
    command: command.optional(),
    /** The daemon's socket on its host. Default: the daemon's unix:// path. */
    socket: mountPath.optional(),
    /** Group id owning the socket, added to the client. Default: read from the socket when the daemon is local. */
    socketGroup: id("group").optional(),
    /** Absolute host path, mounted at the same path inside (path parity). */
    workspace: mountPath.optional(),
    /** The user the client runs as, e.g. 1000:1000. Default: the image's. */
    user: z.string({
        error: (issue) => typeof issue.input === "number"
            ? `a numeric user must be quoted, as in user: "${issue.input}" (unquoted, YAML reads it as a number)`
            : "expected a user such as \"1000\" or \"1000:1000\" (a string)",
    }).superRefine(rule(userProblem)).optional(),
    env,
    access: accessSchema,
    /** A restricted client's BuildKit builder of its own. Default: one, with the default image and no registries. */
    builder: z.union([z.literal(false, { error: "expected false" }), builderSchema], { error: "expected false or a map with image, registries" }).optional(),
});

export const stackFileSchema = z.strictObject({
    daemons: z.record(name("a daemon"), daemonSchema, { error: "expected a map of daemons" }).default({}),
    hosts: z.record(name("a host"), hostSchema, { error: "expected a map of DinD hosts" }).default({}),
    clients: z.record(name("a client"), clientSchema, { error: "expected a map of DooD clients" }).default({}),
    registries: z.record(name("a registry"), registrySchema, { error: "expected a map of registries" }).default({}),
    pools: z.record(name("a pool"), poolSchema, { error: "expected a map of pools" }).default({}),
});

export type StackFile = z.infer<typeof stackFileSchema>;
export type DaemonSpec = z.infer<typeof daemonSchema>;
export type KubernetesSpec = z.infer<typeof kubernetesSchema>;
export type HostSpec = z.infer<typeof hostSchema>;
export type ClientSpec = z.infer<typeof clientSchema>;
export type BuilderSpec = z.infer<typeof builderSchema>;
export type RegistrySpec = z.infer<typeof registrySchema>;
export type PoolSpec = z.infer<typeof poolSchema>;
