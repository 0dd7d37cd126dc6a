// What a benchmark run writes to bench/results.json (and what the earlier runs kept beside it hold).
import type { TreeMemory } from "./memory";
import type { Phase, PreviewPhase } from "./phases";
import type { Ratios } from "./stats";

/** What a run measures with one docker plugin, in the same rounds as the other plugin and the baseline. */
export interface PluginMeasures {
    /** The docker plugin's version as it reports it. */
    dockerPlugin: string;
    /** Medians, in seconds. */
    medians: { coldUp: number; noopPreview: number; noopUp: number; destroy: number };
    /** Cold up of N DinD hosts (each with three nested containers): median seconds by N. */
    fleet: Record<string, number>;
    /** A cold up of `hosts` DinD hosts against bench/baseline.sh bringing them up in parallel: medians in seconds. */
    fleetVsCli: { hosts: number; coldUp: number; baselineCli: number };
    /** Where a cold up of the reference topology goes: median seconds per phase. */
    phases: Record<Phase, number>;
    /** The same for the cold up of the fleet of `fleetVsCli.hosts` (each phase ends when the last host finishes it). */
    fleetPhases: Record<Phase, number>;
    /** Where a no-op preview of the reference topology goes: median seconds per phase. */
    previewPhases: Record<PreviewPhase, number>;
    /** The ratios, against the baseline samples of the same run. */
    ratios: Ratios;
}

export interface Results extends PluginMeasures {
    mode: "quick" | "full";
    runs: number;
    date: string;
    machine: Record<string, string | number>;
    /** Medians, in seconds; the `pulumi` ones with the docker plugin as built here. */
    medians: PluginMeasures["medians"] & { baselineCli: number };
    /** Every sample, in seconds, in the order taken; those of the plugin without patches prefixed `withoutPatches.`. */
    samples: Record<string, number[]>;
    /**
     * Peak memory of the process tree of a cold up of `hosts` DinD hosts (driver and program, engine,
     * plugins), summed PSS and summed RSS (see bench/memory.ts): medians of the peaks of `samples`.
     */
    memory: { hosts: number; pssMiB: number; rssMiB: number; samples: TreeMemory[] };
    /** Fixed costs measured on their own: median seconds. */
    startup: { programLoad: number; dockerPluginStart: number };
    targets: Ratios;
    /** The same measures with the upstream docker plugin built without the project's patches (the same commit). */
    withoutPatches: PluginMeasures;
    /** Pools' lease and release as jobs run them (bench/pools.ts); runs before issue 21 lack it. */
    pools?: PoolResults;
}

/**
 * What bench/pools.ts measures on a pool of its own, in seconds; every lease and release is a
 * process of its own, timed from its start to its exit, as a job's step waits for it.
 */
export interface PoolResults {
    mode: "quick" | "full";
    date: string;
    /** Load average over a minute at the start and the end of the pools' part (it may run apart from the rest). */
    loadAverage: string;
    poolSize: number;
    /** Each is met below it. */
    targets: { leaseMedian: number; releaseMedian: number };
    /** `lease --wait 0` with a free member. */
    lease: { runs: number; median: number; p95: number };
    /** `release` of a member a job left `left` on; `inCommand`: the median of the time the command reports for itself. */
    release: { runs: number; left: { containers: number; volumes: number; networks: number }; median: number; p95: number; inCommand: number };
    /**
     * A job's build of a Dockerfile of `steps` RUN steps, the same command in every job (the
     * pool's registry as --cache-from and --cache-to): medians, and the steps BuildKit took from a
     * cache in each round.
     */
    build: {
        steps: number;
        runs: number;
        medians: Record<BuildJob, number>;
        cachedSteps: Record<BuildJob, number[]>;
    };
    /** Jobs cycling through the pool (lease, a container and a volume, release) and what they left. */
    cycles: {
        cycles: number;
        workers: number;
        seconds: number;
        medians: { lease: number; release: number; cycle: number };
        p95: { lease: number; release: number; cycle: number };
        /** The most holders each member had at one time. */
        maxHolders: Record<string, number>;
        overlaps: string[];
        /** What was not as before the cycles, inside the members and on the outer daemon. */
        leftovers: string[];
        /** Lease markers on the outer daemon: before and after the cycles, and the most seen during them. */
        markers: { before: number; after: number; max: number };
        /** The outer daemon's other objects of the stack, before and after. */
        outerObjects: { before: number; after: number };
    };
    samples: Record<string, number[]>;
}

/** The jobs of a build round: the first on a member, the next on the same member, the first on another member. */
export type BuildJob = "firstJob" | "secondJob" | "freshHost";
