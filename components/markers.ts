// The one home of every marker: the type tokens of the components, the labels their objects
// carry, and the resource types the driver and the policy pack read in a stack's state. The policy
// pack (policy/), the driver's recovery (driver/) and the DooD policy proxy (dood-proxy/, whose Go
// copy of DOOD_OWNER_LABEL a unit test keeps equal) tell the project's objects apart by them, so a
// component applies its markers after the user's labels (withMarkers): an argument can neither
// fake nor hide them.

/** The package part of every component's type token (Pulumi's `<package>:<module>:<type>`). */
const COMPONENT_TYPE_PREFIX = "dind:index:";

/** Type tokens of the components, as their URNs and the policy pack name them. */
export const DIND_HOST_TYPE = `${COMPONENT_TYPE_PREFIX}DindHost`;
export const KUBERNETES_DIND_HOST_TYPE = `${COMPONENT_TYPE_PREFIX}KubernetesDindHost`;
export const DIND_WORKLOADS_TYPE = `${COMPONENT_TYPE_PREFIX}DindWorkloads`;
export const DIND_POOL_TYPE = `${COMPONENT_TYPE_PREFIX}DindPool`;
export const DIND_REGISTRY_TYPE = `${COMPONENT_TYPE_PREFIX}DindRegistry`;
export const DIND_CERTIFICATES_TYPE = `${COMPONENT_TYPE_PREFIX}DindCertificates`;
export const DIND_READINESS_TYPE = `${COMPONENT_TYPE_PREFIX}DindReadiness`;
export const REGISTRY_READINESS_TYPE = `${COMPONENT_TYPE_PREFIX}RegistryReadiness`;
export const KUBERNETES_READINESS_TYPE = `${COMPONENT_TYPE_PREFIX}KubernetesReadiness`;
export const IMAGE_PRELOAD_TYPE = `${COMPONENT_TYPE_PREFIX}ImagePreload`;
export const DOOD_CLIENT_TYPE = `${COMPONENT_TYPE_PREFIX}DoodClient`;
export const DOOD_PROXY_TYPE = `${COMPONENT_TYPE_PREFIX}DoodPolicyProxy`;
export const DOOD_BUILDER_TYPE = `${COMPONENT_TYPE_PREFIX}DoodBuilder`;

/** True for the type token of one of this project's components. */
export function isComponentType(type: string): boolean {
    return type.startsWith(COMPONENT_TYPE_PREFIX);
}

/** Types of the docker provider's resources, as a stack's state and the policy pack name them. */
export const DOCKER_CONTAINER_TYPE = "docker:index/container:Container";
export const DOCKER_VOLUME_TYPE = "docker:index/volume:Volume";
export const DOCKER_NETWORK_TYPE = "docker:index/network:Network";
export const DOCKER_PROVIDER_TYPE = "pulumi:providers:docker";
/** The type of a Node.js dynamic resource in a stack's state: a DooD client's DoodScope is one. */
export const DYNAMIC_RESOURCE_TYPE = "pulumi-nodejs:dynamic:Resource";

/** What a container is for: `dind-host`, `dood-client`, `dood-proxy`, `dood-builder` or `registry`. */
export const ROLE_LABEL = "dind-provisioner.role";
export const DIND_HOST_ROLE = "dind-host";
export const DOOD_CLIENT_ROLE = "dood-client";
export const DOOD_PROXY_ROLE = "dood-proxy";
export const DOOD_BUILDER_ROLE = "dood-builder";
export const REGISTRY_ROLE = "registry";
/** The DinD host a container (or a Kubernetes pod, as its selector) belongs to: its container or object name. */
export const HOST_LABEL = "dind-provisioner.host";
/** The DooD client a container (the client's own, its policy proxy or its builder) belongs to. */
export const CLIENT_LABEL = "dind-provisioner.client";
/** The registry a container, volume or network belongs to. */
export const REGISTRY_LABEL = "dind-provisioner.registry";
/** On a Kubernetes DinD host's pod: hosts with the same value run on different nodes while they can (`spreadGroup`). */
export const SPREAD_LABEL = "dind-provisioner.spread-group";
/** On a Kubernetes DinD host's pod template: a hash of its server certificate, so that a reissued one restarts dockerd, which reads it at start. */
export const TLS_HASH_ANNOTATION = "dind-provisioner.tls-hash";
/** "true" on a DinD host whose TCP endpoint serves plain TCP because its arguments say `insecure: true`. */
export const INSECURE_LABEL = "dind-provisioner.insecure";
/** "true" on a container whose published ports bind beyond loopback because its arguments say so (`tcp.bind`). */
export const PUBLIC_BIND_LABEL = "dind-provisioner.public-bind";
/**
 * Who created an outer object (container, volume, network): "<project>/<stack>", set by a
 * component given an `owner`. The program checks it before it creates anything (an object under a
 * name the stack uses that is not the stack's is not taken over) and the driver before it lets the
 * engine delete or replace anything (another owner's object is left alone, whatever the state
 * says); recovery and the tools find a stack's objects by it. Its key is the one every object has
 * carried since 0.1.0: Docker cannot change an object's labels, so a new key would replace every
 * container, volume and network of a running stack.
 */
