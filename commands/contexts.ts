// `npm run contexts -- [--stack NAME]... [--remove]`: one docker context `<stack>-<host>` per DinD
// host of a stack (see driver/contexts.ts), or, with --remove, none of this stack's any more.
import { clientEnvironment } from "../driver/clientTls";
import { publishedPorts, removeStackContexts, syncContexts } from "../driver/contexts";
import { openStack, readOutputs } from "../driver/stack";
import { expectArguments, parseCommandLine, runCommand } from "./cli";

const USAGE = "usage: npm run contexts -- [--stack NAME]... [--remove]   (default stack: local)";

async function main(argv: string[]): Promise<void> {
    const line = parseCommandLine(argv, { flags: ["--remove"] });
    expectArguments(line, 0);
    for (const stackName of line.stacks) {
        if (line.flags.has("--remove")) {
            const removed = removeStackContexts(stackName);
            console.log(removed.length ? `removed: ${removed.join(", ")}` : `stack ${stackName} has no contexts`);
            continue;
        }
        const outputs = await readOutputs(await openStack({ stackName }));
        for (const [host, name] of Object.entries(syncContexts(stackName, outputs))) {
            const { env, notes } = clientEnvironment(outputs.hosts[host], undefined);
            const ports = publishedPorts(env.TESTCONTAINERS_HOST_OVERRIDE);
            console.log(`${name}: docker --context ${name} ps${ports ? `; ${ports}` : ""}${notes.map((n) => `\n  note: ${n}`).join("")}`);
        }
    }
}

if (require.main === module) runCommand(USAGE, main);
