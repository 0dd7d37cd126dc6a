import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { descendantExecutables, parsePssKiB, parseStatus, PeakTreeMemory, readProcessTable, treePids } from "../../../bench/memory";

const status = (name: string, ppid: number, rssKiB?: number) =>
    `Name:\t${name}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t7\nPid:\t7\nPPid:\t${ppid}\n` +
    `VmPeak:\t  999999 kB\n${rssKiB === undefined ? "" : `VmRSS:\t  ${rssKiB} kB\n`}Threads:\t4\n`;
const rollup = (rssKiB: number, pssKiB: number) =>
    `559790497000-7fffe3ad2000 ---p 00000000 00:00 0    [rollup]\nRss:  ${rssKiB} kB\nPss:  ${pssKiB} kB\nPss_Dirty:  112 kB\nPss_Anon:  ${pssKiB - 1} kB\n`;

describe("bench/memory", () => {
    it("reads the parent and the resident set of /proc/PID/status, not the peak", () => {
        assert.deepEqual(parseStatus(status("pulumi-resource-docker", 42, 51234)), { ppid: 42, rssKiB: 51234 });
    });

    it("counts a kernel thread (no VmRSS) as 0 and refuses a text without PPid", () => {
        assert.deepEqual(parseStatus(status("kworker/0:1", 2)), { ppid: 2, rssKiB: 0 });
        assert.equal(parseStatus("Name:\tx\n"), undefined);
    });

    it("reads the Pss line of smaps_rollup, not Pss_Anon or Pss_Dirty", () => {
        assert.equal(parsePssKiB(rollup(1688, 273)), 273);
        assert.equal(parsePssKiB(""), 0);
    });

    it("finds a process and all its descendants, and nothing else", () => {
        const table = new Map([
            [1, { ppid: 0, rssKiB: 1000 }],
            [10, { ppid: 1, rssKiB: 100 }], // the driver
            [11, { ppid: 10, rssKiB: 20 }], // pulumi
            [12, { ppid: 11, rssKiB: 3 }], // a plugin
            [13, { ppid: 11, rssKiB: 4 }], // another plugin
            [20, { ppid: 1, rssKiB: 5000 }], // a neighbour
        ]);
        assert.deepEqual(treePids(table, 10).sort(), [10, 11, 12, 13]);
        assert.deepEqual(treePids(table, 12), [12]);
        assert.deepEqual(treePids(table, 99), []);
    });

    describe("on a /proc directory", () => {
        let proc: string;
        const write = (pid: number, text: string, pss?: string) => {
            mkdirSync(path.join(proc, String(pid)), { recursive: true });
            writeFileSync(path.join(proc, String(pid), "status"), text);
            if (pss) writeFileSync(path.join(proc, String(pid), "smaps_rollup"), pss);
        };
        beforeEach(() => {
            proc = mkdtempSync(path.join(os.tmpdir(), "bench-proc-"));
            write(10, status("node", 1, 2048), rollup(2048, 1024));
            write(11, status("pulumi", 10, 1024), rollup(1024, 512));
            write(20, status("neighbour", 1, 9000), rollup(9000, 9000));
            mkdirSync(path.join(proc, "self"));
            mkdirSync(path.join(proc, "12")); // ended while the table was read: no status
        });
        afterEach(() => rmSync(proc, { recursive: true, force: true }));

        it("reads the numeric entries and skips processes that are gone", () => {
            assert.deepEqual([...readProcessTable(proc).entries()].sort(([a], [b]) => a - b),
                [[10, { ppid: 1, rssKiB: 2048 }], [11, { ppid: 10, rssKiB: 1024 }], [20, { ppid: 1, rssKiB: 9000 }]]);
        });

        it("keeps the highest sums seen between start and stop, in MiB", async () => {
            const sampler = new PeakTreeMemory(10, 5, proc);
            write(13, status("pulumi-resource-tls", 11, 5120), rollup(5120, 2560));
            // Interval timers due before this timeout run first: the sampler sees the plugin.
            await new Promise((resolve) => setTimeout(resolve, 100));
            rmSync(path.join(proc, "13"), { recursive: true });
            assert.deepEqual(sampler.stop(), { rssMiB: 8, pssMiB: 4 });
        });

        it("lists the executables of the descendants only, leaving out those it cannot read", () => {
            symlinkSync("/opt/pulumi/bin/pulumi", path.join(proc, "11", "exe"));
            write(13, status("pulumi-resource-docker", 11, 100));
            symlinkSync("/tmp/plugins/patched/pulumi-resource-docker", path.join(proc, "13", "exe"));
            write(14, status("kworker", 11, 0)); // no exe link
            symlinkSync("/usr/bin/neighbour", path.join(proc, "20", "exe"));
            assert.deepEqual(descendantExecutables(10, proc).sort(), ["/opt/pulumi/bin/pulumi", "/tmp/plugins/patched/pulumi-resource-docker"]);
        });

        it("samples at start and at stop, a process without smaps_rollup counting 0 PSS", () => {
            const sampler = new PeakTreeMemory(10, 60_000, proc);
            write(14, status("pulumi-resource-docker", 11, 3072));
            assert.deepEqual(sampler.stop(), { rssMiB: 6, pssMiB: 1.5 });
        });
    });

    it("finds this process and a child of it in the real /proc, with a PSS and its executable", () => {
        const child = spawn("sleep", ["30"]);
        try {
            const table = readProcessTable();
            assert.equal(table.get(child.pid!)?.ppid, process.pid);
            assert.ok(treePids(table, process.pid).includes(child.pid!));
            assert.ok(descendantExecutables(process.pid).includes(realpathSync("/bin/sleep")), descendantExecutables(process.pid).join(", "));
            const memory = new PeakTreeMemory(process.pid, 60_000).stop();
            assert.ok(memory.pssMiB > 0 && memory.pssMiB <= memory.rssMiB, JSON.stringify(memory));
        } finally {
            child.kill();
        }
    });
});
