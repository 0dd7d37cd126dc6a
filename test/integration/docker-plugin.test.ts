// The docker plugin's install as the toolchain makes it, in a PULUMI_HOME of the test's own: this
// project's build (the upstream with its patches) goes in under the SDK's version with the patch
// suffix, takes the place of this script's earlier installs of that version, and gives way to an
// install it did not make (the official plugin). The build itself is the toolchain's (warm here).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../driver/stack";

const SCRIPT = path.join(REPO_ROOT, "toolchain", "steps", "pulumi-docker-plugin.sh");
const SDK_VERSION = JSON.parse(readFileSync(path.join(REPO_ROOT, "node_modules", "@pulumi", "docker", "package.json"), "utf8")).pulumi.version as string;
const SUFFIX = /^PATCH_VERSION_SUFFIX=(\S+)/m.exec(readFileSync(path.join(REPO_ROOT, "toolchain", "modules", "pulumi-resource-docker", "bridge.conf"), "utf8"))![1];
const STAMP = ".dind-provisioner-build";

describe("docker plugin install: this project's patched build, and an official plugin beside it", function () {
    this.timeout(10 * 60_000);
    let home: string;
    const plugins = () => path.join(home, "plugins");
    const dirs = () => readdirSync(plugins()).filter((name) => name.startsWith("resource-docker-") && !/\.(lock|partial)$/.test(name)).sort();
    const install = (...args: string[]) => {
        const result = spawnSync("bash", [SCRIPT, "--print-path", ...args], { encoding: "utf8", env: { ...process.env, PULUMI_HOME: home } });
        assert.equal(result.status, 0, result.stderr);
        return { path: result.stdout.trim(), log: result.stderr };
    };
    /** A plugin directory as another installer leaves it: a binary, and with `stamp` this script's build stamp. */
    const plant = (version: string, stamp?: string) => {
        const dir = path.join(plugins(), `resource-docker-v${version}`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, "pulumi-resource-docker"), `#!/bin/sh\necho ${version}\n`);
        chmodSync(path.join(dir, "pulumi-resource-docker"), 0o755);
        if (stamp) writeFileSync(path.join(dir, STAMP), `${stamp}\n`);
        return dir;
    };

    before(() => {
        home = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-plugin-home-"));
    });
    after(() => rmSync(home, { recursive: true, force: true }));

    it("1. installs the build under the SDK's version with the patch suffix, the version the binary reports", () => {
        const { path: bin } = install();
        assert.equal(bin, path.join(plugins(), `resource-docker-v${SDK_VERSION}+${SUFFIX}`, "pulumi-resource-docker"));
        assert.equal(spawnSync(bin, ["-version"], { encoding: "utf8" }).stdout.trim(), `${SDK_VERSION}+${SUFFIX}`);
        assert.deepEqual(dirs(), [`resource-docker-v${SDK_VERSION}+${SUFFIX}`]);
    });

    it("2. takes away its own earlier install of the same version (no suffix, an older suffix)", () => {
        plant(SDK_VERSION, "an-older-build");
        plant(`${SDK_VERSION}+dind.0`, "an-older-build");
        const { log } = install();
        assert.match(log, new RegExp(`removed .*resource-docker-v${SDK_VERSION.replace(/\./g, "\\.")} \\(another install`));
        assert.deepEqual(dirs(), [`resource-docker-v${SDK_VERSION}+${SUFFIX}`]);
    });

    it("3. leaves an install it did not make in place, takes its own away, and names the other one's binary", () => {
        const official = plant(SDK_VERSION);
        const { path: bin, log } = install();
        assert.match(log, /already installed at .* \(not by this script\); leaving it/);
        assert.equal(bin, path.join(official, "pulumi-resource-docker"));
        assert.deepEqual(dirs(), [`resource-docker-v${SDK_VERSION}`]);
        assert.ok(!existsSync(path.join(official, STAMP)), "the official install was stamped as this script's");
        // And it stays so on the next run.
        assert.equal(install().path, path.join(official, "pulumi-resource-docker"));
        assert.deepEqual(dirs(), [`resource-docker-v${SDK_VERSION}`]);
    });
});
