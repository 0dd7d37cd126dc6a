// The Pulumi program: one stack file in, DinD hosts, their workloads and DooD clients out.
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DindHost } from "./components/DindHost";
import { DindWorkloads } from "./components/DindWorkloads";
import { DoodClient } from "./components/DoodClient";
import { KubernetesDindHost } from "./components/KubernetesDindHost";
import { sshCommand } from "./components/engineApi";
import { isLocalDaemon, socketPathOf } from "./components/endpoints";
import { loadStackFile, StackFileError } from "./stackfile/load";
import { ClientSpec, DaemonSpec, DEFAULT_DAEMON, HostSpec, KubernetesSpec, StackFile } from "./stackfile/schema";

/** Reads `file` and provisions it; an invalid file fails the program before any resource exists. */
export function provisionStackFile(file: string) {
    let stack: StackFile;
    try {
        stack = loadStackFile(file);
    } catch (error) {
        // A RunError is reported without a stack trace: the problems list is the whole story.
        if (error instanceof StackFileError) throw new pulumi.RunError(error.message);
        throw error;
    }
    return provisionStack(stack);
}

/** Creates everything a validated stack file declares, and returns the stack outputs. */
export function provisionStack(stack: StackFile) {
    const labels = { "dind-provisioner.stack": `${pulumi.getProject()}/${pulumi.getStack()}` };
    // One provider per daemon that something uses; validation made sure each is a Docker daemon (host) or a cluster.
    const providers = new Map<string, pulumi.ProviderResource>();
    const providerFor = (name: string) => {
        let provider = providers.get(name);
        if (!provider) {
            const daemon = stack.daemons[name];
            const cluster = daemon.kubernetes;
            provider = cluster
                ? new k8s.Provider(`daemon-${name}`, { context: cluster.context, kubeconfig: cluster.kubeconfig, namespace: cluster.namespace })
                : new docker.Provider(`daemon-${name}`, { host: daemon.host, certPath: daemon.certPath, sshOpts: daemon.sshOpts });
            providers.set(name, provider);
        }
        return provider;
    };

    const dindHosts = Object.entries(stack.hosts).map(([name, spec]) => {
        const daemon = stack.daemons[spec.daemon];
        const host = daemon.kubernetes
            ? kubernetesHost(name, spec, daemon.kubernetes, stack.daemons[DEFAULT_DAEMON], labels, providerFor(spec.daemon))
            : new DindHost(name, {
                outerDaemon: { host: daemon.host!, certPath: daemon.certPath, sshOpts: daemon.sshOpts },
                image: spec.image,
                storage: spec.storage,
                tcp: spec.tcp,
                unix: spec.unix,
                preload: spec.preload,
                env: spec.env,
                labels,
            }, { provider: providerFor(spec.daemon) });
        const workloads = spec.workloads && new DindWorkloads(`${name}-workloads`, { host, workloads: spec.workloads }, { parent: host });
        return { name, host, workloads };
    });
    const hosts = Object.fromEntries(dindHosts.map(({ name, host, workloads }) => [name, {
        ...(host instanceof DindHost
            ? { containerId: host.containerId, dockerHost: host.dockerHost, tcpEndpoint: host.tcpEndpoint, unixEndpoint: host.unixEndpoint }
            : { statefulSet: host.statefulSet.metadata.name, dockerHost: host.tcpEndpoint, tcpEndpoint: host.tcpEndpoint, serviceEndpoint: host.serviceEndpoint }),
        preloadedImageIds: host.preloadedImageIds,
        nestedContainerIds: workloads?.containerIds ?? pulumi.output({}),
    }]));
    // Apart from the rest, so that only this output is secret.
    const clientTls = pulumi.secret(pulumi.all(Object.fromEntries(dindHosts.map(({ name, host }) => [name, host.clientTls]))));

    const clients = Object.fromEntries(Object.entries(stack.clients).map(([name, spec]) => {
        const daemon = stack.daemons[spec.daemon];
        const socket = spec.socket ?? socketPathOf(daemon.host!)!;
        const client = new DoodClient(name, {
            image: spec.image,
            command: spec.command,
            socket,
            socketGroup: spec.socketGroup ?? socketGroupOf(socket, daemon.host!, daemon.sshOpts, name),
            workspace: spec.workspace,
            user: spec.user,
            env: spec.env,
            labels,
        }, { provider: providerFor(spec.daemon) });
        return [name, { containerId: client.containerId }];
    }));

    return { hosts, clients, clientTls };
}

/** A DinD host on a cluster: preloads come from the local daemon, the one this machine has. */
function kubernetesHost(name: string, spec: HostSpec, cluster: KubernetesSpec, local: DaemonSpec, labels: Record<string, string>, provider: pulumi.ProviderResource) {
    return new KubernetesDindHost(name, {
        namespace: cluster.namespace,
        image: spec.image,
        storage: { claim: spec.storage.volume, size: spec.storage.size, retain: spec.storage.retain },
        tcp: spec.tcp && { port: spec.tcp.port, sans: spec.tcp.sans },
        preload: spec.preload,
        preloadSource: { host: local.host!, certPath: local.certPath, sshOpts: local.sshOpts },
        innerProvider: spec.preload.length > 0 || spec.workloads !== undefined,
        skipAwait: cluster.skipAwait,
        env: spec.env,
        labels,
    }, { provider });
}

/**
 * The socket's group: read from the socket when the daemon runs here, over ssh on an ssh://
 * daemon's machine; unknown on a tcp:// daemon (validation asks for socketGroup when it matters).
 */
function socketGroupOf(socket: string, daemonHost: string, sshOpts: string[] | undefined, client: string): ClientSpec["socketGroup"] {
    try {
        if (daemonHost.startsWith("ssh://")) return remoteSocketGroup(socket, daemonHost, sshOpts ?? []);
        if (!isLocalDaemon(daemonHost)) return undefined;
        return statSync(socket).gid;
    } catch (error) {
        throw new pulumi.RunError(`clients.${client}.socket: cannot read the group of ${socket}: ${(error as Error).message}`);
    }
}

/** `stat` on the daemon's machine, over the same ssh connection settings the provider uses. */
function remoteSocketGroup(socket: string, daemonHost: string, sshOpts: string[]): number {
    const quoted = `'${socket.replace(/'/g, "'\\''")}'`;
    const [ssh, ...args] = sshCommand(daemonHost, sshOpts, ["stat", "-c", "%g", quoted]);
    const result = spawnSync(ssh, args, { encoding: "utf8", timeout: 30_000 });
    const gid = Number(result.stdout.trim());
    if (result.status !== 0 || result.stdout.trim() === "" || !Number.isInteger(gid)) {
        throw new Error(`ssh ${daemonHost} stat: ${(result.stderr || String(result.error ?? `status ${result.status}`)).trim()}`);
    }
    return gid;
}
