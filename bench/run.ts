// `npm run bench [-- --quick] [--prefix NAME] [--port-base PORT] [--only pools]`: what `pulumi up`
// costs against the plain docker CLI, alone and as a fleet, how it grows with the fleet, and the
// peak memory of an 8-host up; each `pulumi` measure twice, with the docker plugin as this project
// builds it (the upstream with the project's patches) and with the same upstream built without
// them (see bench/plugins.ts). Medians over several runs, the sides taken in turn in each round so
// that machine drift falls on all of them. Then pools' lease and release (bench/pools.ts). Writes
// bench/results.json, docs/benchmarks.md and docs/benchmarks.svg. `--only pools` measures the pools
// alone and merges their figures into the results and documents of the last full run.
// --prefix (default "bench") starts every container, volume and stack name; --port-base (default
// 23800) is the reference host's port, the rest follow it (see `portsFrom`), so that a run on a
// shared daemon keeps to its own names and ports.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { asDriverRuns } from "../driver/stack";
import { dockerOk, removeLabelled, StackUnderTest } from "../test/support/harness";
import { PeakTreeMemory, TreeMemory } from "./memory";
import { fleetStackFile, isNested, PHASES, Phase, phaseDurations, PREVIEW_PHASES, PreviewPhase, previewPhaseDurations } from "./phases";
import { assertRunningPlugin, DockerPlugin, preparePlugins, Variant, VARIANT_LABELS, VARIANTS } from "./plugins";
import { measurePools } from "./pools";
import { BEFORE_RUNS, renderMarkdown, renderSvg } from "./report";
import type { PluginMeasures, Results } from "./results";
import { median, ratiosOf, round, TARGETS } from "./stats";

const REPO = path.resolve(__dirname, "..");
const REFERENCE = path.join(__dirname, "fixtures", "reference.yaml");
const BASELINE = path.join(__dirname, "baseline.sh");

/** Memory is reported for a fleet of this many hosts, measured in ups of their own (sampling costs CPU). */
const MEMORY_HOSTS = 8;

/** Host ports of a run: the reference host, its baseline, the first port of each fleet side (up to 9 hosts), the pool's first (3 ports). */
function portsFrom(base: number) {
    return { reference: base, baseline: base + 1, fleet: base + 11, fleetBaseline: base + 21, pools: base + 31 };
}

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
    /** Of the no-op preview, with `noops`. */
    previewPhases?: Record<PreviewPhase, number>;
    /** Peak memory of the cold up's process tree, when asked for. */
    memory?: TreeMemory;
}

/** An engine run's events, each with its time in seconds from `start`. */
function eventRecorder(start: number) {
    const events: { at: number; event: EngineEvent }[] = [];
    return { events, onEvent: (event: EngineEvent) => void events.push({ at: seconds(start), event }) };
}

/**
 * A cold up of a stack file with the given docker plugin, then (with `noops`) a no-op preview and a
 * no-op up, then destroy. While the cold up creates the first nested resource, it checks that every
 * docker plugin the engine runs is that one. With `memory`, samples the memory of this process's
 * tree during the cold up: the Automation API runs the program in this process and the engine and
 * its plugins as its descendants.
 */
