import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
    DEFAULT_DOOD_HOST_NAMESPACES, DEFAULT_DOOD_PRIVILEGED, DEFAULT_DOOD_PROXY_IMAGE, DEFAULT_DOOD_SCOPE, defaultProxyContainerName, defaultProxySocketDir,
    defaultProxyStateVolume,
} from "./defaults";
import { DoodBuilder } from "./DoodBuilder";
import { CLIENT_LABEL, DOOD_PROXY_ROLE, DOOD_PROXY_TYPE, labelList, ownerMarker, ROLE_LABEL, withMarkers } from "./markers";
import { BUILDER_SOCKET_DIR, PROXY_BINARY, PROXY_DAEMON_SOCKET, PROXY_SOCKET_DIR, PROXY_STATE_DIR, socketIn } from "./paths";
import { Transform, transformed } from "./transform";

/** What a DooD client may ask its daemon for (the proxy refuses the rest). */
export interface DoodPolicy {
    /**
     * Allow privileged containers and execs, added capabilities beyond Docker's default set,
     * devices, security options other than no-new-privileges, cgroup parents, other runtimes,
     * host sysctls, volume and network plugins.
     * @default false
     * @example false
     */
    privileged?: boolean;
    /**
     * Allow the host's pid, network, ipc, uts, user and cgroup namespaces, macvlan and ipvlan networks.
     * @default false
     * @example false
     */
    hostNamespaces?: boolean;
    /**
     * Host paths under which bind mounts (and local volumes bound to a host path) are allowed.
     * Each is also mounted read-only into the proxy, which follows symbolic links through it.
     * @default []
     * @example ["/srv/ci"]
     */
    binds?: string[];
    /**
     * `own`: the client sees and touches only objects it created (labelled with its name), and
     * the names it chooses get its name as a prefix (`<client>.<name>`); `all`: everything.
     * @default "own"
     * @example "own"
     */
    scope?: "own" | "all";
}

export interface DoodPolicyProxyArgs {
    /**
     * The client's name: the owner label's value and the prefix of its objects' names. No '.'.
     * @example "agent"
     */
    client: string;
    /** The policy. @default {} (everything restricted, no binds, scope own) @example { binds: ["/srv/ci"] } */
    policy?: DoodPolicy;
    /**
     * The daemon's socket on its machine: the only thing that gets it is the proxy.
     * @example "/var/run/docker.sock"
     */
    daemonSocket: string;
    /**
     * Host directory (on the daemon's machine) where the proxy creates `docker.sock`; the client
     * mounts the directory, so it keeps working when the proxy restarts and replaces the socket.
     * @default "/run/dind-provisioner/dood/<client>"
     * @example "/run/dind-provisioner/dood/agent"
     */
    socketDir?: string;
    /**
     * Group that may use the proxied socket besides root (the client's socket group).
     * @default none: root only
     * @example 998
     */
    socketGroup?: number;
    /**
     * The client's own BuildKit builder: the proxy serves its builder socket (`/run/dood/buildkit.sock`,
     * gRPC checked against the policy) and writes a buildx configuration that uses it.
     * @default none: the client has no BuildKit (the daemon's own is refused)
     * @example new DoodBuilder("agent-buildkit", { client: "agent" })
     */
    builder?: DoodBuilder;
    /**
     * Named volume where the proxy keeps the image tags the client created (mounted in the proxy only).
     * @default "<client>-dood-proxy"
     * @example "agent-dood-proxy"
     */
    stateVolume?: string;
    /** The proxy's image. @default "dind-provisioner/dood-proxy:local" @example "registry:5000/dood-proxy:0.1.0" */
    image?: pulumi.Input<string>;
    /**
     * The id `image` has on the daemon, as the caller looked it up: the proxy runs exactly that
     * image, so a rebuilt proxy image under the same tag replaces it on the next up.
     * @default the image resource's id (read when it was created)
     * @example "sha256:4a1c..."
     */
    imageId?: string;
    /** Name of the proxy container. @default "<client>-dood-proxy" @example "agent-dood-proxy" */
    containerName?: string;
    /** Labels of the proxy container. @default {} @example { team: "ci" } */
    labels?: Record<string, string>;
    /**
     * Who creates the proxy: "<project>/<stack>", the owner label (STACK_LABEL) of its
     * container and state volume, set after `labels`. Its socket directory cannot carry a label: the program
     * tells whose it is by the containers that mount it (see docs/faults.md).
     * @default none (no owner label)
     * @example "dind-provisioner/staging"
     */
    owner?: string;
    /** Adjust the arguments of the resources this component creates. @default {} @example { container: { memory: 64 } } */
    transform?: { image?: Transform<docker.RemoteImageArgs>; stateVolume?: Transform<docker.VolumeArgs>; container?: Transform<docker.ContainerArgs> };
}

/**
 * A Docker socket for one DooD client that applies its policy (dood-proxy): it reads
 * each request, bodies included, refuses what the policy forbids in the daemon's own error
 * shape, and with scope own shows the client only its own containers, volumes and networks and
 * lets it write only image tags it created. With a builder, it also serves the client's BuildKit
 * socket, checked the same way. The proxy is not privileged and runs with no capability but CHOWN.
 */
