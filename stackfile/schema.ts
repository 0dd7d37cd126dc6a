// The stack file's shape: the single source of its TypeScript types (z.infer).
// Cross-field rules (references, uniqueness, the TLS rule) live in checks.ts. Defaults come
// from the components (components/defaults.ts), and contract-check.ts proves at compile time
// that each section has the shape of the component arguments it becomes.
import { isIP } from "node:net";
import { z } from "zod";
import {
    DEFAULT_CLIENT_IMAGE, DEFAULT_DIND_IMAGE, DEFAULT_DOOD_HOST_NAMESPACES, DEFAULT_DOOD_PRIVILEGED, DEFAULT_DOOD_SCOPE, DEFAULT_MOUNT_READ_ONLY, DEFAULT_NESTED_RESTART, DEFAULT_PORT_PROTOCOL, DEFAULT_STORAGE_RETAIN,
    DEFAULT_TCP_BIND, DEFAULT_TCP_INSECURE, DEFAULT_TCP_TLS,
} from "../components/defaults";

/** The outer daemon every host and client uses unless it names another. */
export const DEFAULT_DAEMON = "local";

// Docker's own pattern for container and volume names.
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
// The distribution reference grammar: [domain[:port]/]path[:tag][@algo:hex].
const IMAGE_REF =
    /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DAEMON_URL = /^(unix:\/\/\/.+|tcp:\/\/[^/\s]+:[0-9]+\/?|ssh:\/\/[^/\s]+)$/;

const name = (what: string) =>
    z.string({ error: `expected ${what} name (a string)` }).regex(NAME, {
        error: `expected ${what} name: a letter or digit, then letters, digits, '_', '.' or '-' (2 characters at least)`,
    });
const imageRef = z
    .string({ error: "expected an image reference (a string)" })
    .regex(IMAGE_REF, { error: "expected an image reference such as busybox:1.36 or registry:5000/team/app@sha256:<hex>" });
const isCleanAbsolute = (p: string) => p.startsWith("/") && !p.split("/").includes("..");
const absolutePath = z
    .string({ error: "expected an absolute path (a string)" })
    .refine(isCleanAbsolute, {
        error: "expected an absolute path without '..' (starting with /)",
    });
const port = z
    .number({ error: "expected a port number (an integer 1-65535)" })
    .int({ error: "expected a port number (an integer 1-65535)" })
    .min(1, { error: "expected a port number (an integer 1-65535)" })
    .max(65535, { error: "expected a port number (an integer 1-65535)" });
const ipAddress = z
    .string({ error: "expected an IP address (a string)" })
    .refine((ip) => isIP(ip) !== 0, { error: "expected an IPv4 or IPv6 address such as 127.0.0.1" });
const env = z
    .record(z.string().regex(ENV_NAME, { error: "expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*)" }),
        z.string({ error: "expected a string value (quote numbers and booleans)" }), {
        error: "expected a map of environment variables",
    })
    .default({});
const command = z.array(z.string({ error: "expected a string" }), { error: "expected a list of strings" });
const bool = (what: string) => z.boolean({ error: `expected true or false (${what})` });

export const daemonSchema = z.strictObject({
    /** unix:///path/to/docker.sock, tcp://host:port or ssh://[user@]host[:port]. */
    host: z.string({ error: "expected a daemon URL (a string)" }).regex(DAEMON_URL, {
        error: "expected a daemon URL: unix:///absolute/path, tcp://host:port or ssh://[user@]host",
    }),
    /** tcp:// only: a directory holding ca.pem, cert.pem and key.pem for the daemon's TLS. */
    certPath: absolutePath.optional(),
    /** tcp:// only: talk to the daemon without TLS. Refused unless set explicitly. */
    insecure: bool("insecure").default(false),
    /** ssh:// only: extra ssh options. */
    sshOpts: command.optional(),
});

export const storageSchema = z.strictObject({
    /** The named volume on /var/lib/docker. Default: defaultStorageVolume(<host>), applied by DindHost. */
    volume: name("a volume").optional(),
    /** Keep the volume on destroy. */
    retain: bool("retain").default(DEFAULT_STORAGE_RETAIN),
});

export const tcpEndpointSchema = z.strictObject({
    /** The port on the outer daemon's host. */
    port,
    /** The address it is bound to on the outer daemon's host. */
    bind: ipAddress.default(DEFAULT_TCP_BIND),
    /** Mutual TLS. */
    tls: bool("tls").default(DEFAULT_TCP_TLS),
    /** Must be true, together with tls: false, to serve plain TCP. */
    insecure: bool("insecure").default(DEFAULT_TCP_INSECURE),
    /** Extra names or IPs the server certificate must cover (beyond localhost, the bind address and the daemon's host). */
    sans: z.array(z.string({ error: "expected a DNS name or IP address" }), { error: "expected a list of names" }).default([]),
});

export const unixEndpointSchema = z.strictObject({
    /** Absolute host directory that will hold the inner docker.sock. */
    hostDir: absolutePath,
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
    networks: z.array(name("a network"), { error: "expected a list of network names" }).default([]),
    volumes: z
        .array(z.strictObject({ volume: name("a volume"), path: absolutePath, readOnly: bool("readOnly").default(DEFAULT_MOUNT_READ_ONLY) }), {
            error: "expected a list of volume mounts",
        })
        .default([]),
    restart: z.enum(["no", "on-failure", "always", "unless-stopped"], {
        error: "expected one of no, on-failure, always, unless-stopped",
    }).default(DEFAULT_NESTED_RESTART),
});

export const workloadsSchema = z.strictObject({
    networks: z.array(name("a network"), { error: "expected a list of network names" }).default([]),
    volumes: z.array(name("a volume"), { error: "expected a list of volume names" }).default([]),
    containers: z.record(name("a container"), nestedContainerSchema, { error: "expected a map of containers" }).default({}),
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

export const clientSchema = z.strictObject({
    daemon: name("a daemon").default(DEFAULT_DAEMON),
    image: imageRef.default(DEFAULT_CLIENT_IMAGE),
    command: command.optional(),
    /** The daemon's socket on its host. Default: the daemon's unix:// path. */
    socket: absolutePath.optional(),
    /** Group id owning the socket, added to the client. Default: read from the socket when the daemon is local. */
    socketGroup: z.number({ error: "expected a numeric group id" }).int({ error: "expected a numeric group id" }).min(0, {
        error: "expected a numeric group id",
    }).optional(),
    /** Absolute host path, mounted at the same path inside (path parity). */
    workspace: absolutePath.optional(),
    /** The user the client runs as, e.g. 1000:1000. Default: the image's. */
    user: z.string({ error: "expected a user such as 1000 or 1000:1000" }).regex(/^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$/, {
        error: "expected a user such as 1000 or 1000:1000",
    }).optional(),
    env,
    access: accessSchema,
});

export const stackFileSchema = z.strictObject({
    daemons: z.record(name("a daemon"), daemonSchema, { error: "expected a map of daemons" }).default({}),
    hosts: z.record(name("a host"), hostSchema, { error: "expected a map of DinD hosts" }).default({}),
    clients: z.record(name("a client"), clientSchema, { error: "expected a map of DooD clients" }).default({}),
});

export type StackFile = z.infer<typeof stackFileSchema>;
export type DaemonSpec = z.infer<typeof daemonSchema>;
export type HostSpec = z.infer<typeof hostSchema>;
export type ClientSpec = z.infer<typeof clientSchema>;
