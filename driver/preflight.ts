// Checks the driver makes before it hands a stack to the engine: that the outer daemons answer
// (the engine would otherwise wait on a daemon that is down), and which DinD hosts are not running,
// so that refresh and destroy leave alone the nested resources an unreachable inner daemon holds.
import { Stack } from "@pulumi/pulumi/automation";
import { EngineApiError, EngineClient } from "../components/engineApi";
import { UserError } from "../components/errors";
import { DIND_HOST_TYPE, DOCKER_CONTAINER_TYPE, DOCKER_PROVIDER_TYPE, DOCKER_VOLUME_TYPE } from "../components/markers";
import { StackFile } from "../stackfile/schema";
import { providerEndpoint, Deployment, StateResource } from "./state";

/** How long a daemon gets to answer a check before a run. */
const CHECK_TIMEOUT_MS = 3000;

/** Thrown when an outer daemon of the stack does not answer. */
export class DaemonUnreachableError extends UserError {
    constructor(daemon: string, host: string, reason: string, stackFile: string) {
        super(`outer Docker daemon "${daemon}" (${host}) does not answer: ${reason}. Start Docker there, or point `
            + `daemons.${daemon}.host in ${stackFile} at a daemon that runs, then run this command again; nothing was changed`);
    }
}

/** Fails naming the first outer daemon the stack uses that does not answer (ssh:// and Kubernetes daemons are left to the engine). */
export async function checkOuterDaemons(stack: StackFile, stackFile: string): Promise<void> {
    const used = new Set([...Object.values(stack.hosts).map((h) => h.daemon), ...Object.values(stack.clients).map((c) => c.daemon)]);
    for (const name of used) {
        const { host, certPath } = stack.daemons[name];
        // Kubernetes daemons have no Docker host; ssh:// ones are left to the engine.
        if (!host || !/^(unix|tcp):\/\//.test(host)) continue;
        const failure = await new EngineClient({ host, certPath }, { timeoutMs: CHECK_TIMEOUT_MS }).ping().then(() => undefined, (error: Error) => error.message);
        if (failure) throw new DaemonUnreachableError(name, host, failure, stackFile);
    }
}

/** A DinD host of the state whose container does not run, so its inner daemon cannot be reached. */
export interface DownHost {
    name: string;
    container: string;
    /** "stopped", or "gone" when the outer daemon has no such container (or none was created). */
    condition: "stopped" | "gone";
    volume?: string;
    retained: boolean;
    /** URNs of the resources that live on its inner daemon (nested workloads). */
    nested: string[];
}

/** The container's condition on its outer daemon; undefined when the daemon cannot tell (left to the engine). */
async function containerCondition(resources: StateResource[], container: StateResource): Promise<"running" | "stopped" | "gone" | undefined> {
    if (!container.id) return "gone";
    const daemon = providerEndpoint(resources, container);
    if (!daemon) return undefined;
    try {
        const inspected = await new EngineClient(daemon, { timeoutMs: CHECK_TIMEOUT_MS }).inspectContainer(container.id);
        return inspected === undefined ? "gone" : inspected.State.Running ? "running" : "stopped";
    } catch (error) {
        if (error instanceof EngineApiError) return undefined;
        throw error;
    }
}

/** The DinD hosts in the stack's deployment whose container is stopped or gone, with what lives inside them. */
export async function downHosts(deployment: Deployment): Promise<DownHost[]> {
    const resources = deployment.resources ?? [];
    const down: DownHost[] = [];
    for (const host of resources.filter((r) => r.type === DIND_HOST_TYPE)) {
        const children = resources.filter((r) => r.parent === host.urn);
        const container = children.find((r) => r.type === DOCKER_CONTAINER_TYPE);
        const volume = children.find((r) => r.type === DOCKER_VOLUME_TYPE);
        const inner = children.find((r) => r.type === DOCKER_PROVIDER_TYPE);
        const condition = container ? await containerCondition(resources, container) : "gone";
        if (condition !== "stopped" && condition !== "gone") continue;
        const nested = resources.filter((r) => inner && r.provider?.startsWith(`${inner.urn}::`));
        down.push({
            name: host.urn.split("::").pop()!,
            container: String(container?.inputs?.name ?? host.urn.split("::").pop()),
            condition,
            volume: typeof volume?.inputs?.name === "string" ? volume.inputs.name : undefined,
            retained: volume?.retainOnDelete === true,
            nested: nested.map((r) => r.urn),
        });
    }
    return down;
}

/** Thrown by destroy when a host with retained storage is down: its nested resources cannot be deleted. */
export class RetainedHostDownError extends UserError {
    constructor(hosts: DownHost[], stackArgs: string) {
        super(hosts.map((h) => `DinD host ${h.name}: its container ${h.container} is ${h.condition} and its storage volume ${h.volume} is retained, `
            + `so the ${h.nested.length} nested resource(s) on its inner daemon cannot be deleted`).join("; ")
            + `. Either start the host again (npm run refresh -- ${stackArgs} && npm run up -- ${stackArgs}) and destroy again, `
            + `or run npm run destroy -- ${stackArgs} --drop-nested to drop them from the state: their data lives on in the retained volume`);
    }
}

/** Removes the given resources from the stack's state (export, edit, import). */
export async function dropFromState(stack: Stack, urns: string[]): Promise<void> {
    if (urns.length === 0) return;
    const drop = new Set(urns);
    const exported = await stack.exportStack();
    exported.deployment.resources = (exported.deployment.resources as StateResource[]).filter((r) => !drop.has(r.urn));
    await stack.importStack(exported);
}
