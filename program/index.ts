// The Pulumi program: one stack file in, DinD hosts, their workloads and DooD clients out, and
// the stack outputs (typed in ./outputs.ts, which the commands read).
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import * as docker from "@pulumi/docker";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DindHost, DindHostArgs, DindHostSteps } from "../components/DindHost";
import { DindPool } from "../components/DindPool";
import { DockerdConfig } from "../components/dockerd";
import { DindRegistry } from "../components/DindRegistry";
import { DindWorkloads } from "../components/DindWorkloads";
import { DoodBuilder } from "../components/DoodBuilder";
import { DoodClient } from "../components/DoodClient";
import { DoodPolicyProxy } from "../components/DoodPolicyProxy";
import type * as kubernetesHostModule from "../components/KubernetesDindHost";
import { DEFAULT_DOOD_PROXY_IMAGE, defaultStorageVolume } from "../components/defaults";
import { checkCluster, ClusterFacts } from "../components/kubernetesCluster";
import type { KubernetesReadinessCheck } from "../components/KubernetesReadiness";
import { isLocalDaemon, socketPathOf } from "../components/endpoints";
import { EngineEndpoint, sshCommand } from "../components/engineApi";
import { UserError } from "../components/errors";
import { ownerMarker, ownerOf } from "../components/markers";
import { loadStackFile } from "../stackfile/load";
import { ClientSpec, DaemonSpec, DEFAULT_DAEMON, HostSpec, KubernetesSpec, SecretRef, StackFile } from "../stackfile/schema";
import type { RegistryReadinessCheck } from "../components/RegistryReadiness";
import { readCertificateFile } from "../stackfile/trust";
import { DaemonFacts, endpointOf, surveyDaemons } from "./daemons";
import { ClientOutputs, HostOutputs, PoolOutputs, ProgramOutputs, RegistryOutputs, Unresolved } from "./outputs";
import { builderImageOf, checkOwnership, declaredObjects } from "./ownership";

export type * from "./outputs";

/**
 * Reads `file`, asks the outer engines (and clusters) what the components need to know, checks
 * that the stack takes over nothing it did not create, and provisions it; an invalid file, or a
 * name another owner's object has, fails the program before any resource exists. `env` supplies the implicit
 * `local` daemon (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH).
 */
export async function provisionStackFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ProgramOutputs> {
    try {
        const stack = loadStackFile(file, env);
        const declared = declaredObjects(stack);
        const [facts, clusters] = await Promise.all([surveyDaemons(stack, declared), clusterFacts(stack)]);
        checkOwnership(declared, Object.fromEntries(Object.entries(facts).map(([name, f]) => [name, f.objects])),
            Object.fromEntries(Object.keys(facts).map((name) => [name, stack.daemons[name].host!])), stackOwner());
        return provisionStack(stack, facts, {}, clusters);
    } catch (error) {
        // Pulumi reports a RunError without a stack trace: a user error's message is the whole story.
        if (error instanceof UserError) throw new pulumi.RunError(error.message);
        throw error;
    }
}

/** Who this program's objects belong to: "<project>/<stack>" (their dind-provisioner.stack label). */
function stackOwner(): string {
    return ownerOf(pulumi.getProject(), pulumi.getStack());
}

/**
 * What the update-time steps do (the Engine and Kubernetes APIs unless given; the unit suite passes
 * fakes): the DinD hosts' readiness and preloads, on Docker and on Kubernetes, and the registries' readiness.
 */
export interface ProgramSteps extends DindHostSteps {
    kubernetesReadiness?: KubernetesReadinessCheck;
    /** Waits for each registry's /v2/. @default engineRegistryReadiness */
    registry?: RegistryReadinessCheck;
}

/**
 * What each cluster that runs DinD hosts says up front: whether the credentials are accepted, the
 * user's rights, the namespace and its Pod Security level, the storage and runtime classes, and
 * where NodePorts are dialled. Every problem of every cluster is reported at once, before any
 * resource is registered, so a stack that cannot run there provisions nothing.
 */
