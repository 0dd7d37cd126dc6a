import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DindHostRef } from "./contract";
import { DEFAULT_MOUNT_READ_ONLY, DEFAULT_NESTED_RESTART, DEFAULT_PORT_PROTOCOL } from "./defaults";
import { MTU_OPTION } from "./dockerd";
import { DIND_WORKLOADS_TYPE } from "./markers";
import { Transform, transformed } from "./transform";

/** A port a nested container publishes on the DinD container's address. */
export interface NestedPortArgs {
    /** The port inside the nested container. @example 8080 */
    internal: number;
    /** The port on the DinD container's address. @example 8080 */
    external: number;
    /** @default "tcp" @example "udp" */
    protocol?: "tcp" | "udp";
}

/** A volume (declared in `WorkloadsArgs.volumes`) mounted into a nested container. */
export interface NestedVolumeMountArgs {
    /** The volume's name. @example "data" */
    volume: string;
    /** Absolute path inside the container. @example "/data" */
    path: string;
    /** @default false @example true */
    readOnly?: boolean;
}

/** A container on a DinD host's inner daemon. */
export interface NestedContainerArgs {
    /**
     * The image: used by id when the host preloads it, otherwise looked up (or pulled) by the inner daemon.
     * @example "busybox:1.36"
     */
    image: string;
    /** @default the image's @example ["httpd", "-f", "-p", "8080"] */
    command?: string[];
    /** @default {} @example { MODE: "test" } */
    env?: Record<string, string>;
    /** @default [] @example [{ internal: 8080, external: 8080 }] */
    ports?: NestedPortArgs[];
    /** Networks (declared in `WorkloadsArgs.networks`) it joins. @default [] @example ["app"] */
    networks?: string[];
    /** @default [] @example [{ volume: "data", path: "/data" }] */
    volumes?: NestedVolumeMountArgs[];
    /** Docker's restart policy. @default "unless-stopped" @example "on-failure" */
    restart?: "no" | "on-failure" | "always" | "unless-stopped";
}

/** What runs on a DinD host's inner daemon. */
export interface WorkloadsArgs {
    /** Networks to create. @default [] @example ["app"] */
    networks?: string[];
    /** Volumes to create. @default [] @example ["data"] */
    volumes?: string[];
    /** Containers by name. @default {} @example { web: { image: "busybox:1.36", command: ["httpd", "-f"], networks: ["app"] } } */
    containers?: Record<string, NestedContainerArgs>;
}

export interface DindWorkloadsArgs {
    /** The DinD host whose inner daemon runs the workloads (a `DindHost`); it needs a tcp or unix endpoint. */
    host: DindHostRef;
    /**
     * Networks, volumes and containers to create on the inner daemon.
     * @example { networks: ["app"], containers: { web: { image: "busybox:1.36", command: ["httpd", "-f"], networks: ["app"] } } }
     */
    workloads: WorkloadsArgs;
    /** Adjust the arguments of the resources this component creates. @default none @example { container: { memory: 512 } } */
    transform?: {
        network?: Transform<docker.NetworkArgs>;
        volume?: Transform<docker.VolumeArgs>;
        container?: Transform<docker.ContainerArgs>;
    };
}

/**
 * Networks, volumes and containers nested inside a DinD host, created through the host's inner
 * provider, each after the inner daemon answers; containers of a preloaded image after its copy.
 */
export class DindWorkloads extends pulumi.ComponentResource {
    readonly networks: Record<string, docker.Network> = {};
    readonly volumes: Record<string, docker.Volume> = {};
    readonly containers: Record<string, docker.Container> = {};
    /** Nested container name -> its id on the inner daemon. */
    readonly containerIds: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: DindWorkloadsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(DIND_WORKLOADS_TYPE, name, {}, opts);
        const parent = this;
        const { host, workloads, inner } = normalizeArgs();
        createNetworks();
        createVolumes();
        createContainers();
        this.containerIds = pulumi.all(Object.fromEntries(Object.entries(this.containers).map(([n, c]) => [n, c.id])));
        this.registerOutputs({ containerIds: this.containerIds });

