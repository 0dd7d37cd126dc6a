// Jobs on a pool, as CI jobs run them: `lease` and `release` each a process of their own (as
// `npm run lease` runs it), the docker CLI on the leased host with the environment lease printed,
// a job's build, many jobs cycling through a pool. Shared by the real lane's pools test and the
// pools benchmark (bench/pools.ts).
import { spawn } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LEASE_MARKER_ROLE, ROLE_LABEL } from "../../components/markers";
import { REPO_ROOT } from "../../driver/stack";
import { docker, dockerOk, labelled, PASSPHRASE } from "./harness";

/** The pools' outer daemon: the shared one. */
export const OUTER = "unix:///var/run/docker.sock";

export interface Ran {
    code: number | null;
    stdout: string;
    stderr: string;
    /** Wall time of the whole process, start-up included: what a job's step waits. */
    seconds: number;
}

/** Runs a command (lease, release, status) as `npm run <command>` does, in a process of its own. */
export function command(name: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
    const started = performance.now();
    // A job's environment: the pools' daemon as DOCKER_HOST, nothing of a lease unless given.
    const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("DIND_LEASE_") && !key.startsWith("DOCKER_")));
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "commands", "bundled.js"), `commands/${name}.ts`, ...args], {
        cwd: REPO_ROOT,
        env: { ...base, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, DOCKER_HOST: OUTER, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 })));
}

/** What `lease --json` printed: the job's environment. */
export type Lease = Record<string, string> & { DIND_LEASE_ID: string; DIND_LEASE_HOST: string; DOCKER_HOST: string };

export function leased(ran: Ran): Lease {
    if (ran.code !== 0) throw new Error(`lease failed (exit ${ran.code}):\n${ran.stderr}${ran.stdout}`);
    const printed = JSON.parse(ran.stdout) as Lease & { notes: string[] };
    const { notes: _notes, ...env } = printed;
    return env as Lease;
}

/** The environment a job gets from its lease (what `set -a; . lease.env` gives a shell). */
export function jobEnv(lease: Lease): Record<string, string> {
    return Object.fromEntries(Object.entries(lease).filter(([key]) => key.startsWith("DOCKER_") || key.startsWith("DIND_")));
}

/** Releases by the lease's own environment, as a job's last step does. */
export const release = (lease: Lease, ...extra: string[]) => command("release", extra, jobEnv(lease));

/** Runs the docker CLI on the leased host, as the job does. */
export function onLeased(lease: Lease, args: string[]): string {
    const result = docker(args, { DOCKER_CONTEXT: "", ...jobEnv(lease) });
    if (result.status !== 0) throw new Error(`docker ${args.join(" ")} on ${lease.DIND_LEASE_HOST} failed (${result.status}): ${result.stderr.trim()}`);
    return result.stdout.trim();
}

/** Lines of `docker <kind> ls` inside a member, read through its outer container (not through any lease). */
export function inside(member: string, kind: "ps" | "volume" | "network" | "images"): string[] {
    const args = { ps: ["ps", "-a", "--format", "{{.Names}}"], volume: ["volume", "ls", "--format", "{{.Name}}"], network: ["network", "ls", "--format", "{{.Name}}"], images: ["images", "--format", "{{.Repository}}:{{.Tag}}"] }[kind];
    return dockerOk(["exec", member, "docker", ...args]).split("\n").filter(Boolean).sort();
}

/** What a job leaves for the reset, the figure: 3 networks, 5 volumes, 20 containers of `image` on them (10 running). */
export const LEFT_BEHIND = { containers: 20, volumes: 5, networks: 3 };

export function leaveBehind(lease: Lease, image: string) {
    for (let i = 1; i <= LEFT_BEHIND.networks; i++) onLeased(lease, ["network", "create", `job-net-${i}`]);
    for (let i = 1; i <= LEFT_BEHIND.volumes; i++) onLeased(lease, ["volume", "create", `job-vol-${i}`]);
    for (let i = 1; i <= LEFT_BEHIND.containers; i++) {
        const run = i <= LEFT_BEHIND.containers / 2 ? ["run", "-d"] : ["create"];
        onLeased(lease, [...run, "--name", `job-${i}`, "--network", `job-net-${(i % LEFT_BEHIND.networks) + 1}`, "-v", `job-vol-${(i % LEFT_BEHIND.volumes) + 1}:/data`, image, "sleep", "600"]);
    }
}

/** The steps of a job's Dockerfile after its FROM: two take a second of work, as a compile step would. */
export const JOB_BUILD_STEPS = ["one", "two", "three", "four", "five"];

/**
 * A job's `docker buildx build` of a Dockerfile of FROM `base` and JOB_BUILD_STEPS (each RUN
 * printing `salt`, so that a new salt is a Dockerfile no cache holds), tagged `tag` and loaded. It
 * runs the member's own docker CLI (this machine's has no buildx) on the daemon the lease names,
 * with `cache` options (--cache-from, --cache-to) as the job writes them. Returns how many RUN steps
 * BuildKit took from a cache, the wall time of the build and its output.
 */
