// Reads a stack file and returns it typed, with defaults applied, or every problem it has.
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { z } from "zod";
import { defaultOuterDaemon } from "../components/defaults";
import { MANAGED_DOCKERD_OPTIONS } from "../components/dockerd";
import { UserError } from "../components/errors";
import { crossChecks } from "./checks";
import { daemonUrlFromDockerHost } from "./docker-grammar";
import { clientSchema, DaemonSpec, daemonSchema, DEFAULT_DAEMON, EXTENSION_KEY, hostSchema, registrySchema, StackFile, stackFileSchema } from "./schema";
import { decodeSource, MAX_FILE_BYTES } from "./source";
import { trustChecks } from "./trust";
import { describe, formatPath, nonAsciiNote, quote } from "./text";
import { KeyPath, parseLocatedYaml, Problem } from "./yaml";

export type { Problem } from "./yaml";

/** Past this many problems a file is listed no further: the rest are counted. */
const MAX_PROBLEMS = 100;

/** Thrown by loadStackFile: carries every problem of the file. */
export class StackFileError extends UserError {
    constructor(readonly problems: Problem[]) {
        super(`${problems.length} problem${problems.length === 1 ? "" : "s"} in stack file:\n${problems.map(formatProblem).join("\n")}`);
    }
}

export function formatProblem(p: Problem): string {
    return `${p.file}:${p.line}:${p.column}: ${formatPath(p.path)}: ${p.message}`;
}

/** Reads and validates a stack file; throws StackFileError listing all its problems. */
export function loadStackFile(file: string, env: NodeJS.ProcessEnv = process.env): StackFile {
    const source = readSource(file);
    const result = "message" in source ? { problems: [source] } : validateStackSource(source, file, env);
    if (!result.stack) throw new StackFileError(result.problems);
    return result.stack;
}

/** The file's bytes, or the problem of reading them (an oversized file is not read at all). */
function readSource(file: string): Uint8Array | Problem {
    const problem = (message: string): Problem => ({ file, line: 1, column: 1, path: [], message });
    let fd: number | undefined;
    try {
        fd = openSync(file, "r");
        const stat = fstatSync(fd);
        if (!stat.isFile()) return problem("cannot read the file: not a regular file");
        if (stat.size > MAX_FILE_BYTES) return problem(`the file is ${stat.size} bytes long: stack files are refused above ${MAX_FILE_BYTES} bytes`);
        return readFileSync(fd);
    } catch (error) {
        return problem(`cannot read the file: ${(error as Error).message}`);
    } finally {
        if (fd !== undefined) closeSync(fd);
    }
}

/**
 * Validates a stack file's bytes or text. `stack` is set only when there are no problems. Whatever
 * the input, the answer is a list of located problems: an exception here is a bug, and is reported
 * as a problem of the file so that the other files are still checked.
 */
export function validateStackSource(source: string | Uint8Array, file: string, env: NodeJS.ProcessEnv = process.env): { stack?: StackFile; problems: Problem[] } {
    try {
        const result = validateText(source, file, env);
        return result.stack ? result : { problems: atMost(MAX_PROBLEMS, result.problems) };
    } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { problems: [{ file, line: 1, column: 1, path: [], message: `internal error while checking this file (please report it): ${message.split("\n")[0]}` }] };
    }
}

/**
 * The fixed pipeline: decode, parse YAML, the schema, the cross-field rules, then what the file may
 * make this machine do (trust.ts: the operator's consent, read from `env`).
 */
function validateText(source: string | Uint8Array, file: string, env: NodeJS.ProcessEnv): { stack?: StackFile; problems: Problem[] } {
    const decoded = decodeSource(source);
    if ("problem" in decoded) return { problems: [{ file, line: decoded.line, column: decoded.column, path: [], message: decoded.problem }] };
    const parsed = parseLocatedYaml(decoded.text, file);
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
    const fileDaemons = Object.keys(isMap(raw.daemons) ? raw.daemons : {});
    const declaredDaemons = [...new Set([DEFAULT_DAEMON, ...fileDaemons])];
    const local = withDefaultDaemon(stack.daemons, env);
    stack.daemons = local.daemons;
    const localUser = local.problem && firstUserOfLocal(raw);
    if (local.problem && localUser) {
        problems.push(at(localUser, `${local.problem}; this entry uses the local daemon: fix DOCKER_HOST or declare daemons.local`, "key"));
    }
    const written = (path: KeyPath) => valueAt(raw, path) !== undefined;
    problems.push(...crossChecks(stack, { declaredDaemons, fileDaemons, written }).map((f) => at(f.path, f.message, f.at)));
    problems.push(...trustChecks(stack, fileDaemons, env).map((f) => at(f.path, f.message, f.at)));

    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    return problems.length === 0 ? { stack, problems } : { problems };
}

/** The first `max` problems, and a last line counting the rest. */
function atMost(max: number, problems: Problem[]): Problem[] {
    if (problems.length <= max) return problems;
    const next = problems[max];
    return [...problems.slice(0, max), { ...next, path: [], message: `and ${problems.length - max} more problems from here on (the first ${max} are listed)` }];
}

