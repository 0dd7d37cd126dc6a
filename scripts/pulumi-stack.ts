// Runs the provisioner through Pulumi's Automation API with the program in this process.
// This needs the `pulumi` CLI but no Node.js language-host binary, so it works with the
// toolchain scripts/bootstrap builds offline; with an official install, `pulumi up` works too.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { DestroyOptions, LocalWorkspace, PreviewOptions, RefreshOptions, Stack, UpOptions } from "@pulumi/pulumi/automation";
import { loadStackFile, StackFileError } from "../stackfile/load";
import { StackFile } from "../stackfile/schema";
import { removeContextsAfterDestroy } from "./contexts";
import { checkOuterDaemons, downHosts, dropFromState, RetainedHostDownError } from "./preflight";
import { killOrphanedPlugins, lockDirsOf, readLocks, releaseStaleLocks, resolvePendingOperations, StackLockedError } from "./recovery";
import { Deployment, savedDeployment } from "./state";
import { clientEnvironment, shellExports } from "./stackOutputs";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const PROJECT_NAME = "dind-provisioner";
/** Used only for the `local` stack when no passphrase is set: its state never leaves this machine. */
const LOCAL_PASSPHRASE = "dind-provisioner-local";

/**
 * Makes this process format stack traces with V8's own formatter instead of ts-node's source
 * maps, unless DIND_PROVISIONER_SOURCE_MAPPED_STACKS=true. Why: ts-node source-maps every frame
 * of every stack trace, and the Pulumi SDK takes a full stack trace for each resource it
 * registers (for source positions), which made the program run 2.5 times slower for a fleet of
 * 4 hosts. V8's formatting keeps file names; line numbers are then those of the transpiled code.
 * It changes the whole process, so it is called only by what owns the process and runs the
 * program in it: main() below, and the throwaway-stack harness of the real lane and benchmarks.
 */
export function useV8StackTraces(env: NodeJS.ProcessEnv = process.env): void {
    if (env.DIND_PROVISIONER_SOURCE_MAPPED_STACKS !== "true") delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
}

export interface StackOptions {
    stackName: string;
    /** The stack file; default: stacks/<stackName>.yaml. */
    stackFile?: string;
    /** Pulumi backend URL; default: $PULUMI_BACKEND_URL, else a file backend in the repository's .pulumi/. */
    backendUrl?: string;
    /** Directory holding Pulumi.yaml and node_modules (dynamic providers run from it); default: the repository. */
    workDir?: string;
    /** Extra environment for the engine. */
    env?: Record<string, string>;
}

export function stackFileOf(options: StackOptions): string {
    return options.stackFile ?? path.join(REPO_ROOT, "stacks", `${options.stackName}.yaml`);
}

export function backendUrlOf(options: StackOptions): string {
    return options.backendUrl ?? process.env.PULUMI_BACKEND_URL ?? `file://${path.join(REPO_ROOT, ".pulumi")}`;
}

/** The names under which a work directory holds the Pulumi project file. */
const PROJECT_FILES = ["Pulumi.yaml", "Pulumi.yml", "Pulumi.json"];

/**
 * Opens the stack with the provisioner as its inline program, creating it when the backend has
 * none. A file backend's files say whether it exists, which spares a CLI call (0.15 s): the
 * `pulumi stack select` that would only check it (every command names the stack with --stack), or
 * for a new stack the select that fails before `pulumi stack init`.
 */