export async function clusterFacts(stack: StackFile): Promise<Record<string, ClusterFacts>> {
    const clusters = [...new Set(Object.values(stack.hosts).map((host) => host.daemon))].filter((name) => stack.daemons[name].kubernetes);
    const answers = await Promise.all(clusters.map(async (name) => {
        const cluster = stack.daemons[name].kubernetes!;
        const hosts = Object.entries(stack.hosts).filter(([, host]) => host.daemon === name).map(([host, spec]) => ({
            name: host,
            privileged: runtimeClassOf(spec) === undefined,
            storageClass: spec.storage.class,
            runtimeClass: runtimeClassOf(spec),
            claim: spec.storage.volume ?? defaultStorageVolume(host),
        }));
        const needs = { namespace: cluster.namespace, hosts, nodeAddress: cluster.service === "NodePort" && cluster.nodeAddress === undefined, owner: stackOwner() };
        return checkCluster({ kubeconfig: cluster.kubeconfig, context: cluster.context }, needs, `daemons.${name}`).then(
            (facts) => [name, facts] as const, (error: Error) => error);
    }));
    const problems = answers.filter((a): a is Error => a instanceof Error);
    if (problems.length > 0) throw new UserError(problems.map((p) => p.message).join("\n"));
    return Object.fromEntries(answers as (readonly [string, ClusterFacts])[]);
}

/** On Kubernetes a host's runtime is a RuntimeClass; runc (as on Docker) means the default, privileged. */
function runtimeClassOf(spec: HostSpec): string | undefined {
    return spec.runtime !== undefined && spec.runtime !== "runc" ? spec.runtime : undefined;
}

/**
 * Creates everything a validated stack file declares, and returns the stack outputs. No I/O but
 * reading a local socket's group: facts about the Docker daemons come in `facts` (from surveyDaemons:
 * each daemon's Engine API version, a missing one taken as current, and its image ids, a missing one
 * left to the image resource) and `clusters` (daemon name -> what clusterFacts learnt), and the DinD
 * hosts' update-time steps (readiness, preload) go through `steps` (the Engine and Kubernetes APIs unless given).
 */
