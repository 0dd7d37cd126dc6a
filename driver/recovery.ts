// What the driver does before an operation so that an interrupted run (SIGKILL, a lost CI runner,
// an out-of-memory kill) never needs hand work: stale locks, pending operations, orphaned plugins.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { EngineClient } from "../components/engineApi";
import { UserError } from "../components/errors";
import { DOCKER_CONTAINER_TYPE, STACK_LABEL } from "../components/markers";
import { Deployment, fileBackendDir, PendingOperation, providerEndpoint, StateResource } from "./state";

/** What the file backend writes in `<backend>/.pulumi/locks/.../<stack>/<lock id>.json` while it holds a stack. */
export interface LockContent {
    pid: number;
    username: string;
    hostname: string;
    timestamp: string;
}

export interface StackLock extends LockContent {
    file: string;
}

/** Thrown when a live process, or another machine, holds the stack. */
export class StackLockedError extends UserError {
    constructor(readonly stackName: string, readonly holders: StackLock[]) {
        super(`stack ${stackName} is in use by ${holders.map(describeHolder).join("; ")}: wait for that run to finish `
            + `(two runs of one stack at once would corrupt its state). If you know it is gone, delete ${holders.map((h) => h.file).join(" ")}`);
    }
}

function describeHolder(lock: StackLock): string {
    const where = lock.hostname === os.hostname() ? `pid ${lock.pid} (running)` : `pid ${lock.pid} on another machine, ${lock.hostname}`;
    return `${lock.username}@${lock.hostname} ${where} since ${lock.timestamp}`;
}

/** The lock directory of a stack in a file:// backend; undefined for other backends. */
export function lockDirsOf(backendUrl: string, project: string, stackName: string): string[] | undefined {
    const dir = fileBackendDir(backendUrl);
    if (!dir) return undefined;
    const locks = path.join(dir, "locks");
    // Project-scoped layout (the default) and the legacy one.
    return [path.join(locks, "organization", project, stackName), path.join(locks, stackName)];
}

export function readLocks(dirs: string[]): StackLock[] {
    const locks: StackLock[] = [];
    for (const dir of dirs) {
        let names: string[];
        try {
            names = readdirSync(dir).filter((name) => name.endsWith(".json"));
        } catch {
            continue;
        }
        for (const name of names) {
            const file = path.join(dir, name);
            try {
                locks.push({ file, ...(JSON.parse(readFileSync(file, "utf8")) as LockContent) });
            } catch {
                // Being written or removed right now: the engine's own check will see it.
            }
        }
    }
    return locks;
}

/** True while `pid` runs: a zombie (exited, not yet reaped by its new parent) does not. */
export function processRunning(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
    try {
        // /proc/PID/stat: "pid (comm) state ...", comm may hold spaces and parentheses.
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return true;
    }
}

/** A lock whose owner provably no longer runs: written on this machine by a process that is gone. */
export function isStale(lock: LockContent): boolean {
    return lock.hostname === os.hostname() && !processRunning(lock.pid);
}

/**
 * Removes the stack's stale locks, saying so, and fails naming the holder when a live process or
 * another machine holds it. Returns what it did, one line each.
 */
export function releaseStaleLocks(dirs: string[], stackName: string): string[] {
    const locks = readLocks(dirs);
    const live = locks.filter((lock) => !isStale(lock));
    if (live.length > 0) throw new StackLockedError(stackName, live);
    return locks.map((lock) => {
        rmSync(lock.file, { force: true });
        // The backend's blob store keeps its metadata beside each file.
        rmSync(`${lock.file}.attrs`, { force: true });
        return `removed the lock of stack ${stackName} left by ${lock.username}@${lock.hostname} pid ${lock.pid} (${lock.timestamp}): that process no longer runs (${lock.file})`;
    });
}

/**
 * A docker container the interrupted run was creating: if the daemon has one of that name carrying
 * this stack's label that the state does not know, it was never confirmed (maybe never started or
 * never healthy), so it is removed and the next `up` creates it afresh; its named volume stays.
 */