async function pulumiCycle(stackFile: string, name: string, plugin: DockerPlugin, { noops = false, memory = false } = {}): Promise<CycleTimes> {
    const sut = await StackUnderTest.create(stackFile, name, { providers: { docker: plugin.dir } });
    try {
        // As `npm run up` and the other npm scripts run it.
        const stack = asDriverRuns(sut.stack);
        const sampler = memory ? new PeakTreeMemory() : undefined;
        const start = performance.now();
        const up = eventRecorder(start);
        let pluginCheck: { error?: unknown } | undefined;
        const onEvent = (event: EngineEvent) => {
            up.onEvent(event);
            if (!pluginCheck && isNested(event.resourcePreEvent?.metadata.urn)) {
                try {
                    assertRunningPlugin(plugin);
                    pluginCheck = {};
                } catch (error) {
                    pluginCheck = { error };
                }
            }
        };
        let coldUp: number;
        let peak: TreeMemory | undefined;
        try {
            [coldUp] = await timed(() => stack.up({ onEvent }));
        } finally {
            peak = sampler?.stop();
        }
        if (!pluginCheck) throw new Error(`${name}: no nested resource was created, so which docker plugin ran was not checked`);
        if (pluginCheck.error) throw pluginCheck.error;
        let noopPreview = NaN;
        let noopUp = NaN;
        let previewPhases: Record<PreviewPhase, number> | undefined;
        if (noops) {
            const preview = eventRecorder(performance.now());
            let result;
            [noopPreview, result] = await timed(() => stack.preview({ onEvent: preview.onEvent }));
            if (Object.keys(result.changeSummary).some((op) => op !== "same")) throw new Error(`no-op preview saw changes: ${JSON.stringify(result.changeSummary)}`);
            previewPhases = previewPhaseDurations(preview.events, noopPreview);
            [noopUp] = await timed(() => stack.up());
        }
        const [destroy] = await timed(() => stack.destroy());
        return { coldUp, noopPreview, noopUp, destroy, phases: phaseDurations(up.events, coldUp), previewPhases, memory: peak };
    } finally {
        await sut.stack.destroy().catch(() => undefined);
        removeLabelled(sut.label);
        await sut.dispose();
    }
}

/** Times `baseline.sh up PREFIX PORT` (the reference topology) or, with `hosts`, `fleet-up PREFIX PORT HOSTS`; then removes it. */
function baselineCycle(prefix: string, port: number, hosts?: number): number {
    const [up, down] = hosts === undefined ? [["up", prefix, String(port)], ["down", prefix]] : [["fleet-up", prefix, String(port), String(hosts)], ["fleet-down", prefix, String(hosts)]];
    const start = performance.now();
    const result = spawnSync("bash", [BASELINE, ...up], { encoding: "utf8" });
    const took = seconds(start);
    spawnSync("bash", [BASELINE, ...down]);
    if (result.status !== 0) throw new Error(`baseline ${up.join(" ")} failed: ${result.stderr}`);
    return took;
}

/** The reference fixture with its host and client names under PREFIX and its host on PORT. */
function referenceStackFile(prefix: string, port: number): string {
    const text = readFileSync(REFERENCE, "utf8");
    const renamed = text.replace(/^ {2}bench-(dind|agent):/gm, `  ${prefix}-$1:`).replace(/port: 23800\b/, `port: ${port}`);
    if ((renamed.match(new RegExp(`^  ${prefix}-(dind|agent):|port: ${port}\\b`, "gm")) ?? []).length !== 3) {
        throw new Error(`${REFERENCE}: expected the hosts bench-dind and bench-agent and port 23800 to rename`);
    }
    return renamed;
}

function option(name: string, fallback: string): string {
    const at = process.argv.indexOf(name);
    return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

/** Seconds until a command prints its first line (a plugin prints its port when ready). */
function firstLineSeconds(command: string, args: string[], cwd = REPO): number {
    const script = `const s=performance.now();const p=require("child_process").spawn(${JSON.stringify(command)},${JSON.stringify(args)},{cwd:${JSON.stringify(cwd)},stdio:["ignore","pipe","inherit"]});` +
        `p.stdout.once("data",()=>{console.log((performance.now()-s)/1000);p.kill();});`;
    const result = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60_000 });
    const took = result.stdout.trim();
    if (!/^\d+(\.\d+)?(e-?\d+)?$/.test(took)) throw new Error(`${command} printed nothing to time (${result.stderr.trim() || `exit ${result.status}`})`);
    return Number(took);
}

function startupCosts(runs: number, dockerPlugin: DockerPlugin) {
    const programLoad: number[] = [];
    const dockerStart: number[] = [];
    for (let i = 0; i < runs; i++) {
        const start = performance.now();
        spawnSync(process.execPath, ["-r", "ts-node/register", "-e", "require('./program')"], { cwd: REPO });
        programLoad.push(seconds(start));
        dockerStart.push(firstLineSeconds(dockerPlugin.binary, []));
    }
    return { programLoad: round(median(programLoad)), dockerPluginStart: round(median(dockerStart)) };
}

