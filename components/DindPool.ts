// A pool: `size` identical DinD hosts made from one template, for CI jobs to lease one at a time
// (driver/leases.ts: `lease`, `release`). Each member is a DindHost of its own, so `up` adds,
// removes or replaces one member without touching the others. What makes members differ is
// derived from their number, so that nothing clashes on the outer daemon:
//   name       <pool>-<n>, n = 1..size (its container's name too)
//   tcp.port   the template's port + n - 1 (a pool takes `size` consecutive ports)
//   unix       <template's hostDir>/<pool>-<n>
//   storage    <pool>-<n>-docker
// Members carry their pool's markers (POOL_LABEL, and the cache settings `release` reads), keep
// their client TLS inside their container for `lease` to hand out, and label what their stack
// declares inside them (DECLARED_LABEL), which a reset keeps.
import * as pulumi from "@pulumi/pulumi";
import type { RegistryRef } from "./contract";
import { DindHost, DindHostArgs } from "./DindHost";
import { MAX_POOL_SIZE, poolMemberName, poolMemberPort, poolMemberSocketDir } from "./defaults";
import { CONTAINERD_IMAGE_STORE, DockerdConfig, storageBytes } from "./dockerd";
import { DindWorkloads, WorkloadsArgs } from "./DindWorkloads";
import { CACHE_KEEP_LABEL, CACHE_REGISTRY_LABEL, DECLARED_LABEL, DIND_POOL_TYPE, POOL_LABEL, withMarkers } from "./markers";

/** Caches that outlive a pool's members. */
export interface DindPoolCacheArgs {
    /**
     * The storage a member's images and build cache may keep: each `release` evicts the least
     * recently used of them beyond it. A number of bytes or a size with B, kB, MB, GB, TB, KiB, MiB, GiB, TiB.
     * @default no limit
     * @example "20GB"
     */
    keep?: string;
    /**
     * A registry of the stack that jobs' builds export their BuildKit cache to and import it from
     * (`--cache-to/--cache-from type=registry,ref=<registry>/...`, the address `lease` prints as
     * DIND_CACHE_REGISTRY), so that a new member builds a known Dockerfile fully cached. Members
     * join its network, trust its CA and run the containerd image store, whose BuildKit can export caches.
     * @default none
     * @example buildCache  // a DindRegistry
     */
    registry?: RegistryRef;
}

export interface DindPoolArgs {
    /**
     * How many members (1 to MAX_POOL_SIZE). Shrinking removes the highest-numbered ones.
     * @example 4
     */
    size: number;
    /**
     * The DinD host each member is made from. It needs a tcp or unix endpoint (`lease` hands it
     * out); its name, port, socket directory and storage volume are derived per member, so
     * `containerName` and `storage.volume` are refused here.
     * @example { image: "docker:27-dind", tcp: { port: 24500 }, preload: ["busybox:1.36"] }
     */
    template: DindHostArgs;
    /**
     * What runs inside each member; a reset keeps these and removes everything else.
     * @default none
     * @example { containers: { cache: { image: "registry:2", ports: [{ internal: 5000, external: 5000 }] } } }
     */
    workloads?: WorkloadsArgs;
    /**
     * Registries whose images the members' nested containers pull through a cache (see DindWorkloadsArgs.pullThrough).
     * @default {}
     * @example { "ghcr.io": "ghcr-cache:5000" }
     */
    pullThrough?: Record<string, string>;
    /** Caches that outlive members: a storage budget, a registry for the build cache. @default none @example { keep: "20GB", registry: buildCache } */
    cache?: DindPoolCacheArgs;
}

/** `size` DinD hosts made from one template, each with its own name, port, socket directory and volume. */
export class DindPool extends pulumi.ComponentResource {
    /** The members by name, in order. */
    readonly members: Record<string, DindHost> = {};
    /** Each member's workloads, when the pool declares any. */
    readonly workloads: Record<string, DindWorkloads> = {};
    /** The members' names, in order. */
    readonly memberNames: string[];

