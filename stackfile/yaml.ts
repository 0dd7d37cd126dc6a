// YAML with source positions. Parse errors, duplicate keys (as JavaScript sees keys), unknown tags,
// bad merge keys, control characters, deep nesting and runaway alias expansion become located
// problems; the value is built from the syntax tree into maps without prototypes, and any key path
// maps back to a line and column.
import { Alias, Document, isAlias, isMap, isScalar, isSeq, LineCounter, Node, Pair, parseDocument, Scalar, YAMLMap } from "yaml";
import { KeyPath, quote } from "./text";

export type { KeyPath } from "./text";

/** One thing wrong with a stack file, located. */
export interface Problem {
    file: string;
    line: number;
    column: number;
    path: KeyPath;
    message: string;
}

/** A parsed file that can locate key paths in its source. */
export interface LocatedYaml {
    value: unknown;
    locate(path: KeyPath, at?: "key" | "value"): { line: number; column: number };
}

/** Deeper nesting is refused: the deepest key of a stack file is 8 levels down. */
const MAX_DEPTH = 32;
/** What aliases may add beyond the written document, in nodes (a "billion laughs" guard). */
const MAX_ALIAS_GROWTH = 250_000;
/** Past this many syntax errors a file is garbage: the rest are counted, not listed. */
const MAX_SYNTAX_PROBLEMS = 20;
/** Keys that name object internals in JavaScript. */
const RESERVED_KEYS = ["__proto__", "constructor", "prototype"];
/** The tags of plain YAML: anything else (!vault, !!binary, !!set) would be read as something it is not. */
const PLAIN_TAGS = new Set(["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`));
/** Control characters (tab and newline aside) and bidi overrides, also when written as escapes. */
const CONTROL_IN_VALUE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

const PARSE_OPTIONS = { merge: true, uniqueKeys: false, prettyErrors: false } as const;

interface Found { offset: number; path: KeyPath; message: string }

export function parseLocatedYaml(source: string, file: string): { yaml?: LocatedYaml; problems: Problem[] } {
    const lineCounter = new LineCounter();
    const doc = parseDocument(source, { ...PARSE_OPTIONS, lineCounter });
    const problem = ({ offset, path, message }: Found): Problem => {
        const { line, col } = lineCounter.linePos(offset);
        return { file, line, column: col, path, message };
    };

    const syntax = syntaxProblems(doc, source);
    if (syntax.length > 0) return { problems: syntax.map(problem) };

    const tree = inspectTree(doc);
    if (tree.problems.length > 0) return { problems: tree.problems.map(problem) };
    const runaway = runawayAlias(doc, tree);
    if (runaway) return { problems: [problem(runaway)] };

    const index = new Map<YAMLMap, Map<string, Pair>>();
    const locate = (path: KeyPath, at: "key" | "value" = "value") => {
        const node = findNode(doc, tree.resolve, index, path, at);
        const { line, col } = lineCounter.linePos(node?.range?.[0] ?? doc.contents?.range?.[0] ?? 0);
        return { line, column: col };
    };
    return { yaml: { value: toPlain(tree.resolve, doc.contents, new Map()), locate }, problems: [] };
}

function syntaxProblems(doc: Document, source: string): Found[] {
    const found = doc.errors.slice(0, MAX_SYNTAX_PROBLEMS).map((error): Found => {
        const offset = error.pos[0];
        // The parser quotes the token it stopped at whole, however long: shortened like any value shown.
        const firstLine = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "").replace(/"(?:[^"\\]|\\.)*"/g, quoteParsed);
        switch (error.code) {
            case "MULTIPLE_DOCS":
                return { offset, path: [], message: "a second YAML document (---): a stack file holds exactly one" };
            case "RESOURCE_EXHAUSTION":
                return { offset, path: pathAtOffset(doc, offset), message: `nesting too deep to read: a stack file nests at most ${MAX_DEPTH} levels` };
            case "TAB_AS_INDENT": {
                // The tab broke the structure here; read with tabs expanded as an editor shows them,
                // the file says which key the author meant.
                const expanded = expandTabs(source, error.pos[1]);
                const path = pathAtOffset(parseDocument(expanded.text, PARSE_OPTIONS), expanded.offset);
                return { offset, path, message: "tabs are not allowed as indentation: indent with spaces" };
            }
            default:
                return { offset, path: pathAtOffset(doc, offset), message: `YAML syntax error: ${firstLine}` };
        }
    });
    if (doc.errors.length > MAX_SYNTAX_PROBLEMS) {
        const last = doc.errors[doc.errors.length - 1];
        found.push({ offset: last.pos[0], path: [], message: `and ${doc.errors.length - MAX_SYNTAX_PROBLEMS} more syntax errors: is this a YAML file?` });
    }
    for (const warning of doc.warnings) {
        // Unknown tags are reported, with their path, by inspectTree.
        if (warning.code !== "TAG_RESOLVE_FAILED") {
            found.push({ offset: warning.pos[0], path: pathAtOffset(doc, warning.pos[0]), message: `YAML: ${warning.message.split("\n")[0]}` });
        }
    }
    return found;
}

