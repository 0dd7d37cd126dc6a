import * as assert from "node:assert/strict";
import type { Stack } from "@pulumi/pulumi/automation";
import { EngineClient } from "../../../components/engineApi";
import { DIND_HOST_ROLE, DIND_HOST_TYPE, DIND_POOL_TYPE, HOST_LABEL, LEASE_MARKER_ROLE, LEASE_STATE_LABEL, POOL_LABEL, ROLE_LABEL, STACK_LABEL } from "../../../components/markers";
import { lease, LeaseRequest } from "../../../driver/leases";
import { memberPatterns, memberSubtree, PoolShrinkRefusedError, preparePools } from "../../../driver/pools";
import type { Deployment, StateResource } from "../../../driver/state";
import { validateStackSource } from "../../../stackfile/load";
import { FakeDaemon, startFakeDaemon } from "./fakeDaemon";

const STACK = "dind-provisioner/unit";

/** A pool member's resources as the state holds them: the DindHost under its DindPool, and children. */
function stateOf(pool: string, members: string[]): StateResource[] {
    const poolUrn = `urn:pulumi:unit::dind-provisioner::${DIND_POOL_TYPE}::${pool}`;
    return [{ urn: poolUrn, type: DIND_POOL_TYPE }, ...members.flatMap((m): StateResource[] => {
        const host = `urn:pulumi:unit::dind-provisioner::${DIND_POOL_TYPE}$${DIND_HOST_TYPE}::${m}`;
        const container = `urn:pulumi:unit::dind-provisioner::${DIND_POOL_TYPE}$${DIND_HOST_TYPE}$docker:index/container:Container::${m}-container`;
        return [{ urn: host, type: DIND_HOST_TYPE, parent: poolUrn }, { urn: container, type: "docker:index/container:Container", parent: host }];
    })];
}

