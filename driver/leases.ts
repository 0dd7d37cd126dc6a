// Leases of pool members, kept on the pool's outer daemon itself, where every runner already
// looks: no file on one runner, no lock service, no engine. A member's lease is a chain of states
// (free, leased, resetting, unhealthy), one marker per state: a container created on the outer
// daemon and never started, named `<member>.lease-<epoch>`. Moving a member to its next state is
// creating the marker of the next epoch, and the daemon creates a name at most once (HTTP 409 for
// everyone else), so of any number of processes on any number of machines that saw the same
// state, exactly one moves the member on; the others see the conflict and try another member.
// The state with the highest epoch is the member's; older markers are removed by id once
// superseded (never by name: a name may by then be another state's). Every state carries its
// holder and a time to live counted from the marker's creation on the daemon's own clock, so no
// runner's clock matters: a leased member whose lease expired, a reset that never finished, a
// member found unhealthy, each may be taken over by the next lease, which resets it first.
// A member is handed out only when the state before was `free`, which only a finished reset (or a
// fresh member, which has no marker yet) produces, and after its inner daemon answered.
import { isIP } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { ClientTls } from "../components/contract";
import { defaultOuterDaemon } from "../components/defaults";
import { DOCKERD_PLAIN_PORT, DOCKERD_TLS_PORT } from "../components/dockerd";
import { dialAddress, tcpUrl } from "../components/endpoints";
import { ContainerSummary, EngineApiError, EngineClient, EngineEndpoint } from "../components/engineApi";
import { UserError } from "../components/errors";
import {
    CACHE_KEEP_LABEL, DIND_HOST_ROLE, HOST_LABEL, LEASE_EPOCH_LABEL, LEASE_HOLDER_LABEL, LEASE_MARKER_ROLE, LEASE_STATE_LABEL, LEASE_TTL_LABEL, leaseMarkerName,
    POOL_LABEL, ROLE_LABEL, STACK_LABEL,
} from "../components/markers";
import { CERT_PATH_FILES, HOST_SOCKET_DIR, IMAGE_USAGE_FILE, INNER_CLIENT_TLS_DIR, INNER_DATA_ROOT, socketIn } from "../components/paths";
import { resetHost, ResetReport, UsageLedger } from "./reset";
import { tarFiles, tarOf } from "./tar";

export type LeaseState = "free" | "leased" | "resetting" | "unhealthy";
const STATES: LeaseState[] = ["free", "leased", "resetting", "unhealthy"];

/** A lease lasts an hour unless asked otherwise (a CI job's usual time limit). */
export const DEFAULT_LEASE_TTL_SECONDS = 3600;
/** The shortest and the longest lease. */
export const MIN_LEASE_TTL_SECONDS = 10;
export const MAX_LEASE_TTL_SECONDS = 7 * 24 * 3600;
/** How long `lease` waits for a free member unless asked otherwise. */
export const DEFAULT_LEASE_WAIT_SECONDS = 600;
/** How long a reset may take before the next lease may take the member over (and reset it again). */
export const RESET_TTL_SECONDS = 600;
/** How long a member found unhealthy stays out of leases before the next lease tries it again (a reset, then its daemon must answer). */
export const UNHEALTHY_TTL_SECONDS = 60;
/** How long a member's inner daemon gets to answer a ping before it is taken as unhealthy. */
const PING_TIMEOUT_MS = 3000;
/** Calls to the outer daemon: a loaded daemon takes seconds. */
const OUTER_TIMEOUT_MS = 15_000;

/** One state of a member's lease, as its marker records it. */
export interface LeaseMarker {
    /** The marker container's id: a lease's id is the id of its `leased` marker. */
    id: string;
    member: string;
    epoch: number;
    state: LeaseState;
    holder: string;
    /** When the marker was created, in seconds since the epoch (the outer daemon's clock). */
    since: number;
    /** Seconds it lasts from `since`. */
    ttl: number;
}

/** A pool member: its DinD container, and the latest state of its lease with the older markers not yet removed. */
export interface PoolMember {
    name: string;
    container: ContainerSummary;
    latest?: LeaseMarker;
    older: LeaseMarker[];
}

