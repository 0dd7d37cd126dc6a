// One run of the engine (up, preview, refresh or destroy) as the commands make it, prepared so that
// an interrupted or failed run never needs hand work: the outer daemons answer, stale locks go,
// pending operations are resolved, orphaned plugins stop, a DinD host that is down is left alone,
// and a SIGTERM or SIGINT lets the engine cancel and release the stack's lock before the run ends.
import { Stack } from "@pulumi/pulumi/automation";
import { UserError } from "../components/errors";
import { loadStackFile, StackFileError } from "../stackfile/load";
import { StackFile } from "../stackfile/schema";
import { removeContextsAfterDestroy } from "./contexts";
import { checkOuterDaemons, downHosts, dropFromState, RetainedHostDownError } from "./preflight";
import { killOrphanedPlugins, lockDirsOf, readLocks, releaseStaleLocks, resolvePendingOperations, StackLockedError } from "./recovery";
import { Deployment, savedDeployment } from "./state";
import { asDriverRuns, backendUrlOf, openStack, PROJECT_NAME, stackFileOf, StackOptions, useV8StackTraces } from "./stack";

export type EngineCommand = "up" | "preview" | "refresh" | "destroy";

export interface EngineRunOptions {
    stack: StackOptions;
    /** destroy: drop from the state the nested resources of a host that is down and whose storage is retained. */
    dropNested?: boolean;
}

/** Ends a run that a signal cancelled; the command exits 143 (SIGTERM) or 130 (SIGINT). */
export class CancelledError extends UserError {
    readonly exitCode: number;

    constructor(signal: NodeJS.Signals) {
        super(`cancelled by ${signal}; the stack's lock is released and the next run goes on from here`);
        this.exitCode = signal === "SIGINT" ? 130 : 143;
    }
}

/**
 * SIGTERM/SIGINT while the engine runs: let it cancel and release the stack's lock, then exit
 * 143/130. Dying at once would close the CLI's stdout pipe and kill it before it unlocks.
 */
class Cancellation {
    readonly controller = new AbortController();
    received?: NodeJS.Signals;
    private output = "";

    /** Keeps the tail of the engine's output, where it reports a signal it received itself. */
    watch(text: string) {
        this.output = (this.output + text).slice(-4096);
    }

    install() {
        const onSignal = (signal: NodeJS.Signals) => {
            if (this.received) {
                console.error(`[driver] ${signal} again: still waiting for the engine to cancel and release the lock`);
                return;
            }
            this.received = signal;
            console.error(`[driver] ${signal}: cancelling; waiting for the engine to stop and release the stack's lock`);
            // A signal to the whole process group (Ctrl-C, a cancelled CI job) reached the CLI too, and it
            // is already cancelling; a second one would make it terminate at once. Forward only if it did not.
            setTimeout(() => {
                if (!/(SIGTERM|SIGINT|\^C) received; cancelling/.test(this.output)) this.controller.abort();
            }, 1500).unref();
        };
        process.on("SIGTERM", onSignal);
        process.on("SIGINT", onSignal);
    }

    /** Stops between steps once a signal came. */
    check() {
        if (this.received) throw new CancelledError(this.received);
    }
}

const say = (lines: string[]) => lines.forEach((line) => console.error(`[driver] ${line}`));

/** The flags that select the same stack again, for messages that tell the user what to run. */
function stackArgs(options: StackOptions): string {
    const parts = [`--stack ${options.stackName}`];
    if (options.stackFile) parts.push(`--file ${options.stackFile}`);
    if (options.backendUrl) parts.push(`--backend ${options.backendUrl}`);
    if (options.workDir) parts.push(`--work-dir ${options.workDir}`);
    return parts.join(" ");
}

/** The stack's deployment: from the file backend's files when they tell, else exported by the CLI. */
async function deploymentOf(stack: Stack, options: StackOptions): Promise<Deployment> {
    return savedDeployment(backendUrlOf(options), PROJECT_NAME, options.stackName) ?? ((await stack.exportStack()).deployment as Deployment);
}

