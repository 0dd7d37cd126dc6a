// What up, preview, refresh and destroy share: their usage line and their main, one engine run on
// one stack (driver/engineRun.ts does the run).
import { EngineCommand, runEngine } from "../driver/engineRun";
import { expectArguments, parseCommandLine, STACK_OPTIONS, stackOptionsOf } from "./cli";

/** The usage line of an engine command; `extra` adds its own options. */
export function engineUsage(command: EngineCommand, extra = ""): string {
    return `usage: npm run ${command} -- [--stack NAME] [--file STACK.yaml] [--backend URL] [--work-dir DIR]${extra}   (default stack: local, file: stacks/NAME.yaml)`;
}

/** The main of an engine command (destroy also takes --drop-nested). */
export function engineMain(command: EngineCommand): (argv: string[]) => Promise<void> {
    return async (argv) => {
        const line = parseCommandLine(argv, { options: STACK_OPTIONS, flags: command === "destroy" ? ["--drop-nested"] : [] });
        expectArguments(line, 0);
        await runEngine(command, { stack: stackOptionsOf(line), dropNested: line.flags.has("--drop-nested") });
    };
}