/** The machine, and its load average over a minute at the start and the end of the run (a shared machine skews the figures). */
function machine(loadAtStart: number): Record<string, string | number> {
    const cpus = os.cpus();
    return {
        cpu: `${cpus.length} × ${cpus[0]?.model ?? "unknown"}`,
        memoryGiB: round(os.totalmem() / 2 ** 30, 1),
        kernel: `${os.type()} ${os.release()}`,
        dockerEngine: dockerOk(["version", "--format", "{{.Server.Version}}"]),
        pulumi: spawnSync("pulumi", ["version"], { encoding: "utf8" }).stdout.trim(),
        node: process.version,
        loadAverage: `${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end`,
    };
}

/** Runs the sides of a round in turn, each round starting one side later: drift over the run falls on all of them. */
async function alternated(round_: number, sides: (() => Promise<void>)[]) {
    const first = round_ % sides.length;
    for (const side of [...sides.slice(first), ...sides.slice(0, first)]) await side();
}

/** The samples key of a measure of a variant: the patched plugin's are the plain names. */
const sampleKey = (variant: Variant, measure: string) => (variant === "patched" ? measure : `${variant}.${measure}`);

const medianPhases = <P extends string>(names: readonly P[], samples: Record<string, number[]>): Record<P, number> =>
    Object.fromEntries(names.map((p) => [p, round(median(samples[p] ?? [0]))])) as Record<P, number>;

/** One variant's results from the run's samples (the baseline's are shared by both). */
function pluginMeasures(plugin: DockerPlugin, samples: Record<string, number[]>, phaseSamples: PhaseSamples, fleetSizes: number[]): PluginMeasures {
    const own = (measure: string) => samples[sampleKey(plugin.variant, measure)] ?? [];
    const fleetHosts = fleetSizes[fleetSizes.length - 1];
    const fleet = Object.fromEntries(fleetSizes.map((n) => [n, round(median(own(`fleet${n}`)))]));
    const ownSamples = Object.fromEntries(["coldUp", "noopPreview", ...fleetSizes.map((n) => `fleet${n}`)].map((m) => [m, own(m)]));
    return {
        dockerPlugin: plugin.version,
        medians: {
            coldUp: round(median(own("coldUp"))),
            noopPreview: round(median(own("noopPreview"))),
            noopUp: round(median(own("noopUp"))),
            destroy: round(median(own("destroy"))),
        },
        fleet,
        fleetVsCli: { hosts: fleetHosts, coldUp: fleet[fleetHosts], baselineCli: round(median(samples.fleetBaselineCli)) },
        phases: medianPhases(PHASES, phaseSamples[plugin.variant].coldUp),
        fleetPhases: medianPhases(PHASES, phaseSamples[plugin.variant].fleet),
        previewPhases: medianPhases(PREVIEW_PHASES, phaseSamples[plugin.variant].preview),
        ratios: ratiosOf({ ...ownSamples, baselineCli: samples.baselineCli, fleetBaselineCli: samples.fleetBaselineCli }, fleetHosts),
    };
}

/** Phase samples of a variant: of the reference cold ups, of the largest fleet's cold ups, of the no-op previews. */
type PhaseSamples = Record<Variant, Record<"coldUp" | "fleet" | "preview", Record<string, number[]>>>;

const pushAll = (into: Record<string, number[]>, values: Record<string, number>) => {
    for (const [name, value] of Object.entries(values)) (into[name] ??= []).push(value);
};

/** The options every run reads. */
function runOptions() {
    return { quick: process.argv.includes("--quick"), prefix: option("--prefix", "bench"), ports: portsFrom(Number(option("--port-base", "23800"))) };
}

