// Before the engine runs, the objects a stack's state names on its outer Docker daemons, as those
// daemons hold them now. The state is not trusted to say whose they are: it can be stale, or copied
// from another stack, and the docker provider deletes whatever it names.
//  - An object that is not this stack's (its dind-provisioner.stack label names another stack, a
//    DooD client made it, or it has none: made by hand) is put out of the engine's reach: its state
//    entry is marked retainOnDelete, and so is everything inside another owner's DinD host and the
//    scope of another owner's DooD client (whose delete would empty that client), so that destroy
//    and replacements forget them instead of deleting them. A volume the stack file adopts with
//    `adopt: delete` is the one exception: the user said destroy may delete it.
//  - An object of this stack's removed outside Pulumi: up refreshes it first, so the engine creates
//    it again (a plain up used to fail reading the gone container); preview shows it replaced.
//  - A container of this stack's that was stopped: up starts it; paused: up and destroy unpause it.
// It costs one list call per kind of object per daemon, for the whole state, all at once.
import { EngineClient, EngineEndpoint, exactNameFilter } from "../components/engineApi";
import { UserError } from "../components/errors";
import {
    describeOwner, DIND_HOST_TYPE, DIND_REGISTRY_TYPE, DOCKER_CONTAINER_TYPE, DOCKER_NETWORK_TYPE, DOCKER_PROVIDER_TYPE, DOCKER_VOLUME_TYPE, DOOD_BUILDER_TYPE,
    DOOD_CLIENT_TYPE, DOOD_PROXY_TYPE, DYNAMIC_RESOURCE_TYPE, isComponentType, objectOwner, ownedBy,
} from "../components/markers";
import type { VolumeAdoption } from "../components/storage";
import { declaredObjects } from "../program/ownership";
import { StackFile } from "../stackfile/schema";
import { Deployment, providerEndpoint, StateResource } from "./state";

/** How long a daemon gets to answer. */
const CHECK_TIMEOUT_MS = 3000;

type Kind = "container" | "volume" | "network";
const KIND_OF_TYPE: Record<string, Kind> = { [DOCKER_CONTAINER_TYPE]: "container", [DOCKER_VOLUME_TYPE]: "volume", [DOCKER_NETWORK_TYPE]: "network" };
const COMPONENT_WORDS: Record<string, string> = {
    [DIND_HOST_TYPE]: "DinD host", [DIND_REGISTRY_TYPE]: "registry", [DOOD_CLIENT_TYPE]: "DooD client", [DOOD_PROXY_TYPE]: "DooD policy proxy",
    [DOOD_BUILDER_TYPE]: "DooD builder",
};

/** An outer container, volume or network the state names, on a daemon this machine reaches. */
export interface StateObject {
    resource: StateResource;
    kind: Kind;
    /** Its name on the daemon. */
    name: string;
    daemon: EngineEndpoint;
}

/** What the daemon holds under a state object's id now. */
export interface ObservedObject extends StateObject {
    /** Undefined when the daemon holds nothing under that id. */
    labels?: Record<string, string> | null;
    condition: "running" | "stopped" | "paused" | "gone" | "other";
}

/**
 * The providers that drive outer daemons: those the program registers for the stack file's daemons,
 * outside every component. A provider under a component (a DinD host's, on Docker or Kubernetes)
 * drives that host's inner daemon, whose objects are the host's, not an owner's to guard; dialling it
 * would fail (ECONNREFUSED) exactly when the host was removed. Told from the state's structure, not
 * from the stack file, so that it holds for a state whose file is invalid or now names other URLs.
 */
function outerProviders(resources: StateResource[]): Set<string> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const underComponent = (r: StateResource | undefined): boolean => r !== undefined && (isComponentType(r.type) || underComponent(r.parent ? byUrn.get(r.parent) : undefined));
    return new Set(resources.filter((r) => r.type === DOCKER_PROVIDER_TYPE && !underComponent(r)).map((r) => r.urn));
}

/** The outer docker objects of a deployment, with the daemon each is on (resources of inner daemons and clusters are not outer objects). */
export function stateObjects(deployment: Deployment): StateObject[] {
    const resources = deployment.resources ?? [];
    const outer = outerProviders(resources);
    return resources.flatMap((resource): StateObject[] => {
        const kind = KIND_OF_TYPE[resource.type];
        const onOuter = resource.provider !== undefined && outer.has(resource.provider.slice(0, resource.provider.lastIndexOf("::")));
        const daemon = kind && resource.id && onOuter ? providerEndpoint(resources, resource, { ssh: true }) : undefined;
        if (!kind || !daemon) return [];
        const name = typeof resource.inputs?.name === "string" ? resource.inputs.name : resource.id!;
        return [{ resource, kind, name, daemon }];
    });
}

function conditionOf(state: string): ObservedObject["condition"] {
    if (state === "running" || state === "restarting") return "running";
    if (state === "paused") return "paused";
    return state === "exited" || state === "created" ? "stopped" : "other";
}

