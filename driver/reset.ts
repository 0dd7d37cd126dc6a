// Resetting a pool member between jobs (driver/leases.ts calls it on release, and before a lease
// takes over an expired one): every nested container, volume and network its stack did not declare
// goes, a swarm the job started is left, declared containers a job stopped run again, and the images
// and build cache stay within the member's storage budget, the least recently used going first.
// What the stack declared carries DECLARED_LABEL (DindPool's workloads); a DinD host is privileged,
// so a job that put that label on its own objects could keep them: jobs are not hostile here.
import { ContainerSummary, EngineClient, NetworkSummary } from "../components/engineApi";
import { DECLARED_LABEL } from "../components/markers";

/** The inner daemon's own networks, which a reset leaves. */
const PREDEFINED_NETWORKS = new Set(["bridge", "host", "none"]);
/** How many removals go to the inner daemon at once. */
const PARALLEL = 8;
/** Passes of the storage budget: removing an image can turn build cache it shared into cache of its own. */
const BUDGET_PASSES = 3;

/** When each image was last seen in use (seconds since the epoch), by image id: what the budget evicts by. */
export type ImageUsage = Record<string, number>;

/** Where a member keeps its ImageUsage (a file on its storage volume, read and written over the outer daemon). */
export interface UsageLedger {
    read(): Promise<ImageUsage>;
    write(usage: ImageUsage): Promise<void>;
}

export interface ResetOptions {
    /** Now, in seconds since the epoch (the outer daemon's clock). */
    now: number;
    /** The member's storage budget for images and build cache, in bytes (none: no eviction). */
    keepBytes?: number;
    /** Where image usage is kept; without it, images are evicted by age of first sight only. */
    ledger?: UsageLedger;
    /** True once another lease has taken the member over: the reset stops before its next removals. */
    lost?: () => Promise<boolean>;
}

export interface ResetReport {
    containers: number;
    volumes: number;
    networks: number;
    /** Whether the daemon was in a swarm (which it left). */
    swarm: boolean;
    /** Declared containers that were not running and were started again. */
    restarted: string[];
    /** What the storage budget removed. */
    evicted: { images: number; cacheRecords: number; bytes: number };
    /** Bytes of images and build cache after the reset. */
    storageBytes: number;
}

/** Thrown when the member changed hands during the reset (see ResetOptions.lost). */
export class ResetInterruptedError extends Error {
    constructor() {
        super("another lease took the host over during the reset (the reset ran past its time to live): this reset stopped");
    }
}

const declared = (labels: Record<string, string> | null | undefined) => labels?.[DECLARED_LABEL] === "true";

/** Runs `work` on every item, PARALLEL at a time, checking `lost` before each batch. */
async function inBatches<T>(items: T[], work: (item: T) => Promise<unknown>, lost?: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < items.length; i += PARALLEL) {
        if (lost && (await lost())) throw new ResetInterruptedError();
        await Promise.all(items.slice(i, i + PARALLEL).map(work));
    }
}

