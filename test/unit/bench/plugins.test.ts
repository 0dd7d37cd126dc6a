import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { assertRunningPlugin, checkVariantVersion, DockerPlugin, sdkPluginVersion } from "../../../bench/plugins";

describe("bench/plugins", () => {
    it("takes the patched build by the SDK's version with build metadata, the other by the SDK's version alone", () => {
        checkVariantVersion("patched", "5.2.0+dind.1", "5.2.0");
        checkVariantVersion("withoutPatches", "5.2.0", "5.2.0");
        assert.throws(() => checkVariantVersion("patched", "5.2.0", "5.2.0"), /reports version 5\.2\.0, expected 5\.2\.0\+<suffix>: is an official plugin installed/);
        assert.throws(() => checkVariantVersion("patched", "5.20.0+dind.1", "5.2.0"), /expected 5\.2\.0\+<suffix>/);
        assert.throws(() => checkVariantVersion("withoutPatches", "5.2.0+dind.1", "5.2.0"), /expected 5\.2\.0: is it the patched build\?/);
    });

    it("reads the plugin version @pulumi/docker asks for", () => {
        assert.match(sdkPluginVersion(), /^\d+\.\d+\.\d+$/);
    });

    describe("which docker plugin a process tree runs", () => {
        let proc: string;
        const plugin: DockerPlugin = { variant: "withoutPatches", version: "5.2.0", dir: "/run/bench/withoutPatches", binary: "/run/bench/withoutPatches/pulumi-resource-docker" };
        const process_ = (pid: number, ppid: number, exe: string) => {
            mkdirSync(path.join(proc, String(pid)));
            writeFileSync(path.join(proc, String(pid), "status"), `Name:\tx\nPPid:\t${ppid}\nVmRSS:\t1 kB\n`);
            symlinkSync(exe, path.join(proc, String(pid), "exe"));
        };
        beforeEach(() => {
            proc = mkdtempSync(path.join(os.tmpdir(), "bench-plugins-"));
            process_(10, 1, "/usr/bin/node"); // the bench
            process_(11, 10, "/opt/pulumi/bin/pulumi");
            process_(30, 1, "/root/.pulumi/plugins/resource-docker-v5.2.0+dind.1/pulumi-resource-docker"); // someone else's stack
        });
        afterEach(() => rmSync(proc, { recursive: true, force: true }));

        it("passes when every docker plugin below the root is the side's binary", () => {
            process_(12, 11, plugin.binary);
            process_(13, 11, plugin.binary);
            process_(14, 11, "/root/.pulumi/plugins/resource-tls-v5.6.1/pulumi-resource-tls");
            assertRunningPlugin(plugin, 10, proc);
        });

        it("fails when another docker plugin runs too, naming it", () => {
            process_(12, 11, plugin.binary);
            process_(13, 11, "/root/.pulumi/plugins/resource-docker-v5.2.0+dind.1/pulumi-resource-docker");
            assert.throws(() => assertRunningPlugin(plugin, 10, proc),
                /expected the engine to run only \/run\/bench\/withoutPatches\/pulumi-resource-docker \(upstream as served \(without the patches\)\); it runs .*resource-docker-v5\.2\.0\+dind\.1/);
        });

        it("fails when no docker plugin runs", () => {
            assert.throws(() => assertRunningPlugin(plugin, 10, proc), /it runs no docker plugin/);
        });
    });
});
