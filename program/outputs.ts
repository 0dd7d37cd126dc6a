// The stack outputs, typed once: the program (./index.ts) returns them, `pulumi stack output`
// shows them, and every command (status, contexts, client-tls, outputs) reads them through these
// types. A Docker host and a Kubernetes host export different things: a Kubernetes host has no
// container on an outer daemon (no containerId, no outerDaemon), so a reader tells them apart
// with isKubernetesHost before it uses either.
import type * as pulumi from "@pulumi/pulumi";
import type { ClientTls } from "../components/contract";
import type { EngineEndpoint } from "../components/engineApi";

/** What every DinD host exports under `hosts.<name>`. */
interface HostOutputsBase {
    /** The endpoint a docker client uses (TCP, else unix), for DOCKER_HOST. */
    dockerHost?: string;
    /** tcp://address:port of the mutual-TLS (or plain) TCP endpoint. */
    tcpEndpoint?: string;
    /** Preloaded image reference -> its id on the inner daemon. */
    preloadedImageIds: Record<string, string>;
    /** Nested container name -> its id on the inner daemon. */
    nestedContainerIds: Record<string, string>;
}

/** A DinD host on a Docker daemon: a container there. */
export interface DockerHostOutputs extends HostOutputsBase {
    /** The DinD container's id on its outer daemon. */
    containerId: string;
    /** unix://<hostDir>/docker.sock on the outer daemon's machine. */
    unixEndpoint?: string;
    /** The DinD container's address on its outer network, where nested published ports are. */
    publishedPortsAddress?: string;
    /** How this machine reaches the outer daemon. */
    outerDaemon: EngineEndpoint;
}

/** A DinD host on Kubernetes: a StatefulSet of one pod, reached through its Service. */
export interface KubernetesHostOutputs extends HostOutputsBase {
    /** The StatefulSet's name (its pod is `<statefulSet>-0`). */
    statefulSet: string;
    /** tcp://<node address>:<NodePort> (a NodePort Service), or tcp://<cluster IP>:<port> (ClusterIP). */
    tcpEndpoint: string;
    dockerHost: string;
    /** tcp://<name>.<namespace>.svc:<port>, the endpoint's name inside the cluster. */
    serviceEndpoint: string;
    /** Where nested published ports are reached: the node address, or the cluster IP. */
    publishedPortsAddress: string;
    /** Each nested published port ("8080/tcp") and where it is reached from here ("10.0.0.21:31080"): a port of the host's Service each. */
    publishedPorts: Record<string, string>;
    /** The node the pod ran on at the last update (absent with skipAwait). */
    node?: string;
    /** The cluster as the stack file names it, for the commands that ask it about the pod: no credential. */
    cluster: { namespace: string; kubeconfig?: string; context?: string };
}

export type HostOutputs = DockerHostOutputs | KubernetesHostOutputs;

export function isKubernetesHost(host: HostOutputs): host is KubernetesHostOutputs {
    return "statefulSet" in host;
}

/** A DooD client under `clients.<name>`. */
export interface ClientOutputs {
    containerId: string;
    /** The daemon whose socket (or policy proxy) the client gets. */
    outerDaemon: EngineEndpoint;
    /** Behind a policy proxy (scope and all); absent in the outputs of stacks up before issue 19. */
    restricted?: boolean;
    /** Where the ports its containers publish are reached from inside the client (TESTCONTAINERS_HOST_OVERRIDE). */
    publishedPortsAddress?: string;
    /** The client's policy proxy and its builder, when it has them. */
    proxyContainerId?: string;
    builderContainerId?: string;
}

/** A registry under `registries.<name>`. */
export interface RegistryOutputs {
    /** What a DinD host puts in its `registry-mirrors`, e.g. https://hub-cache:5000. */
    mirrorUrl: string;
    /** host:port on the outer daemon's machine. */
    publishedAddress: string;
}

/** A pool under `pools.<name>`; its members are hosts too, under `hosts.<member>`. */
export interface PoolOutputs {
    /** The members' names, in order (ci-1, ci-2, ...). */
    members: string[];
    /** How this machine reaches the outer daemon the members run on, where their leases are. */
    outerDaemon: EngineEndpoint;
    /** host:port of the registry the members' builds export their cache to, as the members reach it. */
    cacheRegistry?: string;
}

/** A stack's outputs, as the commands read them. */
export interface StackOutputs {
    hosts: Record<string, HostOutputs>;
    clients: Record<string, ClientOutputs>;
    /** Per host with a TLS endpoint: secret material, never to be printed. */
    clientTls: Record<string, ClientTls | undefined>;
    registries: Record<string, RegistryOutputs>;
    pools: Record<string, PoolOutputs>;
}

/** An outputs object as the program builds it: each field may still be an Output. */
export type Unresolved<T> = T extends unknown ? { [K in keyof T]: pulumi.Input<T[K]> } : never;

/** What the program returns: StackOutputs before the engine resolves them. */
export interface ProgramOutputs {
    hosts: Record<string, Unresolved<HostOutputs>>;
    clients: Record<string, Unresolved<ClientOutputs>>;
    clientTls: pulumi.Input<StackOutputs["clientTls"]>;
    registries: Record<string, Unresolved<RegistryOutputs>>;
    pools: Record<string, PoolOutputs>;
}

/** The outputs of a stack read back (`stack.outputs()`): a stack that is not up yet has none. */
export function stackOutputsOf(values: Record<string, { value?: unknown } | undefined>): StackOutputs {
    const value = <K extends keyof StackOutputs>(key: K) => (values[key]?.value ?? {}) as StackOutputs[K];
    return { hosts: value("hosts"), clients: value("clients"), clientTls: value("clientTls"), registries: value("registries"), pools: value("pools") };
}