/** A pool as its outer daemon holds it now. */
export interface PoolView {
    pool: string;
    members: PoolMember[];
    /** Markers whose member is gone (the pool shrank): nothing holds them. */
    strays: LeaseMarker[];
    /** The outer daemon's clock, in seconds since the epoch. */
    now: number;
}

/** Which stack's pool, on which daemon. */
export interface PoolScope {
    engine: EngineClient;
    /** STACK_LABEL's value: "<project>/<stack>". */
    stackLabel: string;
}

/** How a member stands for the next lease. */
export type Availability = "free" | "leased" | "resetting" | "unhealthy" | "expired" | "down";

/** A marker's state from its labels; undefined for a container that is not a readable marker. */
export function markerOf(container: ContainerSummary): LeaseMarker | undefined {
    const labels = container.Labels ?? {};
    const state = labels[LEASE_STATE_LABEL] as LeaseState;
    const epoch = Number(labels[LEASE_EPOCH_LABEL]);
    const ttl = Number(labels[LEASE_TTL_LABEL]);
    if (labels[ROLE_LABEL] !== LEASE_MARKER_ROLE || !STATES.includes(state) || !Number.isInteger(epoch) || !Number.isFinite(ttl)) return undefined;
    return { id: container.Id, member: labels[HOST_LABEL], epoch, state, holder: labels[LEASE_HOLDER_LABEL] ?? "", since: container.Created ?? 0, ttl };
}

/** Members and markers from one listing: each member with its latest state. */
function membersOf(listed: ContainerSummary[]): { members: PoolMember[]; strays: LeaseMarker[] } {
    const markers = listed.map(markerOf).filter((m): m is LeaseMarker => m !== undefined).sort((a, b) => b.epoch - a.epoch);
    const members = listed.filter((c) => c.Labels?.[ROLE_LABEL] === DIND_HOST_ROLE).map((container): PoolMember => {
        const name = container.Labels![HOST_LABEL];
        const [latest, ...older] = markers.filter((m) => m.member === name);
        return { name, container, latest, older };
    }).sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
    const names = new Set(members.map((m) => m.name));
    return { members, strays: markers.filter((m) => !names.has(m.member)) };
}

/** A pool's members and leases, with the daemon's clock, from one listing. */
export async function readPool(scope: PoolScope, pool: string): Promise<PoolView> {
    const filters = { label: [`${STACK_LABEL}=${scope.stackLabel}`, `${POOL_LABEL}=${pool}`] };
    const [listed, clock] = await Promise.all([scope.engine.listContainers({ all: true, filters }), scope.engine.clock()]);
    return { pool, ...membersOf(listed), now: clock / 1000 };
}

/** One member (by name) and its leases, with the daemon's clock; undefined member when the stack has no such pool member there. */
export async function readMember(scope: PoolScope, member: string): Promise<{ member?: PoolMember; pool?: string; now: number }> {
    const filters = { label: [`${STACK_LABEL}=${scope.stackLabel}`, `${HOST_LABEL}=${member}`] };
    const [listed, clock] = await Promise.all([scope.engine.listContainers({ all: true, filters }), scope.engine.clock()]);
    const found = membersOf(listed).members.find((m) => m.name === member && m.container.Labels?.[POOL_LABEL] !== undefined);
    return { member: found, pool: found?.container.Labels?.[POOL_LABEL], now: clock / 1000 };
}

/** The pools of a stack on a daemon, by name, with their members' names. */
export async function poolsOf(scope: PoolScope): Promise<Record<string, string[]>> {
    const listed = await scope.engine.listContainers({ all: true, filters: { label: [`${STACK_LABEL}=${scope.stackLabel}`, `${ROLE_LABEL}=${DIND_HOST_ROLE}`, POOL_LABEL] } });
    const pools: Record<string, string[]> = {};
    for (const c of listed) (pools[c.Labels![POOL_LABEL]] ??= []).push(c.Labels![HOST_LABEL]);
    return pools;
}

/** Whether a member's DinD container runs and Docker's health check has not found it unhealthy. */
export function isUp(container: ContainerSummary): boolean {
    return container.State === "running" && !/\(unhealthy\)/.test(container.Status);
}

