// Pools' figures (issue 21), part of `npm run bench` and alone by `npm run bench -- --only pools`:
// on a pool of two DinD hosts with a build-cache registry, made by one `up` of a stack of its own,
// - `lease` with a free member, and `release` of a member a job left 20 containers, 5 volumes and
//   3 networks on: every lease and release a process of its own, as a job's step runs it;
// - a job's build of a 5-step Dockerfile: the first job, the second job on the same member, and
//   the first job on a member that never built it, which imports the cache from the registry;
// - jobs of 4 workers cycling through the pool: whether a member was ever held twice at once,
//   whether anything was left behind (inside the members, on the outer daemon), and whether the
//   number of lease markers (the leases' state) stayed flat.
// Its names start with PREFIX-pool (the stack is PREFIX-pools, its label is the only thing it
// removes) and its ports are the three from its first port; it removes all of it, even on failure
// or SIGINT/SIGTERM, and a killed earlier run's at the start.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LEASE_MARKER_ROLE, ROLE_LABEL } from "../components/markers";
import type { Released } from "../driver/leases";
import { clearLeftovers, driver, removeLabelled, StackUnderTest, tearDown } from "../test/support/harness";
import {
    command, cycleJobs, inside, JOB_BUILD_STEPS, jobBuild, Lease, leased, leaseMarkers, LEFT_BEHIND, leaveBehind, objectsButMarkers, release, removeLeaseTlsDirs,
} from "../test/support/pools";
import type { BuildJob, PoolResults } from "./results";
import { median, percentile, round } from "./stats";

/** The issue's targets, in seconds: a lease with a free host, a reset of what a job left. */
export const POOL_TARGETS = { leaseMedian: 1, releaseMedian: 3 };

const POOL_SIZE = 2;
const WORKERS = 4;
const IMAGE = "dind-provisioner/busybox:local";
/** What the template declares inside each member: every reset keeps these. */
const DECLARED = { ps: ["svc"], volume: ["keep"], network: ["bridge", "host", "none"] };

/** The benchmark's names under `prefix`. */
export function poolNames(prefix: string) {
    const pool = `${prefix}-pool`;
    return { stack: `${prefix}-pools`, pool, members: Array.from({ length: POOL_SIZE }, (_, i) => `${pool}-${i + 1}`), registry: `${pool}-cache` };
}

/** The stack: a pool of POOL_SIZE members on ports firstPort.., its build-cache registry on the next port. */
export function poolsStackFile(prefix: string, firstPort: number): string {
    const { pool, registry } = poolNames(prefix);
    return `registries:
  ${registry}: { image: dind-provisioner/registry:local, port: ${firstPort + POOL_SIZE} }
pools:
  ${pool}:
    size: ${POOL_SIZE}
    template:
      image: dind-provisioner/dind:local
      tcp: { port: ${firstPort} }
      preload: [${IMAGE}]
      workloads:
        volumes: [${DECLARED.volume[0]}]
        containers:
          ${DECLARED.ps[0]}: { image: ${IMAGE}, command: [sleep, infinity], volumes: [{ volume: ${DECLARED.volume[0]}, path: /keep }] }
    cache: { keep: 2GB, registry: ${registry} }
`;
}

export interface PoolsRun {
    prefix: string;
    firstPort: number;
    quick: boolean;
    log: (message: string) => void;
}

const execFileAsync = promisify(execFile);

/**
 * Counts a stack's lease markers every second without blocking the event loop (the workers'
 * timings run on it) until `until` settles; gives the most seen, or the error of a count.
 */
async function mostMarkers(label: string, until: Promise<unknown>): Promise<number> {
    let done = false;
    void until.finally(() => (done = true)).catch(() => undefined);
    let max = 0;
    while (!done) {
        const { stdout } = await execFileAsync("docker", ["ps", "-a", "-q", "--filter", `label=${label}`, "--filter", `label=${ROLE_LABEL}=${LEASE_MARKER_ROLE}`]);
        max = Math.max(max, stdout.split("\n").filter(Boolean).length);
        await Promise.race([until, new Promise((resolve) => setTimeout(resolve, 1000))]).catch(() => undefined);
    }
    return max;
}

const seconds = (values: number[]) => values.map((v) => round(v, 3));