const measurePoolsOf = ({ quick, prefix, ports }: ReturnType<typeof runOptions>) => measurePools({ prefix, firstPort: ports.pools, quick, log });

async function main() {
    const loadAtStart = os.loadavg()[0];
    const options = runOptions();
    const { quick, prefix, ports } = options;
    const runs = quick ? 3 : 5;
    const fleetSizes = quick ? [1, 2, 4] : [1, 2, 4, 8];
    // The fleet compared with the parallel script: the largest one measured.
    const fleetHosts = fleetSizes[fleetSizes.length - 1];
    const samples: Record<string, number[]> = { baselineCli: [], fleetBaselineCli: [] };
    const push = (variant: Variant, measure: string, value: number) => (samples[sampleKey(variant, measure)] ??= []).push(value);
    const phaseSamples = Object.fromEntries(VARIANTS.map((v) => [v, { coldUp: {}, fleet: {}, preview: {} }])) as PhaseSamples;
    const memorySamples: TreeMemory[] = [];
    log(`${quick ? "quick" : "full"} mode: ${runs} runs, fleets of ${fleetSizes.join(", ")}, ${fleetHosts} hosts against the parallel script, names ${prefix}-*, ports from ${ports.reference}`);

    // Every cycle runs the program in this process: load its modules (ts-node compiles them) before
    // the first timed up rather than in it; "Fixed costs" below measures that load on its own.
    await import("../program");
    const scratch = mkdtempSync(path.join(os.tmpdir(), "dind-bench-"));
    const plugins = preparePlugins(path.join(scratch, "plugins"));
    for (const variant of VARIANTS) log(`docker plugin ${plugins[variant].version}: ${VARIANT_LABELS[variant]}, run from ${plugins[variant].dir}`);
    const reference = path.join(scratch, "reference.yaml");
    writeFileSync(reference, referenceStackFile(prefix, ports.reference));
    for (let round_ = 0; round_ < runs; round_++) {
        await alternated(round_, [
            ...VARIANTS.map((variant) => async () => {
                const cycle = await pulumiCycle(reference, `${prefix}-ref-${round_}`, plugins[variant], { noops: true });
                for (const key of ["coldUp", "noopPreview", "noopUp", "destroy"] as const) push(variant, key, cycle[key]);
                pushAll(phaseSamples[variant].coldUp, cycle.phases);
                pushAll(phaseSamples[variant].preview, cycle.previewPhases!);
                log(`round ${round_ + 1}, plugin ${plugins[variant].version}: cold up ${cycle.coldUp.toFixed(2)} s, no-op preview ${cycle.noopPreview.toFixed(2)} s, no-op up ${cycle.noopUp.toFixed(2)} s, destroy ${cycle.destroy.toFixed(2)} s`);
            }),
            async () => {
                const took = baselineCycle(`${prefix}-base-${round_}`, ports.baseline);
                samples.baselineCli.push(took);
                log(`round ${round_ + 1}: baseline script ${took.toFixed(2)} s`);
            },
        ]);
    }

    const fleetFile = (n: number) => {
        const file = path.join(scratch, `fleet-${n}.yaml`);
        writeFileSync(file, fleetStackFile(n, prefix, ports.fleet));
        return file;
    };
    for (const n of fleetSizes) {
        for (let i = 0; i < runs; i++) {
            await alternated(i, [
                ...VARIANTS.map((variant) => async () => {
                    const cycle = await pulumiCycle(fleetFile(n), `${prefix}-fleet-${n}-${i}`, plugins[variant]);
                    push(variant, `fleet${n}`, cycle.coldUp);
                    if (n === fleetHosts) pushAll(phaseSamples[variant].fleet, cycle.phases);
                }),
                // The largest fleet also against the parallel script, in the same rounds.
                ...(n === fleetHosts ? [async () => {
                    const took = baselineCycle(`${prefix}-fleetbase-${i}`, ports.fleetBaseline, n);
                    samples.fleetBaselineCli.push(took);
                    log(`fleet of ${n}, round ${i + 1}: parallel baseline script ${took.toFixed(2)} s`);
                }] : []),
            ]);
        }
        for (const variant of VARIANTS) {
            const ups = samples[sampleKey(variant, `fleet${n}`)];
            log(`fleet of ${n}, plugin ${plugins[variant].version}: cold up median ${round(median(ups))} s (${ups.map((u) => u.toFixed(2)).join(", ")})`);
        }
    }
    for (let i = 0; i < (quick ? 1 : 3); i++) {
        const { memory } = await pulumiCycle(fleetFile(MEMORY_HOSTS), `${prefix}-memory-${i}`, plugins.patched, { memory: true });
        memorySamples.push({ pssMiB: round(memory!.pssMiB, 0), rssMiB: round(memory!.rssMiB, 0) });
        log(`fleet of ${MEMORY_HOSTS}: peak memory ${memorySamples[i].pssMiB} MiB PSS, ${memorySamples[i].rssMiB} MiB RSS`);
    }
    // Before the scratch directory (and the plugins' copies in it) goes.
    const startup = startupCosts(runs, plugins.patched);
    rmSync(scratch, { recursive: true, force: true });
    const pools = await measurePoolsOf(options);

    const patched = pluginMeasures(plugins.patched, samples, phaseSamples, fleetSizes);
    const results: Results = {
        mode: quick ? "quick" : "full",
        runs,
        date: new Date().toISOString(),
        machine: machine(loadAtStart),
        ...patched,
        medians: { ...patched.medians, baselineCli: round(median(samples.baselineCli)) },
        samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map((x) => round(x, 3))])),
        memory: {
            hosts: MEMORY_HOSTS,
            pssMiB: median(memorySamples.map((m) => m.pssMiB)),
            rssMiB: median(memorySamples.map((m) => m.rssMiB)),
            samples: memorySamples,
        },
        startup,
        targets: TARGETS,
        withoutPatches: pluginMeasures(plugins.withoutPatches, samples, phaseSamples, fleetSizes),
        pools,
    };

    save(results);
    log(`ratios, plugin ${results.dockerPlugin}: ${JSON.stringify(results.ratios)}`);
    log(`ratios, plugin ${results.withoutPatches.dockerPlugin}: ${JSON.stringify(results.withoutPatches.ratios)}`);
}

