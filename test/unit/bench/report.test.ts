import * as assert from "node:assert/strict";
import { EarlierResults, renderComparison, renderMarkdown, renderPools, renderSvg } from "../../../bench/report";
import { PHASES, PREVIEW_PHASES } from "../../../bench/phases";
import type { PoolResults, Results } from "../../../bench/results";
import { TARGETS } from "../../../bench/stats";

const phases = (offset: number) => Object.fromEntries(PHASES.map((p, i) => [p, i / 2 + offset])) as Results["phases"];
const previewPhases = (offset: number) => Object.fromEntries(PREVIEW_PHASES.map((p, i) => [p, i / 10 + offset])) as Results["previewPhases"];

const results = (): Results => ({
    mode: "quick",
    runs: 3,
    date: "2026-11-28T07:00:00.000Z",
    machine: { cpu: "2 × test" },
    dockerPlugin: "5.2.0+dind.1",
    medians: { coldUp: 4.5, baselineCli: 3, noopPreview: 0.8, noopUp: 1.2, destroy: 2 },
    samples: {},
    fleet: { 1: 4.4, 2: 5, 4: 7 },
    fleetVsCli: { hosts: 4, coldUp: 7, baselineCli: 5 },
    memory: { hosts: 8, pssMiB: 612, rssMiB: 900, samples: [{ pssMiB: 612, rssMiB: 900 }] },
    phases: phases(0.5),
    fleetPhases: phases(1.5),
    previewPhases: previewPhases(0.1),
    startup: { programLoad: 1, dockerPluginStart: 0.1 },
    ratios: { coldUpVsCli: 1.5, noopPreviewVsColdUp: 0.18, fourHostsVsOne: 1.59, fleetVsCliFleet: 1.4 },
    targets: TARGETS,
    withoutPatches: {
        dockerPlugin: "5.2.0",
        medians: { coldUp: 6.6, noopPreview: 0.9, noopUp: 1.3, destroy: 2.1 },
        fleet: { 1: 6.5, 2: 7, 4: 9.2 },
        fleetVsCli: { hosts: 4, coldUp: 9.2, baselineCli: 5 },
        phases: phases(0.7),
        fleetPhases: phases(1.7),
        previewPhases: previewPhases(0.2),
        ratios: { coldUpVsCli: 2.2, noopPreviewVsColdUp: 0.14, fourHostsVsOne: 1.42, fleetVsCliFleet: 1.84 },
    },
});

/** The run before: without the fleet comparison and memory, as bench/results.plugin-steps.json is. */
const older = { label: "Steps as plugins", file: "results.plugin-steps.json", results: {
    mode: "quick" as const, date: "2026-11-28T06:05:57.185Z",
    medians: { coldUp: 7.17, baselineCli: 2.85, noopPreview: 2.26, noopUp: 2.94, destroy: 4.41 },
    fleet: { 1: 6.98, 2: 8.29, 4: 12.64 },
    ratios: { coldUpVsCli: 2.51, noopPreviewVsColdUp: 0.31, fourHostsVsOne: 1.81 },
} as EarlierResults };

const pools = (): PoolResults => ({
    mode: "full",
    date: "2026-12-05T09:00:00.000Z",
    loadAverage: "2.0 at the start, 3.0 at the end",
    poolSize: 2,
    targets: { leaseMedian: 1, releaseMedian: 3 },
    lease: { runs: 40, median: 0.42, p95: 0.61 },
    release: { runs: 5, left: { containers: 20, volumes: 5, networks: 3 }, median: 3.2, p95: 3.9, inCommand: 2.8 },
    build: {
        steps: 5,
        runs: 5,
        medians: { firstJob: 9.1, secondJob: 1.2, freshHost: 1.9 },
        cachedSteps: { firstJob: [0, 0, 0, 0, 0], secondJob: [5, 5, 5, 5, 5], freshHost: [5, 5, 4, 5, 5] },
    },
    cycles: {
        cycles: 100,
        workers: 4,
        seconds: 80,
        medians: { lease: 1.5, release: 1.1, cycle: 3.1 },
        p95: { lease: 3, release: 1.6, cycle: 4.2 },
        maxHolders: { "bench-pool-2": 1, "bench-pool-1": 1 },
        overlaps: [],
        leftovers: [],
        markers: { before: 2, after: 2, max: 3 },
        outerObjects: { before: 7, after: 7 },
    },
    samples: {},
});

