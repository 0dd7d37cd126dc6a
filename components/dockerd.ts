// The inner daemon's settings and the DinD container's limits: types, the options the project
// manages itself, and the conversions the Docker provider needs. Kept apart from DindHost so the
// stack-file schema can share them without importing the component.
import type * as pulumi from "@pulumi/pulumi";
import { UserError } from "./errors";
import { CERT_PATH_FILES, INNER_SOCKET, INNER_TLS_DIR } from "./paths";

/** The inner daemon's TCP port inside its container for mutual TLS (Docker's convention). */
export const DOCKERD_TLS_PORT = 2376;
/** The inner daemon's TCP port inside its container for plain TCP (Docker's convention). */
export const DOCKERD_PLAIN_PORT = 2375;

/** dockerd's listener on its own socket inside the container, which the health check and readiness probe ask. */
export const DOCKERD_SOCKET_FLAG = `--host=unix://${INNER_SOCKET}`;

/** dockerd's flags for a mutual-TLS TCP listener, its server files in INNER_TLS_DIR (DindHost uploads them, KubernetesDindHost mounts them). */
export function dockerdTlsFlags(): string[] {
    return [`--host=tcp://0.0.0.0:${DOCKERD_TLS_PORT}`, "--tlsverify", `--tlscacert=${INNER_TLS_DIR}/${CERT_PATH_FILES.ca}`,
        `--tlscert=${INNER_TLS_DIR}/${CERT_PATH_FILES.cert}`, `--tlskey=${INNER_TLS_DIR}/${CERT_PATH_FILES.key}`];
}

/** The check that the inner daemon answers, run inside the DinD container (health check, readiness probe). */
export const INNER_DAEMON_CHECK = ["docker", "--host", `unix://${INNER_SOCKET}`, "version"];

/** Network driver option that sets a network's MTU. */
export const MTU_OPTION = "com.docker.network.driver.mtu";

/**
 * daemon.json options DindHost sets itself (through dockerd flags or the container), so
 * a dockerd configuration may not: dockerd refuses an option given both ways, and changing
 * these would cut the project off from the daemon it manages.
 */
export const MANAGED_DOCKERD_OPTIONS: Record<string, string> = {
    hosts: "the listeners come from tcp and unix (and the in-container socket the readiness check uses)",
    tls: "TLS is set by tcp.tls",
    tlsverify: "TLS is set by tcp.tls",
    tlscacert: "the endpoint's certificates are issued by the stack",
    tlscert: "the endpoint's certificates are issued by the stack",
    tlskey: "the endpoint's certificates are issued by the stack",
    "data-root": "the inner daemon's data lives on the storage volume mounted at /var/lib/docker",
    pidfile: "the entrypoint removes a stale pidfile at its default path on restart",
};

/**
 * The inner daemon's daemon.json: options exactly as Docker documents them (see
 * https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file). A few get help here.
 */
export interface DockerdConfig {
    /**
     * MTU of the inner default bridge and of every network the host's workloads create.
     * `auto`: the DinD container's own eth0 MTU, read when the container starts.
     * @default dockerd's (1500)
     * @example "auto"
     */
    mtu?: number | "auto";
    /**
     * Registry mirrors (URLs); a `DindRegistry`'s `mirrorUrl` fits here.
     * @default []
     * @example ["https://hub-cache:5000"]
     */
    "registry-mirrors"?: pulumi.Input<string>[];
    /** @default [] @example ["registry.internal:5000"] */
    "insecure-registries"?: string[];
    /** Address pools for networks the inner daemon creates. @default dockerd's (172.17.0.0/16 ...) @example [{ base: "10.199.0.0/16", size: 24 }] */
    "default-address-pools"?: { base: string; size: number }[];
    /** @default "info" @example "warn" */
    "log-level"?: string;
    /** Any other documented option, with its documented value. */
    [option: string]: unknown;
}

/** Limits of the DinD container. */
export interface DindResources {
    /** CPUs it may use. @default unlimited @example 2 */
    cpus?: number;
    /** Memory limit, a number of bytes with an optional b, k, m or g suffix. @default unlimited @example "4g" */
    memory?: string;
    /** Processes it may run. @default unlimited @example 4096 */
    pids?: number;
}

/** "4g" -> 4096: the Docker provider takes megabytes. */
export function memoryMegabytes(memory: string): number {
    const match = MEMORY.exec(memory);
    if (!match) throw new UserError(`expected a memory size such as 4g, 512m or 1073741824, got "${memory}"`);
    const bytes = Number(match[1]) * 1024 ** "bkmg".indexOf(match[2]?.toLowerCase() ?? "b");
    return Math.max(1, Math.ceil(bytes / 1024 ** 2));
}
/** A memory size as docker run's --memory takes it. */
export const MEMORY = /^([0-9]+)([bkmgBKMG])?$/;

