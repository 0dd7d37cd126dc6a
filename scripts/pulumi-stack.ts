// Runs the provisioner through Pulumi's Automation API with the program in this process.
// This needs the `pulumi` CLI but no Node.js language-host binary, so it works with the
// toolchain scripts/bootstrap builds offline; with an official install, `pulumi up` works too.
import * as path from "node:path";
import { LocalWorkspace, InlineProgramArgs, LocalWorkspaceOptions, Stack } from "@pulumi/pulumi/automation";
import { provisionStackFile } from "../program";

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

/** Selects (or creates) the stack, with the provisioner as its inline program. */
export async function openStack(options: StackOptions): Promise<Stack> {
    const stackFile = options.stackFile ?? path.join(REPO_ROOT, "stacks", `${options.stackName}.yaml`);
    const env: Record<string, string> = {
        PULUMI_BACKEND_URL: options.backendUrl ?? process.env.PULUMI_BACKEND_URL ?? `file://${path.join(REPO_ROOT, ".pulumi")}`,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        ...options.env,
    };
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

async function main(argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    const stackIndex = rest.indexOf("--stack");
    const stackName = stackIndex >= 0 ? rest[stackIndex + 1] : "local";
    const commands = ["up", "preview", "refresh", "destroy", "outputs"];
    if (!commands.includes(command) || !stackName) {
        console.error(`usage: pulumi-stack.ts <${commands.join("|")}> [--stack NAME]   (default stack: local)`);
        return 2;
    }
    const stack = await openStack({ stackName });
    const onOutput = (out: string) => process.stdout.write(out);
    switch (command) {
        case "up":
            await stack.up({ onOutput });
            break;
        case "preview":
            await stack.preview({ onOutput, diff: true });
            break;
        case "refresh":
            await stack.refresh({ onOutput });
            break;
        case "destroy":
            await stack.destroy({ onOutput });
            break;
    }
    if (command !== "destroy") {
        const outputs = await stack.outputs();
        const shown = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]));
        console.log(`\nOutputs of stack ${stackName}:\n${JSON.stringify(shown, null, 2)}`);
    }
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => (process.exitCode = code),
        (error: Error) => {
            // The engine already printed the details through onOutput; keep the last word short.
            console.error(`\n${error.name}: ${error.message.split("\n").slice(-3).join("\n")}`);
            process.exitCode = 1;
        },
    );
}
