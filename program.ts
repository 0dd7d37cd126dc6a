// The Pulumi program: one stack file in, DinD hosts, their workloads and DooD clients out.
import { readFileSync, statSync } from "node:fs";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DindHost } from "./components/DindHost";
import { DockerdConfig } from "./components/dockerd";
import { DindRegistry } from "./components/DindRegistry";
import { DindWorkloads } from "./components/DindWorkloads";
import { DoodClient } from "./components/DoodClient";
import { DoodPolicyProxy } from "./components/DoodPolicyProxy";
import { isLocalDaemon, socketPathOf } from "./components/endpoints";
import { EngineEndpoint, engineApiVersion } from "./components/engineApi";
import { loadStackFile, StackFileError } from "./stackfile/load";
import { ClientSpec, DaemonSpec, HostSpec, SecretRef, StackFile } from "./stackfile/schema";

/**
 * Reads `file`, asks the outer engines what the components need to know, and provisions it; an
 * invalid file fails the program before any resource exists. `env` supplies the implicit
 * `local` daemon (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH).
 */
export async function provisionStackFile(file: string, env: NodeJS.ProcessEnv = process.env) {
    let stack: StackFile;
    try {
        stack = loadStackFile(file, env);
    } catch (error) {
        // A RunError is reported without a stack trace: the problems list is the whole story.
        if (error instanceof StackFileError) throw new pulumi.RunError(error.message);
        throw error;
    }
    return provisionStack(stack, await outerApiVersions(stack));
}

/**
 * The Engine API version of each outer daemon that runs a DinD host (it picks the hosts'
 * health-check schedule): asked once per daemon, all at once, and before any resource is
 * registered, since registering keeps the event loop busy long enough for an answer to time out.
 */
export async function outerApiVersions(stack: StackFile): Promise<Record<string, string | undefined>> {
    const daemons = [...new Set(Object.values(stack.hosts).map((host) => host.daemon))];
    return Object.fromEntries(await Promise.all(daemons.map(async (name) => [name, await engineApiVersion(endpointOf(stack.daemons[name]))])));
}

/**
 * Creates everything a validated stack file declares, and returns the stack outputs. No I/O but
 * reading a local socket's group: facts about the daemons come in `apiVersions` (daemon name ->
 * Engine API version, from outerApiVersions; a daemon missing there is taken as current).
 */
export function provisionStack(stack: StackFile, apiVersions: Record<string, string | undefined> = {}) {
    const labels = { "dind-provisioner.stack": `${pulumi.getProject()}/${pulumi.getStack()}` };
    const providers = new Map<string, docker.Provider>();
    const providerFor = (name: string) => {
        let provider = providers.get(name);
        if (!provider) {
            const daemon = stack.daemons[name];
            provider = new docker.Provider(`daemon-${name}`, { host: daemon.host, certPath: daemon.certPath, sshOpts: daemon.sshOpts });
            providers.set(name, provider);
        }
        return provider;
    };

    const registries = Object.fromEntries(Object.entries(stack.registries).map(([name, spec]) => [name, new DindRegistry(name, {
        image: spec.image,
        port: spec.port,
        bind: spec.bind,
        proxy: spec.proxy && { ...spec.proxy, password: spec.proxy.password && secretValue(spec.proxy.password) },
        storage: spec.storage,
        insecure: spec.insecure,
        labels,
    }, { provider: providerFor(spec.daemon) })]));

    const dindHosts = Object.entries(stack.hosts).map(([name, spec]) => {
        const daemon = stack.daemons[spec.daemon];
        const mirrored = (spec.dockerd?.["registry-mirrors"] ?? []).filter((mirror) => mirror in registries).map((mirror) => registries[mirror]);
        const host = new DindHost(name, {
            dockerd: spec.dockerd && dockerdConfig(spec.dockerd, registries),
            registryAuth: spec.registryAuth.map((auth) => ({ ...auth, password: secretValue(auth.password) })),
            registryCAs: {
                ...Object.fromEntries(mirrored.filter((r) => r.certificates).map((r) => [r.address, r.caCert as pulumi.Output<string>])),
                ...readCAs(name, spec),
            },
            resources: spec.resources,
            runtime: spec.runtime,
            networks: mirrored.map((r) => r.networkName),
            outerDaemon: endpointOf(daemon),
            image: spec.image,
            storage: spec.storage,
            tcp: spec.tcp,
            unix: spec.unix,
            preload: spec.preload,
            env: spec.env,
            labels,
            engineApiVersion: apiVersions[spec.daemon],
        }, { provider: providerFor(spec.daemon) });
        const workloads = spec.workloads && new DindWorkloads(`${name}-workloads`, { host, workloads: spec.workloads }, { parent: host });
        return { name, host, workloads };
    });
    const hosts = Object.fromEntries(dindHosts.map(({ name, host, workloads }) => [name, {
        containerId: host.containerId,
        dockerHost: host.dockerHost,
        tcpEndpoint: host.tcpEndpoint,
        unixEndpoint: host.unixEndpoint,
        preloadedImageIds: host.preloadedImageIds,
        nestedContainerIds: workloads?.containerIds ?? pulumi.output({}),
    }]));
    // Apart from the rest, so that only this output is secret.
    const clientTls = pulumi.secret(pulumi.all(Object.fromEntries(dindHosts.map(({ name, host }) => [name, host.clientTls]))));

    const clients = Object.fromEntries(Object.entries(stack.clients).map(([name, spec]) => {
        const daemon = stack.daemons[spec.daemon];
        const socket = spec.socket ?? socketPathOf(daemon.host)!;
        const socketGroup = spec.socketGroup ?? socketGroupOf(socket, daemon, name);
        const policyProxy = spec.access === "full" ? undefined : new DoodPolicyProxy(`${name}-dood-proxy`, {
            client: name,
            policy: { privileged: spec.access.privileged, hostNamespaces: spec.access.hostNamespaces, scope: spec.access.scope, binds: bindRoots(spec) },
            daemonSocket: socket,
            socketDir: spec.access.socketDir,
            socketGroup,
            labels,
        }, { provider: providerFor(spec.daemon) });
        const client = new DoodClient(name, {
            image: spec.image,
            command: spec.command,
            socket,
            policyProxy,
            socketGroup,
            workspace: spec.workspace,
            user: spec.user,
            env: spec.env,
            labels,
        }, { provider: providerFor(spec.daemon) });
        return [name, { containerId: client.containerId }];
    }));

    const registryOutputs = Object.fromEntries(Object.entries(registries).map(([name, r]) => [name, {
        mirrorUrl: r.mirrorUrl,
        publishedAddress: r.publishedAddress,
    }]));
    return { hosts, clients, clientTls, registries: registryOutputs };
}