async function resolvePendingContainer(resources: StateResource[], op: PendingOperation, stackLabel: string): Promise<string> {
    const name = op.resource.inputs?.name;
    const daemon = providerEndpoint(resources, op.resource);
    if (typeof name !== "string" || !daemon) return `${op.resource.urn}: interrupted while creating; left to the next up`;
    const engine = new EngineClient(daemon, { timeoutMs: 10_000 });
    const listed = await engine.listContainers({ all: true, filters: { name: [`^/${name}$`] } });
    const found = listed.find((c) => c.Labels?.[STACK_LABEL] === stackLabel);
    if (!found) return `container ${name}: interrupted while creating, not on ${daemon.host}; the next up creates it`;
    if (resources.some((r) => r.id === found.Id)) return `container ${name}: interrupted while creating, but the state has it; nothing to do`;
    await engine.removeContainer(found.Id, { force: true, volumes: true });
    return `container ${name}: interrupted while creating; removed the unconfirmed container ${found.Id.slice(0, 12)} from ${daemon.host} (its volumes stay); the next up creates it again`;
}

/**
 * Resolves what an interrupted run left pending: checks pending container creates against the
 * daemon, then clears the pending operations (the engine refuses to go on with pending creates in a
 * non-interactive run). `saved`, the deployment as the backend's file holds it, spares the export
 * when nothing is pending. Returns what it did, one line each.
 */
export async function resolvePendingOperations(stack: Stack, stackLabel: string, saved?: Deployment): Promise<string[]> {
    if (saved && !saved.pending_operations?.length) return [];
    const exported = await stack.exportStack();
    const deployment = exported.deployment as Deployment;
    const pending = deployment.pending_operations ?? [];
    if (pending.length === 0) return [];
    const resources = deployment.resources ?? [];
    const done: string[] = [];
    for (const op of pending) {
        if (op.type === "creating" && op.resource.type === DOCKER_CONTAINER_TYPE) {
            done.push(await resolvePendingContainer(resources, op, stackLabel));
        } else {
            done.push(`${op.resource.urn}: interrupted while ${op.type}; cleared (the next up or refresh checks it again)`);
        }
    }
    deployment.pending_operations = [];
    await stack.importStack(exported);
    return done;
}

/** One process's command line, or undefined when it is gone or unreadable. */
function commandLine(pid: string): string[] | undefined {
    try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
        return undefined;
    }
}

/** TCP ports something listens on here (IPv4 and IPv6). */
function listeningPorts(): Set<number> {
    const ports = new Set<number>();
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        let text = "";
        try {
            text = readFileSync(table, "utf8");
        } catch {
            continue;
        }
        for (const line of text.split("\n").slice(1)) {
            const fields = line.trim().split(/\s+/);
            // st 0A is LISTEN
            if (fields[3] === "0A") ports.add(parseInt(fields[1].split(":").pop()!, 16));
        }
    }
    return ports;
}

export interface PluginProcess {
    pid: number;
    command: string[];
    enginePort: number;
}

/**
 * Pulumi plugin processes (providers, language hosts, analyzers) on this machine, with the port of
 * the engine they serve: the engine passes its address `127.0.0.1:PORT` as an argument.
 */
export function pluginProcesses(): PluginProcess[] {
    const found: PluginProcess[] = [];
    for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
        const command = commandLine(pid);
        if (!command || !command.some((arg) => /pulumi-(resource|language|analyzer)-/.test(path.basename(arg)))) continue;
        const address = command.find((arg) => /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(arg));
        if (!address) continue;
        found.push({ pid: Number(pid), command, enginePort: Number(address.split(":").pop()) });
    }
    return found;
}

/** Kills plugin processes whose engine no longer listens: they belong to a run that was killed. */
export async function killOrphanedPlugins(): Promise<string[]> {
    const listening = listeningPorts();
    const orphans = pluginProcesses().filter((p) => !listening.has(p.enginePort));
    for (const orphan of orphans) signal(orphan.pid, "SIGTERM");
    const deadline = Date.now() + 3000;
    while (orphans.some((o) => processRunning(o.pid)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    for (const orphan of orphans) if (processRunning(orphan.pid)) signal(orphan.pid, "SIGKILL");
    return orphans.map((o) => `stopped ${path.basename(o.command[0])} pid ${o.pid}: a plugin of a run that was killed (its engine at port ${o.enginePort} is gone)`);
}

function signal(pid: number, name: NodeJS.Signals) {
    try {
        process.kill(pid, name);
    } catch {
        // Already gone.
    }
}