export function jobBuild(lease: Lease, { base, tag, salt = "", cache = [] }: { base: string; tag: string; salt?: string; cache?: string[] }): { cached: number; seconds: number; output: string } {
    const steps = JOB_BUILD_STEPS.map((step, i) => `'RUN echo ${step} ${salt} > /${step}${i < 2 ? " && sleep 1" : ""}'`);
    const script = `ctx=$(mktemp -d) && printf '%s\\n' 'FROM ${base}' ${steps.join(" ")} > $ctx/Dockerfile && `
        + `docker buildx build --progress=plain ${cache.join(" ")} -t ${tag} --load $ctx 2>&1; status=$?; rm -rf $ctx; exit $status`;
    const started = performance.now();
    const output = dockerOk(["exec", lease.DIND_LEASE_HOST, "sh", "-c", script]);
    const seconds = (performance.now() - started) / 1000;
    // Plain progress names a step "#N [i/n] RUN ..." (again whenever another step's lines came between) and says "#N CACHED" when it was.
    const named = new Set([...output.matchAll(/^#(\d+) \[[^\]]*\] RUN echo /gm)].map((m) => m[1]));
    const cached = new Set([...output.matchAll(/^#(\d+) CACHED$/gm)].map((m) => m[1]));
    return { cached: [...named].filter((step) => cached.has(step)).length, seconds, output };
}

/** The names of a stack's lease markers on the outer daemon. */
export function leaseMarkers(label: string): string[] {
    return dockerOk(["ps", "-a", "--filter", `label=${label}`, "--filter", `label=${ROLE_LABEL}=${LEASE_MARKER_ROLE}`, "--format", "{{.Names}}"]).split("\n").filter(Boolean);
}

/** The outer daemon's objects of a stack but its lease markers (whose number changes with every lease). */
export function objectsButMarkers(label: string): string[] {
    const markers = new Set(leaseMarkers(label).map((name) => `container ${name}`));
    return labelled(label).filter((entry) => !markers.has(entry)).sort();
}

export interface Cycles {
    /** Wall time of each lease process, each release process and each whole cycle, in the order they ended. */
    leaseSeconds: number[];
    releaseSeconds: number[];
    cycleSeconds: number[];
    /** The most holders any member had at one time, by member. */
    maxHolders: Record<string, number>;
    /** Every time a member was handed to a worker while another held it. */
    overlaps: string[];
    /** Wall time of all the cycles. */
    seconds: number;
}

/**
 * `workers` workers, each running `cyclesPerWorker` jobs in a row: lease (waiting for a member,
 * with `leaseArgs`), a job's container of a fixed name and a volume on the member (a second holder
 * at the same time, or a leftover of the job before, would make it fail), release.
 */
export async function cycleJobs({ workers, cyclesPerWorker, image, leaseArgs }: { workers: number; cyclesPerWorker: number; image: string; leaseArgs: (holder: string) => string[] }): Promise<Cycles> {
    const cycles: Cycles = { leaseSeconds: [], releaseSeconds: [], cycleSeconds: [], maxHolders: {}, overlaps: [], seconds: 0 };
    const holders = new Map<string, string[]>();
    const worker = async (w: number) => {
        for (let cycle = 1; cycle <= cyclesPerWorker; cycle++) {
            const started = performance.now();
            const holder = `cycler-${w}`;
            const ran = await command("lease", leaseArgs(holder));
            cycles.leaseSeconds.push(ran.seconds);
            const lease = leased(ran);
            const host = lease.DIND_LEASE_HOST;
            const now = [...(holders.get(host) ?? []), holder];
            if (now.length > 1) cycles.overlaps.push(`${host}: ${now.join(" and ")}`);
            holders.set(host, now);
            cycles.maxHolders[host] = Math.max(cycles.maxHolders[host] ?? 0, now.length);
            onLeased(lease, ["create", "--name", "the-job", "-v", "job-data:/data", image, "true"]);
            holders.set(host, holders.get(host)!.filter((h) => h !== holder));
            const given = await release(lease);
            if (given.code !== 0) throw new Error(`release of ${host} by ${holder} failed (exit ${given.code}):\n${given.stderr}`);
            cycles.releaseSeconds.push(given.seconds);
            cycles.cycleSeconds.push((performance.now() - started) / 1000);
        }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w + 1)));
    cycles.seconds = (performance.now() - started) / 1000;
    return cycles;
}

/** Removes the TLS directories of the members' leases not released by their own id (a forced or a refused release leaves them, as on a runner). */
export function removeLeaseTlsDirs(members: string[]) {
    for (const entry of readdirSync(os.tmpdir()).filter((e) => members.some((m) => e.startsWith(`dind-lease-${m}-`)))) {
        rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
    }
}
