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
}
