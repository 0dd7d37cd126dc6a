// What every command shares: one argument parser and one runner. The runner reports an error a
// user should read (UserError) as its message alone, an engine failure by its diagnostics (the
// engine already printed the details), and anything else, a bug, with its stack trace.
// It loads no package: `validate` runs from a bundle that takes in what it imports.
import * as path from "node:path";
import { UserError } from "../components/errors";
import type { StackOptions } from "../driver/stack";

/** Bad usage: the command prints it with its usage line and exits 2 (drift: 1). */
export class UsageError extends UserError {}

/** What the command line says: positional arguments, flags given, and option values. */
export interface CommandLine {
    /** Every `--stack NAME`, in order; `local` when none is given. */
    stacks: string[];
    flags: Set<string>;
    values: Map<string, string>;
    args: string[];
}

/** The options every command that opens one stack takes, besides --stack. */
export const STACK_OPTIONS = ["--file", "--backend", "--work-dir"];

/** Parses `[--stack NAME]... [--flag]... [--option VALUE]... [args]`; anything else is a UsageError. */
export function parseCommandLine(argv: string[], { flags = [], options = [] }: { flags?: string[]; options?: string[] } = {}): CommandLine {
    const stacks: string[] = [];
    const set = new Set<string>();
    const values = new Map<string, string>();
    const args: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--stack" || options.includes(arg)) {
            if (argv[i + 1] === undefined || argv[i + 1].startsWith("--")) throw new UsageError(`${arg} needs a value`);
            if (arg === "--stack") stacks.push(argv[++i]);
            else values.set(arg, argv[++i]);
        } else if (flags.includes(arg)) {
            set.add(arg);
        } else if (arg.startsWith("--")) {
            throw new UsageError(`unknown option ${arg}`);
        } else {
            args.push(arg);
        }
    }
    return { stacks: stacks.length ? stacks : ["local"], flags: set, values, args };
}

/** The one stack a command line selects, with --file, --backend and --work-dir (paths made absolute). */
export function stackOptionsOf(line: CommandLine): StackOptions {
    if (line.stacks.length !== 1) throw new UsageError("one --stack at a time");
    const file = line.values.get("--file");
    const workDir = line.values.get("--work-dir");
    return {
        stackName: line.stacks[0],
        stackFile: file && path.resolve(file),
        backendUrl: line.values.get("--backend"),
        workDir: workDir && path.resolve(workDir),
    };
}

/** Refuses positional arguments beyond `expected`. */
export function expectArguments(line: CommandLine, expected: number): void {
    if (line.args.length > expected) throw new UsageError(`unexpected argument ${line.args[expected]}`);
    if (line.args.length < expected) throw new UsageError(`expected ${expected} argument${expected === 1 ? "" : "s"}`);
}

/** How an error ends a command: what to print, and the exit code. */
export function reportOf(error: unknown, usage: string, usageExit: number): { text: string; exitCode: number } {
    if (error instanceof UsageError) {
        const command = /^usage: (?:npm run )?(\S+)/.exec(usage)?.[1] ?? "command";
        return { text: `${command}: ${error.message}\n${usage}`, exitCode: usageExit };
    }
    if (error instanceof UserError) return { text: `\nerror: ${error.message}`, exitCode: error.exitCode };
    // An engine failure (the Automation API's CommandError, known by its commandResult) carries
    // the whole log, which the engine has already streamed: its Diagnostics section says what went wrong.
    if (error instanceof Error && typeof (error as { commandResult?: unknown }).commandResult === "object") {
        const diagnostics = /\nDiagnostics:\n([\s\S]*?)\n\n/.exec(error.message)?.[1];
        return { text: `\nerror: ${diagnostics ?? error.message.split("\n").slice(-3).join("\n")}`, exitCode: 1 };
    }
    return { text: `\n${(error as Error)?.stack ?? String(error)}`, exitCode: 1 };
}

/**
 * Runs a command's main with this process's arguments and sets the exit code: main's answer, or
 * the error's (see reportOf). Called by each command file when it is the entry point.
 */
export function runCommand(usage: string, main: (argv: string[]) => Promise<number | void>, { usageExit = 2 } = {}): void {
    main(process.argv.slice(2)).then(
        (code) => (process.exitCode = code ?? 0),
        (error: unknown) => {
            const { text, exitCode } = reportOf(error, usage, usageExit);
            console.error(text);
            process.exitCode = exitCode;
        },
    );
}