export async function openStack(options: StackOptions,
    saved = savedDeployment(backendUrlOf(options), PROJECT_NAME, options.stackName)): Promise<Stack> {
    const stackFile = stackFileOf(options);
    const env: Record<string, string> = {
        PULUMI_BACKEND_URL: backendUrlOf(options),
        PULUMI_SKIP_UPDATE_CHECK: "true",
        ...options.env,
    };
    // The file backend does not create its directory.
    if (env.PULUMI_BACKEND_URL.startsWith("file://")) mkdirSync(env.PULUMI_BACKEND_URL.slice("file://".length), { recursive: true });
    if (!process.env.PULUMI_CONFIG_PASSPHRASE && !process.env.PULUMI_CONFIG_PASSPHRASE_FILE && !env.PULUMI_CONFIG_PASSPHRASE) {
        if (options.stackName !== "local") {
            throw new Error(`stack ${options.stackName}: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to encrypt its secrets`);
        }
        env.PULUMI_CONFIG_PASSPHRASE = LOCAL_PASSPHRASE;
    }
    const workDir = options.workDir ?? REPO_ROOT;
    const workspace = await LocalWorkspace.create({
        workDir,
        envVars: env,
        secretsProvider: "passphrase",
        // Loaded when the engine runs the program: the driver's own checks come first, without @pulumi/docker.
        program: async () => (await import("../program")).provisionStackFile(stackFile),
        // As LocalWorkspace.createOrSelectStack does for an inline program: a work directory without a project file gets one.
        projectSettings: PROJECT_FILES.some((name) => existsSync(path.join(workDir, name))) ? undefined : { name: PROJECT_NAME, runtime: "nodejs" },
    });
    switch (saved) {
        case undefined:
            return Stack.createOrSelect(options.stackName, workspace);
        case null:
            return Stack.create(options.stackName, workspace);
        default:
            return Stack.select(options.stackName, Object.create(workspace, { selectStack: { value: async () => undefined } }));
    }
}

/**
 * How many resource operations the engine runs at once (its own default is 8). They are waits on
 * daemons, not work of this machine's: with 8, the nested containers of a 4-host fleet queued
 * behind each other while the upstream provider's fixed 2 s network waits held their slots.
 */
export const ENGINE_PARALLELISM = 64;

/**
 * The stack as the driver runs it (and the benchmark, which measures the driver's way): its `up`,
 * `preview`, `refresh` and `destroy` run ENGINE_PARALLELISM operations at once unless told
 * otherwise, and `up`, `refresh` and `destroy` skip the CLI calls the Automation API makes after
 * the engine only to fill in their results (`stack output` twice and `stack history` after up,
 * `stack history` after refresh and destroy: 0.3-0.9 s with a passphrase). The driver reads none
 * of it: the engine's own output shows the outputs and the summary. Its `outputs()` is empty;
 * read outputs from the stack itself.
 */
export function asDriverRuns(stack: Stack): Stack {
    const lean: Stack = Object.create(stack, { outputs: { value: async () => ({}) }, info: { value: async () => undefined } });
    const parallel = { parallel: ENGINE_PARALLELISM };
    return Object.create(lean, {
        up: { value: (options?: UpOptions) => stack.up.call(lean, { ...parallel, ...options }) },
        preview: { value: (options?: PreviewOptions) => stack.preview.call(lean, { ...parallel, ...options }) },
        refresh: { value: (options?: RefreshOptions) => stack.refresh.call(lean, { ...parallel, ...options }) },
        destroy: { value: (options?: DestroyOptions) => stack.destroy.call(lean, { ...parallel, ...options }) },
    });
}

/** The stack's deployment: from the file backend's files when they tell, else exported by the CLI. */
async function deploymentOf(stack: Stack, options: StackOptions): Promise<Deployment> {
    return savedDeployment(backendUrlOf(options), PROJECT_NAME, options.stackName) ?? ((await stack.exportStack()).deployment as Deployment);
}

/** Writes a host's client TLS material as the docker CLI expects it in DOCKER_CERT_PATH. */
export function writeClientTls(dir: string, tls: { ca: string; cert: string; key: string }): string {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "ca.pem"), tls.ca);
    writeFileSync(path.join(dir, "cert.pem"), tls.cert);
    writeFileSync(path.join(dir, "key.pem"), tls.key, { mode: 0o600 });
    return dir;
}

const USAGE = `usage: pulumi-stack.ts <up|preview|refresh|destroy|outputs> [--stack NAME] [--file STACK.yaml] [--backend URL] [--work-dir DIR]
       pulumi-stack.ts destroy --drop-nested ...            (drop nested resources of a stopped host whose storage is retained)
       pulumi-stack.ts client-tls HOST DIR [--stack NAME]   (default stack: local; backend: $PULUMI_BACKEND_URL or .pulumi/)`;

