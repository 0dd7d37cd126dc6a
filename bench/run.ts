// `npm run bench [-- --quick]`: what `pulumi up` costs against the plain docker CLI, and how it
// grows with the fleet. Medians over several runs, the two sides alternated in one run so that
// machine drift cancels. Writes bench/results.json, docs/benchmarks.md and docs/benchmarks.svg.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { dockerOk, removeLabelled, StackUnderTest } from "../scripts/harness";
import { withoutReadBack } from "../scripts/pulumi-stack";
import { fleetStackFile, PHASES, Phase, phaseDurations } from "./phases";
import { renderMarkdown, renderSvg } from "./report";

const REPO = path.resolve(__dirname, "..");
const REFERENCE = path.join(__dirname, "fixtures", "reference.yaml");
const BASELINE = path.join(__dirname, "baseline.sh");

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
    /** Where a cold up of the reference topology goes: median seconds per phase. */
    phases: Record<Phase, number>;
    /** Fixed costs measured on their own: median seconds. */
    startup: { programLoad: number; dockerPluginStart: number; nodejsPluginStart: number };
    ratios: { coldUpVsCli: number; noopPreviewVsColdUp: number; fourHostsVsOne: number };
    targets: { coldUpVsCli: number; noopPreviewVsColdUp: number; fourHostsVsOne: number };
}

const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const seconds = (start: number) => (performance.now() - start) / 1000;

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
    const start = performance.now();
    const result = await work();
    return [seconds(start), result];
}

function log(message: string) {
    console.log(`[bench] ${message}`);
}

interface CycleTimes {
    coldUp: number;
    noopPreview: number;
    noopUp: number;
    destroy: number;
    phases: Record<Phase, number>;
}

/** A cold up of a stack file, then (with `noops`) a no-op preview and a no-op up, then destroy. */
async function pulumiCycle(stackFile: string, name: string, noops: boolean): Promise<CycleTimes> {
    const sut = await StackUnderTest.create(stackFile, name);
    try {
        const events: { at: number; event: EngineEvent }[] = [];
        const start = performance.now();
        // As `npm run up` runs it: without the Automation API's read-back after the update.
        const [coldUp] = await timed(() => withoutReadBack(sut.stack).up({ onEvent: (event) => events.push({ at: seconds(start), event }) }));
        let noopPreview = NaN;
        let noopUp = NaN;
        if (noops) {
            let preview;
            [noopPreview, preview] = await timed(() => sut.stack.preview());
            if (Object.keys(preview.changeSummary).some((op) => op !== "same")) throw new Error(`no-op preview saw changes: ${JSON.stringify(preview.changeSummary)}`);
            [noopUp] = await timed(() => withoutReadBack(sut.stack).up());
        }
        const [destroy] = await timed(() => sut.stack.destroy());
        return { coldUp, noopPreview, noopUp, destroy, phases: phaseDurations(events, coldUp) };
    } finally {
        await sut.stack.destroy().catch(() => undefined);
        removeLabelled(sut.label);
        await sut.dispose();
    }
}

function baselineCycle(prefix: string): number {
    const start = performance.now();
    const up = spawnSync("bash", [BASELINE, "up", prefix, "23801"], { encoding: "utf8" });
    const took = seconds(start);
    spawnSync("bash", [BASELINE, "down", prefix]);
    if (up.status !== 0) throw new Error(`baseline failed: ${up.stderr}`);
    return took;
}

/** Seconds until a command prints its first line (a plugin prints its port when ready). */
function firstLineSeconds(command: string, args: string[], cwd = REPO): number {
    const script = `const s=performance.now();const p=require("child_process").spawn(${JSON.stringify(command)},${JSON.stringify(args)},{cwd:${JSON.stringify(cwd)},stdio:["ignore","pipe","inherit"]});` +
        `p.stdout.once("data",()=>{console.log((performance.now()-s)/1000);p.kill();});`;
    const result = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60_000 });
    return Number(result.stdout.trim());
}

function startupCosts(runs: number) {
    const dockerPlugin = spawnSync("bash", [path.join(REPO, "scripts/bootstrap/pulumi-docker-plugin.sh"), "--print-path"], { encoding: "utf8" }).stdout.trim();
    const programLoad: number[] = [];
    const dockerStart: number[] = [];
    const nodejsStart: number[] = [];
    for (let i = 0; i < runs; i++) {
        const start = performance.now();
        spawnSync(process.execPath, ["-r", "ts-node/register", "-e", "require('./program')"], { cwd: REPO });
        programLoad.push(seconds(start));
        dockerStart.push(firstLineSeconds(dockerPlugin, []));
        // The engine passes its address; the provider only dials it when asked to log.
        nodejsStart.push(firstLineSeconds("pulumi-resource-pulumi-nodejs", ["127.0.0.1:1"]));
    }
    return { programLoad: round(median(programLoad)), dockerPluginStart: round(median(dockerStart)), nodejsPluginStart: round(median(nodejsStart)) };
}

