// What a benchmark run writes to bench/results.json (and what the earlier runs kept beside it hold).
import type { TreeMemory } from "./memory";
import type { Phase } from "./phases";
import type { Ratios } from "./stats";

export interface Results {
    mode: "quick" | "full";
    runs: number;
    date: string;
    machine: Record<string, string | number>;
    /** Medians, in seconds. */
    medians: { coldUp: number; baselineCli: number; noopPreview: number; noopUp: number; destroy: number };
    /** Every sample, in seconds, in the order taken. */
    samples: Record<string, number[]>;
    /** Cold up of N DinD hosts (each with three nested containers): median seconds by N. */
    fleet: Record<string, number>;
    /** A cold up of `hosts` DinD hosts against bench/baseline.sh bringing them up in parallel: medians in seconds. */
    fleetVsCli: { hosts: number; coldUp: number; baselineCli: number };
    /**
     * Peak memory of the process tree of a cold up of `hosts` DinD hosts (driver and program, engine,
     * plugins), summed PSS and summed RSS (see bench/memory.ts): medians of the peaks of `samples`.
     */
    memory: { hosts: number; pssMiB: number; rssMiB: number; samples: TreeMemory[] };
    /** Where a cold up of the reference topology goes: median seconds per phase. */
    phases: Record<Phase, number>;
    /** Fixed costs measured on their own: median seconds. */
    startup: { programLoad: number; dockerPluginStart: number };
    ratios: Ratios;
    targets: Ratios;
}
