// `npm run validate -- FILE...`: checks stack files without any daemon or engine.
// Exit 0 when every file is valid, 1 otherwise, 2 on bad usage.
import { formatProblem, loadStackFile, StackFileError } from "./load";

function main(files: string[]): number {
    if (files.length === 0) {
        console.error("usage: npm run validate -- FILE...");
        return 2;
    }
    let invalid = 0;
    for (const file of files) {
        try {
            const stack = loadStackFile(file);
            console.log(`${file}: valid (${Object.keys(stack.hosts).length} hosts, ${Object.keys(stack.clients).length} clients)`);
        } catch (error) {
            if (!(error instanceof StackFileError)) throw error;
            invalid++;
            for (const problem of error.problems) console.error(formatProblem(problem));
        }
    }
    if (invalid > 0) console.error(`${invalid} of ${files.length} file${files.length === 1 ? "" : "s"} invalid`);
    return invalid > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
