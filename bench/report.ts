// Renders benchmark results as a Markdown page and an SVG chart readable at a glance.
import { PHASE_LABELS, PHASES, PREVIEW_PHASE_LABELS, PREVIEW_PHASES } from "./phases";
import type { BuildJob, PluginMeasures, PoolResults, Results } from "./results";
import type { Ratios } from "./stats";

const COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"];
const MET = "#59a14f";
const MISSED = "#e15759";
/** The thin bar of the docker plugin without the project's patches. */
const WITHOUT_PATCHES = "#f28e2b";
const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Earlier runs kept for the before/after table, oldest first; the last one is "before" in the chart. */
export const BEFORE_RUNS = [
    { file: "results.first-version.json", label: "First version" },
    { file: "results.plugin-steps.json", label: "Steps as plugins" },
    { file: "results.upstream-network-wait.json", label: "Upstream network wait" },
];

/** Results of an earlier run: runs older than a measure lack it. */
export type EarlierResults = Omit<Partial<Results>, "ratios"> & { ratios?: Partial<Ratios> };

/** An earlier run, as render() reads it. */
export interface EarlierRun { label: string; file: string; results: EarlierResults }

const RATIOS: (keyof Ratios)[] = ["coldUpVsCli", "noopPreviewVsColdUp", "fourHostsVsOne", "fleetVsCliFleet"];

/** What a ratio divides, in words. */
function ratioLabel(name: keyof Ratios, results: Results): string {
    const hosts = results.fleetVsCli.hosts;
    return {
        coldUpVsCli: "cold up / docker CLI script",
        noopPreviewVsColdUp: "no-op preview / cold up",
        fourHostsVsOne: "fleet of 4 / fleet of 1",
        fleetVsCliFleet: `fleet of ${hosts} / parallel CLI script`,
    }[name];
}

const met = (results: Results, name: keyof Ratios) => results.ratios[name] <= results.targets[name];

/** Horizontal bars, one per row, scaled to the largest value. */
function barPanel(title: string, rows: [string, number][], top: number, unit = "s"): string[] {
    const left = 230;
    const width = 560;
    const max = Math.max(...rows.map(([, v]) => v));
    const out = [`<text x="20" y="${top}" font-weight="bold">${escape(title)}</text>`];
    rows.forEach(([label, value], i) => {
        const y = top + 14 + i * 24;
        const w = Math.max(1, (value / max) * width);
        out.push(
            `<text x="${left - 8}" y="${y + 13}" text-anchor="end">${escape(label)}</text>`,
            `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${COLORS[i % COLORS.length]}"/>`,
            `<text x="${(left + w + 6).toFixed(1)}" y="${y + 13}">${value.toFixed(2)} ${unit}</text>`,
        );
    });
    return out;
}

/**
 * One row per ratio, each on its own scale: the bar is this run (green when it meets the target,
 * red when not), the thin orange bar under it the same run with the docker plugin without the
 * project's patches, the thin grey bar above it the earlier run, the dashed line the target.
 */
