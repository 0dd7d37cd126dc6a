// What `up` and `destroy` do about pools around the engine, so that the engine never changes a
// member a job holds, and a pool stays at its size:
// - A member another lease holds (leased or resetting, not expired) is left as it is: the engine
//   excludes it, and what the program would add to it (a change of the template reaches it at a
//   later up that finds it free).
// - Shrinking a pool past a held member is refused before anything changes (destroy too), naming
//   the members, their holders and when their leases expire.
// - Every other member is held by the run itself while the engine runs (a lease with the run as
//   holder), so that no job leases a member the engine is changing; after the run it is given
//   back as it was (a free member free, an expired one expired, for the next lease to reset).
// - A member whose DinD container is gone, stopped or unhealthy, or that a lease or release found
//   unhealthy, is replaced: its container and storage go and the state forgets it, so the engine
//   creates it afresh; the other members are not touched.
// - Lease markers of members that no longer exist are removed after the run.
import { Stack } from "@pulumi/pulumi/automation";
import * as os from "node:os";
import { defaultStorageVolume, poolMemberName } from "../components/defaults";
import { EngineEndpoint } from "../components/engineApi";
import { UserError } from "../components/errors";
import { DIND_HOST_ROLE, DIND_HOST_TYPE, DIND_POOL_TYPE, HOST_LABEL, POOL_LABEL, ROLE_LABEL, STACK_LABEL } from "../components/markers";
import { endpointOf } from "../program/daemons";
import { StackFile } from "../stackfile/schema";
import { availability, describeMember, hasExpired, isUp, LeaseMarker, markerOf, outerEngine, PoolMember, PoolScope, poolsOf, readPool, transition } from "./leases";
import { dropFromState } from "./preflight";
import { PROJECT_NAME, stackLabelValue } from "./project";
import { Deployment, StateResource } from "./state";

/** How long a run's own hold on its members lasts if the run dies without giving them back. */
const HOLD_TTL_SECONDS = 1800;

/** Thrown when up (or destroy) would remove members that jobs hold. */
export class PoolShrinkRefusedError extends UserError {
    constructor(blocked: { pool: string; size: number; members: string[] }[]) {
        super(blocked.map((b) => `pool ${b.pool} ${b.size === 0 ? "would be removed" : `would shrink to ${b.size}`}, but ${b.members.join("; ")}`).join(". ")
            + ". Nothing was changed: run this again once they are released (npm run release -- HOST --force releases one whoever holds it), "
            + "or keep the pool at its size until then");
    }
}

/** A member the run holds, and the state to give it back in. */
interface Hold {
    scope: PoolScope;
    member: PoolMember;
    marker: LeaseMarker;
    previous?: LeaseMarker;
    /** It was replaced: it goes back free. */
    fresh: boolean;
}

/** What the run does about pools: which URNs the engine leaves alone, and what to give back after. */
export interface PoolRun {
    /** URNs of the members other leases hold: the engine leaves them as they are. */
    exclude: string[];
    /** What was done before the run, one line each. */
    lines: string[];
    /** After the run: gives the held members back and removes the markers of members that are gone; what it did, one line each. */
    finish(): Promise<string[]>;
}

/** The members' n (from "<pool>-<n>"). */
function memberNumber(pool: string, member: string): number {
    return Number(member.slice(pool.length + 1));
}

/** Every Docker daemon of the stack (unix://, tcp:// or ssh://; a cluster has no pools), by name. */
function poolDaemons(stack: StackFile): Record<string, EngineEndpoint> {
    return Object.fromEntries(Object.entries(stack.daemons)
        .filter(([, d]) => d.host !== undefined && !d.kubernetes)
        .map(([name, d]) => [name, endpointOf(d)]));
}

/** The state's resources of a member: its DindHost under its DindPool, and everything under it. */
export function memberSubtree(resources: StateResource[], pool: string, member: string): StateResource[] {
    const poolUrns = new Set(resources.filter((r) => r.type === DIND_POOL_TYPE && r.urn.endsWith(`::${pool}`)).map((r) => r.urn));
    const root = resources.find((r) => r.type === DIND_HOST_TYPE && r.urn.endsWith(`::${member}`) && r.parent !== undefined && poolUrns.has(r.parent));
    if (!root) return [];
    const inside = new Set([root.urn]);
    // Parents come before their children in a deployment, so one pass finds the whole subtree.
    for (const r of resources) if (r.parent && inside.has(r.parent)) inside.add(r.urn);
    return resources.filter((r) => inside.has(r.urn));
}