/** Resets a member's inner daemon for the next job (see the file's comment). */
export async function resetHost(inner: EngineClient, options: ResetOptions): Promise<ResetReport> {
    const { lost } = options;
    const containers = await inner.listContainers({ all: true });
    const usage = await recordUsage(containers, options);
    const swarm = await inner.leaveSwarm();
    const undeclared = containers.filter((c) => !declared(c.Labels));
    await inBatches(undeclared, (c) => inner.removeContainer(c.Id, { force: true, volumes: true, ifExists: true }), lost);
    const stopped = containers.filter((c) => declared(c.Labels) && c.State !== "running");
    await inBatches(stopped, (c) => inner.startContainer(c.Id), lost);
    const networks = (await inner.listNetworks()).filter((n) => !PREDEFINED_NETWORKS.has(n.Name) && !declared(n.Labels));
    await inBatches(networks, (n) => removeNetwork(inner, n), lost);
    const volumes = (await inner.listVolumes()).filter((v) => !declared(v.Labels));
    await inBatches(volumes, (v) => inner.removeVolume(v.Name), lost);
    const budget = await enforceBudget(inner, options, usage);
    if (options.ledger) await options.ledger.write(budget.usage);
    return {
        containers: undeclared.length,
        volumes: volumes.length,
        networks: networks.length,
        swarm,
        restarted: stopped.map((c) => c.Names[0]?.replace(/^\//, "") ?? c.Id),
        evicted: budget.evicted,
        storageBytes: budget.storageBytes,
    };
}

/**
 * The ledger brought up to now: every image a container uses (the job's, about to go, and the
 * declared ones) was used now, and an image not seen before arrived during the job.
 */
async function recordUsage(containers: ContainerSummary[], options: ResetOptions): Promise<ImageUsage> {
    const usage: ImageUsage = { ...(await options.ledger?.read()) };
    for (const c of containers) if (c.ImageID) usage[c.ImageID] = options.now;
    return usage;
}

/** Removes a network; one a declared container is still attached to (a job connected it) is disconnected first. */
async function removeNetwork(inner: EngineClient, network: NetworkSummary): Promise<void> {
    try {
        await inner.removeNetwork(network.Id);
    } catch {
        const attached = (await inner.listContainers({ all: true, filters: { network: [network.Id] } })).map((c) => c.Id);
        await Promise.all(attached.map((id) => inner.disconnectNetwork(network.Id, id)));
        await inner.removeNetwork(network.Id);
    }
}

interface Evictable {
    kind: "image" | "cache";
    id: string;
    bytes: number;
    lastUsed: number;
}

/**
 * Evicts the least recently used images and build cache until they fit in the budget (images in
 * use by a container stay); returns the ledger of the images left, what went, and what is left.
 */
async function enforceBudget(inner: EngineClient, { keepBytes, now, lost }: ResetOptions, usage: ImageUsage) {
    const evicted = { images: 0, cacheRecords: 0, bytes: 0 };
    let storageBytes = 0;
    let images: string[] = [];
    for (let pass = 0; ; pass++) {
        const df = await inner.diskUsage();
        const cache = df.BuildCache ?? [];
        images = df.Images.map((i) => i.Id);
        // An image that arrived during the job has no entry yet: it was used now.
        for (const id of images) usage[id] ??= now;
        storageBytes = df.LayersSize + cache.filter((c) => !c.Shared).reduce((sum, c) => sum + c.Size, 0);
        if (keepBytes === undefined || storageBytes <= keepBytes || pass === BUDGET_PASSES) break;
        const candidates: Evictable[] = [
            ...df.Images.filter((i) => i.Containers <= 0).map((i): Evictable => ({
                kind: "image", id: i.Id, bytes: Math.max(0, i.Size - Math.max(0, i.SharedSize)), lastUsed: usage[i.Id],
            })),
            ...cache.filter((c) => !c.InUse && !c.Shared).map((c): Evictable => ({
                kind: "cache", id: c.ID, bytes: c.Size, lastUsed: (Date.parse(c.LastUsedAt ?? c.CreatedAt ?? "") || 0) / 1000,
            })),
        ].sort((a, b) => a.lastUsed - b.lastUsed);
        const chosen: Evictable[] = [];
        let left = storageBytes;
        for (const candidate of candidates) {
            if (left <= keepBytes) break;
            chosen.push(candidate);
            left -= candidate.bytes;
        }
        if (chosen.length === 0) break;
        if (lost && (await lost())) throw new ResetInterruptedError();
        const doomedImages = chosen.filter((c) => c.kind === "image");
        await inBatches(doomedImages, (c) => inner.removeImage(c.id), lost);
        await inner.pruneBuildCache(chosen.filter((c) => c.kind === "cache").map((c) => c.id));
        evicted.images += doomedImages.length;
        evicted.cacheRecords += chosen.length - doomedImages.length;
        evicted.bytes += chosen.reduce((sum, c) => sum + c.bytes, 0);
    }
    const left = new Set(images);
    return { evicted, storageBytes, usage: Object.fromEntries(Object.entries(usage).filter(([id]) => left.has(id))) };
}
