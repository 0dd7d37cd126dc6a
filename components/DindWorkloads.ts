import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { workloadsSchema } from "../stackfile/schema";
import { DindHost } from "./DindHost";
import { Transform, transformed } from "./transform";

export interface DindWorkloadsArgs {
    /** The DinD host whose inner daemon runs the workloads; it needs a tcp or unix endpoint. */
    host: DindHost;
    /**
     * Networks, volumes and containers to create on the inner daemon. A container image that the
     * host preloads is used by id; any other is looked up (or pulled) by the inner daemon.
     * @example { networks: ["app"], containers: { web: { image: "busybox:1.36", command: ["httpd", "-f"], networks: ["app"] } } }
     */
    workloads: z.input<typeof workloadsSchema>;
    /** Adjust the arguments of the resources this component creates. */
    transform?: {
        network?: Transform<docker.NetworkArgs>;
        volume?: Transform<docker.VolumeArgs>;
        container?: Transform<docker.ContainerArgs>;
    };
}

/**
 * Networks, volumes and containers nested inside a DinD host, created through the host's inner
 * provider, each after the inner daemon answers and after the host's preloads.
 */
export class DindWorkloads extends pulumi.ComponentResource {
    readonly networks: Record<string, docker.Network> = {};
    readonly volumes: Record<string, docker.Volume> = {};
    readonly containers: Record<string, docker.Container> = {};
    /** Nested container name -> its id on the inner daemon. */
    readonly containerIds: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: DindWorkloadsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("dind:index:DindWorkloads", name, {}, opts);
        const { host } = args;
        if (!host.provider) throw new Error(`DindWorkloads ${name}: the DinD host has no tcp or unix endpoint to reach its inner daemon`);
        const workloads = workloadsSchema.parse(args.workloads);
        // Readiness and preloads first: the provider depends on the healthy container already.
        const inner: pulumi.CustomResourceOptions = {
            parent: this,
            provider: host.provider,
            dependsOn: [host.container, ...Object.values(host.preloads)],
            // Names are fixed: the old one must go before its replacement comes.
            deleteBeforeReplace: true,
            // Unretained storage takes every nested resource with it: no Delete call to an inner daemon.
            deletedWith: host.nestedDeletedWith,
        };

        for (const network of workloads.networks) {
            this.networks[network] = new docker.Network(...transformed(args.transform?.network, `${name}-network-${network}`, { name: network }, inner));
        }
        for (const volume of workloads.volumes) {
            this.volumes[volume] = new docker.Volume(...transformed(args.transform?.volume, `${name}-volume-${volume}`, { name: volume }, inner));
        }
        for (const [containerName, spec] of Object.entries(workloads.containers)) {
            const preloaded = host.preloads[spec.image];
            const image = preloaded
                ? preloaded.imageId
                : new docker.RemoteImage(`${name}-image-${containerName}`, { name: spec.image, keepLocally: true }, inner).imageId;
            this.containers[containerName] = new docker.Container(...transformed(args.transform?.container, `${name}-container-${containerName}`, {
                name: containerName,
                image,
                command: spec.command,
                envs: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
                ports: spec.ports.map((p) => ({ internal: p.internal, external: p.external, protocol: p.protocol })),
                networksAdvanced: spec.networks.map((network) => ({ name: declared(this.networks, network, "network", name).name })),
                volumes: spec.volumes.map((v) => ({
                    volumeName: declared(this.volumes, v.volume, "volume", name).name, containerPath: v.path, readOnly: v.readOnly,
                })),
                restart: spec.restart,
                mustRun: true,
            }, inner));
        }
        this.containerIds = pulumi.all(Object.fromEntries(Object.entries(this.containers).map(([n, c]) => [n, c.id])));
        this.registerOutputs({ containerIds: this.containerIds });
    }
}

function declared<T>(resources: Record<string, T>, key: string, what: string, component: string): T {
    const resource = resources[key];
    if (!resource) throw new Error(`DindWorkloads ${component}: ${what} "${key}" is used by a container but not declared in workloads`);
    return resource;
}
