// The README and docs/: short enough to read, each page says who it is for, every relative link
// and anchor resolves, and the README's stack-file example validates.
import * as assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadStackFile } from "../../stackfile/load";

const repo = path.resolve(__dirname, "..", "..");
const read = (file: string) => readFileSync(path.join(repo, file), "utf8");
const pages = ["README.md", "CHANGELOG.md", ...readdirSync(path.join(repo, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
    return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

describe("README and docs", () => {
    it("keep the README to a five-minute read (about 150 lines), with the two commands that work on a fresh machine", () => {
        const readme = read("README.md");
        assert.ok(readme.split("\n").length <= 150, `README.md has ${readme.split("\n").length} lines`);
        assert.match(readme, /^npm ci && npm run up\s+#/m);
        assert.match(readme, /^npm ci && npm test\s+#/m);
    });

    it("start each docs page by saying who it is for", () => {
        for (const page of pages.filter((p) => p.startsWith("docs/") && p !== "docs/benchmarks.notes.md")) {
            const [title, blank, first] = read(page).split("\n");
            assert.match(title, /^# /, page);
            assert.equal(blank, "", page);
            assert.match(first, /^For: /, `${page} does not start with who it is for`);
        }
    });

    it("link only to files and headings that exist", () => {
        const broken: string[] = [];
        for (const page of pages) {
            for (const [, target] of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
                if (/^[a-z]+:/.test(target)) continue;
                const [file, anchor] = target.split("#");
                const resolved = file ? path.join(path.dirname(page), file) : page;
                if (!existsSync(path.join(repo, resolved))) {
                    broken.push(`${page}: ${target}`);
                } else if (anchor && resolved.endsWith(".md")) {
                    const headings = [...read(resolved).matchAll(/^#+ (.*)$/gm)].map(([, heading]) => anchorOf(heading));
                    if (!headings.includes(anchor)) broken.push(`${page}: ${target} (no such heading)`);
                }
            }
        }
        assert.deepEqual(broken, []);
    });

    it("show a stack file in the README that validates", () => {
        const example = /## A stack file\n\n```yaml\n([\s\S]*?)```/.exec(read("README.md"))?.[1];
        assert.ok(example, "the README has a stack-file example");
        const dir = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-readme-"));
        try {
            writeFileSync(path.join(dir, "example.yaml"), example);
            const stack = loadStackFile(path.join(dir, "example.yaml"), {});
            assert.deepEqual([Object.keys(stack.hosts), Object.keys(stack.clients)], [["builder"], ["agent"]]);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