/** The JavaScript key a YAML key becomes: `1` and `"1"` are one key there. */
function keyText(resolve: Resolve, key: unknown): string | undefined {
    const node = resolve(key);
    if (!isScalar(node) || node.value === null || typeof node.value === "symbol" || typeof node.value === "object") return undefined;
    return String(node.value);
}

function isMergeKey(key: unknown): boolean {
    return isScalar(key) && (typeof key.value === "symbol" || (key.source === "<<" && key.type === "PLAIN"));
}

/** An alias's target (the node itself for anything else). */
type Resolve = (node: unknown) => unknown;

interface Tree { problems: Found[]; written: number; aliases: { alias: Alias; path: KeyPath }[]; resolve: Resolve }

/** One pass over the written document: every per-node rule, the written size and every alias. */
function inspectTree(doc: Document): Tree {
    // The yaml package's Alias.resolve searches the whole document on every call: anchors are
    // bound here instead, in document order, as YAML binds them (the latest definition wins).
    const anchors = new Map<string, unknown>();
    const targets = new Map<unknown, unknown>();
    const resolve: Resolve = (node) => (isAlias(node) ? targets.get(node) : node);
    const bind = (node: unknown) => {
        if (isAlias(node)) targets.set(node, anchors.get(node.source));
        else if ((node as Node | null)?.anchor) anchors.set((node as Node).anchor!, node);
    };
    const tree: Tree = { problems: [], written: 0, aliases: [], resolve };
    const report = (node: unknown, path: KeyPath, message: string) =>
        tree.problems.push({ offset: (node as Node | null)?.range?.[0] ?? 0, path, message });
    const ancestors = new Set<unknown>();
    let tooDeep = false;

    const visit = (node: unknown, path: KeyPath, depth: number): void => {
        tree.written++;
        if (depth > MAX_DEPTH) {
            if (!tooDeep) report(node, path, `nesting deeper than ${MAX_DEPTH} levels: a stack file needs at most 8`);
            tooDeep = true;
            return;
        }
        bind(node);
        if (isAlias(node)) {
            const target = resolve(node);
            if (ancestors.has(target)) report(node, path, `alias *${node.source} refers to a node that contains it: its expansion never ends`);
            else tree.aliases.push({ alias: node, path });
            return;
        }
        const tag = (node as { tag?: string } | null)?.tag;
        if (tag !== undefined && !PLAIN_TAGS.has(tag)) {
            report(node, path, `unknown tag ${tag.replace(/^tag:yaml\.org,2002:/, "!!")}: a stack file holds plain values only ` +
                "(the tagged text would be read as a plain string)");
        }
        if (isScalar(node)) {
            if (typeof node.value === "string") checkText(node, path, node.value, "value");
            return;
        }
        ancestors.add(node);
        if (isMap(node)) visitMap(node, path, depth);
        else if (isSeq(node)) node.items.forEach((item, index) => visit(item, [...path, index], depth + 1));
        ancestors.delete(node);
    };

    const visitMap = (map: YAMLMap, path: KeyPath, depth: number) => {
        const seen = new Map<string, Pair>();
        for (const pair of map.items) {
            tree.written++;
            if (isMergeKey(pair.key)) {
                visit(pair.value, path, depth + 1);
                checkMergeSources(pair.value, path);
                continue;
            }
            bind(pair.key);
            const key = keyText(resolve, pair.key);
            if (key === undefined) {
                report(pair.key ?? pair.value, path, isScalar(pair.key) || pair.key === null
                    ? "a key is missing here (an empty or null key)"
                    : "a key must be a plain word, not a list or a map");
                continue;
            }
            const keyPath = [...path, key];
            if (isScalar(pair.key) && typeof pair.key.value === "string") checkText(pair.key, keyPath, key, "key");
            if (RESERVED_KEYS.includes(key)) report(pair.key, keyPath, `key ${quote(key)} is reserved (it names JavaScript object internals)`);
            const first = seen.get(key);
            if (first) report(pair.key, keyPath, duplicateMessage(first, pair));
            else seen.set(key, pair);
            visit(pair.value, keyPath, depth + 1);
        }
    };

    const checkMergeSources = (value: unknown, path: KeyPath) => {
        const sources = isSeq(value) ? value.items : [value];
        for (const source of sources) {
            const resolved = resolve(source);
            if (!isMap(resolved)) {
                report(source ?? value, path, `a merge key (<<) takes a map, an alias of a map (*anchor) or a list of them; got ${nodeKind(resolved)}`);
                return;
            }
        }
    };

    const checkText = (node: Node, path: KeyPath, text: string, what: "key" | "value") => {
        const control = CONTROL_IN_VALUE.exec(text);
        if (control) {
            const code = `U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
            report(node, path, `control character ${code} in a ${what}: refused (Docker and terminals would read it differently)`);
        }
    };

    visit(doc.contents, [], 0);
    return tree;
}

function duplicateMessage(first: Pair, second: Pair): string {
    const written = (pair: Pair) => {
        const key = pair.key as Scalar;
        const text = key.source ?? String(key.value);
        return key.type === "PLAIN" ? text : JSON.stringify(text);
    };
    return written(first) === written(second)
        ? "duplicate key: each key may appear once in a map"
        : `duplicate key: ${written(second)} is the same key as ${written(first)} once read (each key may appear once in a map)`;
}

function nodeKind(node: unknown): string {
    if (isSeq(node)) return "a list";
    if (isScalar(node)) return typeof node.value === "string" ? `string ${quote(node.value)}` : node.value === null ? "nothing" : `${typeof node.value} ${String(node.value)}`;
    return "nothing";
}

/**
 * The text with tabs expanded to the next multiple of 8 columns, as an editor shows them, and where
 * `offset` lands in it: a tab-indented file read the way its author saw it.
 */
function expandTabs(source: string, offset: number): { text: string; offset: number } {
    let column = 0;
    let shift = 0;
    const text = source.replace(/[\t\n]|[^\t\n]+/g, (piece, at: number) => {
        if (piece === "\n") {
            column = 0;
            return piece;
        }
        if (piece !== "\t") {
            column += piece.length;
            return piece;
        }
        const width = 8 - (column % 8);
        column += width;
        if (at < offset) shift += width - 1;
        return " ".repeat(width);
    });
    return { text, offset: offset + shift };
}

/** Sizes after alias expansion, memoized per node so that shared subtrees are counted once each. */
function runawayAlias(doc: Document, tree: Tree): Found | undefined {
    const { resolve } = tree;
    if (tree.aliases.length === 0) return undefined;
    const sizes = new Map<unknown, number>();
    const sizeOf = (node: unknown): number => {
        let size = sizes.get(node);
        if (size !== undefined) return size;
        size = 1;
        if (isAlias(node)) size = sizeOf(resolve(node));
        else if (isMap(node)) for (const pair of node.items) size += 1 + sizeOf(pair.value);
        else if (isSeq(node)) for (const item of node.items) size += sizeOf(item);
        sizes.set(node, size);
        return size;
    };
    let expanded: number;
    try {
        expanded = sizeOf(doc.contents);
    } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        const { alias, path } = tree.aliases[tree.aliases.length - 1];
        return { offset: alias.range?.[0] ?? 0, path, message: `aliases nest too deep once expanded: a stack file nests at most ${MAX_DEPTH} levels` };
    }
    const growth = expanded - tree.written;
    if (growth <= MAX_ALIAS_GROWTH) return undefined;
    const largest = tree.aliases.reduce((a, b) => (sizeOf(b.alias) > sizeOf(a.alias) ? b : a));
    return {
        offset: largest.alias.range?.[0] ?? 0,
        path: largest.path,
        message: `aliases make this file ${growth} nodes larger than written (more than ${MAX_ALIAS_GROWTH}; ` +
            `*${largest.alias.source} alone expands to ${sizeOf(largest.alias)}): refused as runaway alias expansion`,
    };
}

/**
 * The document as plain data: maps without prototypes, merge keys applied (keys written in the
 * map win, then earlier sources over later ones), each anchored node built once and shared.
 */
function toPlain(resolve: Resolve, node: unknown, built: Map<unknown, unknown>): unknown {
    if (isAlias(node)) return toPlain(resolve, resolve(node), built);
    if (isScalar(node)) return node.value;
    const done = built.get(node);
    if (done !== undefined) return done;
    if (isSeq(node)) {
        const list: unknown[] = [];
        built.set(node, list);
        for (const item of node.items) list.push(toPlain(resolve, item, built));
        return list;
    }
    if (!isMap(node)) return null;
    const map: Record<string, unknown> = Object.create(null);
    built.set(node, map);
    const merges: unknown[] = [];
    for (const pair of node.items) {
        if (isMergeKey(pair.key)) merges.push(...(isSeq(pair.value) ? pair.value.items : [pair.value]));
        else map[keyText(resolve, pair.key)!] = toPlain(resolve, pair.value, built);
    }
    for (const source of merges) {
        for (const [key, value] of Object.entries(toPlain(resolve, source, built) as Record<string, unknown>)) {
            if (!Object.hasOwn(map, key)) map[key] = value;
        }
    }
    return map;
}

/** Resolves a key path to its node, following merge keys (`<<: *anchor`) and aliases; `index` caches each map's keys. */
function findNode(doc: Document, resolve: Resolve, index: Map<YAMLMap, Map<string, Pair>>, path: KeyPath, at: "key" | "value"): Node | undefined {
    const entryOf = (map: YAMLMap, key: string): Pair | undefined => {
        let entries = index.get(map);
        if (!entries) {
            entries = new Map();
            for (const pair of map.items) {
                const text = isMergeKey(pair.key) ? undefined : keyText(resolve, pair.key);
                if (text !== undefined && !entries.has(text)) entries.set(text, pair);
            }
            index.set(map, entries);
        }
        return entries.get(key);
    };
    const childOf = (node: unknown, segment: string | number): { key?: Node; value?: Node } | undefined => {
        node = resolve(node);
        if (isSeq(node) && typeof segment === "number") {
            const item = node.items[segment] as Node | undefined;
            return item ? { key: item, value: item } : undefined;
        }
        if (!isMap(node)) return undefined;
        const pair = entryOf(node, String(segment));
        if (pair) return { key: pair.key as Node, value: (pair.value ?? pair.key) as Node };
        // Not written here: it may come from a merge key.
        for (const merge of node.items.filter((p) => isMergeKey(p.key))) {
            for (const source of isSeq(merge.value) ? merge.value.items : [merge.value]) {
                const found = childOf(source, segment);
                if (found) return found;
            }
        }
        return undefined;
    };

    let node: unknown = doc.contents;
    let last = node as Node | undefined;
    for (let i = 0; i < path.length; i++) {
        const step = childOf(node, path[i]);
        if (!step) return last;
        node = at === "key" && i === path.length - 1 ? step.key : step.value;
        if (node) last = node as Node;
    }
    return last;
}

/** The key path of the deepest map entry or sequence item whose source span holds `offset`. */
function pathAtOffset(doc: Document, offset: number): KeyPath {
    const path: KeyPath = [];
    let node: unknown = doc.contents;
    for (;;) {
        let next: { segment: string | number; node: unknown } | undefined;
        if (isMap(node)) {
            for (const pair of node.items) {
                const start = (pair.key as Node | null)?.range?.[0];
                const end = (pair.value as Node | null)?.range?.[2] ?? (pair.key as Node | null)?.range?.[2];
                const key = keyText((node) => node, pair.key);
                if (start !== undefined && end !== undefined && start <= offset && offset <= end && key !== undefined) {
                    next = { segment: key, node: pair.value };
                }
            }
        } else if (isSeq(node)) {
            node.items.forEach((item, index) => {
                const range = (item as Node).range;
                if (range && range[0] <= offset && offset <= range[2]) next = { segment: index, node: item };
            });
        }
        if (!next) return path;
        path.push(next.segment);
        node = next.node;
    }
}

/** A JSON-quoted string of a parser's message, quoted as values are shown (left as it is when it is not JSON). */
function quoteParsed(quoted: string): string {
    try {
        return quote(JSON.parse(quoted) as string);
    } catch {
        return quoted;
    }
}
