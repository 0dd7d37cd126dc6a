import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_CLIENT_IMAGE } from "./defaults";
import { DoodPolicyProxy } from "./DoodPolicyProxy";
import { DoodScope } from "./DoodScope";
import type { EngineEndpoint } from "./engineApi";
import { CLIENT_LABEL, DOOD_CLIENT_ROLE, DOOD_CLIENT_TYPE, labelList, ownerMarker, ROLE_LABEL, withMarkers } from "./markers";
import { BUILDX_BUILDER_NAME, BUILDX_CONFIG_DIR, CLIENT_SOCKET, PROXY_SOCKET_DIR, socketIn } from "./paths";
import { Transform, transformed } from "./transform";

export interface DoodClientArgs {
    /**
     * Name of the client container on the daemon.
     * @default the component's name
     */
    containerName?: string;
    /**
     * The client image; it should hold the docker CLI.
     * @default "docker:27.5.1-cli"
     */
    image?: pulumi.Input<string>;
    /**
     * The id `image` has on the daemon, as the caller looked it up: the container runs exactly
     * that image, so a tag that comes to name another image replaces it on the next up.
     * @default the image resource's id (read when it was created)
     * @example "sha256:4a1c..."
     */
    imageId?: string;
    /**
     * The command the client runs.
     * @default the image's
     * @example ["sleep", "infinity"]
     */
    command?: string[];
    /**
     * The daemon's socket on its machine, mounted at /var/run/docker.sock inside. Ignored when
     * `policyProxy` is set: the client never gets the daemon's own socket then.
     * @example "/var/run/docker.sock"
     */
    socket: string;
    /**
     * A policy proxy for this client: its socket directory is mounted at /run/dood and
     * DOCKER_HOST points at /run/dood/docker.sock (a directory, so a restarted proxy's new
     * socket is seen). With the proxy's builder, BUILDX_CONFIG and BUILDX_BUILDER make
     * `docker build` and `docker buildx build` use it. When the client is destroyed or replaced,
     * everything it made through the proxy is removed (a DoodScope).
     * @default none: the daemon's socket itself (root-equivalent on the daemon's machine)
     * @example new DoodPolicyProxy("agent-dood-proxy", { client: "agent", daemonSocket: "/var/run/docker.sock" })
     */
    policyProxy?: DoodPolicyProxy;
    /**
     * How this program reaches the daemon, to empty a policy-proxied client's scope when it goes.
     * @default { host: "unix://<socket>" }: the daemon runs on this machine
     * @example { host: "tcp://10.0.0.5:2376", certPath: "/home/ci/.docker/farm-01" }
     */
    daemon?: EngineEndpoint;
    /**
     * Group id that owns the socket on the daemon's machine, added to the client so a
     * non-root user inside can use the socket.
     * @default none
     * @example 998
     */
    socketGroup?: number;
    /**
     * A host directory mounted at the same absolute path inside: a bind mount the client asks
     * the daemon for is resolved on the host, so equal paths make it name the same files.
     * @default none
     * @example "/srv/ci"
     */
    workspace?: string;
    /** The user the client runs as. @default the image's @example "1000:1000" */
    user?: string;
    /** Environment of the client; DOCKER_HOST is set to the mounted socket. @default {} @example { CI: "true" } */
    env?: Record<string, string>;
    /** Labels of the client container. @default {} */
    labels?: Record<string, string>;
    /**
     * Who creates the client: "<project>/<stack>", the owner label (STACK_LABEL) of its
     * container (and of the container that empties its scope), set after `labels`.
     * @default none (no owner label)
     * @example "dind-provisioner/staging"
     */
    owner?: string;
    /** Adjust the arguments of the container this component creates. */
    transform?: { container?: Transform<docker.ContainerArgs> };
}

/**
 * Docker outside of Docker: a container driving its daemon, through a DoodPolicyProxy or the
 * daemon's own socket. With the daemon's own socket, whoever controls the client controls the
 * daemon, and so is root-equivalent on its machine. Not privileged.
 */
export class DoodClient extends pulumi.ComponentResource {
    readonly container: docker.Container;
    /** The image on the daemon (pulled when missing); the container runs `imageId` when it was given. */
    readonly image: docker.RemoteImage;
    readonly containerId: pulumi.Output<string>;
    /**
     * Where ports the client's containers publish are reached from inside the client: the
     * gateway of its network, an address of the daemon's machine (TESTCONTAINERS_HOST_OVERRIDE).
     */
    readonly publishedPortsAddress: pulumi.Output<string>;
    /** With a policy proxy: what removes the client's objects when it goes. */
    readonly scope?: DoodScope;

    constructor(name: string, args: DoodClientArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(DOOD_CLIENT_TYPE, name, {}, opts);
        const containerName = args.containerName ?? name;
        const labels = withMarkers(args.labels, { ...ownerMarker(args.owner), [ROLE_LABEL]: DOOD_CLIENT_ROLE, [CLIENT_LABEL]: containerName });
        const proxy = args.policyProxy;
        const buildx: Record<string, string> = proxy?.builder ? { BUILDX_CONFIG: BUILDX_CONFIG_DIR, BUILDX_BUILDER: BUILDX_BUILDER_NAME } : {};
        const socket = proxy
            ? { host: `unix://${socketIn(PROXY_SOCKET_DIR)}`, mount: { hostPath: proxy.socketDir, containerPath: PROXY_SOCKET_DIR }, env: buildx }
            : { host: `unix://${CLIENT_SOCKET}`, mount: { hostPath: args.socket, containerPath: CLIENT_SOCKET }, env: {} };
        this.image = new docker.RemoteImage(`${name}-image`, { name: args.image ?? DEFAULT_CLIENT_IMAGE, keepLocally: true }, { parent: this });
        this.container = new docker.Container(...transformed(args.transform?.container, `${name}-container`, {
            name: containerName,
            image: args.imageId ?? this.image.imageId,
            command: args.command,
            user: args.user,
            envs: Object.entries({ ...socket.env, ...args.env, DOCKER_HOST: socket.host }).map(([k, v]) => `${k}=${v}`),
            groupAdds: args.socketGroup === undefined ? undefined : [String(args.socketGroup)],
            volumes: [
                socket.mount,
                ...(args.workspace ? [{ hostPath: args.workspace, containerPath: args.workspace }] : []),
            ],
            workingDir: args.workspace,
            labels: labelList(labels),
            privileged: false,
            restart: "unless-stopped",
            mustRun: true,
        }, { parent: this, deleteBeforeReplace: true, dependsOn: proxy ? [proxy] : [] }));
        this.containerId = this.container.id;
        this.publishedPortsAddress = this.container.networkDatas.apply((networks) => networks?.[0]?.gateway ?? "");
        if (proxy) {
            this.scope = new DoodScope(`${name}-scope`, {
                client: proxy.client,
                daemon: args.daemon ?? { host: `unix://${args.socket}` },
                proxyImage: proxy.imageId,
                policy: proxy.policyJson,
                daemonSocket: proxy.daemonSocket,
                stateVolume: proxy.stateVolume.name,
                clientContainerId: this.container.id,
                owner: args.owner,
            }, { parent: this, dependsOn: [proxy] });
        }
        this.registerOutputs({ containerId: this.containerId, publishedPortsAddress: this.publishedPortsAddress });
    }
}