    constructor(name: string, args: DindPoolArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(DIND_POOL_TYPE, name, {}, opts);
        const parent = this;
        const { template, labels, dockerd, networks, registryCAs } = normalizeArgs();
        this.memberNames = Array.from({ length: args.size }, (_, i) => poolMemberName(name, i + 1));
        this.memberNames.forEach(createMember);
        this.registerOutputs({ memberNames: this.memberNames });

        function normalizeArgs() {
            const template = args.template;
            if (!Number.isInteger(args.size) || args.size < 1 || args.size > MAX_POOL_SIZE) {
                throw new pulumi.ResourceError(`DindPool ${name}: size must be a whole number from 1 to ${MAX_POOL_SIZE}, got ${args.size}`, parent);
            }
            if (!template.tcp && !template.unix) throw new pulumi.ResourceError(`DindPool ${name}: the template needs a tcp or unix endpoint, which lease hands out`, parent);
            if (template.containerName !== undefined) throw new pulumi.ResourceError(`DindPool ${name}: members are named ${name}-<n>; the template cannot name its container`, parent);
            if (template.storage?.volume !== undefined) throw new pulumi.ResourceError(`DindPool ${name}: each member's volume is <member>-docker; the template cannot name one`, parent);
            if (template.tcp && template.tcp.port + args.size - 1 > 65535) {
                throw new pulumi.ResourceError(`DindPool ${name}: ports ${template.tcp.port} to ${template.tcp.port + args.size - 1} go past 65535`, parent);
            }
            const registry = args.cache?.registry;
            const features = { ...(template.dockerd?.features as Record<string, unknown> | undefined) };
            if (registry && features[CONTAINERD_IMAGE_STORE] === false) {
                throw new pulumi.ResourceError(`DindPool ${name}: cache.registry needs the containerd image store (dockerd.features.${CONTAINERD_IMAGE_STORE}), which the template turns off`, parent);
            }
            const dockerd: DockerdConfig | undefined = registry ? {
                ...template.dockerd,
                features: { ...features, [CONTAINERD_IMAGE_STORE]: true },
                ...(registry.mirrorUrl.startsWith("http:") ? { "insecure-registries": [...(template.dockerd?.["insecure-registries"] ?? []), registry.address] } : {}),
            } : template.dockerd;
            return {
                template,
                dockerd,
                labels: withMarkers(template.labels, {
                    [POOL_LABEL]: name,
                    ...(args.cache?.keep !== undefined ? { [CACHE_KEEP_LABEL]: String(storageBytes(args.cache.keep)) } : {}),
                    ...(registry ? { [CACHE_REGISTRY_LABEL]: registry.address } : {}),
                }),
                networks: registry ? [...(template.networks ?? []), registry.networkName] : template.networks,
                // A plain-HTTP registry has no CA: it is an insecure registry instead.
                registryCAs: registry?.mirrorUrl.startsWith("https:")
                    ? { ...template.registryCAs, [registry.address]: registry.caCert.apply((ca) => ca!) } : template.registryCAs,
            };
        }

        function createMember(member: string, index: number) {
            const host = new DindHost(member, {
                ...template,
                containerName: member,
                tcp: template.tcp && { ...template.tcp, port: poolMemberPort(template.tcp.port, index + 1) },
                unix: template.unix && { hostDir: poolMemberSocketDir(template.unix.hostDir, member) },
                labels,
                dockerd,
                networks,
                registryCAs,
                clientTlsInContainer: true,
            }, { parent });
            parent.members[member] = host;
            if (args.workloads) {
                parent.workloads[member] = new DindWorkloads(`${member}-workloads`, {
                    host, workloads: args.workloads, pullThrough: args.pullThrough, labels: { [DECLARED_LABEL]: "true" },
                }, { parent: host });
            }
        }
    }
}