/**
 * URN patterns of everything of a member, in the state or new in the program (a preload the
 * template gained): its DindHost under a DindPool, and whatever under it its name prefixes, as
 * the components name their children (`<member>-container`, `<member>-workloads-...`).
 * (Validation keeps one pool's name from starting like another's members.)
 */
export function memberPatterns(stackName: string, member: string): string[] {
    const types = `${DIND_POOL_TYPE}$${DIND_HOST_TYPE}`;
    return [`urn:pulumi:${stackName}::${PROJECT_NAME}::${types}::${member}`, `urn:pulumi:${stackName}::${PROJECT_NAME}::${types}$**::${member}-**`];
}

/** How many members of `pool` the stack file wants on the daemon named `daemon` (0 for destroy, or a pool gone from the file). */
function wantedSize(stack: StackFile, pool: string, daemon: string, destroy: boolean): number {
    const spec = Object.hasOwn(stack.pools, pool) ? stack.pools[pool] : undefined;
    return destroy || !spec || spec.template.daemon !== daemon ? 0 : spec.size;
}

/**
 * Prepares a run of `up` (or `destroy`, which keeps no member) for the stack's pools; see the
 * file's comment. Throws PoolShrinkRefusedError before changing anything.
 */
export async function preparePools(stack: StackFile, stackName: string, deployment: Deployment, engineStack: Stack, { destroy = false } = {}): Promise<PoolRun> {
    const resources = deployment.resources ?? [];
    const holder = `${destroy ? "destroy" : "up"} of stack ${stackName} (pid ${process.pid} on ${os.hostname()})`;
    const daemons = Object.entries(poolDaemons(stack)).map(([name, endpoint]) => ({ name, scope: { engine: outerEngine(endpoint), stackLabel: stackLabelValue(stackName) } }));
    const plans: { scope: PoolScope; pool: string; size: number; members: PoolMember[]; now: number }[] = [];
    const blocked: { pool: string; size: number; members: string[] }[] = [];
    for (const { name, scope } of daemons) {
        for (const pool of Object.keys(await poolsOf(scope))) {
            const size = wantedSize(stack, pool, name, destroy);
            const view = await readPool(scope, pool);
            const held = view.members.filter((m) => memberNumber(pool, m.name) > size && ["leased", "resetting"].includes(availability(m, view.now)));
            if (held.length) blocked.push({ pool, size, members: held.map((m) => `${m.name} is ${describeMember(m, view.now)}`) });
            plans.push({ scope, pool, size, members: view.members, now: view.now });
        }
    }
    if (blocked.length) throw new PoolShrinkRefusedError(blocked);

    const lines: string[] = [];
    const exclude: string[] = [];
    const holds: Hold[] = [];
    const forgotten: string[] = [];
    const leaveAlone = (pool: string, member: PoolMember, why: string) => {
        exclude.push(...memberPatterns(stackName, member.name));
        lines.push(`pool ${pool}: ${member.name} ${why}`);
    };
    for (const { scope, pool, size, members, now } of plans) {
        for (const member of members) {
            const stays = memberNumber(pool, member.name) <= size;
            const failed = !isUp(member.container) || member.latest?.state === "unhealthy";
            // A job's lease, even on a member that is down: the job releases it (a reset of the fresh member).
            const heldByJob = member.latest !== undefined && ["leased", "resetting"].includes(member.latest.state) && !hasExpired(member.latest, now);
            if (stays && !failed && heldByJob) {
                leaveAlone(pool, member, `is ${describeMember(member, now)}: left as it is (a later up brings it to the stack file once it is free)`);
                continue;
            }
            if (!heldByJob) {
                const marker = await transition(scope, member, { state: "leased", holder, ttl: HOLD_TTL_SECONDS }, now);
                // Another lease took it between the look and the hold: it is that lease's now.
                if (!marker) {
                    if (stays) leaveAlone(pool, member, "was leased just now: left as it is");
                    continue;
                }
                holds.push({ scope, member: { ...member, latest: marker, older: [] }, marker, previous: member.latest, fresh: stays && failed });
            }
            if (stays && failed) {
                await replaceMember(scope, pool, member);
                forgotten.push(...memberSubtree(resources, pool, member.name).map((r) => r.urn));
                const why = isUp(member.container) ? "a lease or release found its inner daemon not answering"
                    : `its DinD container is ${member.container.State}${/\(unhealthy\)/.test(member.container.Status) ? " and unhealthy" : ""}`;
                lines.push(`pool ${pool}: ${member.name} failed (${why}): replaced by a fresh one`);
            }
        }
    }
    // Members the state has whose container is gone altogether: the engine creates them afresh.
    for (const [pool, spec] of destroy ? [] : Object.entries(stack.pools)) {
        for (let n = 1; n <= spec.size; n++) {
            const member = poolMemberName(pool, n);
            const subtree = memberSubtree(resources, pool, member);
            if (subtree.length && !plans.some((p) => p.pool === pool && p.members.some((m) => m.name === member))) {
                // Its storage would bring back nested containers the state no longer knows (their names would clash).
                const scope = daemons.find((d) => d.name === spec.template.daemon)?.scope;
                if (scope) await removeMemberVolume(scope, pool, member);
                forgotten.push(...subtree.map((r) => r.urn));
                lines.push(`pool ${pool}: ${member}'s DinD container is gone: created afresh`);
            }
        }
    }
    await dropFromState(engineStack, [...new Set(forgotten)]);
    return { exclude, lines, finish: () => finish(holds, daemons, stack, destroy) };
}

