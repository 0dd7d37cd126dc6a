// The stack file's shape: the single source of its TypeScript types (z.infer).
// Cross-field rules (references, uniqueness, the TLS rule) live in checks.ts; Docker's grammars
// and limits in docker-grammar.ts, host safety in host-safety.ts. Defaults come from the
// components (components/defaults.ts), and contract-check.ts proves at compile time that each
// section has the shape of the component arguments it becomes.
import { z } from "zod";
import {
    DEFAULT_CLIENT_IMAGE, DEFAULT_DIND_IMAGE, DEFAULT_MOUNT_READ_ONLY, DEFAULT_NESTED_RESTART, DEFAULT_PORT_PROTOCOL, DEFAULT_STORAGE_RETAIN,
    DEFAULT_TCP_BIND, DEFAULT_TCP_INSECURE, DEFAULT_TCP_TLS,
} from "../components/defaults";
import { imageReferenceProblem, MAX_ID, MAX_VOLUME_NAME, mountTargetProblem, NAME, parseDaemonUrl, PREDEFINED_NETWORKS, socketPathProblem, userProblem } from "./docker-grammar";
import { normalizePath, plainAddressProblem } from "./host-safety";

/** The outer daemon every host and client uses unless it names another. */
export const DEFAULT_DAEMON = "local";

/** Top-level keys starting with x- hold YAML anchors and are ignored, as in Compose files. */
export const EXTENSION_KEY = /^x-/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A zod refinement from a rule that says what is wrong (docker-grammar.ts, host-safety.ts). */
const rule = (problem: (value: string) => string | undefined) => (value: string, ctx: z.RefinementCtx) => {
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
const absolutePath = z
    .string({ error: "expected an absolute path (a string)" })
    .max(4095, { error: "expected a path of at most 4095 characters", abort: true })
    .refine((p) => p.startsWith("/") && !p.split("/").includes(".."), {
        error: "expected an absolute path without '..' (starting with /)",
    });
/** A path Docker mounts: its volume specification is split at ':'. */
const mountPath = absolutePath.refine((p) => !p.includes(":"), { error: "a path Docker mounts cannot contain ':'" });
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

export const daemonSchema = z.strictObject({
    /** unix:///path/to/docker.sock, tcp://host:port or ssh://[user@]host[:port]. */
    host: z.string({ error: "expected a daemon URL (a string)" }).superRefine(rule((url) => {
        const parsed = parseDaemonUrl(url);
        return "problem" in parsed ? parsed.problem : undefined;
    })),
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
});

export const tcpEndpointSchema = z.strictObject({
    /** The port on the outer daemon's host. */
    port,
    /** The address it is bound to on the outer daemon's host. */
    bind: z.string({ error: "expected an IP address (a string)" }).superRefine(rule(plainAddressProblem)).default(DEFAULT_TCP_BIND),
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
    hostDir: mountPath.superRefine(rule((dir) => socketPathProblem(`${normalizePath(dir)}/docker.sock`, "the inner socket"))),
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
