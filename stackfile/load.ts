// Reads a stack file and returns it typed, with defaults applied, or every problem it has.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { defaultOuterDaemon } from "../components/defaults";
import { crossChecks, formatPath } from "./checks";
import { clientSchema, DaemonSpec, daemonSchema, DEFAULT_DAEMON, hostSchema, StackFile, stackFileSchema } from "./schema";
import { KeyPath, parseLocatedYaml, Problem } from "./yaml";

export type { Problem } from "./yaml";

/** Thrown by loadStackFile: carries every problem of the file. */
export class StackFileError extends Error {
    constructor(readonly problems: Problem[]) {
        super(`${problems.length} problem${problems.length === 1 ? "" : "s"} in stack file:\n${problems.map(formatProblem).join("\n")}`);
        this.name = "StackFileError";
    }
}

export function formatProblem(p: Problem): string {
    return `${p.file}:${p.line}:${p.column}: ${formatPath(p.path)}: ${p.message}`;
}

/** Reads and validates a stack file; throws StackFileError listing all its problems. */
export function loadStackFile(file: string, env: NodeJS.ProcessEnv = process.env): StackFile {
    let source: string;
    try {
        source = readFileSync(file, "utf8");
    } catch (error) {
        throw new StackFileError([{ file, line: 1, column: 1, path: [], message: `cannot read the file: ${(error as Error).message}` }]);
    }
    const result = validateStackSource(source, file, env);
    if (!result.stack) throw new StackFileError(result.problems);
    return result.stack;
}

/** Validates stack-file text. `stack` is set only when there are no problems. */
export function validateStackSource(source: string, file: string, env: NodeJS.ProcessEnv = process.env): { stack?: StackFile; problems: Problem[] } {
    const parsed = parseLocatedYaml(source, file);
    if (!parsed.yaml) return { problems: parsed.problems };
    const yaml = parsed.yaml;
    const at = (path: KeyPath, message: string, where: "key" | "value" = "value"): Problem => ({
        file, ...yaml.locate(path, where), path, message,
    });

    const raw = normalizeTopLevel(yaml.value);
    if (!isMap(raw)) {
        const message = raw === null || raw === undefined
            ? "the file is empty: refused, because applying it would remove every resource of the stack (an empty or truncated file must never tear an environment down)"
            : `expected a map with daemons, hosts and clients, got ${describe(raw)}`;
        return { problems: [at([], message)] };
    }

    const problems: Problem[] = [...parsed.problems];
    if (!hasEntries(raw.hosts) && !hasEntries(raw.clients)) {
        problems.push(at([], "the file declares no hosts and no clients: refused, because applying it would remove every resource " +
            "of the stack (an empty or truncated file must never tear an environment down)"));
    }
    const result = stackFileSchema.safeParse(raw);
    if (!result.success) problems.push(...result.error.issues.flatMap((issue) => issueProblems(issue, raw, at)));

    // Cross-field rules run on every entry that is valid on its own, so one bad entry hides no other problem.
    const stack = result.success ? result.data : validEntries(withoutUnknownKeys(raw, result.error.issues));
    const declaredDaemons = [...new Set([DEFAULT_DAEMON, ...Object.keys(isMap(raw.daemons) ? raw.daemons : {})])];
    stack.daemons = withDefaultDaemon(stack.daemons, env);
    problems.push(...crossChecks(stack, declaredDaemons).map((f) => at(f.path, f.message, f.at)));

    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    return problems.length === 0 ? { stack, problems } : { problems };
}

/**
 * The `local` daemon unless the file declares its own: the components' default outer daemon,
 * which is what the docker CLI would use. A tcp:// one without TLS is marked insecure, as the
 * file would have to say: the docker CLI talks plain TCP there too.
 */
function withDefaultDaemon(daemons: Record<string, DaemonSpec>, env: NodeJS.ProcessEnv): Record<string, DaemonSpec> {
    if (daemons[DEFAULT_DAEMON]) return daemons;
    const { host, certPath } = defaultOuterDaemon(env);
    const local = daemonSchema.parse({ host, ...(certPath ? { certPath } : host.startsWith("tcp://") && { insecure: true }) });
    return { [DEFAULT_DAEMON]: local, ...daemons };
}

function validEntries(raw: Record<string, unknown>): StackFile {
    const valid = <S extends z.ZodType>(entries: unknown, schema: S): Record<string, z.infer<S>> => {
        const out: Record<string, z.infer<S>> = {};
        for (const [name, value] of Object.entries(isMap(entries) ? entries : {})) {
            const parsed = schema.safeParse(value);
            if (parsed.success) out[name] = parsed.data;
        }
        return out;
    };
    return { daemons: valid(raw.daemons, daemonSchema), hosts: valid(raw.hosts, hostSchema), clients: valid(raw.clients, clientSchema) };
}

