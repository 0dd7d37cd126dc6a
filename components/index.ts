export { DindHost, DindHostArgs, ClientTls } from "./DindHost";
export { DindWorkloads, DindWorkloadsArgs } from "./DindWorkloads";
export { DoodClient, DoodClientArgs } from "./DoodClient";
export { DindCertificates, DindCertificatesArgs } from "./DindCertificates";
export { ImagePreload, ImagePreloadArgs } from "./ImagePreload";
export { EngineEndpoint } from "./engineApi";
export { Transform } from "./transform";
export { DoodPolicyProxy, DoodPolicyProxyArgs, DoodPolicy } from "./DoodPolicyProxy";