        function normalizeArgs() {
            const { host } = args;
            if (!host.provider) {
                throw new pulumi.ResourceError(`DindWorkloads ${name}: the DinD host has no tcp or unix endpoint to reach its inner daemon`, parent);
            }
            const workloads = {
                networks: args.workloads.networks ?? [],
                volumes: args.workloads.volumes ?? [],
                containers: Object.fromEntries(Object.entries(args.workloads.containers ?? {}).map(([containerName, spec]) => [containerName, {
                    image: spec.image,
                    command: spec.command,
                    env: spec.env ?? {},
                    ports: (spec.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? DEFAULT_PORT_PROTOCOL })),
                    networks: spec.networks ?? [],
                    volumes: (spec.volumes ?? []).map((v) => ({ ...v, readOnly: v.readOnly ?? DEFAULT_MOUNT_READ_ONLY })),
                    restart: spec.restart ?? DEFAULT_NESTED_RESTART,
                }])),
            };
            // The provider is configured once the inner daemon answers; containers of preloaded images
            // wait for the copy through the image id. Networks and volumes need neither, so they overlap the copy.
            const inner: pulumi.CustomResourceOptions = {
                parent,
                provider: host.provider,
                dependsOn: [host.ready],
                // Names are fixed: the old one must go before its replacement comes.
                deleteBeforeReplace: true,
                // Unretained storage takes every nested resource with it: no Delete call to an inner daemon.
                deletedWith: host.nestedDeletedWith,
            };
            return { host, workloads, inner };
        }

        function createNetworks() {
            // The host's MTU (given, or read from the DinD container) applies to these networks too:
            // dockerd's own setting covers only its default bridge.
            const options = host.mtu.apply((mtu) => (mtu === undefined ? undefined : { [MTU_OPTION]: String(mtu) }));
            for (const network of workloads.networks) {
                parent.networks[network] = new docker.Network(...transformed(args.transform?.network, `${name}-network-${network}`, { name: network, options }, inner));
            }
        }

        function createVolumes() {
            for (const volume of workloads.volumes) {
                parent.volumes[volume] = new docker.Volume(...transformed(args.transform?.volume, `${name}-volume-${volume}`, { name: volume }, inner));
            }
        }

        function createContainers() {
            for (const [containerName, spec] of Object.entries(workloads.containers)) {
                // Own keys only: an image named "constructor" is not Object.prototype's.
                const preloaded = Object.hasOwn(host.preloads, spec.image) ? host.preloads[spec.image] : undefined;
                const image = preloaded
                    ? preloaded.imageId
                    : new docker.RemoteImage(`${name}-image-${containerName}`, { name: spec.image, keepLocally: true }, inner).imageId;
                parent.containers[containerName] = new docker.Container(...transformed(args.transform?.container, `${name}-container-${containerName}`, {
                    name: containerName,
                    image,
                    command: spec.command,
                    envs: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
                    ports: spec.ports.map((p) => ({ internal: p.internal, external: p.external, protocol: p.protocol })),
                    networksAdvanced: spec.networks.map((network) => ({ name: declared(parent.networks, network, "network").name })),
                    volumes: spec.volumes.map((v) => ({
                        volumeName: declared(parent.volumes, v.volume, "volume").name, containerPath: v.path, readOnly: v.readOnly,
                    })),
                    restart: spec.restart,
                    mustRun: true,
                }, inner));
            }
        }

        function declared<T>(resources: Record<string, T>, key: string, what: string): T {
            const resource = Object.hasOwn(resources, key) ? resources[key] : undefined;
            if (!resource) throw new pulumi.ResourceError(`DindWorkloads ${name}: ${what} "${key}" is used by a container but not declared in workloads`, parent);
            return resource;
        }
    }
}