/** Outer daemons answer, stale locks go, pending operations are resolved, orphaned plugins stop. */
async function prepare(command: EngineCommand, options: StackOptions, cancellation: Cancellation): Promise<Stack> {
    const updates = command !== "preview";
    const stackFile = stackFileOf(options);
    // First, as it needs neither the CLI nor the program: a run that holds the stack fails this one at once.
    const lockDirs = lockDirsOf(backendUrlOf(options), PROJECT_NAME, options.stackName);
    if (updates && lockDirs) say(releaseStaleLocks(lockDirs, options.stackName));
    let parsed: StackFile | undefined;
    try {
        parsed = loadStackFile(stackFile);
    } catch (error) {
        if (!(error instanceof StackFileError)) throw error;
        // preview and up stop here, before the engine or any plugin starts; destroy and refresh do not need the file.
        if (command === "up" || command === "preview") throw error;
    }
    if (parsed) await checkOuterDaemons(parsed, stackFile);
    cancellation.check();
    say(await killOrphanedPlugins());
    // Read once: whether the stack exists, then (for an update) whether anything is pending.
    const saved = savedDeployment(backendUrlOf(options), PROJECT_NAME, options.stackName);
    const stack = await openStack(options, saved);
    if (!updates) return stack;
    cancellation.check();
    say(await resolvePendingOperations(stack, `${PROJECT_NAME}/${options.stackName}`, saved ?? undefined));
    return stack;
}

/** Refresh and destroy leave alone what lives inside a DinD host that is not running. */
async function sparedNested(stack: Stack, command: "refresh" | "destroy", options: EngineRunOptions): Promise<string[]> {
    const down = await downHosts(await deploymentOf(stack, options.stack));
    for (const host of down) console.error(`[driver] DinD host ${host.name}: container ${host.container} is ${host.condition}`);
    if (command === "refresh") {
        const spared = down.flatMap((h) => h.nested);
        if (spared.length) console.error(`[driver] refresh skips the ${spared.length} resource(s) inside those hosts (their inner daemon cannot answer); up starts the hosts, a later refresh checks them`);
        return spared;
    }
    const blocking = down.filter((h) => h.retained && h.nested.length > 0);
    if (blocking.length && !options.dropNested) throw new RetainedHostDownError(blocking, stackArgs(options.stack));
    const dropped = blocking.flatMap((h) => h.nested);
    await dropFromState(stack, dropped);
    if (dropped.length) console.error(`[driver] dropped ${dropped.length} nested resource(s) from the state; their data stays in the retained volume(s) ${blocking.map((h) => h.volume).join(", ")}`);
    return [];
}

/**
 * Runs the engine on a stack, its output streamed to stdout, as `npm run up` (and preview, refresh,
 * destroy) do. Owns the process while it runs: it formats stack traces with V8 (see
 * useV8StackTraces) and handles SIGTERM and SIGINT. Fails with a CancelledError after a signal.
 */
export async function runEngine(command: EngineCommand, options: EngineRunOptions): Promise<void> {
    useV8StackTraces();
    const cancellation = new Cancellation();
    cancellation.install();
    const onOutput = (out: string) => {
        cancellation.watch(out);
        process.stdout.write(out);
    };
    const signal = cancellation.controller.signal;
    try {
        const stack = await prepare(command, options.stack, cancellation);
        cancellation.check();
        const lean = asDriverRuns(stack);
        if (command === "up") await lean.up({ onOutput, signal });
        else if (command === "preview") await lean.preview({ onOutput, diff: true, signal });
        else if (command === "refresh") await lean.refresh({ onOutput, signal, exclude: await sparedNested(stack, command, options) });
        else {
            await sparedNested(stack, command, options);
            await lean.destroy({ onOutput, signal });
            removeContextsAfterDestroy(options.stack.stackName);
        }
    } catch (error) {
        // A signal that also reached a CLI step (stack select, export) ends it with some other error.
        if (cancellation.received) throw new CancelledError(cancellation.received);
        // Two runs started together both passed the lock check: name the one that won.
        const lockDirs = lockDirsOf(backendUrlOf(options.stack), PROJECT_NAME, options.stack.stackName);
        if (/currently locked/.test((error as Error).message) && lockDirs) throw new StackLockedError(options.stack.stackName, readLocks(lockDirs));
        throw error;
    }
}