function machine(): Record<string, string | number> {
    const cpus = os.cpus();
    return {
        cpu: `${cpus.length} × ${cpus[0]?.model ?? "unknown"}`,
        memoryGiB: round(os.totalmem() / 2 ** 30, 1),
        kernel: `${os.type()} ${os.release()}`,
        dockerEngine: dockerOk(["version", "--format", "{{.Server.Version}}"]),
        pulumi: spawnSync("pulumi", ["version"], { encoding: "utf8" }).stdout.trim(),
        node: process.version,
    };
}

async function main() {
    const quick = process.argv.includes("--quick");
    const runs = quick ? 3 : 5;
    const fleetSizes = quick ? [1, 2, 4] : [1, 2, 4, 8];
    const samples: Record<string, number[]> = { coldUp: [], baselineCli: [], noopPreview: [], noopUp: [], destroy: [] };
    const phaseSamples: Record<string, number[]> = {};
    log(`${quick ? "quick" : "full"} mode: ${runs} runs, fleets of ${fleetSizes.join(", ")}`);

    for (let round_ = 0; round_ < runs; round_++) {
        // Alternate which side goes first, so drift over the run falls on both.
        const sides = [
            async () => {
                const cycle = await pulumiCycle(REFERENCE, `bench-ref-${round_}`, true);
                for (const key of ["coldUp", "noopPreview", "noopUp", "destroy"] as const) samples[key].push(cycle[key]);
                for (const [phase, value] of Object.entries(cycle.phases)) (phaseSamples[phase] ??= []).push(value);
                log(`round ${round_ + 1}: cold up ${cycle.coldUp.toFixed(2)} s, no-op preview ${cycle.noopPreview.toFixed(2)} s, no-op up ${cycle.noopUp.toFixed(2)} s, destroy ${cycle.destroy.toFixed(2)} s`);
            },
            async () => {
                const took = baselineCycle(`bench-base-${round_}`);
                samples.baselineCli.push(took);
                log(`round ${round_ + 1}: baseline script ${took.toFixed(2)} s`);
            },
        ];
        for (const side of round_ % 2 === 0 ? sides : sides.reverse()) await side();
    }

    const fleet: Record<string, number> = {};
    const scratch = mkdtempSync(path.join(os.tmpdir(), "dind-bench-"));
    for (const n of fleetSizes) {
        const file = path.join(scratch, `fleet-${n}.yaml`);
        writeFileSync(file, fleetStackFile(n));
        const ups: number[] = [];
        for (let i = 0; i < (quick ? 3 : runs); i++) {
            ups.push((await pulumiCycle(file, `bench-fleet-${n}-${i}`, false)).coldUp);
        }
        samples[`fleet${n}`] = ups;
        fleet[n] = round(median(ups));
        log(`fleet of ${n}: cold up median ${fleet[n]} s (${ups.map((u) => u.toFixed(2)).join(", ")})`);
    }
    rmSync(scratch, { recursive: true, force: true });

    const results: Results = {
        mode: quick ? "quick" : "full",
        runs,
        date: new Date().toISOString(),
        machine: machine(),
        medians: {
            coldUp: round(median(samples.coldUp)),
            baselineCli: round(median(samples.baselineCli)),
            noopPreview: round(median(samples.noopPreview)),
            noopUp: round(median(samples.noopUp)),
            destroy: round(median(samples.destroy)),
        },
        samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map((x) => round(x, 3))])),
        fleet,
        phases: Object.fromEntries(PHASES.map((p) => [p, round(median(phaseSamples[p] ?? [0]))])) as Record<Phase, number>,
        startup: startupCosts(runs),
        ratios: { coldUpVsCli: 0, noopPreviewVsColdUp: 0, fourHostsVsOne: 0 },
        targets: { coldUpVsCli: 1.5, noopPreviewVsColdUp: 0.25, fourHostsVsOne: 2.0 },
    };
    results.ratios = {
        coldUpVsCli: round(median(samples.coldUp) / median(samples.baselineCli)),
        noopPreviewVsColdUp: round(median(samples.noopPreview) / median(samples.coldUp)),
        fourHostsVsOne: round(median(samples.fleet4) / median(samples.fleet1)),
    };

    writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    render(results);
    log(`ratios: ${JSON.stringify(results.ratios)}`);
}

const RESULTS = path.join(__dirname, "results.json");
const BEFORE = path.join(__dirname, "results.before.json");

/** Writes docs/benchmarks.md and docs/benchmarks.svg from results (and the saved pre-optimization run). */
function render(results: Results) {
    const notes = readFileSync(path.join(REPO, "docs", "benchmarks.notes.md"), "utf8");
    const before = existsSync(BEFORE) ? JSON.parse(readFileSync(BEFORE, "utf8")) as Results : undefined;
    writeFileSync(path.join(REPO, "docs", "benchmarks.svg"), renderSvg(results));
    writeFileSync(path.join(REPO, "docs", "benchmarks.md"), renderMarkdown(results, notes, before));
    log("wrote bench/results.json, docs/benchmarks.md, docs/benchmarks.svg");
}

// --render: only rewrite the documents from bench/results.json (after editing the notes).
(process.argv.includes("--render") ? Promise.resolve(render(JSON.parse(readFileSync(RESULTS, "utf8")))) : main()).catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