export function hasExpired(marker: LeaseMarker, now: number): boolean {
    return now >= marker.since + marker.ttl;
}

/** How a member stands for the next lease: free, held (leased, resetting, unhealthy), expired (to take over), or down (for `up` to replace). */
export function availability(member: PoolMember, now: number): Availability {
    if (!isUp(member.container)) return "down";
    const latest = member.latest;
    if (!latest || latest.state === "free") return "free";
    return hasExpired(latest, now) ? "expired" : latest.state;
}

/** A holder as a label holds it: one line, at most 200 characters. */
export function holderText(holder: string): string {
    const line = holder.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
    return (line.length > 200 ? `${line.slice(0, 197)}...` : line) || "unknown";
}

/**
 * Moves a member from its latest state to `next` by creating the next epoch's marker: undefined
 * when another process moved it first. The superseded markers are then removed (by id).
 */
export async function transition(scope: PoolScope, member: PoolMember, next: { state: LeaseState; holder: string; ttl: number }, now: number): Promise<LeaseMarker | undefined> {
    const epoch = (member.latest?.epoch ?? 0) + 1;
    const labels = member.container.Labels ?? {};
    const holder = holderText(next.holder);
    const id = await scope.engine.createContainer(leaseMarkerName(member.name, epoch), {
        // The member's own image is on the daemon for sure; the marker never runs it.
        Image: member.container.ImageID ?? member.container.Image,
        Labels: {
            [ROLE_LABEL]: LEASE_MARKER_ROLE,
            [STACK_LABEL]: labels[STACK_LABEL],
            [POOL_LABEL]: labels[POOL_LABEL],
            [HOST_LABEL]: member.name,
            [LEASE_STATE_LABEL]: next.state,
            [LEASE_HOLDER_LABEL]: holder,
            [LEASE_TTL_LABEL]: String(next.ttl),
            [LEASE_EPOCH_LABEL]: String(epoch),
        },
        NetworkDisabled: true,
        // The image's volumes (a DinD image declares /var/lib/docker) would otherwise be created with each marker.
        HostConfig: { NetworkMode: "none", Tmpfs: Object.fromEntries((member.container.Mounts ?? []).map((m) => [m.Destination, ""])) },
    });
    if (!id) return undefined;
    const superseded = [member.latest, ...member.older].filter((m): m is LeaseMarker => m !== undefined);
    await Promise.all(superseded.map((m) => scope.engine.removeContainer(m.id, { volumes: true, ifExists: true })));
    return { id, member: member.name, epoch, state: next.state, holder, since: now, ttl: next.ttl };
}

/** The member as it stands after `marker` became its latest state. */
function after(member: PoolMember, marker: LeaseMarker): PoolMember {
    return { ...member, latest: marker, older: [] };
}

/** True once the member has moved past `marker` (another process took it over). */
async function superseded(scope: PoolScope, marker: LeaseMarker): Promise<boolean> {
    return (await scope.engine.inspectContainer(leaseMarkerName(marker.member, marker.epoch + 1))) !== undefined;
}

/** How a job reaches a member's inner daemon. */
export interface InnerAccess {
    /** For DOCKER_HOST: tcp://address:port (TLS or plain), else unix:// on the outer daemon's machine. */
    dockerHost: string;
    /** The client CA, certificate and key of a TLS endpoint. */
    tls?: ClientTls;
    /** Where the ports nested containers publish are: the DinD container's address on its outer network. */
    publishedPortsAddress?: string;
}

