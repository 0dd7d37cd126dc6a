import * as assert from "node:assert/strict";
import { median, percentile, ratiosOf } from "../../../bench/stats";

describe("bench/stats", () => {
    it("takes the middle sample, or the mean of the middle two", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 3, 2]), 2.5);
        assert.ok(Number.isNaN(median([])));
    });

    it("takes the nearest-rank percentile: always a sample, whatever their order", () => {
        const twenty = Array.from({ length: 20 }, (_, i) => 20 - i);
        assert.equal(percentile(twenty, 95), 19);
        assert.equal(percentile(twenty, 100), 20);
        assert.equal(percentile(twenty, 50), 10);
        assert.equal(percentile([0.4, 0.9, 0.5], 95), 0.9);
        assert.equal(percentile([7], 1), 7);
        assert.ok(Number.isNaN(percentile([], 95)));
        assert.throws(() => percentile([1], 0), /above 0 and at most 100, not 0/);
    });

    it("divides medians taken in the same run, the fleet by the parallel script of the same size", () => {
        const samples = {
            coldUp: [6, 9, 7], baselineCli: [2, 4, 3.5], noopPreview: [1.4, 1.3, 1.5],
            fleet1: [7, 8, 9], fleet4: [12, 16, 14], fleet8: [30, 31, 29], fleetBaselineCli: [10, 12, 11],
        };
        assert.deepEqual(ratiosOf(samples, 8), { coldUpVsCli: 2, noopPreviewVsColdUp: 0.2, fourHostsVsOne: 1.75, fleetVsCliFleet: 2.73 });
        assert.equal(ratiosOf(samples, 4).fleetVsCliFleet, 1.27);
    });

    it("refuses a ratio without samples, naming the missing side", () => {
        assert.throws(() => ratiosOf({ coldUp: [1], baselineCli: [1], noopPreview: [1], fleet1: [1], fleet4: [1] }, 4), /no samples of fleetBaselineCli/);
    });
});
