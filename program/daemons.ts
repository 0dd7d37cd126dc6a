// What the program asks each outer Docker daemon before it registers any resource: its Engine API
// version (it picks the DinD hosts' health-check schedule), the id of each image the stack's outer
// containers run (a tag that comes to name another image then replaces the containers that run it),
// and what it holds under the names the stack uses (./ownership.ts decides whether the stack may
// take them). All of it at once, a fixed number of calls per daemon whatever the stack's size: one
// list per kind of object, filtered by the stack's names, and one inspect per distinct image.
// Before registering, since registering keeps the event loop busy long enough for an answer to time out.
import { DEFAULT_DOOD_PROXY_IMAGE } from "../components/defaults";
import { EngineClient, EngineEndpoint, engineApiVersion, exactNameFilter } from "../components/engineApi";
import { UserError } from "../components/errors";
import { DaemonSpec, StackFile } from "../stackfile/schema";
import { builderImageOf, DaemonObjects, DeclaredObject, declaredObjects, ObjectKind } from "./ownership";

/** How long one call may take: a loaded daemon was measured taking 4-6 s to answer. */
const SURVEY_TIMEOUT_MS = 10_000;

/** What the program knows about one outer Docker daemon. */
export interface DaemonFacts {
    /** Its Engine API version; undefined when it was not asked (no DinD host there) or did not answer in time. */
    apiVersion?: string;
    /** Image reference -> its id there, for the images its outer containers run; an image it does not have is absent (the image resource pulls it). */
    imageIds: Record<string, string>;
    /** What it holds under the stack's names. */
    objects: DaemonObjects;
}

/** The Docker daemons (not clusters) the stack makes something on, with how this machine reaches them. */
export function dockerDaemons(stack: StackFile): Record<string, EngineEndpoint> {
    const used = new Set([
        ...Object.values(stack.hosts).map((h) => h.daemon), ...Object.values(stack.clients).map((c) => c.daemon),
        ...Object.values(stack.registries).map((r) => r.daemon), ...Object.values(stack.pools).map((p) => p.template.daemon),
    ]);
    return Object.fromEntries([...used].filter((name) => stack.daemons[name]?.host !== undefined && !stack.daemons[name].kubernetes)
        .map((name) => [name, endpointOf(stack.daemons[name])]));
}

/** How this machine reaches a Docker daemon's Engine API (validation made sure it has a host). */
export function endpointOf(daemon: DaemonSpec): EngineEndpoint {
    return { host: daemon.host!, certPath: daemon.certPath, sshOpts: daemon.sshOpts };
}

/** The images the stack's outer containers run on a daemon. */
function outerImages(stack: StackFile, daemon: string): string[] {
    const images = [
        ...[...Object.values(stack.hosts), ...Object.values(stack.pools).map((p) => p.template)].filter((h) => h.daemon === daemon).map((h) => h.image),
        ...Object.values(stack.registries).filter((r) => r.daemon === daemon).map((r) => r.image),
        ...Object.values(stack.clients).filter((c) => c.daemon === daemon)
            .flatMap((c) => (c.access === "full" ? [c.image] : [c.image, DEFAULT_DOOD_PROXY_IMAGE, builderImageOf(c)])),
    ];
    return [...new Set(images.filter((image): image is string => image !== undefined))];
}

/** What one daemon holds under the stack's names. Every container when a directory is to be checked: a mount is found by its source only. */
async function objectsOn(engine: EngineClient, declared: DeclaredObject[]): Promise<DaemonObjects> {
    const names = (kind: ObjectKind) => declared.filter((o) => o.kind === kind).map((o) => o.name);
    const list = <T>(kind: Exclude<ObjectKind, "directory">, call: (filters: Record<string, string[]>) => Promise<T[]>) =>
        names(kind).length === 0 ? Promise.resolve([]) : call({ name: names(kind).map((n) => exactNameFilter(n, kind)) });
    const [containers, volumes, networks] = await Promise.all([
        names("directory").length > 0 ? engine.listContainers({ all: true }) : list("container", (filters) => engine.listContainers({ all: true, filters })),
        list("volume", (filters) => engine.listVolumes({ filters })),
        list("network", (filters) => engine.listNetworks({ filters })),
    ]);
    return { containers, volumes, networks };
}

/** The ids of images on a daemon (absent: it does not have them). */
async function imageIdsOn(engine: EngineClient, images: string[]): Promise<Record<string, string>> {
    const ids = await Promise.all(images.map(async (image) => [image, await engine.inspectImage(image)] as const));
    return Object.fromEntries(ids.filter((entry): entry is readonly [string, string] => entry[1] !== undefined));
}

/** Asks every outer Docker daemon of the stack what the program needs, all at once; fails naming a daemon that cannot tell. */
export async function surveyDaemons(stack: StackFile, declared = declaredObjects(stack)): Promise<Record<string, DaemonFacts>> {
    const hostDaemons = new Set([...Object.values(stack.hosts), ...Object.values(stack.pools).map((p) => p.template)].map((h) => h.daemon));
    return Object.fromEntries(await Promise.all(Object.entries(dockerDaemons(stack)).map(async ([name, endpoint]) => {
        const engine = new EngineClient(endpoint, { timeoutMs: SURVEY_TIMEOUT_MS });
        try {
            const [apiVersion, imageIds, objects] = await Promise.all([
                hostDaemons.has(name) ? engineApiVersion(endpoint) : Promise.resolve(undefined),
                imageIdsOn(engine, outerImages(stack, name)),
                objectsOn(engine, declared.filter((o) => o.daemon === name)),
            ]);
            return [name, { apiVersion, imageIds, objects }] as const;
        } catch (error) {
            throw new UserError(`cannot check what daemon "${name}" (${endpoint.host}) holds under this stack's names and images, so nothing was changed: ${(error as Error).message}`);
        }
    })));
}
