// Runs the provisioner through Pulumi's Automation API with the program in this process.
// This needs the `pulumi` CLI but no Node.js language-host binary, so it works with the
// toolchain scripts/bootstrap builds offline; with an official install, `pulumi up` works too.
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, InlineProgramArgs, LocalWorkspaceOptions, Stack } from "@pulumi/pulumi/automation";
import { provisionStackFile } from "../program";
import { removeContextsAfterDestroy } from "./contexts";
import { clientEnvironment, shellExports } from "./stackOutputs";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const PROJECT_NAME = "dind-provisioner";
/** Used only for the `local` stack when no passphrase is set: its state never leaves this machine. */
const LOCAL_PASSPHRASE = "dind-provisioner-local";

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

/** Selects (or creates) the stack, with the provisioner as its inline program. */
export async function openStack(options: StackOptions): Promise<Stack> {
    const stackFile = options.stackFile ?? path.join(REPO_ROOT, "stacks", `${options.stackName}.yaml`);
    const env: Record<string, string> = {
        PULUMI_BACKEND_URL: options.backendUrl ?? process.env.PULUMI_BACKEND_URL ?? `file://${path.join(REPO_ROOT, ".pulumi")}`,
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
    const program: InlineProgramArgs = {
        stackName: options.stackName,
        projectName: PROJECT_NAME,
        program: async () => provisionStackFile(stackFile),
    };
    const workspace: LocalWorkspaceOptions = {
        workDir: options.workDir ?? REPO_ROOT,
        envVars: env,
        secretsProvider: "passphrase",
    };
    return LocalWorkspace.createOrSelectStack(program, workspace);
}

/** Writes a host's client TLS material as the docker CLI expects it in DOCKER_CERT_PATH. */
export function writeClientTls(dir: string, tls: { ca: string; cert: string; key: string }): string {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "ca.pem"), tls.ca);
    writeFileSync(path.join(dir, "cert.pem"), tls.cert);
    writeFileSync(path.join(dir, "key.pem"), tls.key, { mode: 0o600 });
    return dir;
}

const USAGE = `usage: pulumi-stack.ts <up|preview|refresh|destroy|outputs> [--stack NAME]
       pulumi-stack.ts client-tls HOST DIR [--stack NAME]   (default stack: local)`;

async function main(argv: string[]): Promise<number> {
    const stackFlag = argv.indexOf("--stack");
    const stackName = stackFlag >= 0 ? argv[stackFlag + 1] : "local";
    const [command, ...args] = stackFlag >= 0 ? [...argv.slice(0, stackFlag), ...argv.slice(stackFlag + 2)] : argv;
    const onOutput = (out: string) => process.stdout.write(out);
    const operations: Record<string, (stack: Stack) => Promise<unknown>> = {
        up: (stack) => stack.up({ onOutput }),
        preview: (stack) => stack.preview({ onOutput, diff: true }),
        refresh: (stack) => stack.refresh({ onOutput }),
        destroy: async (stack) => {
            await stack.destroy({ onOutput });
            removeContextsAfterDestroy(stackName);
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
    if (!operation || !stackName || (command === "client-tls" && args.length !== 2)) {
        console.error(USAGE);
        return 2;
    }
    await operation(await openStack({ stackName }));
    return 0;
}

if (require.main === module) {
    useV8StackTraces();
    main(process.argv.slice(2)).then(
        (code) => (process.exitCode = code),
        (error: Error) => {
            // The engine already printed the details through onOutput; keep the last word short.
            console.error(`\n${error.name}: ${error.message.split("\n").slice(-3).join("\n")}`);
            process.exitCode = 1;
        },
    );
}
