import * as assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../..");

/** The layers, bottom first (folders, or modules without .ts): each imports only from itself and the ones before it. */
const LAYERS = [["components"], ["stackfile"], ["program"], ["index", "scripts"]];

function layerOf(file: string): number {
    const top = path.relative(repo, file).split(path.sep)[0].replace(/\.ts$/, "");
    return LAYERS.findIndex((layer) => layer.includes(top));
}

function sources(name: string): string[] {
    const full = path.join(repo, name);
    if (existsSync(`${full}.ts`)) return [`${full}.ts`];
    return readdirSync(full, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts")).map((f) => path.join(full, f));
}

describe("layering", () => {
    it("imports only downwards: components/ <- stackfile/ <- program.ts <- index.ts, scripts/", () => {
        const upward: string[] = [];
        for (const file of LAYERS.flat().flatMap(sources)) {
            for (const [, target] of readFileSync(file, "utf8").matchAll(/\b(?:from|import|require)\s*\(?\s*"(\.[^"]*)"/g)) {
                if (layerOf(path.resolve(path.dirname(file), target)) > layerOf(file)) upward.push(`${path.relative(repo, file)} imports ${target}`);
            }
        }
        assert.deepEqual(upward, []);
    });
});
