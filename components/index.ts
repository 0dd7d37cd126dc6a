export { DindHost, DindHostArgs, ClientTls } from "./DindHost";
export { DindWorkloads, DindWorkloadsArgs } from "./DindWorkloads";
export { DoodClient, DoodClientArgs } from "./DoodClient";
export { DindCertificates, DindCertificatesArgs } from "./DindCertificates";
export { ImagePreload, ImagePreloadArgs, EngineEndpoint } from "./ImagePreload";
export { Transform } from "./transform";