/** Looks every state object up on its daemon: per daemon one list of containers by id, of volumes by name, of networks by id. */
export async function observe(objects: StateObject[]): Promise<ObservedObject[]> {
    const byDaemon = new Map<string, StateObject[]>();
    for (const object of objects) byDaemon.set(object.daemon.host, [...(byDaemon.get(object.daemon.host) ?? []), object]);
    const observed = await Promise.all([...byDaemon.values()].map(async (group) => {
        const engine = new EngineClient(group[0].daemon, { timeoutMs: CHECK_TIMEOUT_MS });
        const ids = (kind: Kind) => group.filter((o) => o.kind === kind).map((o) => o.resource.id!);
        const [containers, volumes, networks] = await Promise.all([
            ids("container").length ? engine.listContainers({ all: true, filters: { id: ids("container") } }) : [],
            ids("volume").length ? engine.listVolumes({ filters: { name: ids("volume").map((id) => exactNameFilter(id, "volume")) } }) : [],
            ids("network").length ? engine.listNetworks({ filters: { id: ids("network") } }) : [],
        ]).catch((error: Error) => {
            throw new UserError(`cannot check who owns the objects this stack's state names on ${group[0].daemon.host}, so nothing was changed: ${error.message}`);
        });
        return group.map((object): ObservedObject => {
            const id = object.resource.id!;
            if (object.kind === "container") {
                const found = containers.find((c) => c.Id === id);
                return found ? { ...object, labels: found.Labels, condition: conditionOf(found.State) } : { ...object, condition: "gone" };
            }
            const found = object.kind === "volume" ? volumes.find((v) => v.Name === id) : networks.find((n) => n.Id === id);
            return found ? { ...object, labels: found.Labels, condition: "running" } : { ...object, condition: "gone" };
        });
    }));
    return observed.flat();
}

/** What the driver does about the state's objects before the engine runs. */
export interface OwnershipPlan {
    /**
     * Objects that are not this stack's, with what goes with them (`inside`): what lives on the inner
     * daemon of another owner's DinD host, the scope of another owner's DooD client. All of it is marked retainOnDelete.
     */
    foreign: { object: ObservedObject; inside: string[] }[];
    /** Volumes of another owner's that the stack file takes over on purpose (`adopt`). */
    adopted: { object: ObservedObject; adopt: VolumeAdoption }[];
    /** Objects of this stack's removed outside Pulumi. */
    gone: ObservedObject[];
    stopped: ObservedObject[];
    paused: ObservedObject[];
}

/** The resources on a DinD host's inner daemon: those its inner provider (a provider under the host component) drives. */
function onInnerDaemon(resources: StateResource[], host: string): string[] {
    const under = new Set([host]);
    for (let grew = true; grew;) {
        grew = false;
        for (const r of resources) {
            if (r.parent && under.has(r.parent) && !under.has(r.urn)) {
                under.add(r.urn);
                grew = true;
            }
        }
    }
    const providers = new Set(resources.filter((r) => r.type === DOCKER_PROVIDER_TYPE && under.has(r.urn)).map((r) => r.urn));
    return resources.filter((r) => r.provider && providers.has(r.provider.slice(0, r.provider.lastIndexOf("::")))).map((r) => r.urn);
}

/** The scope of a DooD client (DoodScope, a dynamic resource beside its container): its delete would empty the client. */
function clientScope(resources: StateResource[], client: string): string[] {
    return resources.filter((r) => r.parent === client && r.type === DYNAMIC_RESOURCE_TYPE).map((r) => r.urn);
}

/** What goes with another owner's container: what runs on its DinD host's inner daemon, or its DooD client's scope. */
function goesWith(object: ObservedObject, resources: StateResource[]): string[] {
    const parent = resources.find((r) => r.urn === object.resource.parent);
    if (object.kind !== "container" || !parent) return [];
    if (parent.type === DIND_HOST_TYPE) return onInnerDaemon(resources, parent.urn);
    return parent.type === DOOD_CLIENT_TYPE ? clientScope(resources, parent.urn) : [];
}

/** The key of a volume in `adoptions`: its daemon's URL and its name. */
function volumeKey(host: string, name: string): string {
    return `${host}\u0000${name}`;
}

/** Sorts the observed objects: `owner` is "<project>/<stack>"; `adoptions` are the stack file's `adopt` keys (see adoptedVolumes). */
export function planOwnership(observed: ObservedObject[], resources: StateResource[], owner: string, adoptions: Map<string, VolumeAdoption>): OwnershipPlan {
    const plan: OwnershipPlan = { foreign: [], adopted: [], gone: [], stopped: [], paused: [] };
    for (const object of observed) {
        const adopt = object.kind === "volume" ? adoptions.get(volumeKey(object.daemon.host, object.name)) : undefined;
        if (object.condition === "gone") {
            plan.gone.push(object);
        } else if (ownedBy(object.labels, owner)) {
            if (object.condition === "stopped") plan.stopped.push(object);
            if (object.condition === "paused") plan.paused.push(object);
        } else if (adopt) {
            plan.adopted.push({ object, adopt });
        } else {
            plan.foreign.push({ object, inside: goesWith(object, resources) });
        }
    }
    return plan;
}