export function provisionStack(stack: StackFile, facts: Record<string, Partial<DaemonFacts>> = {}, steps: ProgramSteps = {},
    clusters: Record<string, ClusterFacts> = {}): ProgramOutputs {
    // Files of this machine are read before any resource is registered, so no plugin starts for a file that fails.
    const registryCAs = readRegistryCAs(stack);
    const owner = stackOwner();
    const imageId = (daemon: string, image: string): string | undefined => facts[daemon]?.imageIds?.[image];
    // Validation made sure each daemon is either a Docker daemon (host) or a cluster (kubernetes).
    const providers = new Map<string, pulumi.ProviderResource>();
    const providerFor = (name: string) => {
        let provider = providers.get(name);
        if (!provider) {
            const daemon = stack.daemons[name];
            const cluster = daemon.kubernetes;
            provider = cluster
                ? new (kubernetes().k8s.Provider)(`daemon-${name}`, { context: cluster.context, kubeconfig: cluster.kubeconfig, namespace: cluster.namespace })
                : new docker.Provider(`daemon-${name}`, { host: daemon.host, certPath: daemon.certPath, sshOpts: daemon.sshOpts });
            providers.set(name, provider);
        }
        return provider;
    };

    const registries = Object.fromEntries(Object.entries(stack.registries).map(([name, spec]) => [name, new DindRegistry(name, {
        image: spec.image,
        port: spec.port,
        bind: spec.bind,
        proxy: spec.proxy && { remote: spec.proxy.remote, username: spec.proxy.username, password: spec.proxy.password && secretValue(spec.proxy.password) },
        storage: spec.storage,
        insecure: spec.insecure,
        imageId: imageId(spec.daemon, spec.image),
        owner,
        readinessTimeout: spec.readinessTimeout,
        outerDaemon: endpointOf(stack.daemons[spec.daemon]),
        readiness: steps.registry,
    }, { provider: providerFor(spec.daemon) })]));

    /** A DinD host's arguments from its spec (a host's, or a pool's template at `path`). */
    const dindHostArgs = (path: string, spec: HostSpec): DindHostArgs => {
        const daemon = stack.daemons[spec.daemon];
        // The registries of the stack it uses: it joins their network and trusts their CA.
        const used = [...(spec.dockerd?.["registry-mirrors"] ?? []), ...spec.registryCaches].filter((r) => r in registries).map((r) => registries[r]);
        return {
            dockerd: dockerdConfig(spec, registries),
            registryAuth: spec.registryAuth.map((auth) => ({ ...auth, password: secretValue(auth.password) })),
            registryCAs: {
                ...Object.fromEntries(used.filter((r) => r.certificates).map((r) => [r.address, r.caCert as pulumi.Output<string>])),
                ...registryCAs[path],
            },
            resources: spec.resources,
            runtime: spec.runtime,
            networks: [...new Set(used)].map((r) => r.networkName),
            outerDaemon: endpointOf(daemon),
            image: spec.image,
            imageId: imageId(spec.daemon, spec.image),
            storage: spec.storage,
            tcp: spec.tcp,
            unix: spec.unix,
            preload: spec.preload,
            env: spec.env,
            owner,
            engineApiVersion: facts[spec.daemon]?.apiVersion,
            steps,
        };
    };
    /** Registry host -> the cache of the stack its images come through, for a host's workloads. */
    const pullThroughOf = (spec: HostSpec) => Object.fromEntries(spec.registryCaches.map((r) => [new URL(stack.registries[r].proxy!.remote).host, registries[r].address]));

    const dindHosts = Object.entries(stack.hosts).map(([name, spec]) => {
        const daemon = stack.daemons[spec.daemon];
        const host = daemon.kubernetes
            ? kubernetesHost(name, spec, daemon.kubernetes, clusters[spec.daemon] ?? {}, stack.daemons[DEFAULT_DAEMON], ownerMarker(owner), providerFor(spec.daemon), steps)
            : new DindHost(name, dindHostArgs(`hosts.${name}`, spec), { provider: providerFor(spec.daemon) });
        const workloads = spec.workloads && new DindWorkloads(`${name}-workloads`, { host, workloads: spec.workloads, pullThrough: pullThroughOf(spec) }, { parent: host });
        return { name, host, workloads, daemon: spec.daemon };
    });

    const pools = Object.entries(stack.pools).map(([name, spec]) => ({
        name,
        daemon: spec.template.daemon,
        pool: new DindPool(name, {
            size: spec.size,
            template: dindHostArgs(`pools.${name}.template`, spec.template),
            workloads: spec.template.workloads,
            pullThrough: pullThroughOf(spec.template),
            cache: spec.cache && { keep: spec.cache.keep, registry: spec.cache.registry === undefined ? undefined : registries[spec.cache.registry] },
        }, { provider: providerFor(spec.template.daemon) }),
    }));
    const members = pools.flatMap(({ pool, daemon }) => pool.memberNames.map((member) => ({ name: member, host: pool.members[member], workloads: pool.workloads[member], daemon })));

    const hosts = Object.fromEntries([...dindHosts, ...members].map(({ name, host, workloads, daemon }): [string, Unresolved<HostOutputs>] => {
        const nested = { preloadedImageIds: host.preloadedImageIds, nestedContainerIds: workloads?.containerIds ?? pulumi.output({}) };
        return [name, host instanceof DindHost
            ? {
                containerId: host.containerId, dockerHost: host.dockerHost, tcpEndpoint: host.tcpEndpoint, unixEndpoint: host.unixEndpoint,
                publishedPortsAddress: host.publishedPortsAddress, outerDaemon: endpointOf(stack.daemons[daemon]), ...nested,
            }
            : {
                statefulSet: host.statefulSet.metadata.name, dockerHost: host.tcpEndpoint, tcpEndpoint: host.tcpEndpoint, serviceEndpoint: host.serviceEndpoint,
                publishedPortsAddress: host.publishedPortsAddress, publishedPorts: host.publishedPorts, node: host.node,
                cluster: kubernetesOutputs(stack.daemons[daemon].kubernetes!), ...nested,
            }];
    }));
    // Apart from the rest, so that only this output is secret.
    const clientTls = pulumi.secret(pulumi.all(Object.fromEntries([...dindHosts, ...members].map(({ name, host }) => [name, host.clientTls]))));
    const poolOutputs = Object.fromEntries(pools.map(({ name, pool, daemon }): [string, PoolOutputs] => [name, {
        members: pool.memberNames,
        outerDaemon: endpointOf(stack.daemons[daemon]),
        cacheRegistry: stack.pools[name].cache?.registry === undefined ? undefined : registries[stack.pools[name].cache!.registry!].address,
    }]));

    const clients = Object.fromEntries(Object.entries(stack.clients).map(([name, spec]): [string, Unresolved<ClientOutputs>] => {
        const daemon = stack.daemons[spec.daemon];
        const socket = spec.socket ?? socketPathOf(daemon.host!)!;
        const socketGroup = spec.socketGroup ?? socketGroupOf(socket, endpointOf(daemon), name);
        const access = spec.access;
        const builderImage = builderImageOf(spec);
        const builder = access === "full" || builderImage === undefined ? undefined : new DoodBuilder(`${name}-buildkit`, {
            client: name,
            image: builderImage,
            imageId: imageId(spec.daemon, builderImage),
            registries: (spec.builder ? spec.builder.registries : []).map((ref) => {
                const registry = registries[ref];
                return { address: registry.address, network: registry.networkName, ca: registry.caCert, insecure: registry.mirrorUrl.startsWith("http:") };
            }),
            // What the proxy lets through, the builder grants (in its own container and user namespace).
            entitlements: [...(access.hostNamespaces ? ["network.host" as const] : []), ...(access.privileged ? ["security.insecure" as const] : [])],
            owner,
        }, { provider: providerFor(spec.daemon) });
        const policyProxy = access === "full" ? undefined : new DoodPolicyProxy(`${name}-dood-proxy`, {
            client: name,
            policy: { privileged: access.privileged, hostNamespaces: access.hostNamespaces, scope: access.scope, binds: bindRoots(spec) },
            daemonSocket: socket,
            socketDir: access.socketDir,
            socketGroup,
            builder,
            imageId: imageId(spec.daemon, DEFAULT_DOOD_PROXY_IMAGE),
            owner,
        }, { provider: providerFor(spec.daemon) });
        const client = new DoodClient(name, {
            image: spec.image,
            imageId: imageId(spec.daemon, spec.image),
            command: spec.command,
            socket,
            policyProxy,
            daemon: endpointOf(daemon),
            socketGroup,
            workspace: spec.workspace,
            user: spec.user,
            env: spec.env,
            owner,
        }, { provider: providerFor(spec.daemon) });
        return [name, {
            containerId: client.containerId, outerDaemon: endpointOf(daemon), restricted: access !== "full",
            publishedPortsAddress: client.publishedPortsAddress, proxyContainerId: policyProxy?.container.id, builderContainerId: builder?.container.id,
        }];
    }));

    const registryOutputs = Object.fromEntries(Object.entries(registries).map(([name, r]): [string, Unresolved<RegistryOutputs>] => [name, {
        mirrorUrl: r.mirrorUrl,
        publishedAddress: r.publishedAddress,
    }]));
    return { hosts, clients, clientTls, registries: registryOutputs, pools: poolOutputs };
}

