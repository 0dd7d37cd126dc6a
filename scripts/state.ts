// The parts of an exported Pulumi deployment (`stack.exportStack()`) the driver reads.
import { EngineEndpoint } from "../components/engineApi";

export const CONTAINER_TYPE = "docker:index/container:Container";
export const VOLUME_TYPE = "docker:index/volume:Volume";
export const DOCKER_PROVIDER_TYPE = "pulumi:providers:docker";

export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    parent?: string;
    /** "<provider urn>::<provider id>" */
    provider?: string;
    inputs?: Record<string, unknown>;
    retainOnDelete?: boolean;
}

export interface PendingOperation {
    resource: StateResource;
    type: string;
}

export interface Deployment {
    resources?: StateResource[];
    pending_operations?: PendingOperation[];
}

/**
 * The daemon a docker resource's provider drives, from the provider's inputs in the state. Only
 * plain outer daemons qualify: an inner provider's host and keys are secrets (ciphertext there).
 */
export function providerEndpoint(resources: StateResource[], resource: StateResource): EngineEndpoint | undefined {
    if (!resource.provider) return undefined;
    const urn = resource.provider.slice(0, resource.provider.lastIndexOf("::"));
    const inputs = resources.find((r) => r.urn === urn)?.inputs;
    const host = inputs?.host;
    if (typeof host !== "string" || !/^(unix|tcp):\/\//.test(host)) return undefined;
    return { host, certPath: typeof inputs?.certPath === "string" ? inputs.certPath : undefined };
}
