import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BUILDER_SECCOMP_PROFILE } from "./builderSeccomp";
import { DEFAULT_BUILDER_IMAGE, defaultBuilderContainerName, defaultBuilderVolume } from "./defaults";
import { CLIENT_LABEL, DOOD_BUILDER_ROLE, DOOD_BUILDER_TYPE, labelList, ownerMarker, ROLE_LABEL, withMarkers } from "./markers";
import { BUILDER_CERTS_DIR, BUILDER_CONFIG_FILE, BUILDER_SOCKET_DIR, BUILDER_STATE_DIR } from "./paths";
import { Transform, transformed } from "./transform";

/** The group that owns the builder's socket on the daemon's machine (the builder's mapped root, see toolchain/modules/buildkit). */
export const BUILDER_SOCKET_GROUP = 100000;

/** A registry the client's builds reach by name: for `FROM`, `--cache-from/--cache-to type=registry`, `--push`. */
export interface BuilderRegistry {
    /**
     * host:port as builds name it.
     * @example "cache:5000"
     */
    address: string;
    /**
     * A network the builder joins to reach it (a DindRegistry's `networkName`).
     * @default none: reached over the builder's default network
     * @example registry.networkName
     */
    network?: pulumi.Input<string>;
    /**
     * The CA certificate (PEM) its TLS certificate is issued by.
     * @default the builder's CA bundle (Debian's)
     * @example registry.caCert
     */
    ca?: pulumi.Input<string | undefined>;
    /**
     * It serves plain HTTP.
     * @default false
     * @example true
     */
    insecure?: boolean;
}

export interface DoodBuilderArgs {
    /**
     * The client the builder is for: names and labels.
     * @example "agent"
     */
    client: string;
    /**
     * The builder's image: rootless buildkitd started by buildkitd-userns (toolchain/modules/buildkit).
     * @default "dind-provisioner/buildkit:local"
     * @example "registry.internal/dind-provisioner/buildkit:0.34.2"
     */
    image?: pulumi.Input<string>;
    /**
     * The id `image` has on the daemon, as the caller looked it up: the builder runs exactly that
     * image, so a rebuilt builder image under the same tag replaces it on the next up.
     * @default the image resource's id (read when it was created)
     * @example "sha256:4a1c..."
     */
    imageId?: string;
    /**
     * Name of the builder's container.
     * @default "<client>-buildkit"
     * @example "agent-buildkit"
     */
    containerName?: string;
    /**
     * Named volume holding the builder's state: its build cache and cache mounts, the client's alone.
     * @default "<client>-buildkit"
     * @example "agent-buildkit"
     */
    stateVolume?: string;
    /**
     * Registries builds reach by name.
     * @default []
     * @example [{ address: "cache:5000", network: registry.networkName, ca: registry.caCert }]
     */
    registries?: BuilderRegistry[];
    /**
     * Build entitlements buildkitd may grant (`network.host`, `security.insecure`) when a build asks
     * for them and the client's policy proxy lets the request through. In this builder they reach
     * its own container's network and its own user namespace, never the daemon's machine.
     * @default []
     * @example ["network.host"]
     */
    entitlements?: ("network.host" | "security.insecure")[];
    /** Labels of the builder's container and volumes. @default {} @example { team: "ci" } */
    labels?: Record<string, string>;
    /**
     * Who creates the builder: "<project>/<stack>", the owner label (STACK_LABEL) of its container
     * and volumes, set after `labels`.
     * @default none (no owner label)
     * @example "dind-provisioner/staging"
     */
    owner?: string;
    /** Adjust the arguments of the resources this component creates. @default {} @example { container: { memory: 4096 } } */
    transform?: {
        image?: Transform<docker.RemoteImageArgs>;
        stateVolume?: Transform<docker.VolumeArgs>;
        socketVolume?: Transform<docker.VolumeArgs>;
        container?: Transform<docker.ContainerArgs>;
    };
}

/** buildkitd.toml: how builds reach the registries, nothing else (buildkitd's defaults otherwise). */
export function builderConfig(registries: { address: string; insecure?: boolean; ca?: boolean }[]): string {
    return registries.map((r) => [
        `[registry.${JSON.stringify(r.address)}]`,
        ...(r.insecure ? ["  http = true"] : []),
        ...(r.ca ? [`  ca = [${JSON.stringify(`${BUILDER_CERTS_DIR}/${r.address}/ca.pem`)}]`] : []),
    ].join("\n")).join("\n") + "\n";
}