/** The member's endpoint, read from its container (ports, mounts, networks) and its client TLS from inside it. */
export async function innerAccess(scope: PoolScope, container: ContainerSummary): Promise<InnerAccess> {
    const endpointPorts = container.Ports.filter((p) => (p.PrivatePort === DOCKERD_TLS_PORT || p.PrivatePort === DOCKERD_PLAIN_PORT) && p.PublicPort);
    const tcp = endpointPorts.find((p) => !p.IP || isIP(p.IP) === 4) ?? endpointPorts[0];
    const socketDir = container.Mounts?.find((m) => m.Destination === HOST_SOCKET_DIR)?.Source;
    const dockerHost = tcp ? tcpUrl(dialAddress(scope.engine.endpoint.host, tcp.IP ?? "0.0.0.0"), tcp.PublicPort!) : socketDir ? `unix://${socketIn(socketDir)}` : undefined;
    const name = container.Labels?.[HOST_LABEL] ?? container.Id;
    if (!dockerHost) throw new UserError(`pool member ${name} has no TCP port or socket directory to reach its inner daemon by`);
    const networks = container.NetworkSettings?.Networks ?? {};
    const publishedPortsAddress = networks.bridge?.IPAddress || Object.values(networks).find((n) => n.IPAddress)?.IPAddress || undefined;
    return { dockerHost, tls: tcp?.PrivatePort === DOCKERD_TLS_PORT ? await clientTlsOf(scope, container.Id, name) : undefined, publishedPortsAddress };
}

/** The client TLS material a member keeps inside its container (DindHost's clientTlsInContainer). */
async function clientTlsOf(scope: PoolScope, containerId: string, member: string): Promise<ClientTls> {
    // A member made before its pool kept them there has no such directory (404).
    const tar = await scope.engine.getArchive(containerId, INNER_CLIENT_TLS_DIR).catch((error: Error) => {
        if (error instanceof EngineApiError && error.status === 404) return Buffer.alloc(0);
        throw error;
    });
    const files = tarFiles(tar);
    const file = (name: string) => [...files].find(([path]) => path.split("/").pop() === name)?.[1].toString("utf8");
    const [ca, cert, key] = [file(CERT_PATH_FILES.ca), file(CERT_PATH_FILES.cert), file(CERT_PATH_FILES.key)];
    if (!ca || !cert || !key) throw new UserError(`pool member ${member} keeps no client TLS files in ${INNER_CLIENT_TLS_DIR}: run up to bring it to the current version`);
    return { ca, cert, key };
}

function innerEngine(access: InnerAccess, timeoutMs = PING_TIMEOUT_MS): EngineClient {
    return new EngineClient({ host: access.dockerHost, ...access.tls }, { timeoutMs });
}

/** The image-usage ledger on a member's storage volume, read and written through the outer daemon. */
function ledgerOf(scope: PoolScope, containerId: string): UsageLedger {
    return {
        read: async () => {
            // A new member has none yet.
            const tar = await scope.engine.getArchive(containerId, `${INNER_DATA_ROOT}/${IMAGE_USAGE_FILE}`).catch(() => undefined);
            try {
                return JSON.parse([...tarFiles(tar ?? Buffer.alloc(0)).values()][0]?.toString("utf8") ?? "{}");
            } catch {
                return {};
            }
        },
        // The daemon makes the file's directory when the archive is extracted.
        write: (usage) => scope.engine.putArchive(containerId, INNER_DATA_ROOT, tarOf({ [IMAGE_USAGE_FILE]: JSON.stringify(usage) })),
    };
}

/** Resets a member it holds in `marker` (resetting), then checks its inner daemon answers. */
async function resetAndCheck(scope: PoolScope, member: PoolMember, marker: LeaseMarker, now: number): Promise<{ report?: ResetReport; failure?: string; access?: InnerAccess }> {
    try {
        const access = await innerAccess(scope, member.container);
        const keep = Number(member.container.Labels?.[CACHE_KEEP_LABEL]);
        const report = await resetHost(innerEngine(access, OUTER_TIMEOUT_MS), {
            now,
            keepBytes: Number.isFinite(keep) && keep > 0 ? keep : undefined,
            ledger: ledgerOf(scope, member.container.Id),
            lost: () => superseded(scope, marker),
        });
        await innerEngine(access).ping();
        return { report, access };
    } catch (error) {
        return { failure: (error as Error).message };
    }
}

/** A lease granted: the member, the lease's marker, and how the job reaches the member. */
export interface Grant {
    member: PoolMember;
    lease: LeaseMarker;
    access: InnerAccess;
    /** When the lease expires, in seconds since the epoch (the outer daemon's clock). */
    expires: number;
    /** What the lease did on the way, one line each (a takeover, an unhealthy member skipped). */
    notes: string[];
}