interface Invocation {
    command: string;
    args: string[];
    stack: StackOptions;
    dropNested: boolean;
}

/** Splits `argv` into the command, its positional arguments and the flags. */
export function parseArguments(argv: string[]): Invocation | undefined {
    const flags: Record<string, string> = {};
    const positional: string[] = [];
    let dropNested = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--drop-nested") dropNested = true;
        else if (["--stack", "--file", "--backend", "--work-dir"].includes(arg)) {
            if (argv[i + 1] === undefined) return undefined;
            flags[arg.slice(2)] = argv[++i];
        } else if (arg.startsWith("--")) return undefined;
        else positional.push(arg);
    }
    const [command, ...args] = positional;
    if (!command) return undefined;
    const stackName = flags.stack ?? "local";
    return {
        command,
        args,
        dropNested,
        stack: {
            stackName,
            stackFile: flags.file && path.resolve(flags.file),
            backendUrl: flags.backend,
            workDir: flags["work-dir"] && path.resolve(flags["work-dir"]),
        },
    };
}

/** The flags that select the same stack again, for messages that tell the user what to run. */
function stackArgs(options: StackOptions): string {
    const parts = [`--stack ${options.stackName}`];
    if (options.stackFile) parts.push(`--file ${options.stackFile}`);
    if (options.backendUrl) parts.push(`--backend ${options.backendUrl}`);
    if (options.workDir) parts.push(`--work-dir ${options.workDir}`);
    return parts.join(" ");
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

    exitCode(): number {
        return this.received === "SIGINT" ? 130 : 143;
    }
}

class CancelledError extends Error {
    constructor(signal: NodeJS.Signals) {
        super(`cancelled by ${signal}; the stack's lock is released and the next run goes on from here`);
        this.name = "CancelledError";
    }
}

/** Outer daemons answer, stale locks go, pending operations are resolved, orphaned plugins stop. */
async function prepare(invocation: Invocation, stackFile: string, cancellation: Cancellation): Promise<Stack> {
    const say = (lines: string[]) => lines.forEach((line) => console.error(`[driver] ${line}`));
    const updates = invocation.command !== "preview";
    // First, as it needs neither the CLI nor the program: a run that holds the stack fails this one at once.
    const lockDirs = lockDirsOf(backendUrlOf(invocation.stack), PROJECT_NAME, invocation.stack.stackName);
    if (updates && lockDirs) say(releaseStaleLocks(lockDirs, invocation.stack.stackName));
    let parsed: StackFile | undefined;
    try {
        parsed = loadStackFile(stackFile);
    } catch (error) {
        if (!(error instanceof StackFileError)) throw error;
        // preview and up stop here, before the engine or any plugin starts; destroy and refresh do not need the file.
        if (["up", "preview"].includes(invocation.command)) throw error;
    }
    if (parsed) await checkOuterDaemons(parsed, stackFile);
    cancellation.check();
    say(await killOrphanedPlugins());
    // Read once: whether the stack exists, then (for an update) whether anything is pending.
    const saved = savedDeployment(backendUrlOf(invocation.stack), PROJECT_NAME, invocation.stack.stackName);
    const stack = await openStack(invocation.stack, saved);
    if (!updates) return stack;
    cancellation.check();
    say(await resolvePendingOperations(stack, `${PROJECT_NAME}/${invocation.stack.stackName}`, saved ?? undefined));
    return stack;
}