/**
 * The daemon.json a host gets: mirrors named after the stack's registries become their URLs, and
 * the plain-HTTP ones among them and among its registry caches become insecure registries.
 */
function dockerdConfig(spec: HostSpec, registries: Record<string, DindRegistry>): DockerdConfig | undefined {
    const dockerd = spec.dockerd;
    const mirrors = dockerd?.["registry-mirrors"];
    const plain = [...(mirrors ?? []), ...spec.registryCaches].filter((r) => registries[r]?.mirrorUrl.startsWith("http:")).map((r) => registries[r].address);
    if (!mirrors && plain.length === 0) return dockerd;
    return {
        ...dockerd,
        ...(mirrors ? { "registry-mirrors": mirrors.map((m) => registries[m]?.mirrorUrl ?? m) } : {}),
        ...(plain.length > 0 ? { "insecure-registries": [...(dockerd?.["insecure-registries"] ?? []), ...new Set(plain)] } : {}),
    };
}

/** A secret's value, held as a Pulumi secret; a missing variable was already refused by validation. */
function secretValue(ref: SecretRef): pulumi.Output<string> {
    if ("env" in ref) {
        const value = process.env[ref.env];
        if (value === undefined) throw new UserError(`environment variable ${ref.env} is not set (it holds a secret of the stack file)`);
        return pulumi.secret(value);
    }
    return new pulumi.Config().requireSecret(ref.secret);
}

/**
 * The CA certificates each host and each pool's template trusts per registry (keyed by the spec's
 * key path, `hosts.<name>` or `pools.<name>.template`), read on this machine: only the certificates
 * of each file, so nothing else a file holds can be uploaded (see readCertificateFile).
 */
function readRegistryCAs(stack: StackFile): Record<string, Record<string, string>> {
    const problems: string[] = [];
    const specs: [string[], HostSpec][] = [
        ...Object.entries(stack.hosts).map(([name, spec]): [string[], HostSpec] => [["hosts", name], spec]),
        ...Object.entries(stack.pools).map(([name, pool]): [string[], HostSpec] => [["pools", name, "template"], pool.template]),
    ];
    const read = Object.fromEntries(specs.map(([path, spec]) => [path.join("."), Object.fromEntries(Object.entries(spec.registryCAs).flatMap(([registry, file]) => {
        const result = readCertificateFile(file, [...path, "registryCAs", registry]);
        if ("problem" in result) {
            problems.push(result.problem);
            return [];
        }
        return [[registry, result.pem]];
    }))]));
    if (problems.length > 0) throw new UserError(problems.join("\n"));
    return read;
}

