// The tree's rooms and the one direction of their imports (docs/ARCHITECTURE.md draws them): every
// file of the repository belongs to a room listed here, a room imports only from the rooms it may,
// no files import each other in a circle, and nothing but a test imports a command (a command's
// bundle must hold one entry point: commands/bundled.js).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../..");

const LIBRARY = ["components", "stackfile", "program", "driver"];
/** Each room (a folder, or a file at the top), and the rooms it may import from besides itself. */
const ROOMS: Record<string, string[]> = {
    components: [],
    stackfile: ["components"],
    program: ["components", "stackfile"],
    driver: ["components", "stackfile", "program"],
    commands: [...LIBRARY],
    "index.ts": ["program"],
    policy: ["components"],
    "test/support": [...LIBRARY],
    bench: [...LIBRARY, "test/support"],
    "test/unit": [...LIBRARY, "commands", "policy", "bench", "test/support", "test/integration"],
    "test/integration": [...LIBRARY, "commands", "test/support"],
    // No TypeScript imports across these: shell, Go, YAML and prose.
    toolchain: [],
    "dood-proxy": [],
    stacks: [],
    docs: [],
    ".ci": [],
    // The project's own files at the top.
    ...Object.fromEntries(["Pulumi.yaml", "package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", ".mocharc.json", ".gitignore",
        "README.md", "CHANGELOG.md", "LICENSE"].map((file) => [file, []])),
};

/** The room of a path relative to the repository: the longest room name it starts with. */
function roomOf(relative: string): string | undefined {
    return Object.keys(ROOMS).filter((room) => relative === room || relative.startsWith(`${room}/`)).sort((a, b) => b.length - a.length)[0];
}

/** Every file of the tree, as git sees it (tracked, and new files it does not ignore); the folders git would ignore otherwise. */
function treeFiles(): string[] {
    const git = spawnSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: repo, encoding: "utf8" });
    if (git.status === 0) return git.stdout.split("\n").filter((file) => file && existsSync(path.join(repo, file)));
    const skip = new Set(["node_modules", "dist", ".git", ".pulumi", ".tmp"]);
    const walk = (dir: string): string[] => readdirSync(path.join(repo, dir)).filter((name) => !skip.has(name)).flatMap((name) => {
        const relative = dir ? `${dir}/${name}` : name;
        return statSync(path.join(repo, relative)).isDirectory() ? walk(relative) : [relative];
    });
    return walk("");
}

const IMPORT = /\b(?:from|import|require)\s*\(?\s*"(\.[^"]*)"/g;

/** The file a relative import names (TypeScript's resolution: .ts, .js, /index.ts), relative to the repository. */
function resolved(from: string, target: string): string {
    const base = path.join(path.dirname(from), target);
    const candidate = [base, `${base}.ts`, `${base}.js`, `${base}/index.ts`].find((file) => existsSync(path.join(repo, file)) && statSync(path.join(repo, file)).isFile());
    return candidate ?? base;
}

/** Relative imports of every TypeScript and JavaScript file: file -> the files it imports. */
function importGraph(files: string[]): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    for (const file of files.filter((f) => /\.(ts|js)$/.test(f) && !f.includes("/fixtures/scratch-program/"))) {
        graph.set(file, [...readFileSync(path.join(repo, file), "utf8").matchAll(IMPORT)].map(([, target]) => resolved(file, target)));
    }
    return graph;
}

/** Imports a room may not make, one line each. */
function wrongImports(graph: Map<string, string[]>): string[] {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
        const room = roomOf(file)!;
        for (const target of targets) {
            const to = roomOf(target);
            if (to !== room && !ROOMS[room].includes(to ?? "")) wrong.push(`${file} (${room}) imports ${target} (${to ?? "no room"})`);
        }
    }
    return wrong;
}

/** Import cycles between files, each as "a -> b -> a". */
function cyclesOf(graph: Map<string, string[]>): string[] {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (file: string, trail: string[]) => {
        if (state.get(file) === "done") return;
        if (state.get(file) === "visiting") {
            cycles.push([...trail.slice(trail.indexOf(file)), file].join(" -> "));
            return;
        }
        state.set(file, "visiting");
        for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
        state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    return cycles;
}

describe("layering", () => {
    const files = treeFiles();
    const graph = importGraph(files);

    it("places every file of the tree in a room", () => {
        assert.deepEqual(files.filter((file) => roomOf(file) === undefined), []);
    });

    it("imports only from the rooms a room may import from: components/ <- stackfile/ <- program/ <- driver/ <- commands/", () => {
        assert.deepEqual(wrongImports(graph), []);
    });

    it("has no import cycle between files", () => {
        assert.deepEqual(cyclesOf(graph), []);
    });

    it("imports no command outside the tests: a command's bundle holds one entry point", () => {
        const entries = new Set([...graph.keys()].filter((file) => /\brequire\.main === module\b/.test(readFileSync(path.join(repo, file), "utf8"))));
        const wrong = [...graph].filter(([file]) => !file.startsWith("test/")).flatMap(([file, targets]) => targets.filter((t) => entries.has(t)).map((t) => `${file} imports ${t}`));
        assert.deepEqual(wrong, []);
        assert.ok(entries.has("commands/up.ts") && entries.has("commands/validate.ts"), "the commands are found by their entry guard");
    });

    it("finds an upward import, a cycle and a file without a room (the checks can fail)", () => {
        const bad = new Map([
            ["components/DindHost.ts", ["driver/stack.ts"]],
            ["driver/stack.ts", ["driver/state.ts"]],
            ["driver/state.ts", ["driver/stack.ts"]],
            ["policy/guardrails.ts", ["stackfile/load.ts"]],
        ]);
        assert.deepEqual(wrongImports(bad), [
            "components/DindHost.ts (components) imports driver/stack.ts (driver)",
            "policy/guardrails.ts (policy) imports stackfile/load.ts (stackfile)",
        ]);
        assert.deepEqual(cyclesOf(bad), ["driver/stack.ts -> driver/state.ts -> driver/stack.ts"]);
        assert.equal(roomOf("scripts/anything.ts"), undefined);
        assert.equal(roomOf("test/support/harness.ts"), "test/support");
        assert.equal(resolved("index.ts", "./program"), "program/index.ts");
    });
});
