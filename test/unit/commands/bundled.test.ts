import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..", "..", "..");
const bundled = (...args: string[]) => spawnSync(process.execPath, [path.join(repo, "scripts", "bundled.js"), ...args],
    { cwd: repo, encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 120_000 });

describe("scripts/bundled.js", function () {
    // The first run builds the bundle; a loaded machine makes that slow.
    this.timeout(120_000);

    it("runs only the entry's own main: every other script in the bundle keeps its guard closed", () => {
        const run = bundled("scripts/pulumi-stack.ts");
        assert.equal(run.status, 2);
        assert.match(run.stderr, /^usage: pulumi-stack\.ts <up\|preview/);
        assert.doesNotMatch(run.stderr, /usage: (contexts|status|drift)\.ts/);
    });

    it("gives the entry's arguments to it, as ts-node does", () => {
        const run = bundled("scripts/status.ts", "--bogus");
        assert.notEqual(run.status, 0);
        assert.match(run.stderr, /--bogus/);
        assert.doesNotMatch(run.stderr, /pulumi-stack\.ts/);
    });
});
