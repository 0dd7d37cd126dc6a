export { DindHost, DindHostArgs, ClientTls, DockerdConfig, DindResources, RegistryCredentials } from "./DindHost";
export { DindWorkloads, DindWorkloadsArgs } from "./DindWorkloads";
export { DoodClient, DoodClientArgs } from "./DoodClient";
export { DindCertificates, DindCertificatesArgs } from "./DindCertificates";
export { ImagePreload, ImagePreloadArgs } from "./ImagePreload";
export { EngineEndpoint } from "./engineApi";
export { Transform } from "./transform";
export { DindRegistry, DindRegistryArgs, RegistryProxy } from "./DindRegistry";
export { DindReadiness, DindReadinessArgs } from "./DindReadiness";