function ratioPanel(results: Results, before: EarlierRun | undefined, top: number): string[] {
    const left = 230;
    const width = 420;
    const out = [`<text x="20" y="${top}" font-weight="bold">Ratios against their targets (dashed line; orange: the docker plugin without the patches${before?.results.ratios ? `; grey: ${escape(before.label.toLowerCase())}` : ""})</text>`];
    RATIOS.forEach((name, i) => {
        const y = top + 14 + i * 36;
        const value = results.ratios[name];
        const target = results.targets[name];
        const previous = before?.results.ratios?.[name];
        const unpatched = results.withoutPatches.ratios[name];
        const scale = width / (Math.max(value, target, previous ?? 0, unpatched) * 1.1);
        const w = Math.max(1, value * scale);
        out.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${escape(ratioLabel(name, results))}</text>`);
        if (previous !== undefined) out.push(`<rect x="${left}" y="${y}" width="${Math.max(1, previous * scale).toFixed(1)}" height="5" fill="#bab0ac"/>`);
        out.push(
            `<rect x="${left}" y="${y + 7}" width="${w.toFixed(1)}" height="16" fill="${met(results, name) ? MET : MISSED}"/>`,
            `<rect x="${left}" y="${y + 25}" width="${Math.max(1, unpatched * scale).toFixed(1)}" height="5" fill="${WITHOUT_PATCHES}"/>`,
            `<line x1="${(left + target * scale).toFixed(1)}" y1="${y - 2}" x2="${(left + target * scale).toFixed(1)}" y2="${y + 32}" stroke="black" stroke-dasharray="4 3"/>`,
            `<text x="${left + width + 8}" y="${y + 19}">${value.toFixed(2)} (target ≤ ${target}; without the patches ${unpatched.toFixed(2)}${previous !== undefined ? `; was ${previous.toFixed(2)}` : ""})</text>`,
        );
    });
    return out;
}

/** One stacked bar: the phases of a cold up, with a legend. */
function phasePanel(results: Results, top: number): string[] {
    const left = 20;
    const width = 820;
    const total = PHASES.reduce((sum, p) => sum + results.phases[p], 0);
    const out = [`<text x="20" y="${top}" font-weight="bold">Where a cold up goes (median seconds per phase, critical path)</text>`];
    let x = left;
    PHASES.forEach((phase, i) => {
        const w = (results.phases[phase] / total) * width;
        out.push(`<rect x="${x.toFixed(1)}" y="${top + 12}" width="${w.toFixed(1)}" height="24" fill="${COLORS[i]}"/>`);
        if (w > 34) out.push(`<text x="${(x + w / 2).toFixed(1)}" y="${top + 29}" text-anchor="middle" fill="white">${results.phases[phase].toFixed(1)}</text>`);
        out.push(`<rect x="${left + (i % 2) * 420}" y="${top + 48 + Math.floor(i / 2) * 20}" width="12" height="12" fill="${COLORS[i]}"/>`,
            `<text x="${left + 18 + (i % 2) * 420}" y="${top + 58 + Math.floor(i / 2) * 20}">${escape(PHASE_LABELS[phase])}: ${results.phases[phase].toFixed(2)} s</text>`);
        x += w;
    });
    return out;
}

/** The chart; `before`, when given, draws the earlier run's ratios beside this run's. */
export function renderSvg(results: Results, before?: EarlierRun): string {
    const m = results.medians;
    const u = results.withoutPatches.medians;
    const fleetRows: [string, number][] = Object.entries(results.fleet).map(([n, v]) => [`${n} host${n === "1" ? "" : "s"}`, v]);
    fleetRows.push([`${results.fleetVsCli.hosts} hosts, without the patches`, results.withoutPatches.fleetVsCli.coldUp]);
    fleetRows.push([`${results.fleetVsCli.hosts} hosts, parallel CLI script`, results.fleetVsCli.baselineCli]);
    const referenceRows: [string, number][] = [
        ["cold pulumi up", m.coldUp], ["  without the patches", u.coldUp], ["docker CLI script (baseline)", m.baselineCli],
        ["no-op pulumi preview", m.noopPreview], ["no-op pulumi up", m.noopUp], ["pulumi destroy", m.destroy], ["  without the patches", u.destroy],
    ];
    const ratiosTop = 30;
    const referenceTop = ratiosTop + 14 + 4 * 36 + 30;
    const fleetTop = referenceTop + 14 + referenceRows.length * 24 + 30;
    const memoryTop = fleetTop + 14 + fleetRows.length * 24 + 20;
    const phasesTop = memoryTop + 40;
    const body = [
        ...ratioPanel(results, before, ratiosTop),
        ...barPanel(`Reference topology: median seconds (docker plugin ${results.dockerPlugin}; without the patches: ${results.withoutPatches.dockerPlugin})`, referenceRows, referenceTop),
        ...barPanel("Fleet: cold up of N DinD hosts (median seconds)", fleetRows, fleetTop),
        `<text x="20" y="${memoryTop}" font-weight="bold">Peak memory of a cold up of ${results.memory.hosts} hosts (engine, plugins, program): ${results.memory.pssMiB} MiB PSS, ${results.memory.rssMiB} MiB summed RSS</text>`,
        ...phasePanel(results, phasesTop),
    ];
    const height = phasesTop + 60 + Math.ceil(PHASES.length / 2) * 20 + 20;
    return `<svg xmlns="http://www.w3.org/2000/svg" width="880" height="${height}" font-family="sans-serif" font-size="12">\n` +
        `<rect width="100%" height="100%" fill="white"/>\n${body.join("\n")}\n</svg>\n`;
}

type Measure = [label: string, pick: (r: EarlierResults) => number | undefined];

/** The rows of the before/after table; a run that predates a measure shows "—" for it. */
function measures(after: Results): Measure[] {
    const fleetHosts = after.fleetVsCli.hosts;
    return [
        ["cold up (s)", (r) => r.medians?.coldUp],
        ["docker CLI script (s)", (r) => r.medians?.baselineCli],
        ["no-op preview (s)", (r) => r.medians?.noopPreview],
        ["no-op up (s)", (r) => r.medians?.noopUp],
        ["destroy (s)", (r) => r.medians?.destroy],
        ...Object.keys(after.fleet).map((n): Measure => [`cold up, fleet of ${n} (s)`, (r) => r.fleet?.[n]]),
        [`parallel CLI script, ${fleetHosts} hosts (s)`, (r) => (r.fleetVsCli?.hosts === fleetHosts ? r.fleetVsCli.baselineCli : undefined)],
        [`peak memory of a cold up, ${after.memory.hosts} hosts (MiB PSS)`, (r) => (r.memory?.hosts === after.memory.hosts ? r.memory.pssMiB : undefined)],
        [`peak memory of a cold up, ${after.memory.hosts} hosts (MiB summed RSS)`, (r) => (r.memory?.hosts === after.memory.hosts ? r.memory.rssMiB : undefined)],
        ...RATIOS.map((name): Measure => [`\`${name}\` (target ≤ ${after.targets[name]})`, (r) => r.ratios?.[name]]),
        ...PHASES.map((p): Measure => [`phase: ${PHASE_LABELS[p]} (s)`, (r) => r.phases?.[p]]),
    ];
}