/** The host paths a restricted client may bind: `workspace` is its own workspace (nothing when it has none). */
function bindRoots(spec: ClientSpec): string[] {
    if (spec.access === "full") return [];
    return [...new Set(spec.access.binds.flatMap((root) => (root === "workspace" ? (spec.workspace ? [spec.workspace] : []) : [root])))];
}

/**
 * The Kubernetes parts, loaded only for a stack that declares a cluster: @pulumi/kubernetes takes
 * about as long to load as the rest of the program, and every preview and up would pay for it.
 */
function kubernetes(): { k8s: typeof k8s; KubernetesDindHost: typeof kubernetesHostModule.KubernetesDindHost } {
    return { k8s: require("@pulumi/kubernetes"), KubernetesDindHost: require("../components/KubernetesDindHost").KubernetesDindHost };
}

/** A DinD host on a cluster: preloads come from the local daemon, the one this machine has. */
function kubernetesHost(name: string, spec: HostSpec, cluster: KubernetesSpec, facts: ClusterFacts, local: DaemonSpec, labels: Record<string, string>,
    provider: pulumi.ProviderResource, steps: ProgramSteps) {
    const published = Object.values(spec.workloads?.containers ?? {}).flatMap((c) => c.ports.map((p) => ({ port: p.external, protocol: p.protocol })));
    return new (kubernetes().KubernetesDindHost)(name, {
        preloadCopier: steps.preload,
        readinessCheck: steps.kubernetesReadiness,
        access: { kubeconfig: cluster.kubeconfig, context: cluster.context },
        namespace: cluster.namespace,
        image: spec.image,
        storage: spec.storage,
        tcp: { port: spec.tcp?.port, sans: spec.tcp?.sans, service: cluster.service, nodeAddress: cluster.nodeAddress ?? facts.nodeAddress },
        runtimeClassName: runtimeClassOf(spec),
        spreadGroup: cluster.spread ? `${pulumi.getProject()}.${pulumi.getStack()}` : undefined,
        publishedPorts: published,
        preload: spec.preload,
        preloadSource: endpointOf(local),
        innerProvider: spec.preload.length > 0 || spec.workloads !== undefined,
        skipAwait: cluster.skipAwait,
        env: spec.env,
        labels,
    }, { provider });
}

/** How the commands (status, contexts) reach a host's cluster: the stack file's settings, no credential. */
function kubernetesOutputs(cluster: KubernetesSpec) {
    return { namespace: cluster.namespace, ...(cluster.kubeconfig && { kubeconfig: cluster.kubeconfig }), ...(cluster.context && { context: cluster.context }) };
}

/**
 * The socket's group: read from the socket when the daemon runs here, with `stat` over ssh on an
 * ssh:// daemon's machine; unknown on a tcp:// daemon (validation asks for socketGroup when it matters).
 */
function socketGroupOf(socket: string, daemon: EngineEndpoint, client: string): ClientSpec["socketGroup"] {
    try {
        if (daemon.host.startsWith("ssh://")) return remoteSocketGroup(socket, daemon);
        if (!isLocalDaemon(daemon.host)) return undefined;
        return statSync(socket).gid;
    } catch (error) {
        throw new UserError(`clients.${client}.socket: cannot read the group of ${socket}: ${(error as Error).message}`);
    }
}

/** `stat` on the daemon's machine, with the same ssh settings the provider uses. */
function remoteSocketGroup(socket: string, daemon: EngineEndpoint): number {
    const quoted = `'${socket.replace(/'/g, "'\\''")}'`;
    const [ssh, ...args] = sshCommand(daemon.host, daemon.sshOpts ?? [], ["stat", "-c", "%g", quoted]);
    const result = spawnSync(ssh, args, { encoding: "utf8", timeout: 30_000 });
    const gid = Number(result.stdout.trim());
    if (result.status !== 0 || result.stdout.trim() === "" || !Number.isInteger(gid)) {
        throw new Error(`ssh ${daemon.host} stat: ${(result.stderr || String(result.error ?? `status ${result.status}`)).trim()}`);
    }
    return gid;
}