/** Refresh and destroy leave alone what lives inside a DinD host that is not running. */
async function sparedNested(stack: Stack, invocation: Invocation): Promise<string[]> {
    const down = await downHosts(await deploymentOf(stack, invocation.stack));
    for (const host of down) console.error(`[driver] DinD host ${host.name}: container ${host.container} is ${host.condition}`);
    if (invocation.command === "refresh") {
        const spared = down.flatMap((h) => [...h.nested, ...h.steps]);
        if (spared.length) console.error(`[driver] refresh skips the ${spared.length} resource(s) inside those hosts (their inner daemon cannot answer); up starts the hosts, a later refresh checks them`);
        return spared;
    }
    const blocking = down.filter((h) => h.retained && h.nested.length > 0);
    if (blocking.length && !invocation.dropNested) throw new RetainedHostDownError(blocking, stackArgs(invocation.stack));
    const dropped = blocking.flatMap((h) => h.nested);
    await dropFromState(stack, dropped);
    if (dropped.length) console.error(`[driver] dropped ${dropped.length} nested resource(s) from the state; their data stays in the retained volume(s) ${blocking.map((h) => h.volume).join(", ")}`);
    return [];
}

async function main(argv: string[], cancellation: Cancellation): Promise<number> {
    const invocation = parseArguments(argv);
    if (!invocation) {
        console.error(USAGE);
        return 2;
    }
    const { command, args } = invocation;
    const stackName = invocation.stack.stackName;
    const stackFile = stackFileOf(invocation.stack);
    const onOutput = (out: string) => {
        cancellation.watch(out);
        process.stdout.write(out);
    };
    const signal = cancellation.controller.signal;
    const operations: Record<string, (stack: Stack) => Promise<unknown>> = {
        up: (stack) => asDriverRuns(stack).up({ onOutput, signal }),
        preview: (stack) => asDriverRuns(stack).preview({ onOutput, diff: true, signal }),
        refresh: async (stack) => asDriverRuns(stack).refresh({ onOutput, signal, exclude: await sparedNested(stack, invocation) }),
        destroy: async (stack) => {
            await sparedNested(stack, invocation);
            const result = await asDriverRuns(stack).destroy({ onOutput, signal });
            removeContextsAfterDestroy(stackName);
            return result;
        },
        outputs: async (stack) => {
            const outputs = await stack.outputs();
            const shown = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]));
            console.log(JSON.stringify(shown, null, 2));
        },
        "client-tls": async (stack) => {
            const [host, dir] = args;
            const outputs = await stack.outputs();
            const tls = outputs.clientTls?.value?.[host];
            if (!tls) throw new Error(`stack ${stackName} has no TLS endpoint for host "${host}" (hosts: ${Object.keys(outputs.hosts?.value ?? {}).join(", ")})`);
            const certPath = writeClientTls(path.resolve(dir), tls);
            console.log(shellExports(clientEnvironment(outputs.hosts.value[host], certPath)));
        },
    };
    const operation = operations[command];
    if (!operation || (command === "client-tls" && args.length !== 2)) {
        console.error(USAGE);
        return 2;
    }
    const engineRun = ["up", "preview", "refresh", "destroy"].includes(command);
    const stack = engineRun ? await prepare(invocation, stackFile, cancellation) : await openStack(invocation.stack);
    cancellation.check();
    try {
        await operation(stack);
    } catch (error) {
        if (cancellation.received) throw new CancelledError(cancellation.received);
        // Two runs started together both passed the lock check: name the one that won.
        const lockDirs = lockDirsOf(backendUrlOf(invocation.stack), PROJECT_NAME, stackName);
        if (/currently locked/.test((error as Error).message) && lockDirs) throw new StackLockedError(stackName, readLocks(lockDirs));
        throw error;
    }
    return 0;
}

if (require.main === module) {
    useV8StackTraces();
    const cancellation = new Cancellation();
    cancellation.install();
    main(process.argv.slice(2), cancellation).then(
        (code) => (process.exitCode = code),
        (error: Error) => {
            // The engine already printed the details through onOutput; keep the last word short (an invalid file never reached it: all its problems).
            console.error(error instanceof StackFileError ? error.message : `\n${error.name}: ${error.message.split("\n").slice(-3).join("\n")}`);
            // A signal that also reached a CLI step (stack select, export) ends it with some other error.
            process.exitCode = cancellation.received ? cancellation.exitCode() : 1;
        },
    );
}
