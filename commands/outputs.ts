// `npm run outputs -- [--stack NAME] [--backend URL] [--work-dir DIR]`: the stack's outputs as
// JSON (program/outputs.ts types them), secret ones shown as "[secret]".
import { openStack } from "../driver/stack";
import { expectArguments, parseCommandLine, runCommand, STACK_OPTIONS, stackOptionsOf } from "./cli";

const USAGE = "usage: npm run outputs -- [--stack NAME] [--backend URL] [--work-dir DIR]   (default stack: local)";

async function main(argv: string[]): Promise<void> {
    const line = parseCommandLine(argv, { options: STACK_OPTIONS });
    expectArguments(line, 0);
    const outputs = await (await openStack(stackOptionsOf(line))).outputs();
    console.log(JSON.stringify(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value])), null, 2));
}

if (require.main === module) runCommand(USAGE, main);