export interface LeaseRequest extends PoolScope {
    pool: string;
    holder: string;
    ttlSeconds: number;
    /** How long to wait for a free member (0: fail at once). */
    waitSeconds: number;
}

/** Thrown when a pool has no free member within the wait. */
export class NoFreeHostError extends UserError {
    constructor(pool: string, waited: number, view: PoolView) {
        super(`no member of pool ${pool} became free within ${waited} s: ${view.members.map((m) => `${m.name} ${describeMember(m, view.now)}`).join("; ")}. `
            + "Wait longer (--wait SECONDS), or grow the pool (its size in the stack file, then up)");
    }
}

/** Thrown for a pool the stack does not have on this daemon. */
export class UnknownPoolError extends UserError {
    constructor(pool: string, stackLabel: string, daemon: string, pools: string[]) {
        super(`stack ${stackLabel.split("/").pop()} has no pool ${pool} on ${daemon}: ${pools.length ? `its pools there are ${pools.join(", ")}` : "it has no pool there (is it up, and is DOCKER_HOST its pools' daemon?)"}`);
    }
}

/** A member's state in words: "free", "leased by X since T (expires T2)", ... */
export function describeMember(member: PoolMember, now: number): string {
    const latest = member.latest;
    const down = isUp(member.container) ? "" : ` (its DinD container is ${member.container.State}${/\(unhealthy\)/.test(member.container.Status) ? ", unhealthy" : ""}: up replaces it)`;
    if (!latest || latest.state === "free") return `free${down}`;
    const when = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    const until = `${hasExpired(latest, now) ? "expired" : "expires"} ${when(latest.since + latest.ttl)}`;
    const verb = { leased: "leased by", resetting: "resetting for", unhealthy: "unhealthy, found by", free: "" }[latest.state];
    return `${verb} ${latest.holder} since ${when(latest.since)} (${until})${down}`;
}

/** Shuffled: concurrent leases try members in different orders, and collide less. */
function shuffled<T>(items: T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
}

/**
 * Leases a member of the pool: a free one (its daemon must answer), else one whose state expired
 * (reset first), waiting up to `waitSeconds` for either.
 */
export async function lease(request: LeaseRequest): Promise<Grant> {
    const deadline = Date.now() + request.waitSeconds * 1000;
    const notes: string[] = [];
    let delay = 200;
    for (;;) {
        const view = await readPool(request, request.pool);
        if (view.members.length === 0) {
            throw new UnknownPoolError(request.pool, request.stackLabel, request.engine.endpoint.host, Object.keys(await poolsOf(request)));
        }
        // Another process moving a member first (a conflict) means the view is stale: read it again
        // before waiting or giving up, so that a member still free is tried and an error shows the pool as it is.
        let contended = false;
        for (const member of shuffled(view.members.filter((m) => availability(m, view.now) === "free"))) {
            const marker = await transition(request, member, { state: "leased", holder: request.holder, ttl: request.ttlSeconds }, view.now);
            if (!marker) {
                contended = true;
                continue;
            }
            const granted = await handOut(request, after(member, marker), view.now, notes);
            if (granted) return granted;
        }
        for (const member of shuffled(view.members.filter((m) => availability(m, view.now) === "expired"))) {
            const granted = await takeOver(request, member, view.now, notes);
            if (granted === "contended") contended = true;
            else if (granted) return granted;
        }
        if (contended) continue;
        if (Date.now() + delay > deadline) throw new NoFreeHostError(request.pool, request.waitSeconds, view);
        await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random())));
        delay = Math.min(delay * 2, 2000);
    }
}

/**
 * Hands a member just leased to the caller once its inner daemon answers. One whose daemon does
 * not answer is marked unhealthy (the next lease tries another), unless its container is healthy:
 * then the problem is the way from here, and the lease is given back and the error says so.
 */