describe("driver/pools", () => {
    let outer: FakeDaemon;
    let inners: FakeDaemon[];
    let dropped: string[];
    const engineStack = {
        exportStack: async () => ({ version: 3, deployment: { resources: [] } }),
        importStack: async () => undefined,
    } as unknown as Stack;

    beforeEach(async () => {
        outer = await startFakeDaemon();
        inners = [];
        dropped = [];
        (engineStack as unknown as { exportStack: () => Promise<unknown> }).exportStack = async () => ({ version: 3, deployment: { resources: stateOf("ci", ["ci-1", "ci-2", "ci-3"]) } });
        (engineStack as unknown as { importStack: (s: { deployment: Deployment }) => Promise<void> }).importStack = async (exported) => {
            const kept = new Set(exported.deployment.resources!.map((r) => r.urn));
            dropped = stateOf("ci", ["ci-1", "ci-2", "ci-3"]).map((r) => r.urn).filter((urn) => !kept.has(urn));
        };
    });
    afterEach(async () => {
        await outer.close();
        await Promise.all(inners.map((i) => i.close()));
    });

    async function member(name: string, extra: Record<string, unknown> = {}) {
        const inner = await startFakeDaemon();
        inners.push(inner);
        outer.add({
            Name: name, Labels: { [ROLE_LABEL]: DIND_HOST_ROLE, [STACK_LABEL]: STACK, [POOL_LABEL]: "ci", [HOST_LABEL]: name },
            Mounts: [{ Type: "bind", Source: inner.socket.replace(/\/docker\.sock$/, ""), Destination: "/run/dind-host" }, { Type: "volume", Name: `${name}-docker`, Destination: "/var/lib/docker" }],
            ...extra,
        });
        outer.volumes.push({ Name: `${name}-docker`, Labels: { [STACK_LABEL]: STACK, [POOL_LABEL]: "ci" } });
    }
    /** The operator allows the fake daemon (DIND_PROVISIONER_ALLOW_DAEMONS), as it must for any daemon but its own local one. */
    const stackFile = (size: number) => validateStackSource(
        `daemons:\n  local: { host: "unix://${outer.socket}" }\npools:\n  ci: { size: ${size}, template: { unix: { hostDir: /tmp/ci } } }\n`, "f.yaml",
        { DIND_PROVISIONER_ALLOW_DAEMONS: `unix://${outer.socket}` }).stack!;
    const leaseOne = (holder: string) => lease({ engine: new EngineClient({ host: outer.host }), stackLabel: STACK, pool: "ci", holder, ttlSeconds: 3600, waitSeconds: 0 } as LeaseRequest);
    const states = () => outer.containers.filter((c) => c.Labels[ROLE_LABEL] === LEASE_MARKER_ROLE).map((c) => `${c.Labels[HOST_LABEL]} ${c.Labels[LEASE_STATE_LABEL]}`).sort();

    it("finds a member's resources in the state, and its URN patterns match them and what is new in it, not another member's", () => {
        const resources = stateOf("ci", ["ci-1", "ci-10"]);
        assert.deepEqual(memberSubtree(resources, "ci", "ci-1").map((r) => r.urn.split("::").pop()), ["ci-1", "ci-1-container"]);
        const [own, below] = memberPatterns("unit", "ci-1");
        assert.equal(own, resources[1].urn);
        const glob = new RegExp(`^${below.replace(/[$.|]/g, "\\$&").replace(/\*\*/g, ".*")}$`);
        assert.ok(glob.test(resources[2].urn));
        assert.ok(glob.test(`urn:pulumi:unit::dind-provisioner::${DIND_POOL_TYPE}$${DIND_HOST_TYPE}$dind:index:ImagePreload::ci-1-preload-busybox:1.36`));
        assert.ok(!glob.test(resources[4].urn), "ci-10's container is not ci-1's");
    });

    it("leaves a leased member to its job, holds the others during the run, and gives them back as they were", async () => {
        for (const n of [1, 2]) await member(`ci-${n}`);
        const job = await leaseOne("job-1");
        const run = await preparePools(stackFile(2), "unit", { resources: stateOf("ci", ["ci-1", "ci-2"]) }, engineStack);
        assert.deepEqual(run.exclude, memberPatterns("unit", job.member.name));
        assert.match(run.lines.join("\n"), new RegExp(`${job.member.name} is leased by job-1 .*: left as it is`));
        const other = job.member.name === "ci-1" ? "ci-2" : "ci-1";
        assert.deepEqual(states(), [`${job.member.name} leased`, `${other} leased`].sort(), "the other member is held by the run");
        await assert.rejects(leaseOne("job-2"), /no member of pool ci became free/);
        await run.finish();
        assert.deepEqual(states(), [`${job.member.name} leased`, `${other} free`].sort());
        assert.deepEqual(dropped, []);
    });

    it("refuses to shrink past a leased member (or destroy), and changes nothing", async () => {
        for (const n of [1, 2]) await member(`ci-${n}`);
        await leaseOne("job-1");
        await leaseOne("job-2");
        const before = JSON.stringify(outer.containers.map((c) => c.Id));
        await assert.rejects(preparePools(stackFile(1), "unit", { resources: [] }, engineStack),
            (error: Error) => error instanceof PoolShrinkRefusedError && /^pool ci would shrink to 1, but ci-2 is leased by job-\d since .*\. Nothing was changed/.test(error.message));
        await assert.rejects(preparePools(stackFile(2), "unit", { resources: [] }, engineStack, { destroy: true }),
            /pool ci would be removed, but ci-1 is leased by job-\d .*; ci-2 is leased by job-\d/);
        assert.equal(JSON.stringify(outer.containers.map((c) => c.Id)), before);
    });

    it("replaces a failed member alone: its container and volume go and the state forgets it; its markers stay for its job", async () => {
        await member("ci-1");
        await member("ci-2", { State: "exited", Status: "Exited (1) 2 seconds ago" });
        await member("ci-3", { Health: "unhealthy" });
        const run = await preparePools(stackFile(3), "unit", { resources: stateOf("ci", ["ci-1", "ci-2", "ci-3"]) }, engineStack);
        assert.match(run.lines.join("\n"), /ci-2 failed \(its DinD container is exited\): replaced by a fresh one\n.*ci-3 failed \(its DinD container is running and unhealthy\)/);
        assert.deepEqual(outer.containers.filter((c) => c.Labels[ROLE_LABEL] === DIND_HOST_ROLE).map((c) => c.Name), ["ci-1"]);
        assert.deepEqual(outer.volumes.map((v) => v.Name), ["ci-1-docker"]);
        assert.deepEqual(dropped.map((urn) => urn.split("::").pop()).sort(), ["ci-2", "ci-2-container", "ci-3", "ci-3-container"]);
        await run.finish();
        assert.deepEqual(states(), ["ci-1 free", "ci-2 free", "ci-3 free"]);
    });

    it("removes the markers of members that left their pool", async () => {
        for (const n of [1, 2]) await member(`ci-${n}`);
        const run = await preparePools(stackFile(1), "unit", { resources: stateOf("ci", ["ci-1", "ci-2"]) }, engineStack);
        outer.containers = outer.containers.filter((c) => c.Name !== "ci-2");
        assert.deepEqual(await run.finish(), ["removed the lease markers of ci-2, which left its pool"]);
        assert.deepEqual(states(), ["ci-1 free"]);
    });
});