const RESULTS = path.join(__dirname, "results.json");

/** Writes docs/benchmarks.md and docs/benchmarks.svg from results (and the saved earlier runs, see BEFORE_RUNS). */
function render(results: Results) {
    const notes = readFileSync(path.join(REPO, "docs", "benchmarks.notes.md"), "utf8");
    const before = BEFORE_RUNS.filter(({ file }) => existsSync(path.join(__dirname, file)))
        .map((run) => ({ ...run, results: JSON.parse(readFileSync(path.join(__dirname, run.file), "utf8")) as Results }));
    writeFileSync(path.join(REPO, "docs", "benchmarks.svg"), renderSvg(results, before[before.length - 1]));
    writeFileSync(path.join(REPO, "docs", "benchmarks.md"), renderMarkdown(results, notes, before));
    log("wrote bench/results.json, docs/benchmarks.md, docs/benchmarks.svg");
}

function save(results: Results) {
    writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    render(results);
}

const savedResults = () => JSON.parse(readFileSync(RESULTS, "utf8")) as Results;

/** `--only pools`: measures the pools alone and puts their figures into the saved results and the documents, the rest as it was. */
async function poolsOnly() {
    const results = savedResults();
    results.pools = await measurePoolsOf(runOptions());
    save(results);
}

/** What the command line asks for: --render only rewrites the documents from bench/results.json (after editing the notes). */
function chosen(): Promise<void> {
    if (process.argv.includes("--render")) return Promise.resolve(render(savedResults()));
    if (!process.argv.includes("--only")) return main();
    const only = option("--only", "");
    return only === "pools" ? poolsOnly() : Promise.reject(new Error(`--only ${only || "(nothing)"}: only the pools run alone, --only pools`));
}

chosen().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
