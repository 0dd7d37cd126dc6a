// The one home of every default the components apply. The stack-file schema takes its
// defaults from here, so a library user and a stack file get the same thing.
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEndpoint } from "./engineApi";

/** The DinD image used when a host names none: an official tag, pinned. */
export const DEFAULT_DIND_IMAGE = "docker:27.5.1-dind";
/** The DooD client image used when a client names none: an official tag, pinned. */
export const DEFAULT_CLIENT_IMAGE = "docker:27.5.1-cli";
/** Where a DinD host's TCP endpoint is bound: loopback, so nothing off this machine reaches it by default. */
export const DEFAULT_TCP_BIND = "127.0.0.1";
/** A TCP endpoint speaks mutual TLS unless told otherwise. */
export const DEFAULT_TCP_TLS = true;
/** Plain TCP is refused unless explicitly accepted. */
export const DEFAULT_TCP_INSECURE = false;
/** A DinD host's storage volume goes with it on destroy unless kept. */
export const DEFAULT_STORAGE_RETAIN = false;
/** Seconds a DinD host's inner daemon gets to answer before its create fails. */
export const DEFAULT_READINESS_TIMEOUT = 120;
/** A nested container's port is TCP unless it says udp. */
export const DEFAULT_PORT_PROTOCOL = "tcp";
/** A nested volume is mounted read-write unless it says otherwise. */
export const DEFAULT_MOUNT_READ_ONLY = false;
/** A nested container comes back after a crash or an inner-daemon restart, but not after `docker stop`. */
export const DEFAULT_NESTED_RESTART = "unless-stopped";

/**
 * The most hosts a pool may have: each is a privileged container with a daemon and a port of its
 * own (about 55 MiB of memory idle), and a pool's ports are consecutive. Larger fleets are several pools.
 */
export const MAX_POOL_SIZE = 100;

/** The name of a pool's n-th member (1-based): also its container's name. */
export function poolMemberName(pool: string, n: number): string {
    return `${pool}-${n}`;
}

/** The n-th member's TCP port (1-based): a pool takes consecutive ports from its template's. */
export function poolMemberPort(templatePort: number, n: number): number {
    return templatePort + n - 1;
}

/** A member's unix endpoint directory: one of its own under the template's. */
export function poolMemberSocketDir(templateDir: string, member: string): string {
    return `${templateDir.replace(/\/+$/, "")}/${member}`;
}

/** The size a Kubernetes DinD host's claim on /var/lib/docker requests when it names none. */
export const DEFAULT_CLAIM_SIZE = "20Gi";
/** A Kubernetes DinD host's TCP endpoint: Docker's TLS port, in the pod and on its Service. */
export const DEFAULT_KUBERNETES_TCP_PORT = 2376;
/**
 * A Kubernetes DinD host's Service: NodePort, which every cluster serves on its nodes' addresses,
 * so the machine running Pulumi reaches the endpoint (for preload and workloads) from outside the
 * cluster; it speaks mutual TLS only. ClusterIP is for a Pulumi that runs in the cluster.
 */
export const DEFAULT_KUBERNETES_SERVICE_TYPE = "NodePort";
/** Seconds a Kubernetes DinD host's pod gets to be ready: scheduling, a claim's provisioning and an image pull come first. */
export const DEFAULT_KUBERNETES_READINESS_TIMEOUT = 300;

/** The DooD policy proxy's image, made by toolchain/steps/dood-proxy-image.sh from dood-proxy. */
export const DEFAULT_DOOD_PROXY_IMAGE = "dind-provisioner/dood-proxy:local";
/** A DooD client's policy where it says nothing: no privileged, no host namespaces, only its own objects. */
export const DEFAULT_DOOD_PRIVILEGED = false;
export const DEFAULT_DOOD_HOST_NAMESPACES = false;
export const DEFAULT_DOOD_SCOPE = "own";

/** A restricted DooD client's own BuildKit builder, made by toolchain/steps/buildkit-image.sh from toolchain/modules/buildkit. */
export const DEFAULT_BUILDER_IMAGE = "dind-provisioner/buildkit:local";

/** The container name of a DooD client's builder when it names none. */
export function defaultBuilderContainerName(client: string): string {
    return `${client}-buildkit`;
}

/** The named volume holding a DooD client's build cache when it names none (its socket's volume adds `-socket`). */
export function defaultBuilderVolume(client: string): string {
    return `${client}-buildkit`;
}

/** The named volume holding what a DooD client's proxy records (the image tags the client created). */
export function defaultProxyStateVolume(client: string): string {
    return `${client}-dood-proxy`;
}

/** The host directory holding a DooD client's proxied socket when it names none. */
export function defaultProxySocketDir(client: string): string {
    return `/run/dind-provisioner/dood/${client}`;
}

/** The container name of a DooD client's policy proxy when it names none. */
export function defaultProxyContainerName(client: string): string {
    return `${client}-dood-proxy`;
}

/** The named volume holding a DinD host's /var/lib/docker when it names none. */
export function defaultStorageVolume(containerName: string): string {
    return `${containerName}-docker`;
}

/**
 * The outer daemon as the docker CLI finds it: $DOCKER_HOST, else the standard socket; for a
 * tcp:// host with $DOCKER_TLS_VERIFY set, TLS with the files in $DOCKER_CERT_PATH (else
 * ~/.docker). Without $DOCKER_TLS_VERIFY a tcp:// host is plain TCP, as for the docker CLI.
 * @example defaultOuterDaemon({ DOCKER_HOST: "tcp://10.0.0.5:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" })
 *          // { host: "tcp://10.0.0.5:2376", certPath: "/certs" }
 */
export function defaultOuterDaemon(env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
    const host = env.DOCKER_HOST || "unix:///var/run/docker.sock";
    if (!host.startsWith("tcp://") || !env.DOCKER_TLS_VERIFY) return { host };
    return { host, certPath: env.DOCKER_CERT_PATH || path.join(env.HOME || os.homedir(), ".docker") };
}

/** The registry image used when a registry names none: the official distribution registry, pinned. */
export const DEFAULT_REGISTRY_IMAGE = "registry:2.8.3";
/** Where a registry's port is bound: loopback, so nothing off this machine reaches it by default. */
export const DEFAULT_REGISTRY_BIND = "127.0.0.1";
/** Seconds a registry's /v2/ gets to answer before `up` fails: a registry answers in well under a second once it listens. */
export const DEFAULT_REGISTRY_READINESS_TIMEOUT = 20;
/** A registry serves TLS with a certificate the stack issues unless told to serve plain HTTP. */
export const DEFAULT_REGISTRY_INSECURE = false;

/** The named volume holding a registry's data when it names none. */
export function defaultRegistryVolume(containerName: string): string {
    return `${containerName}-data`;
}

/** The outer network a registry and the DinD hosts that mirror it share, when it names none. */
export function defaultRegistryNetwork(containerName: string): string {
    return `${containerName}-net`;
}
