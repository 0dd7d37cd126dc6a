// `npm run drift -- [--stack NAME] [--file STACKFILE]`: does the environment match the stack
// file? A refresh preview (what changed behind Pulumi's back, state left as it is) and then a
// preview on refreshed state (what `up` would do). Exit 0: no differences; 2: drifted, with
// the differences listed; 1: error (bad file, daemon down, ...). Nothing is changed.
import { EngineEvent, OpMap, Stack } from "@pulumi/pulumi/automation";
import { UserError } from "../components/errors";
import { asDriverRuns, openStack, stackFileOf, useV8StackTraces } from "../driver/stack";
import { loadStackFile } from "../stackfile/load";
import { expectArguments, parseCommandLine, runCommand, STACK_OPTIONS, stackOptionsOf } from "./cli";

const USAGE = "usage: npm run drift -- [--stack NAME] [--file STACKFILE] [--backend URL] [--work-dir DIR] [--quiet]   (default stack: local, file: stacks/NAME.yaml)";

export interface Difference {
    /** refresh: the environment differs from the state; preview: `up` would change this. */
    phase: "refresh" | "preview";
    op: string;
    urn: string;
    /** Changed properties, when the engine names them. */
    keys: string[];
}

export interface DriftReport {
    drifted: boolean;
    differences: Difference[];
    summaries: { refresh: OpMap; preview: OpMap };
}

const UNCHANGED = new Set(["same", "read"]);
/** Steps that are not changes of their own: the halves of a replacement (the `replace` step
 * names it once), and the refresh a preview on refreshed state starts with. */
const NOT_CHANGES = new Set(["create-replacement", "delete-replaced", "refresh"]);

function changed(summary: OpMap): boolean {
    return Object.entries(summary).some(([op, count]) => !UNCHANGED.has(op) && (count ?? 0) > 0);
}

/** What a refresh's result says about a resource (its step's outputs event carries the result). */
const REFRESH_RESULTS: Record<string, string> = { delete: "deleted outside Pulumi", update: "changed outside Pulumi" };

/** Collects the steps that change something, from the engine's events. */
function collector(phase: Difference["phase"], into: Difference[]) {
    return (event: EngineEvent) => {
        const metadata = phase === "refresh" ? event.resOutputsEvent?.metadata : event.resourcePreEvent?.metadata;
        if (!metadata || metadata.type === "pulumi:pulumi:Stack") return;
        const op = phase === "refresh" ? REFRESH_RESULTS[metadata.op] : metadata.op;
        if (!op || UNCHANGED.has(op) || NOT_CHANGES.has(op)) return;
        into.push({ phase, op, urn: metadata.urn, keys: metadata.diffs ?? metadata.keys ?? [] });
    };
}

/** Refresh preview, then preview on refreshed state; changes nothing. */
export async function detectDrift(stack: Stack, onOutput?: (out: string) => void): Promise<DriftReport> {
    const differences: Difference[] = [];
    // The diff display leaves a failed program's diagnostics out: keep them from the events.
    const errors: string[] = [];
    const withErrors = (collect: (event: EngineEvent) => void) => (event: EngineEvent) => {
        if (event.diagnosticEvent?.severity === "error") errors.push(event.diagnosticEvent.message.trim());
        collect(event);
    };
    try {
        const refresh = await stack.previewRefresh({ onOutput, onEvent: withErrors(collector("refresh", differences)) });
        const preview = await asDriverRuns(stack).preview({ refresh: true, diff: true, onOutput, onEvent: withErrors(collector("preview", differences)) });
        const summaries = { refresh: refresh.changeSummary, preview: preview.changeSummary };
        return { drifted: changed(summaries.refresh) || changed(summaries.preview) || differences.length > 0, differences, summaries };
    } catch (error) {
        if (errors.length === 0) throw error;
        throw new UserError([...new Set(errors)].join("\n"));
    }
}

export function formatDrift(stackName: string, report: DriftReport): string {
    if (!report.drifted) return `stack ${stackName}: no drift (the environment matches the stack file)`;
    const lines = [`stack ${stackName}: DRIFT`];
    for (const d of report.differences) {
        // urn:pulumi:STACK::PROJECT::PARENT$TYPE::NAME -> "TYPE NAME"
        const [, , types, resource] = d.urn.split("::");
        const name = `${types.split("$").pop()} ${resource}`;
        lines.push(`  ${d.phase === "refresh" ? "environment" : "up would"}: ${d.op} ${name}${d.keys.length ? ` [${d.keys.join(", ")}]` : ""}`);
    }
    lines.push(`  refresh: ${JSON.stringify(report.summaries.refresh)}; preview: ${JSON.stringify(report.summaries.preview)}`);
    return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
    const line = parseCommandLine(argv, { flags: ["--quiet"], options: STACK_OPTIONS });
    expectArguments(line, 0);
    const options = stackOptionsOf(line);
    useV8StackTraces();
    // An invalid file stops here (a user error, all its problems listed), before the engine or any plugin starts, as preview and up do.
    loadStackFile(stackFileOf(options));
    const stack = await openStack(options);
    const report = await detectDrift(stack, line.flags.has("--quiet") ? undefined : (out) => process.stdout.write(out));
    console.log(formatDrift(options.stackName, report));
    return report.drifted ? 2 : 0;
}

// Bad usage is an error too (1): 2 means drift, and a pipeline must not take one for the other.
if (require.main === module) runCommand(USAGE, main, { usageExit: 1 });
