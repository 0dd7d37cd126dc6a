// How the components' outer containers can be told apart from look-alikes: the type tokens of
// the components that own them and the labels they carry. The policy pack (policy/) reads them.

export const DIND_HOST_TYPE = "dind:index:DindHost";
export const DOOD_CLIENT_TYPE = "dind:index:DoodClient";
export const DOOD_PROXY_TYPE = "dind:index:DoodPolicyProxy";
export const DOOD_BUILDER_TYPE = "dind:index:DoodBuilder";

/** What a container is for: `dind-host`, `dood-client`, `dood-proxy` or `dood-builder`. */
export const ROLE_LABEL = "dind-provisioner.role";
export const DIND_HOST_ROLE = "dind-host";
export const DOOD_CLIENT_ROLE = "dood-client";
export const DOOD_PROXY_ROLE = "dood-proxy";
export const DOOD_BUILDER_ROLE = "dood-builder";
/** "true" on a DinD host whose TCP endpoint serves plain TCP because its arguments say `insecure: true`. */
export const INSECURE_LABEL = "dind-provisioner.insecure";
/** "true" on a container whose published ports bind beyond loopback because its arguments say so (`tcp.bind`). */
export const PUBLIC_BIND_LABEL = "dind-provisioner.public-bind";

/** On every container, volume, network and image a restricted DooD client makes through its policy proxy: the client's name. */
export const OWNER_LABEL = "dind-provisioner.dood-client";

/** On every outer container and volume a stack file's program makes: "<project>/<stack>" (recovery and the tools find a stack's objects by it). */
export const STACK_LABEL = "dind-provisioner.stack";
