// The arithmetic of the benchmarks: medians and percentiles of samples and the ratios the targets are set on.

export const median = (values: number[]): number => {
    if (!values.length) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * The nearest-rank percentile: the smallest sample that at least p % of the samples are at or
 * below (p95 of 20 samples is the 19th smallest), so it is always a sample that was taken.
 */
export const percentile = (values: number[], p: number): number => {
    if (!values.length) return NaN;
    if (!(p > 0 && p <= 100)) throw new Error(`a percentile is above 0 and at most 100, not ${p}`);
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.ceil((p / 100) * sorted.length) - 1];
};

export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export interface Ratios { coldUpVsCli: number; noopPreviewVsColdUp: number; fourHostsVsOne: number; fleetVsCliFleet: number }

/** The targets: a cold up within 1.5 × the docker CLI, alone and as a fleet; a no-op preview within a fifth of a cold up. */
export const TARGETS: Ratios = { coldUpVsCli: 1.5, noopPreviewVsColdUp: 0.2, fourHostsVsOne: 2.0, fleetVsCliFleet: 1.5 };

/**
 * Ratios of medians, each side taken in the same run: `fleetN` are the cold ups of an N-host
 * stack, `fleetBaselineCli` the parallel docker CLI script bringing up `fleetHosts` hosts.
 */
export function ratiosOf(samples: Record<string, number[]>, fleetHosts: number): Ratios {
    const ratio = (a: string, b: string) => {
        if (!samples[a]?.length || !samples[b]?.length) throw new Error(`no samples of ${samples[a]?.length ? b : a} for a ratio`);
        return round(median(samples[a]) / median(samples[b]));
    };
    return {
        coldUpVsCli: ratio("coldUp", "baselineCli"),
        noopPreviewVsColdUp: ratio("noopPreview", "coldUp"),
        fourHostsVsOne: ratio("fleet4", "fleet1"),
        fleetVsCliFleet: ratio(`fleet${fleetHosts}`, "fleetBaselineCli"),
    };
}