async function handOut(request: LeaseRequest, member: PoolMember, now: number, notes: string[]): Promise<Grant | undefined> {
    const lease = member.latest!;
    let access: InnerAccess | undefined;
    const failure = await (async () => {
        access = await innerAccess(request, member.container);
        await innerEngine(access).ping();
    })().then(() => undefined, (error: Error) => error.message);
    if (!failure) return { member, lease, access: access!, expires: lease.since + lease.ttl, notes };
    const inspected = await request.engine.inspectContainer(member.container.Id);
    if (access && inspected?.State.Running && inspected.State.Health?.Status === "healthy") {
        await transition(request, member, { state: "free", holder: request.holder, ttl: 0 }, now);
        throw new UserError(`pool member ${member.name} is healthy, but its endpoint ${access.dockerHost} does not answer from this machine (${failure}): `
            + "the lease was given back. Lease from a machine that reaches it, or bind the pool's tcp endpoint to an address the runners reach (template.tcp.bind)");
    }
    await transition(request, member, { state: "unhealthy", holder: `lease by ${request.holder}: ${failure}`, ttl: UNHEALTHY_TTL_SECONDS }, now);
    notes.push(`skipped ${member.name}: its inner daemon does not answer (${failure}); it is out of leases for ${UNHEALTHY_TTL_SECONDS} s, and up replaces it if its container is down`);
    return undefined;
}

/** Takes over a member whose state expired: resets it, then leases it if its daemon answers ("contended": another process moved it first). */
async function takeOver(request: LeaseRequest, member: PoolMember, now: number, notes: string[]): Promise<Grant | "contended" | undefined> {
    const old = member.latest!;
    const resetting = await transition(request, member, {
        state: "resetting", holder: `${request.holder}, taking over from ${old.holder} (${old.state}, expired)`, ttl: RESET_TTL_SECONDS,
    }, now);
    if (!resetting) return "contended";
    const held = after(member, resetting);
    const { failure, access } = await resetAndCheck(request, held, resetting, now);
    if (failure || !access) {
        await transition(request, held, { state: "unhealthy", holder: `reset by ${request.holder} failed: ${failure}`, ttl: UNHEALTHY_TTL_SECONDS }, now);
        notes.push(`skipped ${member.name}: its ${old.state} state had expired, and resetting it failed: ${failure}`);
        return undefined;
    }
    const lease = await transition(request, held, { state: "leased", holder: request.holder, ttl: request.ttlSeconds }, now);
    if (!lease) return "contended";
    notes.push(`took ${member.name} over from ${old.holder}, whose ${old.state} state expired, and reset it first`);
    return { member: after(member, lease), lease, access, expires: lease.since + lease.ttl, notes };
}

export interface ReleaseRequest extends PoolScope {
    member: string;
    /** The lease's id (or its first 12 characters at least), as lease printed it. */
    leaseId?: string;
    /** Release whatever holds the member (an operator's way out); without it, only the lease `leaseId`. */
    force: boolean;
    /** Who releases, for the markers. */
    holder: string;
}

export interface Released {
    member: string;
    pool: string;
    report: ResetReport;
    /** The lease had expired when it was released (no other lease had taken the member over). */
    late: boolean;
    seconds: number;
}

/** The shortest lease id accepted: 12 hex digits, as docker shortens ids. */
const MIN_LEASE_ID = 12;

