// The Pulumi program: one stack file in, DinD hosts, their workloads and DooD clients out.
import { statSync } from "node:fs";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DindHost } from "./components/DindHost";
import { DindWorkloads } from "./components/DindWorkloads";
import { DoodClient } from "./components/DoodClient";
import { isLocalDaemon, socketPathOf } from "./components/endpoints";
import { EngineEndpoint, engineApiVersion } from "./components/engineApi";
import { loadStackFile, StackFileError } from "./stackfile/load";
import { ClientSpec, DaemonSpec, StackFile } from "./stackfile/schema";

/**
 * Reads `file` and provisions it; an invalid file fails the program before any resource exists.
 * `env` supplies the implicit `local` daemon (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH).
 */
export function provisionStackFile(file: string, env: NodeJS.ProcessEnv = process.env) {
    let stack: StackFile;
    try {
        stack = loadStackFile(file, env);
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
    const providerFor = perDaemon((name) => {
        const daemon = stack.daemons[name];
        return new docker.Provider(`daemon-${name}`, { host: daemon.host, certPath: daemon.certPath, sshOpts: daemon.sshOpts });
    });
    // The outer engine's API version picks the DinD hosts' health-check schedule. It is asked
    // here, once per daemon rather than per host, because components do no I/O.
    const apiVersionOf = perDaemon((name) => engineApiVersion(endpointOf(stack.daemons[name])));

    const dindHosts = Object.entries(stack.hosts).map(([name, spec]) => {
        const daemon = stack.daemons[spec.daemon];
        const host = new DindHost(name, {
            outerDaemon: endpointOf(daemon),
            image: spec.image,
            storage: spec.storage,
            tcp: spec.tcp,
            unix: spec.unix,
            preload: spec.preload,
            env: spec.env,
            labels,
            engineApiVersion: apiVersionOf(spec.daemon),
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
        const client = new DoodClient(name, {
            image: spec.image,
            command: spec.command,
            socket,
            socketGroup: spec.socketGroup ?? socketGroupOf(socket, daemon, name),
            workspace: spec.workspace,
            user: spec.user,
            env: spec.env,
            labels,
        }, { provider: providerFor(spec.daemon) });
        return [name, { containerId: client.containerId }];
    }));

    return { hosts, clients, clientTls };
}

/** How this machine reaches a daemon's Engine API. */
function endpointOf(daemon: DaemonSpec): EngineEndpoint {
    return { host: daemon.host, certPath: daemon.certPath };
}

/** Makes one thing per daemon name, on first use. */
function perDaemon<T>(make: (name: string) => T): (name: string) => T {
    const made = new Map<string, T>();
    return (name) => {
        if (!made.has(name)) made.set(name, make(name));
        return made.get(name)!;
    };
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