export class DoodPolicyProxy extends pulumi.ComponentResource {
    readonly image: docker.RemoteImage;
    /** The id of the image the proxy runs (its client's cleanup runs it too). */
    readonly imageId: pulumi.Output<string>;
    /** What the proxy records: the image tags the client created. */
    readonly stateVolume: docker.Volume;
    readonly container: docker.Container;
    /** The host directory holding the proxied `docker.sock`. */
    readonly socketDir: string;
    /** The client's name, the policy as the proxy reads it (DOOD_POLICY), the daemon's socket. */
    readonly client: string;
    readonly policyJson: string;
    readonly daemonSocket: string;
    /** The client's builder, when it has one. */
    readonly builder?: DoodBuilder;

    constructor(name: string, args: DoodPolicyProxyArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(DOOD_PROXY_TYPE, name, {}, opts);
        const policy = {
            client: args.client,
            privileged: args.policy?.privileged ?? DEFAULT_DOOD_PRIVILEGED,
            hostNamespaces: args.policy?.hostNamespaces ?? DEFAULT_DOOD_HOST_NAMESPACES,
            binds: args.policy?.binds ?? [],
            scope: args.policy?.scope ?? DEFAULT_DOOD_SCOPE,
        };
        this.client = args.client;
        this.policyJson = JSON.stringify(policy);
        this.daemonSocket = args.daemonSocket;
        this.builder = args.builder;
        this.socketDir = args.socketDir ?? defaultProxySocketDir(args.client);
        this.image = new docker.RemoteImage(...transformed(args.transform?.image, `${name}-image`, {
            name: args.image ?? DEFAULT_DOOD_PROXY_IMAGE,
            keepLocally: true,
        }, { parent: this }));
        this.imageId = pulumi.output(args.imageId ?? this.image.imageId);
        const labels = withMarkers(args.labels, { ...ownerMarker(args.owner), [ROLE_LABEL]: DOOD_PROXY_ROLE, [CLIENT_LABEL]: args.client });
        this.stateVolume = new docker.Volume(...transformed(args.transform?.stateVolume, `${name}-state`, {
            name: args.stateVolume ?? defaultProxyStateVolume(args.client),
            labels: labelList(labels),
        }, { parent: this }));
        const builder = args.builder;
        this.container = new docker.Container(...transformed(args.transform?.container, `${name}-container`, {
            name: args.containerName ?? defaultProxyContainerName(args.client),
            image: this.imageId,
            envs: [
                `DOOD_POLICY=${this.policyJson}`,
                `DOOD_LISTEN=${socketIn(PROXY_SOCKET_DIR)}`,
                // A container that binds the daemon's socket gets the proxy's, at its path on the daemon's machine.
                `DOOD_SOCKET_HOST_DIR=${this.socketDir}`,
                `DOOD_DAEMON_SOCKET=${args.daemonSocket}`,
                `DOOD_STATE_DIR=${PROXY_STATE_DIR}`,
                ...(builder ? [`DOOD_BUILDKIT_UPSTREAM=${BUILDER_SOCKET_DIR}/buildkitd.sock`] : []),
                ...(args.socketGroup === undefined ? [] : [`DOOD_SOCKET_GID=${args.socketGroup}`]),
            ],
            volumes: [
                { hostPath: args.daemonSocket, containerPath: PROXY_DAEMON_SOCKET },
                { hostPath: this.socketDir, containerPath: PROXY_SOCKET_DIR },
                { volumeName: this.stateVolume.name, containerPath: PROXY_STATE_DIR },
                ...(builder ? [{ volumeName: builder.socketVolume.name, containerPath: BUILDER_SOCKET_DIR, readOnly: true }] : []),
                // Seen at the same paths, so the proxy resolves links the way the daemon's mount will.
                ...policy.binds.map((root) => ({ hostPath: root, containerPath: root, readOnly: true })),
            ],
            // The builder's socket belongs to the builder's mapped root and its group.
            groupAdds: builder ? [String(builder.socketGroup)] : undefined,
            // The engine reads capabilities back as CAP_*: any other spelling diffs (and replaces) on every up.
            capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN"] },
            securityOpts: ["no-new-privileges"],
            readOnly: true,
            privileged: false,
            // For `docker ps` and monitoring only: the socket is there within milliseconds of the
            // start, and a frequent exec costs the daemon more than the proxy itself.
            healthcheck: { tests: ["CMD", PROXY_BINARY, "healthcheck"], interval: "30s", timeout: "5s", retries: 3 },
            labels: labelList(labels),
            restart: "unless-stopped",
            mustRun: true,
        }, { parent: this, deleteBeforeReplace: true, dependsOn: builder ? [builder] : [] }));
        this.registerOutputs({ containerId: this.container.id, socketDir: this.socketDir, stateVolume: this.stateVolume.name });
    }
}