/** What the memory figures are and how they were taken. */
function memoryParagraph(memory: Results["memory"]): string {
    const runs = memory.samples.length;
    const taken = runs === 1 ? "one up" : `medians of ${runs} ups (PSS/RSS: ${memory.samples.map((m) => `${m.pssMiB}/${m.rssMiB}`).join(", ")} MiB)`;
    return `Peak memory of a cold up of ${memory.hosts} hosts: **${memory.pssMiB} MiB** summed PSS (${memory.rssMiB} MiB summed RSS);
${taken} apart from the timed ones. It is the memory of the driver's process tree, sampled every
100 ms from \`/proc\`: the Node.js process that runs the program through the Automation API, the
\`pulumi\` CLI and engine, and every plugin the engine starts (a docker plugin for the outer daemon
and one per inner daemon, that is per host). PSS divides the pages processes share among them;
RSS counts them once per process, an upper bound. The Docker daemons and the DinD containers are
not part of it.`;
}

/** Before/after table: each saved earlier run, this run, and the change from the latest earlier run. */
export function renderComparison(before: EarlierRun[], after: Results): string {
    if (!before.length) return "";
    const show = (v: number | undefined) => (v === undefined ? "—" : String(v));
    const latest = before[before.length - 1].results;
    const rows = measures(after).map(([label, pick]) => {
        const [was, now] = [pick(latest), pick(after)];
        const change = was === undefined || now === undefined ? "—" : `${now - was >= 0 ? "+" : ""}${(now - was).toFixed(2)}`;
        return `| ${label} | ${before.map((run) => show(pick(run.results))).join(" | ")} | ${show(now)} | ${change} |`;
    });
    const sources = before.map((run) => `"${run.label}" is \`bench/${run.file}\` (${run.results.mode} mode, ${run.results.date})`).join("; ");
    return `## Before and after

Medians; ${sources}; "After" is this run. "Change" is After minus ${before[before.length - 1].label}.
A dash: that run did not measure it.

| Measure | ${before.map((run) => run.label).join(" | ")} | After | Change |
|---|${before.map(() => "---|").join("")}---|---|
${rows.join("\n")}

`;
}

/** A phase table: one row per phase, a column per plugin. */
function phaseTable<P extends string>(names: readonly P[], labels: Record<P, string>, pick: (m: PluginMeasures) => Record<P, number>, results: Results): string {
    return `| Phase | ${results.dockerPlugin} | ${results.withoutPatches.dockerPlugin} (without the patches) |
|---|---|---|
${names.map((p) => `| ${labels[p]} | ${pick(results)[p]} | ${pick(results.withoutPatches)[p]} |`).join("\n")}`;
}

/** "met" or "**missed**": a pool's figure against its target (met below it). */
const below = (value: number, target: number) => (value < target ? "met" : "**missed**");

