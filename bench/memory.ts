// Peak memory of a process tree: the resident set sizes of a process and all its descendants,
// summed, sampled every 100 ms from /proc. For a cold up that tree is the driver (the Node.js
// program, run inline by the Automation API), the `pulumi` CLI and engine, and every plugin the
// engine starts. Shared pages count once per process, so the sum is an upper bound.
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

export interface ProcessEntry { ppid: number; rssKiB: number }

/** PPid and VmRSS of a /proc/PID/status text; kernel threads have no VmRSS and count 0. */
export function parseStatus(text: string): ProcessEntry | undefined {
    const ppid = /^PPid:\s*(\d+)/m.exec(text);
    if (!ppid) return undefined;
    const rss = /^VmRSS:\s*(\d+)\s*kB/m.exec(text);
    return { ppid: Number(ppid[1]), rssKiB: rss ? Number(rss[1]) : 0 };
}

/** Every process under a /proc directory, by pid; processes that end while being read are left out. */
export function readProcessTable(proc = "/proc"): Map<number, ProcessEntry> {
    const table = new Map<number, ProcessEntry>();
    for (const name of readdirSync(proc)) {
        if (!/^\d+$/.test(name)) continue;
        let text: string;
        try {
            text = readFileSync(path.join(proc, name, "status"), "utf8");
        } catch {
            continue;
        }
        const entry = parseStatus(text);
        if (entry) table.set(Number(name), entry);
    }
    return table;
}

/** KiB resident in `root` and all its descendants. */
export function treeRssKiB(table: Map<number, ProcessEntry>, root: number): number {
    const children = new Map<number, number[]>();
    for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    let total = 0;
    const pending = table.has(root) ? [root] : [];
    while (pending.length) {
        const pid = pending.pop()!;
        total += table.get(pid)!.rssKiB;
        pending.push(...(children.get(pid) ?? []));
    }
    return total;
}

/** Samples a process tree's summed RSS on a timer until stopped; `stop` gives the peak in MiB. */
export class PeakTreeRss {
    private peakKiB = 0;
    private readonly timer: NodeJS.Timeout;

    constructor(private readonly root = process.pid, intervalMs = 100, private readonly proc = "/proc") {
        this.sample();
        this.timer = setInterval(() => this.sample(), intervalMs);
    }

    private sample() {
        this.peakKiB = Math.max(this.peakKiB, treeRssKiB(readProcessTable(this.proc), this.root));
    }

    stop(): number {
        clearInterval(this.timer);
        this.sample();
        return this.peakKiB / 1024;
    }
}