/** The daemon.json a host gets: mirrors named after the stack's registries become their URLs (plain-HTTP ones also insecure). */
function dockerdConfig(dockerd: NonNullable<HostSpec["dockerd"]>, registries: Record<string, DindRegistry>): DockerdConfig {
    const mirrors = dockerd["registry-mirrors"];
    if (!mirrors) return dockerd;
    const plain = mirrors.filter((m) => registries[m]?.mirrorUrl.startsWith("http:")).map((m) => registries[m].address);
    return {
        ...dockerd,
        "registry-mirrors": mirrors.map((m) => registries[m]?.mirrorUrl ?? m),
        ...(plain.length > 0 ? { "insecure-registries": [...(dockerd["insecure-registries"] ?? []), ...plain] } : {}),
    };
}

/** A secret's value, held as a Pulumi secret; a missing variable was already refused by validation. */
function secretValue(ref: SecretRef): pulumi.Output<string> {
    if ("env" in ref) {
        const value = process.env[ref.env];
        if (value === undefined) throw new pulumi.RunError(`environment variable ${ref.env} is not set (it holds a secret of the stack file)`);
        return pulumi.secret(value);
    }
    return new pulumi.Config().requireSecret(ref.secret);
}

/** The CA files a host trusts per registry, read on this machine. */
function readCAs(host: string, spec: HostSpec): Record<string, string> {
    return Object.fromEntries(Object.entries(spec.registryCAs).map(([registry, file]) => {
        try {
            return [registry, readFileSync(file, "utf8")];
        } catch (error) {
            throw new pulumi.RunError(`hosts.${host}.registryCAs.${registry}: cannot read ${file}: ${(error as Error).message}`);
        }
    }));
}

/** The host paths a restricted client may bind: `workspace` is its own workspace (nothing when it has none). */
function bindRoots(spec: ClientSpec): string[] {
    if (spec.access === "full") return [];
    return [...new Set(spec.access.binds.flatMap((root) => (root === "workspace" ? (spec.workspace ? [spec.workspace] : []) : [root])))];
}

/** How this machine reaches a daemon's Engine API. */
function endpointOf(daemon: DaemonSpec): EngineEndpoint {
    return { host: daemon.host, certPath: daemon.certPath };
}

/** The socket's group, read from the socket when the daemon runs here; unknown otherwise. */
function socketGroupOf(socket: string, daemon: DaemonSpec, client: string): ClientSpec["socketGroup"] {
    if (!isLocalDaemon(daemon.host)) {
        pulumi.log.warn(`clients.${client}: ${socket} is on another machine, so its group is not known here; set socketGroup to let a non-root user in the client use it`);
        return undefined;
    }
    try {
        return statSync(socket).gid;
    } catch (error) {
        throw new pulumi.RunError(`clients.${client}.socket: cannot read the group of ${socket}: ${(error as Error).message}`);
    }
}
