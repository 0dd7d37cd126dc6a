// The parts of an exported Pulumi deployment (`stack.exportStack()`) the driver reads, and how it
// reads them from a file backend without the CLI.
import { existsSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { EngineEndpoint } from "../components/engineApi";

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

/** The `.pulumi` directory of a file:// backend; undefined for other backends. */
export function fileBackendDir(backendUrl: string): string | undefined {
    return backendUrl.startsWith("file://") ? path.join(backendUrl.slice("file://".length), ".pulumi") : undefined;
}

/**
 * The stack's latest deployment as a file:// backend keeps it (secrets stay ciphertext), read
 * without the CLI: `pulumi stack export` costs a process and decrypts every secret first (0.3 s).
 * `null` when the backend has no such stack; undefined when this cannot tell (another backend, a
 * qualified stack name, a zstd-compressed, unreadable or other-version file): then ask the CLI.
 */
export function savedDeployment(backendUrl: string, project: string, stackName: string): Deployment | null | undefined {
    const dir = fileBackendDir(backendUrl);
    // A qualified name (organization/project/stack) is left to the CLI.
    if (!dir || stackName.includes("/")) return undefined;
    // The project-scoped layout (the default), else the legacy one; like the backend, the newest of
    // the plain, gzip and zstd files.
    const layouts = [path.join(dir, "stacks", project, stackName), path.join(dir, "stacks", stackName)]
        .map((base) => [".json", ".json.gz", ".json.zst"].map((ext) => base + ext).filter((file) => existsSync(file)));
    const files = layouts.find((found) => found.length > 0);
    if (!files) return null;
    try {
        const file = files.reduce((a, b) => (statSync(b).mtimeMs >= statSync(a).mtimeMs ? b : a));
        if (file.endsWith(".zst")) return undefined;
        const bytes = readFileSync(file);
        const saved = JSON.parse((file.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8")) as { version?: number; checkpoint?: { latest?: Deployment } };
        return saved.version === 3 ? (saved.checkpoint?.latest ?? {}) : undefined;
    } catch {
        // Being replaced right now, or not what this expects: the CLI reads it properly.
        return undefined;
    }
}