/** Releases a member: checks the lease, resets the member, and makes it free once its daemon answers (else unhealthy). */
export async function release(request: ReleaseRequest): Promise<Released> {
    const started = Date.now();
    const { member, pool, now } = await readMember(request, request.member);
    const daemon = request.engine.endpoint.host;
    if (!member || !pool) {
        const pools = await poolsOf(request);
        const members = Object.values(pools).flat().sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
        throw new UserError(`${request.member} is not a member of a pool of stack ${request.stackLabel.split("/").pop()} on ${daemon}`
            + `${members.length ? ` (its pool members there: ${members.join(", ")})` : " (it has none there)"}: nothing was released`);
    }
    const latest = member.latest;
    if (!latest || latest.state === "free") throw new UserError(`${member.name} is not leased (it is free): nothing was released`);
    if (!request.force) {
        if (!request.leaseId || request.leaseId.length < MIN_LEASE_ID) {
            throw new UserError(`releasing ${member.name} needs its lease id (DIND_LEASE_ID, at least ${MIN_LEASE_ID} characters), or --force to release whatever holds it`);
        }
        if (latest.state !== "leased" || !latest.id.startsWith(request.leaseId)) {
            throw new UserError(`${member.name} is ${describeMember(member, now)}, not under lease ${request.leaseId.slice(0, MIN_LEASE_ID)}: `
                + "nothing was released (a lease whose time ran out is taken over by the next lease, which resets the host first; "
                + "--force releases the host whoever holds it)");
        }
    }
    const late = latest.state === "leased" && hasExpired(latest, now);
    const resetting = await transition(request, member, { state: "resetting", holder: `release by ${request.holder} of ${latest.holder}`, ttl: RESET_TTL_SECONDS }, now);
    if (!resetting) throw new UserError(`${member.name} changed hands while this release started (another lease took it over): nothing was released`);
    const held = after(member, resetting);
    const { report, failure } = await resetAndCheck(request, held, resetting, now);
    if (failure || !report) {
        await transition(request, held, { state: "unhealthy", holder: `release by ${request.holder} failed: ${failure}`, ttl: UNHEALTHY_TTL_SECONDS }, now);
        throw new UserError(`${member.name} could not be reset (${failure}): it is out of leases for ${UNHEALTHY_TTL_SECONDS} s, `
            + "then the next lease tries a reset again; up replaces it if its container is down");
    }
    if (!(await transition(request, held, { state: "free", holder: request.holder, ttl: 0 }, now))) {
        throw new UserError(`${member.name} was taken over by another lease while it was reset (the reset ran past ${RESET_TTL_SECONDS} s): that lease reset it again`);
    }
    return { member: member.name, pool, report, late, seconds: (Date.now() - started) / 1000 };
}

/** Client options for a pool's outer daemon, as the commands use it. */
export function outerEngine(endpoint: EngineEndpoint): EngineClient {
    return new EngineClient(endpoint, { timeoutMs: OUTER_TIMEOUT_MS });
}

/**
 * Who holds a lease, as status and the errors name them: DIND_LEASE_HOLDER, else the CI job
 * (GitHub Actions' run, GitLab CI's or Jenkins' job URL), else user@host and the caller's pid.
 */
export function defaultHolder(env: NodeJS.ProcessEnv = process.env): string {
    if (env.DIND_LEASE_HOLDER) return env.DIND_LEASE_HOLDER;
    if (env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY) {
        return `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_JOB ? ` (${env.GITHUB_JOB})` : ""}`;
    }
    if (env.CI_JOB_URL) return env.CI_JOB_URL;
    if (env.BUILD_URL) return env.BUILD_URL;
    return `${os.userInfo().username}@${os.hostname()} pid ${process.ppid}`;
}

/** Where `lease` writes a lease's TLS files unless told: a directory of that lease's own, which `release` removes. */
export function leaseTlsDir(member: string, leaseId: string): string {
    return path.join(os.tmpdir(), `dind-lease-${member}-${leaseId.slice(0, 12)}`);
}

/**
 * The pools' outer daemon for `lease` and `release`: --daemon, else DIND_LEASE_DAEMON (what lease
 * printed: after a job loads the lease's environment, DOCKER_HOST names the leased member), else
 * the docker CLI's DOCKER_HOST. A tcp:// daemon's TLS files: DIND_LEASE_DAEMON_CERT_PATH, else DOCKER_CERT_PATH.
 */
export function poolDaemon(daemon: string | undefined, env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
    if (daemon) return defaultOuterDaemon({ ...env, DOCKER_HOST: daemon });
    if (env.DIND_LEASE_DAEMON) {
        const certPath = env.DIND_LEASE_DAEMON_CERT_PATH;
        return defaultOuterDaemon({ ...env, DOCKER_HOST: env.DIND_LEASE_DAEMON, DOCKER_TLS_VERIFY: certPath ? "1" : "", DOCKER_CERT_PATH: certPath });
    }
    return defaultOuterDaemon(env);
}

/** The environment that names a pool's outer daemon again (poolDaemon reads it). */
export function poolDaemonEnvironment(endpoint: EngineEndpoint): Record<string, string> {
    return { DIND_LEASE_DAEMON: endpoint.host, ...(endpoint.certPath ? { DIND_LEASE_DAEMON_CERT_PATH: endpoint.certPath } : {}) };
}