const BUILD_JOBS: [BuildJob, string][] = [
    ["firstJob", "first job on a member (nothing cached anywhere)"],
    ["secondJob", "second job on the same member, after its reset"],
    ["freshHost", "first job on a member that never built it (imports the registry's cache)"],
];

/** The Pools section: lease and release as jobs see them, a job's build, and jobs cycling through a pool. */
export function renderPools(pools: PoolResults): string {
    const { lease, release, build, cycles, targets } = pools;
    const left = `${release.left.containers} containers, ${release.left.volumes} volumes and ${release.left.networks} networks`;
    const cached = (counts: number[]) => (new Set(counts).size === 1 ? String(counts[0]) : counts.join(", "));
    const holders = Object.entries(cycles.maxHolders).sort().map(([member, n]) => `${member} ${n}`).join(", ");
    const none = (items: string[]) => (items.length ? `**${items.join("; ")}**` : "none");
    return `## Pools

Measured by \`bench/pools.ts\`, the last part of \`npm run bench\` (on its own: \`npm run bench -- --only pools\`),
on ${pools.date} (${pools.mode} mode; load average ${pools.loadAverage}), on a pool of
${pools.poolSize} DinD hosts with a build-cache registry, made by one \`up\` of a stack of its own. Every
\`lease\` and \`release\` is a process of its own, as a job's step runs it (\`node commands/bundled.js\`,
what \`npm run lease\` runs, without npm's own start), timed from its start to its exit.

| Measure | Median (s) | p95 (s) | Runs | Target |
|---|---|---|---|---|
| \`lease\` with a free member (\`--wait 0\`) | ${lease.median} | ${lease.p95} | ${lease.runs} | median < ${targets.leaseMedian} s: ${below(lease.median, targets.leaseMedian)} |
| \`release\` of a member a job left ${left} on (reset) | ${release.median} | ${release.p95} | ${release.runs} | median < ${targets.releaseMedian} s: ${below(release.median, targets.releaseMedian)} |
| the same, as the command reports its own time (without its process's start) | ${release.inCommand} | | ${release.runs} | |

A job's \`docker buildx build\` of a Dockerfile of ${build.steps} RUN steps (after a \`FROM\` of a preloaded
image; two steps take a second of work) on a leased member, the same command in every job: the
pool's registry as \`--cache-from\` and \`--cache-to\` (\`mode=max\`). Medians of ${build.runs} rounds, each round
a Dockerfile no member and no registry held before; "cached" is how many RUN steps BuildKit took
from a cache, round by round.

| Job | Median (s) | Steps cached |
|---|---|---|
${BUILD_JOBS.map(([job, label]) => `| ${label} | ${build.medians[job]} | ${cached(build.cachedSteps[job])} of ${build.steps} |`).join("\n")}

${cycles.cycles} lease/use/release cycles on the pool of ${pools.poolSize} by ${cycles.workers} concurrent workers (${cycles.cycles / cycles.workers} each; the
job: a container of a fixed name and a volume on the member, which a second holder at the same
time or a leftover of the job before would make fail) took ${cycles.seconds} s. Medians (p95): a lease,
waiting for a member included, ${cycles.medians.lease} s (${cycles.p95.lease} s); a release ${cycles.medians.release} s (${cycles.p95.release} s); a whole
cycle ${cycles.medians.cycle} s (${cycles.p95.cycle} s).

| Check | Result |
|---|---|
| Most holders of a member at one time | ${holders} |
| A member handed to a worker while another held it | ${none(cycles.overlaps)} |
| Left behind: inside the members (containers, volumes, networks not declared) and on the outer daemon (the stack's objects but the lease markers, ${cycles.outerObjects.before} before, ${cycles.outerObjects.after} after) | ${none(cycles.leftovers)} |
| Lease markers on the outer daemon (the leases' state) | ${cycles.markers.before} before, ${cycles.markers.after} after, at most ${cycles.markers.max} during the cycles (counted every second) |

`;
}

