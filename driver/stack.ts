// Opens a stack of the provisioner through Pulumi's Automation API, with the program as an inline
// program in this process: this needs the `pulumi` CLI but no Node.js language host, so it works
// with the toolchain built offline (with an official install, `pulumi up` on index.ts works too).
// The commands, the real lane's harness and the benchmarks all open stacks here.
import { existsSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { DestroyOptions, LocalWorkspace, PreviewOptions, RefreshOptions, Stack, UpOptions } from "@pulumi/pulumi/automation";
import { UserError } from "../components/errors";
import { StackOutputs, stackOutputsOf } from "../program/outputs";
import { PROJECT_NAME } from "./project";
import { savedDeployment } from "./state";

export { PROJECT_NAME };
export const REPO_ROOT = path.resolve(__dirname, "..");
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
    /** Directory holding the project file (Pulumi.yaml; one is made when missing); default: the repository. */
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
        // The engine starts Node.js dynamic providers (a restricted client's DoodScope) in the work
        // directory, which may have no node_modules of its own: they resolve the SDK from here too.
        NODE_PATH: [path.join(REPO_ROOT, "node_modules"), process.env.NODE_PATH].filter(Boolean).join(path.delimiter),
        ...options.env,
    };
    // The file backend does not create its directory.
    if (env.PULUMI_BACKEND_URL.startsWith("file://")) mkdirSync(env.PULUMI_BACKEND_URL.slice("file://".length), { recursive: true });
    if (!process.env.PULUMI_CONFIG_PASSPHRASE && !process.env.PULUMI_CONFIG_PASSPHRASE_FILE && !env.PULUMI_CONFIG_PASSPHRASE) {
        if (options.stackName !== "local") {
            throw new UserError(`stack ${options.stackName}: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to encrypt its secrets`);
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
 * behind each other while the networks' waits held their slots (the upstream docker provider's
 * fixed 2 s, which this project's build of the plugin no longer has; an official plugin does).
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

/** The stack's outputs as the program exported them (typed in program/outputs.ts). */
export async function readOutputs(stack: Stack): Promise<StackOutputs> {
    return stackOutputsOf(await stack.outputs());
}