export async function measurePools({ prefix, firstPort, quick, log }: PoolsRun): Promise<PoolResults> {
    const loadAtStart = os.loadavg()[0];
    const runs = quick ? 3 : 5;
    const leaseRuns = quick ? 10 : 40;
    const cycles = quick ? 20 : 100;
    const names = poolNames(prefix);
    const scratch = mkdtempSync(path.join(os.tmpdir(), "dind-bench-pools-"));
    const stackFile = path.join(scratch, "pools.yaml");
    writeFileSync(stackFile, poolsStackFile(prefix, firstPort));
    log(`pools: ${names.pool} of ${POOL_SIZE} on ports ${firstPort}-${firstPort + POOL_SIZE}; ${leaseRuns} leases, ${runs} resets and build rounds, ${cycles} cycles by ${WORKERS} workers`);

    // Refuses to start next to same-named objects of anyone else; removes a killed earlier run's.
    clearLeftovers([...names.members, names.registry], [...names.members.map((m) => `${m}-docker`), `${names.registry}-data`], names.stack);
    const sut = await StackUnderTest.create(stackFile, names.stack);
    removeLabelled(sut.label);
    let cleaned: Promise<void> | undefined;
    const cleanUp = () => (cleaned ??= (async () => {
        // Leases would make destroy refuse: give every member back first, whoever holds it.
        for (const member of names.members) await command("release", [member, "--force", "--stack", names.stack]);
        await tearDown(sut);
        removeLeaseTlsDirs(names.members);
        rmSync(scratch, { recursive: true, force: true });
    })());
    const onSignal = (signal: NodeJS.Signals) => {
        log(`pools: ${signal}, removing the pool's stack`);
        void cleanUp().finally(() => process.exit(128 + os.constants.signals[signal]));
    };
    process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
    try {
        const up = await driver("up", sut.driverFlags);
        log(`pools: up of the pool took ${up.seconds.toFixed(1)} s`);
        const leaseArgs = (holder: string, wait = "0") => [names.pool, "--stack", names.stack, "--json", "--wait", wait, "--holder", holder];
        const lease = async (holder: string, wait?: string) => leased(await command("lease", leaseArgs(holder, wait)));
        const give = async (lease: Lease) => {
            const ran = await release(lease, "--json");
            if (ran.code !== 0) throw new Error(`release of ${lease.DIND_LEASE_HOST} failed (exit ${ran.code}):\n${ran.stderr}`);
            return { ran, printed: JSON.parse(ran.stdout) as Released };
        };
        // Not timed: a first run may bundle the commands.
        await give(await lease("warm-up"));

        const samples: Record<string, number[]> = { lease: [], release: [], releaseInCommand: [] };
        for (let i = 1; i <= leaseRuns; i++) {
            const ran = await command("lease", leaseArgs(`lease-${i}`));
            await give(leased(ran));
            samples.lease.push(ran.seconds);
        }
        log(`pools: lease with a free member: median ${median(samples.lease).toFixed(2)} s, p95 ${percentile(samples.lease, 95).toFixed(2)} s`);

        for (let i = 1; i <= runs; i++) {
            const job = await lease(`reset-${i}`);
            leaveBehind(job, IMAGE);
            const { ran, printed } = await give(job);
            const removed = { containers: printed.report.containers, volumes: printed.report.volumes, networks: printed.report.networks };
            if (JSON.stringify(removed) !== JSON.stringify(LEFT_BEHIND)) throw new Error(`release of ${job.DIND_LEASE_HOST} removed ${JSON.stringify(removed)}, not ${JSON.stringify(LEFT_BEHIND)}`);
            samples.release.push(ran.seconds);
            samples.releaseInCommand.push(printed.seconds);
            log(`pools: release of ${LEFT_BEHIND.containers} containers, ${LEFT_BEHIND.volumes} volumes, ${LEFT_BEHIND.networks} networks, round ${i}: ${ran.seconds.toFixed(2)} s (${printed.seconds.toFixed(2)} s in the command)`);
        }

        const buildSamples: Record<BuildJob, number[]> = { firstJob: [], secondJob: [], freshHost: [] };
        const cachedSteps: Record<BuildJob, number[]> = { firstJob: [], secondJob: [], freshHost: [] };
        for (let i = 1; i <= runs; i++) {
            // A Dockerfile of this round only: no member and no registry holds its steps yet.
            const salt = `${process.pid}-${i}`;
            const [a, b] = [await lease(`build-${i}-a`), await lease(`build-${i}-b`)];
            const ref = `type=registry,ref=${a.DIND_CACHE_REGISTRY}/bench-app:cache`;
            const build = (job: BuildJob, on: Lease) => {
                const { cached, seconds, output } = jobBuild(on, { base: IMAGE, tag: "bench-app", salt, cache: [`--cache-from ${ref}`, `--cache-to ${ref},mode=max`] });
                buildSamples[job].push(seconds);
                cachedSteps[job].push(cached);
                if (cached !== (job === "firstJob" ? 0 : JOB_BUILD_STEPS.length)) log(`pools: ${job}, round ${i}: ${cached} of ${JOB_BUILD_STEPS.length} steps cached; its output:\n${output}`);
            };
            build("firstJob", a);
            build("freshHost", b);
            await give(a);
            // b is still held, so the next job gets a's member again, reset.
            const again = await lease(`build-${i}-again`);
            if (again.DIND_LEASE_HOST !== a.DIND_LEASE_HOST) throw new Error(`the second job got ${again.DIND_LEASE_HOST}, not ${a.DIND_LEASE_HOST}`);
            build("secondJob", again);
            await give(again);
            await give(b);
            log(`pools: build round ${i}: ${(["firstJob", "secondJob", "freshHost"] as const).map((job) => `${job} ${buildSamples[job][i - 1].toFixed(2)} s (${cachedSteps[job][i - 1]} cached)`).join(", ")}`);
        }

        const markersBefore = leaseMarkers(sut.label).length;
        const outerBefore = objectsButMarkers(sut.label);
        const cycling = cycleJobs({ workers: WORKERS, cyclesPerWorker: cycles / WORKERS, image: IMAGE, leaseArgs: (holder) => leaseArgs(holder, "300") });
        const [cycled, markersMax] = await Promise.all([cycling, mostMarkers(sut.label, cycling)]);
        const outerAfter = objectsButMarkers(sut.label);
        const leftovers: string[] = [];
        for (const member of names.members) {
            for (const kind of ["ps", "volume", "network"] as const) {
                const found = inside(member, kind);
                if (found.join() !== DECLARED[kind].join()) leftovers.push(`${member}: docker ${kind} shows ${found.join(", ")}`);
            }
        }
        for (const entry of outerAfter.filter((e) => !outerBefore.includes(e))) leftovers.push(`outer daemon: ${entry} is new`);
        for (const entry of outerBefore.filter((e) => !outerAfter.includes(e))) leftovers.push(`outer daemon: ${entry} is gone`);
        const result: PoolResults["cycles"] = {
            cycles,
            workers: WORKERS,
            seconds: round(cycled.seconds),
            medians: { lease: round(median(cycled.leaseSeconds)), release: round(median(cycled.releaseSeconds)), cycle: round(median(cycled.cycleSeconds)) },
            p95: { lease: round(percentile(cycled.leaseSeconds, 95)), release: round(percentile(cycled.releaseSeconds, 95)), cycle: round(percentile(cycled.cycleSeconds, 95)) },
            maxHolders: cycled.maxHolders,
            overlaps: cycled.overlaps,
            leftovers,
            markers: { before: markersBefore, after: leaseMarkers(sut.label).length, max: markersMax },
            outerObjects: { before: outerBefore.length, after: outerAfter.length },
        };
        log(`pools: ${cycles} cycles in ${result.seconds} s: most holders at once ${JSON.stringify(result.maxHolders)}, overlaps ${result.overlaps.length}, leftovers ${leftovers.length ? leftovers.join("; ") : "none"}, markers ${result.markers.before} before, ${result.markers.after} after, at most ${result.markers.max}`);

        return {
            mode: quick ? "quick" : "full",
            date: new Date().toISOString(),
            loadAverage: `${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end`,
            poolSize: POOL_SIZE,
            targets: POOL_TARGETS,
            lease: { runs: leaseRuns, median: round(median(samples.lease)), p95: round(percentile(samples.lease, 95)) },
            release: {
                runs,
                left: LEFT_BEHIND,
                median: round(median(samples.release)),
                p95: round(percentile(samples.release, 95)),
                inCommand: round(median(samples.releaseInCommand)),
            },
            build: {
                steps: JOB_BUILD_STEPS.length,
                runs,
                medians: { firstJob: round(median(buildSamples.firstJob)), secondJob: round(median(buildSamples.secondJob)), freshHost: round(median(buildSamples.freshHost)) },
                cachedSteps,
            },
            cycles: result,
            samples: {
                ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, seconds(v)])),
                ...Object.fromEntries(Object.entries(buildSamples).map(([k, v]) => [`build.${k}`, seconds(v)])),
                "cycles.lease": seconds(cycled.leaseSeconds),
                "cycles.release": seconds(cycled.releaseSeconds),
            },
        };
    } finally {
        process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
        await cleanUp();
    }
}