/**
 * A DooD client's own BuildKit builder: a rootless buildkitd in a container of its own, with its
 * own build cache and cache mounts, which the client reaches only through its policy proxy's
 * builder socket (the proxy mounts `socketVolume`). Not privileged: it keeps the capabilities
 * SETUID, SETGID and CHOWN only, no-new-privileges, and a seccomp profile that is Docker's default
 * plus the namespace and mount calls rootless BuildKit needs (see docs/dood-buildkit.md).
 */
export class DoodBuilder extends pulumi.ComponentResource {
    readonly image: docker.RemoteImage;
    /** The build cache and cache mounts. */
    readonly stateVolume: docker.Volume;
    /** Holds buildkitd's socket; shared with the client's policy proxy only. */
    readonly socketVolume: docker.Volume;
    readonly container: docker.Container;
    /** The group a process needs to dial the builder's socket. */
    readonly socketGroup = BUILDER_SOCKET_GROUP;

    constructor(name: string, args: DoodBuilderArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(DOOD_BUILDER_TYPE, name, {}, opts);
        const containerName = args.containerName ?? defaultBuilderContainerName(args.client);
        const stateVolumeName = args.stateVolume ?? defaultBuilderVolume(args.client);
        const registries = args.registries ?? [];
        const labels = labelList(withMarkers(args.labels, { ...ownerMarker(args.owner), [ROLE_LABEL]: DOOD_BUILDER_ROLE, [CLIENT_LABEL]: args.client }));

        this.image = new docker.RemoteImage(...transformed(args.transform?.image, `${name}-image`,
            { name: args.image ?? DEFAULT_BUILDER_IMAGE, keepLocally: true }, { parent: this }));
        this.stateVolume = new docker.Volume(...transformed(args.transform?.stateVolume, `${name}-state`,
            { name: stateVolumeName, labels }, { parent: this }));
        this.socketVolume = new docker.Volume(...transformed(args.transform?.socketVolume, `${name}-socket`,
            { name: `${stateVolumeName}-socket`, labels }, { parent: this }));
        const cas = pulumi.all(registries.map((r) => pulumi.output(r.ca)));
        this.container = new docker.Container(...transformed(args.transform?.container, `${name}-container`, {
            name: containerName,
            image: args.imageId ?? this.image.imageId,
            command: [
                "--oci-worker-no-process-sandbox", `--config=${BUILDER_CONFIG_FILE}`,
                ...(args.entitlements ?? []).map((e) => `--allow-insecure-entitlement=${e}`),
            ],
            volumes: [
                { volumeName: this.stateVolume.name, containerPath: BUILDER_STATE_DIR },
                { volumeName: this.socketVolume.name, containerPath: BUILDER_SOCKET_DIR },
            ],
            networksAdvanced: registries.some((r) => r.network)
                ? [{ name: "bridge" }, ...registries.flatMap((r) => (r.network ? [{ name: r.network }] : []))]
                : undefined,
            uploads: cas.apply((pems) => [
                { file: BUILDER_CONFIG_FILE, content: builderConfig(registries.map((r, i) => ({ address: r.address, insecure: r.insecure, ca: Boolean(pems[i]) }))) },
                ...registries.flatMap((r, i) => (pems[i] ? [{ file: `${BUILDER_CERTS_DIR}/${r.address}/ca.pem`, content: pems[i]! }] : [])),
            ]),
            // The engine reads capabilities back as CAP_*: any other spelling diffs (and replaces) on every up.
            capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"] },
            securityOpts: ["no-new-privileges", `seccomp=${JSON.stringify(BUILDER_SECCOMP_PROFILE)}`],
            privileged: false,
            labels,
            restart: "unless-stopped",
            mustRun: true,
        }, { parent: this, deleteBeforeReplace: true }));
        this.registerOutputs({ containerId: this.container.id, stateVolume: this.stateVolume.name, socketVolume: this.socketVolume.name });
    }
}
