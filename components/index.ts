// The components as a library: the bottom layer, importing nothing from stackfile/ or program.ts.
export {
    DindHost, DindHostArgs, DindHostSteps, DindStorageArgs, DindTcpEndpointArgs, DindUnixEndpointArgs, HealthSchedule, healthSchedule,
} from "./DindHost";
export { DindWorkloads, DindWorkloadsArgs, WorkloadsArgs, NestedContainerArgs, NestedPortArgs, NestedVolumeMountArgs } from "./DindWorkloads";
export { KubernetesDindHost, KubernetesDindHostArgs, KubernetesStorageArgs, KubernetesTcpEndpointArgs } from "./KubernetesDindHost";
export { DoodClient, DoodClientArgs } from "./DoodClient";
export { DindCertificates, DindCertificatesArgs, IssuedCertificate } from "./DindCertificates";
export { ImageCopier, ImagePreload, ImagePreloadArgs, engineImageCopier } from "./ImagePreload";
export { ClientTls, DindHostRef, PreloadedImageRef } from "./contract";
export * from "./defaults";
export { EngineApiError, EngineClient, EngineEndpoint, engineApiVersion } from "./engineApi";
export { UserError } from "./errors";
export { Transform } from "./transform";
export { RegistryCredentials } from "./DindHost";
export { DindRegistry, DindRegistryArgs, RegistryProxy } from "./DindRegistry";
export { DindReadiness, DindReadinessArgs, ReadinessCheck, engineReadinessCheck } from "./DindReadiness";
export { DockerdConfig, DindResources, MTU_OPTION, MANAGED_DOCKERD_OPTIONS } from "./dockerd";
export { DoodPolicyProxy, DoodPolicyProxyArgs, DoodPolicy } from "./DoodPolicyProxy";