describe("bench/report", () => {
    it("judges every ratio against its target, the fleet against the parallel script included, the plugin without the patches beside it", () => {
        const page = renderMarkdown({ ...results(), ratios: { ...results().ratios, coldUpVsCli: 1.51 } }, "");
        assert.match(page, /\| `coldUpVsCli` \| cold up \/ docker CLI script \| 1\.51 \| ≤ 1\.5 \| \*\*missed\*\* \| 2\.2 \|/);
        assert.match(page, /\| `noopPreviewVsColdUp` \| [^|]+ \| 0\.18 \| ≤ 0\.2 \| met \| 0\.14 \|/);
        assert.match(page, /\| `fourHostsVsOne` \| [^|]+ \| 1\.59 \| ≤ 2 \| met \| 1\.42 \|/);
        assert.match(page, /\| `fleetVsCliFleet` \| fleet of 4 \/ parallel CLI script \| 1\.4 \| ≤ 1\.5 \| met \| 1\.84 \|/);
    });

    it("shows each measure with both docker plugins, named by their versions, the baseline shared", () => {
        const page = renderMarkdown(results(), "");
        assert.match(page, /with the docker plugin as this project\nbuilds it, \*\*5\.2\.0\+dind\.1\*\*/);
        assert.match(page, /\| Measure \| 5\.2\.0\+dind\.1: median \(s\) \| 5\.2\.0 \(without the patches\): median \(s\) \|/);
        assert.match(page, /\| cold `pulumi up` \(Automation API, fresh stack\) \| 4\.5 \| 6\.6 \|/);
        assert.match(page, /\| baseline docker CLI script \| 3 \| 3 \|/);
        assert.match(page, /\| `pulumi destroy` \| 2 \| 2\.1 \|/);
        assert.match(page, /\| cold up, median \(s\), 5\.2\.0 \(without the patches\) \| 6\.5 \| 7 \| 9\.2 \|/);
    });

    it("tables the phases of a cold up, of the largest fleet and of a no-op preview for both plugins", () => {
        const page = renderMarkdown(results(), "");
        assert.match(page, /\| Phase \| 5\.2\.0\+dind\.1 \| 5\.2\.0 \(without the patches\) \|/);
        assert.match(page, /\| nested creation \(network, containers\) \| 2\.5 \| 2\.7 \|/);
        assert.match(page, /the fleet of 4 goes[^]*\| nested creation \(network, containers\) \| 3\.5 \| 3\.7 \|/);
        assert.match(page, /no-op preview goes[^]*\| finish \(summary, CLI exit\) \| 0\.4 \| 0\.5 \|/);
    });

    it("reports the parallel script's time and the peak memory of the 8-host up", () => {
        const page = renderMarkdown(results(), "");
        assert.match(page, /A fleet of 4 against a person's script: `bench\/baseline.sh fleet-up` brings up the\nsame 4 hosts in parallel/);
        assert.match(page, /: the script 5 s, the cold up 7 s \(9\.2 s without the patches\)\./);
        assert.match(page, /Peak memory of a cold up of 8 hosts: \*\*612 MiB\*\* summed PSS \(900 MiB summed RSS\);\none up apart from the timed ones\./);
        const three = renderMarkdown({ ...results(), memory: { hosts: 8, pssMiB: 600, rssMiB: 900, samples: [{ pssMiB: 590, rssMiB: 880 }, { pssMiB: 600, rssMiB: 900 }, { pssMiB: 640, rssMiB: 950 }] } }, "");
        assert.match(three, /medians of 3 ups \(PSS\/RSS: 590\/880, 600\/900, 640\/950 MiB\) apart/);
    });

    it("tables each earlier run beside this one, with a dash where a run did not measure, and the change from the latest", () => {
        const first = { ...older, label: "First version", file: "results.first-version.json", results: { ...older.results, medians: { ...older.results.medians!, coldUp: 13.11 } } };
        const table = renderComparison([first, older], results());
        assert.match(table, /\| Measure \| First version \| Steps as plugins \| After \| Change \|\n\|---\|---\|---\|---\|---\|/);
        assert.match(table, /\| cold up \(s\) \| 13\.11 \| 7\.17 \| 4\.5 \| -2\.67 \|/);
        assert.match(table, /\| `coldUpVsCli` \(target ≤ 1\.5\) \| 2\.51 \| 2\.51 \| 1\.5 \| -1\.01 \|/);
        assert.match(table, /\| `fleetVsCliFleet` \(target ≤ 1\.5\) \| — \| — \| 1\.4 \| — \|/);
        assert.match(table, /\| parallel CLI script, 4 hosts \(s\) \| — \| — \| 5 \| — \|/);
        assert.match(table, /\| peak memory of a cold up, 8 hosts \(MiB PSS\) \| — \| — \| 612 \| — \|/);
        assert.match(table, /\| peak memory of a cold up, 8 hosts \(MiB summed RSS\) \| — \| — \| 900 \| — \|/);
        assert.match(table, /"Steps as plugins" is `bench\/results\.plugin-steps\.json` \(quick mode, 2026-11-28T06:05:57\.185Z\)/);
        assert.equal(renderComparison([], results()), "");
    });

    it("draws each ratio green or red with a dashed target line on its own scale, and the earlier run in grey", () => {
        const svg = renderSvg({ ...results(), ratios: { ...results().ratios, coldUpVsCli: 2 } }, older);
        const rows = [...svg.matchAll(/<rect x="230" y="(\d+)" width="([\d.]+)" height="16" fill="(#\w+)"\/>\n<rect x="230" y="\d+" width="([\d.]+)" height="5" fill="#f28e2b"\/>\n<line x1="([\d.]+)"/g)];
        assert.equal(rows.length, 4);
        const [coldUp, noopPreview] = rows;
        // coldUpVsCli 2 against 1.5, the earlier 2.51 sets the scale: 420 / (2.51 × 1.1) px per unit.
        const scale = 420 / (2.51 * 1.1);
        assert.equal(coldUp[3], "#e15759");
        assert.equal(Number(coldUp[2]), Number((2 * scale).toFixed(1)));
        assert.equal(Number(coldUp[4]), Number((2.2 * scale).toFixed(1)));
        assert.equal(Number(coldUp[5]), Number((230 + 1.5 * scale).toFixed(1)));
        assert.equal(noopPreview[3], "#59a14f");
        assert.match(svg, /Ratios against their targets \(dashed line; orange: the docker plugin without the patches; grey: steps as plugins\)/);
        assert.match(svg, /<text [^>]*>2\.00 \(target ≤ 1\.5; without the patches 2\.20; was 2\.51\)<\/text>/);
        assert.match(svg, /<text [^>]*>1\.40 \(target ≤ 1\.5; without the patches 1\.84\)<\/text>/);
        assert.match(svg, />4 hosts, without the patches<\/text>/);
        assert.match(svg, /docker plugin 5\.2\.0\+dind\.1; without the patches: 5\.2\.0/);
        assert.match(svg, /4 hosts, parallel CLI script<\/text>/);
        assert.match(svg, />fleet of 4 \/ parallel CLI script<\/text>/);
        assert.match(svg, /Peak memory of a cold up of 8 hosts \(engine, plugins, program\): 612 MiB PSS, 900 MiB summed RSS/);
    });

    it("draws no grey bars without an earlier run", () => {
        assert.doesNotMatch(renderSvg(results()), /fill="#bab0ac"/);
        assert.equal((renderSvg(results(), older).match(/fill="#bab0ac"/g) ?? []).length, 3);
    });

    it("renders the pools' section between the figures and the comparison only when the run measured pools, each target judged", () => {
        assert.doesNotMatch(renderMarkdown(results(), ""), /## Pools/);
        const page = renderMarkdown({ ...results(), pools: pools() }, "");
        assert.ok(page.indexOf("## Pools") > page.indexOf("Fixed costs measured on their own"));
        const section = renderPools(pools());
        assert.match(section, /\| `lease` with a free member \(`--wait 0`\) \| 0\.42 \| 0\.61 \| 40 \| median < 1 s: met \|/);
        assert.match(section, /\| `release` of a member a job left 20 containers, 5 volumes and 3 networks on \(reset\) \| 3\.2 \| 3\.9 \| 5 \| median < 3 s: \*\*missed\*\* \|/);
        assert.match(section, /\| first job on a member \(nothing cached anywhere\) \| 9\.1 \| 0 of 5 \|/);
        assert.match(section, /\| first job on a member that never built it \(imports the registry's cache\) \| 1\.9 \| 5, 5, 4, 5, 5 of 5 \|/);
        assert.match(section, /100 lease\/use\/release cycles on the pool of 2 by 4 concurrent workers \(25 each;/);
        assert.match(section, /\| Most holders of a member at one time \| bench-pool-1 1, bench-pool-2 1 \|/);
        assert.match(section, /\| A member handed to a worker while another held it \| none \|/);
        assert.match(section, /\| Lease markers on the outer daemon \(the leases' state\) \| 2 before, 2 after, at most 3 during/);
        const failed = renderPools({ ...pools(), cycles: { ...pools().cycles, leftovers: ["bench-pool-1: docker ps shows svc, the-job"] } });
        assert.match(failed, /\(the stack's objects but the lease markers, 7 before, 7 after\) \| \*\*bench-pool-1: docker ps shows svc, the-job\*\* \|/);
    });
});
