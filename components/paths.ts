// The one home of every path the components manage inside the containers they make: where they
// put TLS material, configuration and sockets. A path here is part of how the project's objects
// work together (the readiness check, the policy proxy, the registry mirror), not a default a user
// chooses; host-side defaults (a proxy's socket directory) are in ./defaults.

/** The socket a daemon (or the policy proxy) creates in a socket directory. */
const DOCKER_SOCKET_NAME = "docker.sock";
/** What the policy proxy adds next to its docker.sock: its builder socket and the buildx configuration that dials it (dood-proxy/main.go). */
const PROXY_BUILDER_SOCKET_NAME = "buildkit.sock";
const BUILDX_CONFIG_NAME = "buildx";
/**
 * Every entry the project's own containers leave in a socket directory (a daemon's or proxy's socket,
 * the proxy's builder socket and buildx configuration): they outlive the container that made them,
 * so a directory holding nothing else is not someone else's.
 */
export const SOCKET_DIR_ENTRIES: readonly string[] = [DOCKER_SOCKET_NAME, PROXY_BUILDER_SOCKET_NAME, BUILDX_CONFIG_NAME];

/** The path of a daemon's (or policy proxy's) socket in a socket directory. */
export function socketIn(dir: string): string {
    return `${dir}/${DOCKER_SOCKET_NAME}`;
}

/** The inner daemon's data, on the DinD host's storage volume (or claim). */
export const INNER_DATA_ROOT = "/var/lib/docker";
/** The inner daemon's own socket inside a DinD container: the health check and readiness probe ask it. */
export const INNER_SOCKET = "/var/run/docker.sock";
/** Where the inner daemon's server TLS files are (uploaded by DindHost, a Secret's mount on Kubernetes). */
export const INNER_TLS_DIR = "/etc/docker/dind-tls";
/**
 * Where a pool member's DinD container keeps its client CA, certificate and key (CERT_PATH_FILES):
 * `lease` reads them there over the outer daemon, so a job gets them without the stack's secrets.
 */
export const INNER_CLIENT_TLS_DIR = "/etc/docker/dind-tls/client";
/**
 * On a pool member's storage volume, under INNER_DATA_ROOT: when each image was last seen in use,
 * which its storage budget evicts by (least recently used first).
 */
export const IMAGE_USAGE_FILE = "dind-provisioner/image-usage.json";
/** Where `unix.hostDir` is mounted inside the DinD container. */
export const HOST_SOCKET_DIR = "/run/dind-host";
/** Where dockerd reads its configuration file. */
export const DAEMON_JSON = "/etc/docker/daemon.json";
/** Where dockerd looks for the CA of a registry host:port (`<dir>/<host:port>/ca.crt`). */
export const REGISTRY_CERTS_DIR = "/etc/docker/certs.d";

/** Where the DooD policy proxy's socket directory appears inside the proxy and its client. */
export const PROXY_SOCKET_DIR = "/run/dood";
/** Where a DooD client with `access: full` finds its daemon's socket. */
export const CLIENT_SOCKET = "/var/run/docker.sock";
/** The policy proxy's executable in its image (its health check runs it). */
export const PROXY_BINARY = "/dood-proxy";
/** Where the policy proxy finds its daemon's socket. */
export const PROXY_DAEMON_SOCKET = "/var/run/docker.sock";
/** Where the policy proxy keeps what it records (the image tags its client created), on a volume the client never mounts. */
export const PROXY_STATE_DIR = "/var/lib/dood-proxy";
/** The buildx configuration the proxy writes for its client, and the builder's name in it (dood-proxy/buildkit.go). */
export const BUILDX_CONFIG_DIR = `${PROXY_SOCKET_DIR}/${BUILDX_CONFIG_NAME}`;
export const BUILDX_BUILDER_NAME = "dood";

/** Where a DooD client's builder puts buildkitd's socket, and where its policy proxy finds it (toolchain/modules/buildkit). */
export const BUILDER_SOCKET_DIR = "/run/buildkit";
/** The builder's state: its build cache and cache mounts. */
export const BUILDER_STATE_DIR = "/var/lib/buildkit";
/** buildkitd's configuration, and the CAs of the registries it reaches (`<dir>/<host:port>/ca.pem`). */
export const BUILDER_CONFIG_FILE = "/etc/buildkit/buildkitd.toml";
export const BUILDER_CERTS_DIR = "/etc/buildkit/certs";

/** The registry image's configuration file: both the official image and the local one read it. */
export const REGISTRY_CONFIG_FILE = "/etc/docker/registry/config.yml";
/** Where the registry keeps its data. */
export const REGISTRY_STORAGE_DIR = "/var/lib/registry";
/** Where the registry's server TLS files are. */
export const REGISTRY_TLS_DIR = "/etc/docker/registry/tls";

/** The file names of a TLS directory as the docker CLI reads DOCKER_CERT_PATH; the inner daemon's TLS directory uses them too. */
export const CERT_PATH_FILES = { ca: "ca.pem", cert: "cert.pem", key: "key.pem" } as const;
