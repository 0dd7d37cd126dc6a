import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..", "..", "..");
const bundled = (...args: string[]) => spawnSync(process.execPath, [path.join(repo, "commands", "bundled.js"), ...args],
    { cwd: repo, encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 120_000 });

describe("commands/bundled.js", function () {
    // The first run builds the bundle; a loaded machine makes that slow.
    this.timeout(120_000);

    it("runs a command with its arguments, as ts-node does, and reports bad usage with the command's own usage line", () => {
        const run = bundled("commands/status.ts", "--bogus");
        assert.equal(run.status, 2);
        assert.equal(run.stderr, "status: unknown option --bogus\nusage: npm run status -- [--stack NAME]...   (default stack: local)\n");
    });

    it("gives every bundled file its own __dirname, not the cache's (the driver finds the repository by it)", () => {
        const run = bundled("test/unit/commands/fixtures/dirname-entry.ts");
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(JSON.parse(run.stdout), [path.join(__dirname, "fixtures"), path.join(__dirname, "fixtures", "nested")]);
    });

    it("bundles the packages too with --bundle-packages (validate), and the command runs the same", () => {
        const run = bundled("--bundle-packages", "commands/validate.ts", path.join(repo, "stacks", "local.yaml"));
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /local\.yaml: valid/);
    });
});
