// YAML with source positions: parse errors, duplicate keys and runaway alias
// expansion become located problems, and any key path maps back to a line and column.
import { Alias, Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Node, parseDocument } from "yaml";

export type KeyPath = (string | number)[];

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

/** Above this many nodes after alias expansion, a file is refused (a "billion laughs" guard). */
export const MAX_EXPANDED_NODES = 10_000;

export function parseLocatedYaml(source: string, file: string): { yaml?: LocatedYaml; problems: Problem[] } {
    const lineCounter = new LineCounter();
    const doc = parseDocument(source, { merge: true, uniqueKeys: true, lineCounter, prettyErrors: false });
    const position = (offset: number) => {
        const { line, col } = lineCounter.linePos(offset);
        return { line, column: col };
    };
    const problems: Problem[] = doc.errors.map((error) => ({
        file,
        ...position(error.pos[0]),
        path: error.code === "MULTIPLE_DOCS" ? [] : pathAtOffset(doc, error.pos[0]),
        message: syntaxMessage(error.code, error.message),
    }));
    // A duplicate key leaves a usable document, so the rest of the file is still checked.
    if (doc.errors.some((error) => error.code !== "DUPLICATE_KEY")) return { problems };

    const runaway = findRunawayAlias(doc);
    if (runaway) {
        const alias = runaway.alias;
        return {
            problems: [{
                file,
                ...position(alias.range?.[0] ?? 0),
                path: runaway.path,
                message: runaway.cyclic
                    ? `alias *${alias.source} refers to a node that contains it: its expansion never ends`
                    : `alias *${alias.source} expands this file to more than ${MAX_EXPANDED_NODES} nodes: refused as runaway alias expansion`,
            }],
        };
    }

    const locate = (path: KeyPath, at: "key" | "value" = "value") => {
        const node = findNode(doc, path, at);
        return position(node?.range?.[0] ?? doc.contents?.range?.[0] ?? 0);
    };
    return { yaml: { value: doc.toJS({ maxAliasCount: -1 }), locate }, problems };
}

function syntaxMessage(code: string, message: string): string {
    const firstLine = message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    if (code === "DUPLICATE_KEY") return "duplicate key: each key may appear once in a map";
    if (code === "MULTIPLE_DOCS") return "a second YAML document (---): a stack file holds exactly one";
    return `YAML syntax error: ${firstLine}`;
}

/** Resolves a key path to its node, following merge keys (`<<: *anchor`) and aliases. */
function findNode(doc: Document, path: KeyPath, at: "key" | "value"): Node | undefined {
    let node: unknown = doc.contents;
    let last: Node | undefined = node as Node | undefined;
    for (let i = 0; i < path.length; i++) {
        node = resolve(doc, node);
        const step = childOf(doc, node, path[i]);
        if (!step) return last;
        const wantKey = at === "key" && i === path.length - 1;
        node = wantKey ? step.key : step.value;
        if (node) last = node as Node;
    }
    return last;
}

function childOf(doc: Document, node: unknown, segment: string | number): { key?: Node; value?: Node } | undefined {
    if (isSeq(node) && typeof segment === "number") {
        const item = node.items[segment] as Node | undefined;
        return item ? { key: item, value: item } : undefined;
    }
    if (!isMap(node)) return undefined;
    for (const pair of node.items) {
        if (isScalar(pair.key) && typeof pair.key.value !== "symbol" && String(pair.key.value) === String(segment)) {
            return { key: pair.key as Node, value: (pair.value ?? pair.key) as Node };
        }
    }
    // Not written here: it may come from a merge key.
    for (const pair of node.items) {
        if (isScalar(pair.key) && pair.key.source === "<<") {
            const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
            for (const source of sources) {
                const found = childOf(doc, resolve(doc, source), segment);
                if (found) return found;
            }
        }
    }
    return undefined;
}

function resolve(doc: Document, node: unknown): unknown {
    return isAlias(node) ? node.resolve(doc) : node;
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
                if (start !== undefined && end !== undefined && start <= offset && offset <= end && isScalar(pair.key)) {
                    next = { segment: String(pair.key.value), node: pair.value };
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

/** Follows the largest branch of an oversized document down to the alias that blows it up. */
function findRunawayAlias(doc: Document): { alias: Alias; path: KeyPath; cyclic: boolean } | undefined {
    const sizes = new Map<unknown, number>();
    const sizeOf = (node: unknown): number => {
        const cached = sizes.get(node);
        if (cached !== undefined) return cached;
        sizes.set(node, Infinity); // a cycle counts as infinite
        let size = 1;
        if (isAlias(node)) size = sizeOf(node.resolve(doc));
        else if (isMap(node)) for (const pair of node.items) size += sizeOf(pair.key) + sizeOf(pair.value);
        else if (isSeq(node)) for (const item of node.items) size += sizeOf(item);
        else if (isPair(node)) size = sizeOf(node.key) + sizeOf(node.value);
        sizes.set(node, size);
        return size;
    };
    if (sizeOf(doc.contents) <= MAX_EXPANDED_NODES) return undefined;

    const path: KeyPath = [];
    let node: unknown = doc.contents;
    while (!isAlias(node)) {
        const children: { segment: string | number; node: unknown }[] = isMap(node)
            ? node.items.map((pair) => ({ segment: isScalar(pair.key) ? String(pair.key.value) : "?", node: pair.value }))
            : isSeq(node)
              ? node.items.map((item, index) => ({ segment: index, node: item }))
              : [];
        if (children.length === 0) return undefined;
        const largest = children.reduce((a, b) => (sizeOf(b.node) > sizeOf(a.node) ? b : a));
        path.push(largest.segment);
        node = largest.node;
    }
    return { alias: node, path, cyclic: sizeOf(node) === Infinity };
}
