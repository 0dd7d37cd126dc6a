export { DindHost, DindHostArgs, ClientTls } from "./DindHost";
export { DindWorkloads, DindWorkloadsArgs, InnerDaemonHost } from "./DindWorkloads";
export { KubernetesDindHost, KubernetesDindHostArgs } from "./KubernetesDindHost";
export { DoodClient, DoodClientArgs } from "./DoodClient";
export { DindCertificates, DindCertificatesArgs } from "./DindCertificates";
export { ImagePreload, ImagePreloadArgs } from "./ImagePreload";
export { EngineEndpoint } from "./engineApi";
export { Transform } from "./transform";