export function renderMarkdown(results: Results, notes: string, before: EarlierRun[] = []): string {
    const m = results.medians;
    const u = results.withoutPatches;
    const verdict = (name: keyof Ratios) =>
        `| \`${name}\` | ${ratioLabel(name, results)} | ${results.ratios[name]} | ≤ ${results.targets[name]} | ${met(results, name) ? "met" : "**missed**"} | ${u.ratios[name]} |`;
    const machine = Object.entries(results.machine).map(([k, v]) => `${k}: ${v}`).join("; ");
    const fleetVsCli = results.fleetVsCli;
    return `# Benchmarks

For: whoever changes what \`up\` does or how fast, and whoever sizes a machine for a fleet. What a
cold \`up\`, a no-op preview and a fleet cost against plain docker CLI scripts, measured by
\`npm run bench\` (see [testing.md](testing.md#benchmarks) for how to run it).

Generated by \`npm run bench${results.mode === "quick" ? " -- --quick" : ""}\` on ${results.date} (${results.mode} mode: medians of ${results.runs} runs,
\`pulumi\` with each docker plugin and the baseline taken in turn in each round). Machine: ${machine}.
Raw samples and medians: [\`bench/results.json\`](../bench/results.json).

![benchmark chart](benchmarks.svg)

Reference topology (\`bench/fixtures/reference.yaml\`): one DinD host with mutual TLS, a preloaded
image and three nested containers, plus one DooD client. The baseline (\`bench/baseline.sh\`) builds
the same with plain docker CLI calls, certificates (openssl) included, and waits for the same
readiness.

Every \`pulumi\` measure is taken twice in the same rounds: with the docker plugin as this project
builds it, **${results.dockerPlugin}** (the Terraform upstream with the project's patches,
\`toolchain/modules/pulumi-resource-docker/patches\`), and with **${u.dockerPlugin}**, the same upstream commit
built without them, which is what the upstream does today. Each ran from a copy of its own
binary, and each cold up checked that the engine ran that binary and no other.

| Measure | ${results.dockerPlugin}: median (s) | ${u.dockerPlugin} (without the patches): median (s) |
|---|---|---|
| cold \`pulumi up\` (Automation API, fresh stack) | ${m.coldUp} | ${u.medians.coldUp} |
| baseline docker CLI script | ${m.baselineCli} | ${m.baselineCli} |
| no-op \`pulumi preview\` on the deployed stack | ${m.noopPreview} | ${u.medians.noopPreview} |
| no-op \`pulumi up\` on the deployed stack | ${m.noopUp} | ${u.medians.noopUp} |
| \`pulumi destroy\` | ${m.destroy} | ${u.medians.destroy} |

| Fleet (DinD hosts, 3 nested containers each) | ${Object.keys(results.fleet).join(" | ")} |
|---|${Object.keys(results.fleet).map(() => "---").join("|")}|
| cold up, median (s), ${results.dockerPlugin} | ${Object.values(results.fleet).join(" | ")} |
| cold up, median (s), ${u.dockerPlugin} (without the patches) | ${Object.keys(results.fleet).map((n) => u.fleet[n]).join(" | ")} |

A fleet of ${fleetVsCli.hosts} against a person's script: \`bench/baseline.sh fleet-up\` brings up the
same ${fleetVsCli.hosts} hosts in parallel (\`&\` and \`wait\`), each as the reference baseline does
(certificates, volume, privileged container with a TLS endpoint, wait until the inner daemon
answers, preload, network and three nested containers). Medians, in the same rounds as the cold
ups: the script ${fleetVsCli.baselineCli} s, the cold up ${fleetVsCli.coldUp} s (${u.fleetVsCli.coldUp} s without the patches).

${memoryParagraph(results.memory)}

| Ratio | Of | Value | Target | | Without the patches |
|---|---|---|---|---|---|
${RATIOS.map(verdict).join("\n")}

Where a cold up goes (median of the reference runs, along its critical path; seconds):

${phaseTable(PHASES, PHASE_LABELS, (r) => r.phases, results)}

Where the cold up of the fleet of ${fleetVsCli.hosts} goes (medians; the same phases, each ending when the
last host finishes it; seconds):

${phaseTable(PHASES, PHASE_LABELS, (r) => r.fleetPhases, results)}

Where a no-op preview goes (median of the reference runs; seconds):

${phaseTable(PREVIEW_PHASES, PREVIEW_PHASE_LABELS, (r) => r.previewPhases, results)}

Fixed costs measured on their own: loading the program in a fresh Node.js process (ts-node
compile, @pulumi/pulumi and dependencies) ${results.startup.programLoad} s; the docker plugin's start
${results.startup.dockerPluginStart} s.

${results.pools ? renderPools(results.pools) : ""}${renderComparison(before, results)}${notes.trim()}
`;
}