/** A copy of `raw` without the keys zod refused as unknown, so the rest of their entry can still be checked. */
function withoutUnknownKeys(raw: Record<string, unknown>, issues: z.core.$ZodIssue[]): Record<string, unknown> {
    const copy = structuredClone(raw);
    for (const issue of issues) {
        if (issue.code !== "unrecognized_keys") continue;
        const parent = valueAt(copy, issue.path as KeyPath);
        if (isMap(parent)) for (const key of issue.keys) delete parent[key];
    }
    return copy;
}

/**
 * Top-level keys starting with x- hold YAML anchors and are ignored, as in Compose files; an
 * empty section (`clients:` with every entry commented out) is an empty map.
 */
function normalizeTopLevel(value: unknown): unknown {
    if (!isMap(value)) return value;
    return Object.fromEntries(Object.entries(value)
        .filter(([key]) => !key.startsWith("x-"))
        .map(([key, section]) => [key, section === null ? {} : section]));
}

type At = (path: KeyPath, message: string, where?: "key" | "value") => Problem;

function issueProblems(issue: z.core.$ZodIssue, raw: unknown, at: At): Problem[] {
    const path = issue.path as KeyPath;
    if (issue.code === "unrecognized_keys") {
        const allowed = allowedKeys(path);
        return issue.keys.map((key) => at([...path, key], `unknown key "${key}": expected one of ${allowed.join(", ")}`, "key"));
    }
    if (issue.code === "invalid_key") {
        const inner = issue.issues[0]?.message ?? "invalid key";
        return [at(path, `${inner}, got "${String(path[path.length - 1])}"`, "key")];
    }
    const value = valueAt(raw, path);
    // A map given where either a word or a map is accepted (access: full | {...}): report the map's own problems.
    if (issue.code === "invalid_union" && isMap(value)) {
        const mapBranch = issue.errors.find((branch) => branch.some((i) => i.path.length > 0 || i.code === "unrecognized_keys"));
        if (mapBranch) return mapBranch.flatMap((i) => issueProblems({ ...i, path: [...path, ...i.path] } as z.core.$ZodIssue, raw, at));
    }
    if (value === undefined && issue.code === "invalid_type") {
        const parent = path.slice(0, -1);
        return [at(parent, `missing key "${String(path[path.length - 1])}": ${plainExpectation(issue, value)}`, parent.length > 0 ? "key" : "value")];
    }
    return [at(path, `${plainExpectation(issue, value)}, got ${describe(value)}`)];
}

/** Zod's own wording for shapes we gave no message ("Invalid input: expected object…"), in the file's terms. */
function plainExpectation(issue: z.core.$ZodIssue, value: unknown): string {
    if (issue.code === "invalid_type" && issue.message.startsWith("Invalid input")) {
        if (issue.expected === "object") return value === null ? "expected a map (write {} to take every default)" : "expected a map";
        return issue.expected === "array" ? "expected a list" : `expected ${issue.expected}`;
    }
    return issue.message;
}

/** The keys a strict map at `path` accepts, read from the schema itself (through zod's public API). */
function allowedKeys(path: KeyPath): string[] {
    let schema: z.ZodType | undefined = stackFileSchema;
    for (const segment of path) {
        schema = unwrapped(schema);
        schema = schema instanceof z.ZodObject ? schema.shape[String(segment)]
            : schema instanceof z.ZodRecord ? schema.valueType
            : schema instanceof z.ZodArray ? schema.element
            : undefined;
    }
    const map = schema && unwrapped(schema);
    return map instanceof z.ZodObject ? Object.keys(map.shape) : [];
}

/** The schema inside optional and default wrappers, and the map among a union's options (access: full | {...}). */
function unwrapped(schema: z.ZodType | undefined): z.ZodType | undefined {
    for (;;) {
        if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) schema = schema.unwrap() as z.ZodType;
        else if (schema instanceof z.ZodUnion) schema = (schema.options as z.ZodType[]).find((o) => o instanceof z.ZodObject);
        else return schema;
    }
}

function valueAt(root: unknown, path: KeyPath): unknown {
    let value = root;
    for (const segment of path) {
        if (value === null || typeof value !== "object") return undefined;
        value = (value as Record<string | number, unknown>)[segment];
    }
    return value;
}

function describe(value: unknown): string {
    if (value === null || value === undefined) return "nothing";
    if (Array.isArray(value)) return "a list";
    if (value instanceof Uint8Array) return "binary data";
    if (typeof value === "object") return "a map";
    const text = JSON.stringify(value);
    return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

function isMap(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

function hasEntries(value: unknown): boolean {
    return isMap(value) && Object.keys(value).length > 0;
}
