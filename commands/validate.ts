// `npm run validate -- FILE|DIRECTORY...`: checks stack files without any daemon or engine.
// A directory stands for the *.yaml and *.yml files in it. Every file is checked whatever happens
// to the others, and a summary line ends the output. Exit 0 when every file is valid, 1 otherwise,
// 2 on bad usage.
import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { formatProblem, loadStackFile, StackFileError } from "../stackfile/load";
import { parseCommandLine, runCommand, UsageError } from "./cli";

const USAGE = "usage: npm run validate -- FILE|DIRECTORY...";

function filesOf(args: string[]): string[] {
    return args.flatMap((arg) => {
        let directory = false;
        try {
            directory = statSync(arg).isDirectory();
        } catch {
            // Not there: loadStackFile reports it as a problem of that file.
        }
        return directory
            ? readdirSync(arg).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(arg, f))
            : [arg];
    });
}

function check(file: string): string[] {
    try {
        const stack = loadStackFile(file);
        console.log(`${file}: valid (${Object.keys(stack.hosts).length} hosts, ${Object.keys(stack.clients).length} clients)`);
        return [];
    } catch (error) {
        if (error instanceof StackFileError) return error.problems.map(formatProblem);
        // loadStackFile turns every failure into problems; this is the last line of defence.
        return [`${file}:1:1: (top level): internal error while checking this file (please report it): ${String(error).split("\n")[0]}`];
    }
}

async function main(argv: string[]): Promise<number> {
    const { args } = parseCommandLine(argv);
    if (args.length === 0) throw new UsageError("no file to check");
    const files = filesOf(args);
    let invalid = 0;
    for (const file of files) {
        const problems = check(file);
        if (problems.length > 0) invalid++;
        for (const problem of problems) console.error(problem);
    }
    const count = `${files.length} file${files.length === 1 ? "" : "s"}`;
    if (invalid > 0) console.error(`${invalid} of ${count} invalid`);
    else console.log(files.length === 1 ? "1 file valid" : `all ${count} valid`);
    return invalid > 0 ? 1 : 0;
}

if (require.main === module) runCommand(USAGE, main);