/** "container builder (DinD host builder) on unix:///var/run/docker.sock" */
export function describeObject(object: StateObject, resources: StateResource[]): string {
    const parent = resources.find((r) => r.urn === object.resource.parent);
    const component = parent && COMPONENT_WORDS[parent.type];
    return `${object.kind} ${object.name}${component ? ` (${component} ${parent.urn.split("::").pop()})` : ""} on ${object.daemon.host}`;
}

/** The stack file's `adopt` keys, by "<daemon URL>\0<volume>" (none without a valid stack file: then nothing of another owner's is deleted). */
export function adoptedVolumes(stack: StackFile | undefined): Map<string, VolumeAdoption> {
    if (!stack) return new Map();
    return new Map(declaredObjects(stack).filter((o) => o.kind === "volume" && o.adopt && stack.daemons[o.daemon]?.host)
        .map((o) => [volumeKey(stack.daemons[o.daemon].host!, o.name), o.adopt!]));
}

export interface GuardResult {
    /** What the driver found and did, one line each. */
    notes: string[];
    /** URNs of this stack's objects removed outside Pulumi: up refreshes them first; preview shows them replaced. */
    gone: string[];
    /** URNs to mark retainOnDelete in the state (up and destroy do; preview only says it). */
    retain: string[];
}

/**
 * Looks at the state's objects and converges what it may before the engine runs: up starts stopped
 * containers of the stack's and unpauses paused ones, destroy unpauses them (a paused container's
 * daemon answers nothing); preview only says what up would do.
 */
export async function guardState(command: "up" | "preview" | "destroy", deployment: Deployment, owner: string, stack: StackFile | undefined): Promise<GuardResult> {
    const resources = deployment.resources ?? [];
    const objects = stateObjects(deployment);
    if (objects.length === 0) return { notes: [], gone: [], retain: [] };
    const plan = planOwnership(await observe(objects), resources, owner, adoptedVolumes(stack));
    const notes: string[] = [];
    const preview = command === "preview";
    const describe = (object: ObservedObject) => describeObject(object, resources);
    for (const { object, inside } of plan.foreign) {
        const client = resources.find((r) => r.urn === object.resource.parent)?.type === DOOD_CLIENT_TYPE;
        const within = !inside.length ? "" : client ? " and the objects it made (its scope)" : ` and the ${inside.length} resource(s) on its inner daemon`;
        notes.push(`${describe(object)} is in this stack's state but belongs to ${describeOwner(objectOwner(object.labels))}, not to stack ${owner} `
            + `(a state copied from another stack, or stale): ${preview ? "up and destroy will leave" : `${command} leaves`} it${within} where it is and `
            + `${preview ? "drop" : "drops"} it from this stack's state; nothing of it is deleted or replaced`);
    }
    if (command === "destroy") {
        for (const { object, adopt } of plan.adopted) {
            notes.push(`${describe(object)} belongs to ${describeOwner(objectOwner(object.labels))}; the stack file takes it over with adopt: ${adopt}, `
                + `so destroy ${adopt === "keep" ? "leaves it and its data" : "deletes it with its data"}`);
        }
    }
    const conversions = [
        { objects: plan.paused, was: "paused", verb: "unpause", done: "unpaused", by: "docker unpause", commands: ["up", "destroy"],
            run: (engine: EngineClient, id: string) => engine.unpauseContainer(id) },
        { objects: plan.stopped, was: "stopped", verb: "start", done: "started", by: "docker start", commands: ["up"],
            run: (engine: EngineClient, id: string) => engine.startContainer(id) },
    ];
    for (const { objects, was, verb, done, by, commands, run } of conversions) {
        for (const object of objects) {
            if (preview) {
                notes.push(`${describe(object)} was ${was} outside Pulumi: up will ${verb} it`);
            } else if (commands.includes(command)) {
                await run(new EngineClient(object.daemon, { timeoutMs: 30_000 }), object.resource.id!).catch((error: Error) => {
                    throw new UserError(`${describe(object)} was ${was} outside Pulumi and could not be made to run (${error.message}): run ${by} ${object.name}, then this command again`);
                });
                notes.push(`${describe(object)} was ${was} outside Pulumi: ${done} it`);
            }
        }
    }
    if (command !== "destroy") {
        for (const object of plan.gone) {
            notes.push(`${describe(object)} was removed outside Pulumi: ${preview ? "up will create it again" : "refreshing it, so that up creates it again"}`);
        }
    }
    return {
        notes,
        gone: command === "destroy" ? [] : plan.gone.map((o) => o.resource.urn),
        retain: [
            ...plan.foreign.flatMap(({ object, inside }) => [object.resource.urn, ...inside]),
            ...plan.adopted.filter(({ adopt }) => adopt === "keep").map(({ object }) => object.resource.urn),
        ],
    };
}

/** Marks state resources retainOnDelete, so that the engine forgets them instead of deleting them. */
export function markRetained(deployment: Deployment, urns: string[]): Deployment {
    const retain = new Set(urns);
    return { ...deployment, resources: deployment.resources?.map((r) => (retain.has(r.urn) ? { ...r, retainOnDelete: true } : r)) };
}
