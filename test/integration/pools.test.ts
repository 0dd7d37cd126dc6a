// Pools end to end on the real daemon: up makes a pool of two DinD hosts; `lease` from concurrent
// processes never hands one host to two of them; `release` resets a host (every nested container,
// volume and network the stack did not declare goes; the declared ones and the images stay) and
// checks the lease is the caller's; a lease whose time ran out is taken over by the next lease,
// which resets the host first; many jobs cycling through the pool never share a host and leave
// nothing behind; destroy is refused while a host is leased. A registry of the stack that never
// answers (a pull-through cache of an unreachable Docker Hub) fails up in seconds, naming the
// registry and quoting its log.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { clearLeftovers, docker, dockerOk, driver, labelled, StackUnderTest, tearDown } from "../support/harness";
import {
    command, cycleJobs, inside, JOB_BUILD_STEPS, jobBuild, Lease, leased, leaseMarkers, LEFT_BEHIND, leaveBehind, objectsButMarkers, onLeased, OUTER, release,
    removeLeaseTlsDirs,
} from "../support/pools";

const FIXTURE = path.join(__dirname, "fixtures", "pools.yaml");
const UNREADY = path.join(__dirname, "fixtures", "pools-unready.yaml");
const POOL = "pools-ci";
const MEMBERS = ["pools-ci-1", "pools-ci-2"];
/** Lease/use/release cycles per worker of the four: the issue asks for many; 12 took about 5 s on this machine. */
const CYCLES_PER_WORKER = 10;

