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
export const DIND_REGISTRY_TYPE = `${COMPONENT_TYPE_PREFIX}DindRegistry`;
export const DIND_CERTIFICATES_TYPE = `${COMPONENT_TYPE_PREFIX}DindCertificates`;
export const DIND_READINESS_TYPE = `${COMPONENT_TYPE_PREFIX}DindReadiness`;
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
export const DOCKER_PROVIDER_TYPE = "pulumi:providers:docker";

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
/** On every outer container and volume a stack file's program makes: "<project>/<stack>" (recovery and the tools find a stack's objects by it). */
export const STACK_LABEL = "dind-provisioner.stack";
/** On every object a restricted DooD client creates through its policy proxy: the client's name (set by the proxy). */
export const DOOD_OWNER_LABEL = "dind-provisioner.dood-client";

/** The user's labels with the component's markers over them: a user label never overrides a marker. */
export function withMarkers(labels: Record<string, string> | undefined, markers: Record<string, string>): Record<string, string> {
    return { ...labels, ...markers };
}

/** Labels as the docker provider takes them. */
export function labelList(labels: Record<string, string>): { label: string; value: string }[] {
    return Object.entries(labels).map(([label, value]) => ({ label, value }));
}