/** The first host or client that runs on the implicit local daemon. */
function firstUserOfLocal(raw: Record<string, unknown>): KeyPath | undefined {
    for (const section of ["hosts", "clients"]) {
        for (const [name, entry] of Object.entries(isMap(raw[section]) ? raw[section] : {})) {
            const daemon = isMap(entry) ? entry.daemon : undefined;
            if (daemon === undefined) return [section, name];
            if (daemon === DEFAULT_DAEMON) return [section, name, "daemon"];
        }
    }
    return undefined;
}

/**
 * The `local` daemon unless the file declares its own: the components' default outer daemon,
 * which is what the docker CLI would use. A tcp:// one without TLS is marked insecure, as the
 * file would have to say: the docker CLI talks plain TCP there too.
 */
function withDefaultDaemon(daemons: Record<string, DaemonSpec>, env: NodeJS.ProcessEnv): { daemons: Record<string, DaemonSpec>; problem?: string } {
    if (Object.hasOwn(daemons, DEFAULT_DAEMON)) return { daemons };
    // DOCKER_HOST as the docker CLI reads it (tcp://host is tcp://host:2375), or why this program cannot use it.
    const fromEnv = daemonUrlFromDockerHost(env.DOCKER_HOST ?? "");
    if ("problem" in fromEnv) return { daemons, problem: fromEnv.problem };
    const { host, certPath } = defaultOuterDaemon({ ...env, DOCKER_HOST: fromEnv.url });
    const local = daemonSchema.safeParse({ host, ...(certPath ? { certPath } : host.startsWith("tcp://") && { insecure: true }) });
    if (!local.success) return { daemons, problem: `DOCKER_HOST=${quote(host)} cannot be used: ${local.error.issues[0].message}` };
    return { daemons: { [DEFAULT_DAEMON]: local.data, ...daemons } };
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
    return {
        daemons: valid(raw.daemons, daemonSchema),
        hosts: valid(raw.hosts, hostSchema),
        clients: valid(raw.clients, clientSchema),
        registries: valid(raw.registries, registrySchema),
    };
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
        .filter(([key]) => !EXTENSION_KEY.test(key))
        .map(([key, section]) => [key, section === null ? {} : section]));
}

type At = (path: KeyPath, message: string, where?: "key" | "value") => Problem;

function issueProblems(issue: z.core.$ZodIssue, raw: unknown, at: At): Problem[] {
    const path = issue.path as KeyPath;
    if (issue.code === "unrecognized_keys" && path[path.length - 1] === "dockerd") {
        return issue.keys.map((key) => at([...path, key], `unknown key "${key}": not a daemon.json option Docker documents${closest(key, allowedKeys(path))}`, "key"));
    }
    if (issue.code === "unrecognized_keys") {
        const allowed = allowedKeys(path);
        return issue.keys.map((key) => at([...path, key], `unknown key ${quote(key)}${nonAsciiNote(key, allowed)}: expected one of ${allowed.join(", ")}`, "key"));
    }
    if (issue.code === "invalid_key") {
        const inner = issue.issues[0]?.message ?? "invalid key";
        const key = String(path[path.length - 1]);
        return [at(path, `${inner}, got ${quote(key)}${nonAsciiNote(key)}`, "key")];
    }
    // Messages that stand alone: a refused key, or a secret whose value must not be quoted.
    if (issue.code === "custom" && issue.params?.plain) return [at(path, issue.message, issue.params.at ?? "value")];
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
        schema = schema instanceof z.ZodObject ? (Object.hasOwn(schema.shape, segment) ? schema.shape[String(segment)] : undefined)
            : schema instanceof z.ZodRecord ? schema.valueType
            : schema instanceof z.ZodArray ? schema.element
            : undefined;
    }
    const map = schema && unwrapped(schema);
    const keys = map instanceof z.ZodObject ? Object.keys(map.shape) : [];
    return path[path.length - 1] === "dockerd" ? keys.filter((key) => !(key in MANAGED_DOCKERD_OPTIONS)) : keys;
}

/** The schema inside optional and default wrappers, and the map among a union's options (access: full | {...}). */
function unwrapped(schema: z.ZodType | undefined): z.ZodType | undefined {
    for (;;) {
        if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) schema = schema.unwrap() as z.ZodType;
        else if (schema instanceof z.ZodUnion) schema = (schema.options as z.ZodType[]).find((o) => o instanceof z.ZodObject);
        else return schema;
    }
}

/** " (did you mean log-level?)" for a key one or two edits away from an allowed one. */
function closest(key: string, allowed: string[]): string {
    const distance = (a: string, b: string) => {
        let row = Array.from({ length: b.length + 1 }, (_, i) => i);
        for (let i = 1; i <= a.length; i++) {
            const next = [i];
            for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
            row = next;
        }
        return row[b.length];
    };
    const best = allowed.map((candidate) => ({ candidate, d: distance(key, candidate) })).sort((x, y) => x.d - y.d)[0];
    return best && best.d <= 2 ? ` (did you mean ${best.candidate}?)` : "";
}

function valueAt(root: unknown, path: KeyPath): unknown {
    let value = root;
    for (const segment of path) {
        if (value === null || typeof value !== "object" || !Object.hasOwn(value, segment)) return undefined;
        value = (value as Record<string | number, unknown>)[segment];
    }
    return value;
}

function isMap(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

function hasEntries(value: unknown): boolean {
    return isMap(value) && Object.keys(value).length > 0;
}