describe("real lane: pools, lease and release", function () {
    this.timeout(4 * 60_000);
    let sut: StackUnderTest | undefined;
    let stackName = "";
    const leaseArgs = (...extra: string[]) => [POOL, "--stack", stackName, "--json", ...(extra.includes("--wait") ? [] : ["--wait", "60"]), ...extra];
    const statusArgs = () => ["--stack", stackName, "--backend", sut!.backendUrl, "--work-dir", sut!.workDir];

    before(async () => {
        clearLeftovers([...MEMBERS, "pools-cache", "pools-hub", "pools-mirrored"], [...MEMBERS.map((m) => `${m}-docker`), "pools-cache-data", "pools-hub-data"], "pools-");
        stackName = `pools-${process.pid}`;
        sut = await StackUnderTest.create(FIXTURE, stackName);
        await driver("up", sut.driverFlags);
    });

    after(async () => {
        // Leases would make destroy refuse: give every member back first, whoever holds it.
        for (const member of MEMBERS) await command("release", [member, "--force", "--stack", stackName]);
        await tearDown(sut);
        removeLeaseTlsDirs(MEMBERS);
    });

    it("up makes the pool's members, each free, and status shows them", async () => {
        const status = await command("status", statusArgs());
        assert.equal(status.code, 0, status.stderr);
        assert.match(status.stdout, new RegExp(`POOL ${POOL}: 2 member\\(s\\) on ${OUTER}; build cache at pools-cache:5000`));
        for (const member of MEMBERS) assert.match(status.stdout, new RegExp(`${member}\\s+free\\s+-`));
        for (const member of MEMBERS) assert.deepEqual(inside(member, "ps"), ["pools-svc"]);
    });

    it("concurrent leases from four processes: two get the two hosts, the others are told the pool is full", async () => {
        const runs = await Promise.all([1, 2, 3, 4].map((i) => command("lease", leaseArgs("--wait", "0", "--holder", `worker-${i}`))));
        const granted = runs.filter((r) => r.code === 0).map(leased);
        const refused = runs.filter((r) => r.code !== 0);
        assert.deepEqual(granted.map((l) => l.DIND_LEASE_HOST).sort(), MEMBERS, runs.map((r) => r.stderr).join("\n"));
        assert.equal(refused.length, 2);
        for (const r of refused) {
            assert.equal(r.code, 1);
            assert.match(r.stderr, new RegExp(`no member of pool ${POOL} became free within 0 s: pools-ci-1 leased by worker-\\d since .*; pools-ci-2 leased by worker-\\d since `));
            assert.doesNotMatch(r.stderr, /\n\s+at /, "a user error, without a stack trace");
        }
        // Each job reaches its own host's inner daemon with the TLS files lease wrote.
        for (const lease of granted) {
            assert.equal(onLeased(lease, ["info", "--format", "{{.Name}}"]).length > 0, true);
            assert.match(onLeased(lease, ["ps", "--format", "{{.Names}}"]), /^pools-svc$/);
        }
        const status = await command("status", statusArgs());
        assert.match(status.stdout, /pools-ci-1\s+leased\s+worker-\d\s+\d{4}-/);
        assert.match(status.stdout, /pools-ci-2\s+leased\s+worker-\d\s+\d{4}-/);
        // A lease that waits gets the first host given back.
        const waiting = command("lease", leaseArgs("--wait", "120", "--holder", "waiter"));
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const [first, second] = granted;
        const given = await release(first);
        assert.equal(given.code, 0, given.stderr);
        const next = leased(await waiting);
        assert.equal(next.DIND_LEASE_HOST, first.DIND_LEASE_HOST);
        for (const lease of [next, second]) assert.equal((await release(lease)).code, 0);
    });

    it(`release resets the host: ${LEFT_BEHIND.containers} containers, ${LEFT_BEHIND.volumes} volumes, ${LEFT_BEHIND.networks} networks go; declared ones, images and the host's health stay`, async () => {
        const lease = leased(await command("lease", leaseArgs("--holder", "reset-job")));
        const member = lease.DIND_LEASE_HOST;
        onLeased(lease, ["tag", "dind-provisioner/busybox:local", "job-image:1"]);
        leaveBehind(lease, "job-image:1");
        // The job stops the declared container; the reset starts it again.
        onLeased(lease, ["stop", "-t", "0", "pools-svc"]);
        assert.equal(inside(member, "ps").length, LEFT_BEHIND.containers + 1);

        const released = await release(lease);
        assert.equal(released.code, 0, released.stderr);
        assert.match(released.stdout, new RegExp(`^released ${member} \\(pool ${POOL}\\) in [\\d.]+ s: removed 20 container\\(s\\), 5 volume\\(s\\), 3 network\\(s\\); started pools-svc again; images and build cache: `));
        const seconds = Number(/ in ([\d.]+) s/.exec(released.stdout)![1]);
        console.log(`      release (reset of 20 containers, 5 volumes, 3 networks): ${seconds.toFixed(2)} s in the command, ${released.seconds.toFixed(2)} s with the process`);
        assert.deepEqual(inside(member, "ps"), ["pools-svc"]);
        assert.equal(dockerOk(["exec", member, "docker", "inspect", "--format", "{{.State.Running}}", "pools-svc"]).trim(), "true");
        assert.deepEqual(inside(member, "volume"), ["pools-keep"]);
        assert.deepEqual(inside(member, "network"), ["bridge", "host", "none"]);
        assert.ok(inside(member, "images").includes("job-image:1"), "images stay within the budget");
        // The TLS files lease wrote for the lease are gone with it.
        assert.throws(() => onLeased(lease, ["version"]));
        const status = await command("status", statusArgs());
        assert.match(status.stdout, new RegExp(`${member}\\s+free\\s+-`));
    });

    it("release refuses a host that is not leased, a lease that is not the caller's, an unknown host; an unknown pool is named", async () => {
        const notLeased = await command("release", [MEMBERS[0], "--lease", "0123456789ab", "--stack", stackName]);
        assert.equal(notLeased.code, 1);
        assert.match(notLeased.stderr, /pools-ci-1 is not leased \(it is free\): nothing was released/);

        const lease = leased(await command("lease", leaseArgs("--holder", "owner-job")));
        const other = await command("release", [lease.DIND_LEASE_HOST, "--lease", "0123456789ab", "--stack", stackName]);
        assert.equal(other.code, 1);
        assert.match(other.stderr, new RegExp(`${lease.DIND_LEASE_HOST} is leased by owner-job since .*, not under lease 0123456789ab: nothing was released`));
        const noId = await command("release", [lease.DIND_LEASE_HOST, "--stack", stackName]);
        assert.match(noId.stderr, /needs its lease id \(DIND_LEASE_ID, at least 12 characters\), or --force/);
        const unknown = await command("release", ["pools-ci-9", "--force", "--stack", stackName]);
        assert.match(unknown.stderr, /pools-ci-9 is not a member of a pool of stack .* \(its pool members there: pools-ci-1, pools-ci-2\): nothing was released/);
        const pool = await command("lease", ["no-such-pool", "--stack", stackName, "--wait", "0"]);
        assert.equal(pool.code, 1);
        assert.match(pool.stderr, new RegExp(`stack ${stackName} has no pool no-such-pool on ${OUTER}: its pools there are ${POOL}`));
        // Still leased by its owner, who releases it.
        assert.equal(onLeased(lease, ["ps", "--format", "{{.Names}}"]), "pools-svc");
        assert.equal((await release(lease)).code, 0);
    });

    it("a lease whose time ran out is taken over by the next lease, which resets the host first; the late release is refused", async () => {
        const other = leased(await command("lease", leaseArgs("--holder", "long-job")));
        const killed = leased(await command("lease", leaseArgs("--holder", "killed-job", "--ttl", "10")));
        onLeased(killed, ["create", "--name", "left-behind", "dind-provisioner/busybox:local", "true"]);
        const status = await command("status", statusArgs());
        assert.match(status.stdout, new RegExp(`${killed.DIND_LEASE_HOST}\\s+leased\\s+killed-job`));
        await new Promise((resolve) => setTimeout(resolve, 11_000));
        const expired = await command("status", statusArgs());
        assert.match(expired.stdout, new RegExp(`${killed.DIND_LEASE_HOST}\\s+leased \\(expired\\)\\s+killed-job`));

        const next = await command("lease", leaseArgs("--holder", "next-job", "--wait", "0"));
        const taken = leased(next);
        assert.equal(taken.DIND_LEASE_HOST, killed.DIND_LEASE_HOST);
        assert.match(next.stderr, new RegExp(`took ${killed.DIND_LEASE_HOST} over from killed-job, whose leased state expired, and reset it first`));
        assert.equal(onLeased(taken, ["ps", "-a", "--format", "{{.Names}}"]), "pools-svc", "the killed job's container went with the reset");

        const late = await release(killed);
        assert.equal(late.code, 1);
        assert.match(late.stderr, new RegExp(`${killed.DIND_LEASE_HOST} is leased by next-job since .*, not under lease ${killed.DIND_LEASE_ID.slice(0, 12)}: nothing was released`));
        assert.equal(onLeased(taken, ["ps", "--format", "{{.Names}}"]), "pools-svc", "the late release changed nothing");
        for (const lease of [taken, other]) assert.equal((await release(lease)).code, 0);
    });

    it("destroy (like an up that shrinks the pool) is refused while a member is leased, and changes nothing", async () => {
        const lease = leased(await command("lease", leaseArgs("--holder", "blocking-job")));
        const before = labelled(sut!.label);
        const refused = await driver("destroy", sut!.driverFlags, 1);
        assert.match(refused.output, new RegExp(`pool ${POOL} would be removed, but ${lease.DIND_LEASE_HOST} is leased by blocking-job since .*Nothing was changed`));
        assert.deepEqual(labelled(sut!.label), before);
        assert.equal(onLeased(lease, ["ps", "--format", "{{.Names}}"]), "pools-svc");
        assert.equal((await release(lease)).code, 0);
    });

    it("BuildKit's cache through the pool's registry: a fresh host builds a job's Dockerfile fully cached; the second job on a host too", async () => {
        const [a, b] = await Promise.all([1, 2].map(async (i) => leased(await command("lease", leaseArgs("--holder", `build-job-${i}`)))));
        const build = (lease: Lease, ...cache: string[]) => jobBuild(lease, { base: "dind-provisioner/busybox:local", tag: "job-app", cache });
        const steps = JOB_BUILD_STEPS.length;
        const ref = `ref=${a.DIND_CACHE_REGISTRY}/job-app:cache`;
        assert.equal(a.DIND_CACHE_REGISTRY, "pools-cache:5000");
        const first = build(a, `--cache-from type=registry,${ref}`, `--cache-to type=registry,${ref},mode=max`);
        assert.equal(first.cached, 0, "the first job builds every step");
        const fresh = build(b, `--cache-from type=registry,${ref}`);
        assert.equal(fresh.cached, steps, "a host that never built it imports every step from the registry");
        for (const lease of [a, b]) assert.equal((await release(lease)).code, 0);
        const again = leased(await command("lease", leaseArgs("--holder", "build-job-3")));
        const second = build(again, `--cache-from type=registry,${ref}`);
        assert.equal(second.cached, steps, "the reset kept the build cache");
        console.log(`      docker build of ${steps} RUN steps: first job ${first.seconds.toFixed(2)} s, fresh host from the registry cache ${fresh.seconds.toFixed(2)} s, second job ${second.seconds.toFixed(2)} s`);
        assert.equal((await release(again)).code, 0);
    });

    it(`four workers, ${4 * CYCLES_PER_WORKER} lease/use/release cycles on the pool of two: no host held twice at once, nothing left behind on either daemon, markers flat`, async () => {
        const before = objectsButMarkers(sut!.label);
        const cycles = await cycleJobs({
            workers: 4,
            cyclesPerWorker: CYCLES_PER_WORKER,
            image: "dind-provisioner/busybox:local",
            leaseArgs: (holder) => leaseArgs("--wait", "120", "--holder", holder),
        });
        assert.deepEqual(cycles.overlaps, []);
        const sorted = [...cycles.leaseSeconds].sort((a, b) => a - b);
        console.log(`      lease (process included, 4 workers contending): median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} s, max ${sorted[sorted.length - 1].toFixed(2)} s`);
        for (const member of MEMBERS) {
            assert.deepEqual(inside(member, "ps"), ["pools-svc"]);
            assert.deepEqual(inside(member, "volume"), ["pools-keep"]);
        }
        const markers = leaseMarkers(sut!.label);
        assert.ok(markers.length <= MEMBERS.length, `one marker per member at most: ${markers.join(", ")}`);
        assert.deepEqual(objectsButMarkers(sut!.label), before, "the outer daemon holds the same objects of the stack as before the cycles");
    });

    it("destroy leaves nothing of the stack, lease markers included", async () => {
        await driver("destroy", sut!.driverFlags);
        assert.deepEqual(labelled(sut!.label), []);
    });
});

describe("real lane: a registry of the stack that never answers", function () {
    this.timeout(5 * 60_000);
    let sut: StackUnderTest | undefined;

    before(async () => {
        clearLeftovers(["pools-hub", "pools-mirrored"], ["pools-hub-data", "pools-mirrored-docker"], "pools-");
        sut = await StackUnderTest.create(UNREADY, `pools-unready-${process.pid}`);
    });

    after(async () => {
        await tearDown(sut);
    });

    it("fails up in seconds, naming the registry and the remote it caches and quoting its log; the host that mirrors it is not started", async () => {
        const up = await driver("up", sut!.driverFlags, 1);
        assert.match(up.output, /registry pools-hub is not ready: /);
        assert.match(up.output, /Last lines of its log \(docker logs pools-hub\):\n/);
        assert.match(up.output, /registry-1\.docker\.io/);
        assert.ok(up.seconds < 60, `up took ${up.seconds} s`);
        console.log(`      up failed after ${up.seconds.toFixed(1)} s`);
        assert.equal(docker(["inspect", "pools-mirrored"]).status, 1, "the DinD host that mirrors it was not created");
    });
});