/** Removes a failed member's container and storage volume from its outer daemon (its markers stay: a job may still hold it). */
async function replaceMember(scope: PoolScope, pool: string, member: PoolMember): Promise<void> {
    await scope.engine.removeContainer(member.container.Id, { force: true, volumes: true, ifExists: true });
    await removeMemberVolume(scope, pool, member.name);
}

/** Removes a member's storage volume, when it carries this stack's and this pool's labels (nobody else's is touched). */
async function removeMemberVolume(scope: PoolScope, pool: string, member: string): Promise<void> {
    const name = defaultStorageVolume(member);
    const found = await scope.engine.listVolumes({ filters: { name: [name], label: [`${STACK_LABEL}=${scope.stackLabel}`, `${POOL_LABEL}=${pool}`] } });
    if (found.some((v) => v.Name === name)) await scope.engine.removeVolume(name);
}

/**
 * After the run, whatever its outcome: held members that still exist go back to the state they
 * were in (a replaced one free); the markers of members that no longer exist and are not wanted go.
 */
async function finish(holds: Hold[], daemons: { name: string; scope: PoolScope }[], stack: StackFile, destroy: boolean): Promise<string[]> {
    const lines: string[] = [];
    for (const hold of holds) {
        const previous = hold.previous;
        // A free or fresh member goes back free; one whose lease had expired stays expired, for the next lease to reset.
        const back = hold.fresh || !previous || previous.state === "free"
            ? { state: "free" as const, holder: hold.marker.holder, ttl: 0 }
            : { state: previous.state, holder: previous.holder, ttl: 0 };
        await transition(hold.scope, hold.member, back, 0)
            .catch((error: Error) => lines.push(`could not give ${hold.member.name} back (${error.message}): the run's hold on it expires in ${HOLD_TTL_SECONDS / 60} min`));
    }
    for (const { name, scope } of daemons) {
        const listed = await scope.engine.listContainers({ all: true, filters: { label: [`${STACK_LABEL}=${scope.stackLabel}`, POOL_LABEL] } });
        const hosts = new Set(listed.filter((c) => c.Labels?.[ROLE_LABEL] === DIND_HOST_ROLE).map((c) => c.Labels![HOST_LABEL]));
        const orphans = listed.filter((c) => {
            const marker = markerOf(c);
            const pool = c.Labels![POOL_LABEL];
            return marker && !hosts.has(marker.member) && memberNumber(pool, marker.member) > wantedSize(stack, pool, name, destroy);
        });
        await Promise.all(orphans.map((c) => scope.engine.removeContainer(c.Id, { volumes: true, ifExists: true })));
        for (const member of new Set(orphans.map((c) => c.Labels![HOST_LABEL]))) lines.push(`removed the lease markers of ${member}, which left its pool`);
    }
    return lines;
}