export const STACK_LABEL = "dind-provisioner.stack";
/** On every object a restricted DooD client creates through its policy proxy: the client's name (set by the proxy). */
export const DOOD_OWNER_LABEL = "dind-provisioner.dood-client";
/** On objects the real lane makes by hand (its value names the test file): its leftover check finds them by it. No component sets it. */
export const TEST_LABEL = "dind-provisioner.test";

/** The owner label's value for a stack: "<project>/<stack>". */
export function ownerOf(project: string, stack: string): string {
    return `${project}/${stack}`;
}

/** Who made an object on a daemon, as its labels tell. */
export type ObjectOwner =
    | { kind: "stack"; stack: string }
    /** Created by a restricted DooD client through its policy proxy, which stamps its own label over whatever the client asks. */
    | { kind: "dood-client"; client: string; claims?: string }
    /** No owner label: made by hand, by another tool, or by Docker itself (a bind mount's missing volume). */
    | { kind: "none" };

/**
 * The owner of an object with these labels. A DooD client's label wins over any owner label: the
 * policy proxy sets the first on everything a client creates but lets the client write the second,
 * so an object a client made claiming to be a stack's (to have a DinD host take it over) is the client's.
 */
export function objectOwner(labels: Record<string, string> | null | undefined): ObjectOwner {
    const client = labels?.[DOOD_OWNER_LABEL];
    const stack = labels?.[STACK_LABEL];
    if (client !== undefined) return { kind: "dood-client", client, ...(stack === undefined ? {} : { claims: stack }) };
    if (stack !== undefined) return { kind: "stack", stack };
    return { kind: "none" };
}

/** The owner marker of a component given an owner (none without). */
export function ownerMarker(owner: string | undefined): Record<string, string> {
    return owner === undefined ? {} : { [STACK_LABEL]: owner };
}

/** True when the labels say this owner ("<project>/<stack>") made the object. */
export function ownedBy(labels: Record<string, string> | null | undefined, owner: string): boolean {
    const found = objectOwner(labels);
    return found.kind === "stack" && found.stack === owner;
}

/** The owner in words, for messages: "stack dind-provisioner/dev", "DooD client agent", "nobody (made by hand: no dind-provisioner.stack label)". */
export function describeOwner(owner: ObjectOwner): string {
    switch (owner.kind) {
        case "stack":
            return `stack ${owner.stack}`;
        case "dood-client":
            return `DooD client ${owner.client}${owner.claims === undefined ? "" : ` (which labelled it as stack ${owner.claims}'s)`}`;
        default:
            return `nobody (made by hand: it has no ${STACK_LABEL} label)`;
    }
}

/** On a DinD host that is a member of a pool (its container and volume): the pool's name. */
export const POOL_LABEL = "dind-provisioner.pool";
/** On a pool member: the storage its images and build cache may keep, in bytes (release enforces it). */
export const CACHE_KEEP_LABEL = "dind-provisioner.cache-keep";
/** On a pool member: the registry (host:port, as the member reaches it) its builds export their cache to and import it from. */
export const CACHE_REGISTRY_LABEL = "dind-provisioner.cache-registry";
/** On a nested network, volume or container a pool member's stack file declares: a reset (release) keeps it. */
export const DECLARED_LABEL = "dind-provisioner.declared";

/**
 * A lease marker: a container created on a pool's outer daemon and never started, one per state of
 * a member's lease (driver/leases.ts). It carries STACK_LABEL, POOL_LABEL, HOST_LABEL (the member)
 * and the labels below; its name, `<member>.lease-<epoch>`, is what makes each change of state atomic.
 */
export const LEASE_MARKER_ROLE = "lease-marker";
/** A lease marker's state: free, leased, resetting or unhealthy. */
export const LEASE_STATE_LABEL = "dind-provisioner.lease-state";
/** Who holds a lease (a CI job's URL, user@host): what status and the errors show. */
export const LEASE_HOLDER_LABEL = "dind-provisioner.lease-holder";
/** Seconds a lease marker's state lasts from its creation (the daemon's clock) before another lease may take the member over. */
export const LEASE_TTL_LABEL = "dind-provisioner.lease-ttl";
/** A lease marker's place in its member's chain of states (the number in its name). */
export const LEASE_EPOCH_LABEL = "dind-provisioner.lease-epoch";

/** The name of a pool member's lease marker of one epoch. */
export function leaseMarkerName(member: string, epoch: number): string {
    return `${member}${LEASE_MARKER_SUFFIX}${epoch}`;
}
/** What separates a member's name from the epoch in its markers' names (a name ending in it and digits is reserved). */
export const LEASE_MARKER_SUFFIX = ".lease-";

/** The user's labels with the component's markers over them: a user label never overrides a marker. */
export function withMarkers(labels: Record<string, string> | undefined, markers: Record<string, string>): Record<string, string> {
    return { ...labels, ...markers };
}

/** Labels as the docker provider takes them. */
export function labelList(labels: Record<string, string>): { label: string; value: string }[] {
    return Object.entries(labels).map(([label, value]) => ({ label, value }));
}
