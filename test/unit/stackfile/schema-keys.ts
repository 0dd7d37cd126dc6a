// Every key of the stack file's schema, read from the zod schema itself, as generic key paths:
// `hosts.<name>.tcp.port`, `hosts.<name>.registryAuth[].password`. Shared by the tests that hold
// every key to a classification (the trust model) and to a kind it applies on (schema by kind).
import { z } from "zod";
import { MANAGED_DOCKERD_OPTIONS } from "../../../components/dockerd";
import { stackFileSchema } from "../../../stackfile/schema";

function unwrapped(schema: z.ZodType): z.ZodType {
    let inner = schema;
    while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
    return inner;
}

/** A key with the schema that checks its value. */
export interface SchemaKey { path: string; schema: z.ZodType }

/** Every leaf key; a union of a word and a map (access: full | {...}) is a key itself and has the map's keys below it. */
export function schemaKeys(): SchemaKey[] {
    const keys: SchemaKey[] = [];
    const walk = (schema: z.ZodType, path: string) => {
        const inner = unwrapped(schema);
        // daemon.json options are keys themselves, whatever their values' shape.
        if (inner instanceof z.ZodObject && !path.endsWith(".dockerd")) {
            for (const [key, child] of Object.entries(inner.shape)) walk(child as z.ZodType, path ? `${path}.${key}` : key);
        } else if (inner instanceof z.ZodObject) {
            for (const [key, child] of Object.entries(inner.shape)) keys.push({ path: `${path}.${key}`, schema: unwrapped(child as z.ZodType) });
        } else if (inner instanceof z.ZodRecord && unwrapped(inner.valueType as z.ZodType) instanceof z.ZodObject) {
            walk(inner.valueType as z.ZodType, `${path}.<name>`);
        } else if (inner instanceof z.ZodArray && unwrapped(inner.element as z.ZodType) instanceof z.ZodObject) {
            walk(inner.element as z.ZodType, `${path}[]`);
        } else {
            keys.push({ path, schema: inner });
            if (inner instanceof z.ZodUnion) {
                for (const option of inner.options as z.ZodType[]) if (unwrapped(option) instanceof z.ZodObject) walk(option, path);
            }
        }
    };
    walk(stackFileSchema, "");
    return keys;
}

const DOCKERD = "hosts.<name>.dockerd.";

/**
 * The row a key has in the docs' tables: daemon.json options share two rows (the options a file may
 * set, and the ones the project manages and refuses), every other key has its own.
 */
export function documentedRow(path: string): string {
    if (!path.startsWith(DOCKERD)) return path;
    return Object.hasOwn(MANAGED_DOCKERD_OPTIONS, path.slice(DOCKERD.length)) ? `${DOCKERD}<managed option>` : `${DOCKERD}<option>`;
}

/**
 * The rows of the markdown table under `heading` in `markdown`: first cell (a key in backquotes) -> the
 * other cells. Fails when the heading or the table is missing.
 */
export function tableRows(markdown: string, heading: string): Map<string, string[]> {
    const start = markdown.indexOf(`\n${heading}\n`);
    if (start < 0) throw new Error(`no heading "${heading}"`);
    const rows = new Map<string, string[]>();
    const lines = markdown.slice(start + heading.length + 2).split("\n");
    let inTable = false;
    for (const line of lines) {
        if (!line.startsWith("|")) {
            if (inTable) break;
            continue;
        }
        inTable = true;
        const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
        const key = /^`([^`]+)`$/.exec(cells[0]);
        if (key) rows.set(key[1], cells.slice(1));
    }
    if (rows.size === 0) throw new Error(`no table under "${heading}"`);
    return rows;
}
