// Peak memory of a process tree: a process and all its descendants, sampled every 100 ms from
// /proc; and the executables that tree runs. For a cold up that tree is the driver (the Node.js program, run inline by the
// Automation API), the `pulumi` CLI and engine, and every plugin the engine starts. Two sums:
// RSS counts a page shared by several processes (the text of the nine docker plugins of an
// 8-host stack) once per process, an upper bound; PSS splits it among them, what the tree costs.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import * as path from "node:path";

export interface ProcessEntry { ppid: number; rssKiB: number }

/** PPid and VmRSS of a /proc/PID/status text; kernel threads have no VmRSS and count 0. */
export function parseStatus(text: string): ProcessEntry | undefined {
    const ppid = /^PPid:\s*(\d+)/m.exec(text);
    if (!ppid) return undefined;
    const rss = /^VmRSS:\s*(\d+)\s*kB/m.exec(text);
    return { ppid: Number(ppid[1]), rssKiB: rss ? Number(rss[1]) : 0 };
}

/** The Pss line of a /proc/PID/smaps_rollup text, in KiB (0 without one). */
export function parsePssKiB(text: string): number {
    const pss = /^Pss:\s*(\d+)\s*kB/m.exec(text);
    return pss ? Number(pss[1]) : 0;
}

/** A file of a process under /proc, or undefined once the process has ended. */
function readProc(proc: string, pid: string | number, file: string): string | undefined {
    try {
        return readFileSync(path.join(proc, String(pid), file), "utf8");
    } catch {
        return undefined;
    }
}

/** Every process under a /proc directory, by pid; processes that end while being read are left out. */
export function readProcessTable(proc = "/proc"): Map<number, ProcessEntry> {
    const table = new Map<number, ProcessEntry>();
    for (const name of readdirSync(proc)) {
        if (!/^\d+$/.test(name)) continue;
        const entry = parseStatus(readProc(proc, name, "status") ?? "");
        if (entry) table.set(Number(name), entry);
    }
    return table;
}

/** `root` and all its descendants (none when `root` is not in the table). */
export function treePids(table: Map<number, ProcessEntry>, root: number): number[] {
    const children = new Map<number, number[]>();
    for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    const found: number[] = [];
    const pending = table.has(root) ? [root] : [];
    while (pending.length) {
        const pid = pending.pop()!;
        found.push(pid);
        pending.push(...(children.get(pid) ?? []));
    }
    return found;
}

/** The executables (resolved paths) of `root`'s descendants; those whose /proc entry is gone or unreadable are left out. */
export function descendantExecutables(root: number, proc = "/proc"): string[] {
    const exes: string[] = [];
    for (const pid of treePids(readProcessTable(proc), root)) {
        if (pid === root) continue;
        try {
            exes.push(readlinkSync(path.join(proc, String(pid), "exe")));
        } catch {
            // ended meanwhile, or a kernel thread
        }
    }
    return exes;
}

export interface TreeMemory { rssMiB: number; pssMiB: number }

/** Samples a process tree's summed RSS and PSS on a timer until stopped; `stop` gives the peak of each. */
export class PeakTreeMemory {
    private peakRssKiB = 0;
    private peakPssKiB = 0;
    private readonly timer: NodeJS.Timeout;

    constructor(private readonly root = process.pid, intervalMs = 100, private readonly proc = "/proc") {
        this.sample();
        this.timer = setInterval(() => this.sample(), intervalMs);
    }

    private sample() {
        const table = readProcessTable(this.proc);
        const pids = treePids(table, this.root);
        const rss = pids.reduce((sum, pid) => sum + table.get(pid)!.rssKiB, 0);
        const pss = pids.reduce((sum, pid) => sum + parsePssKiB(readProc(this.proc, pid, "smaps_rollup") ?? ""), 0);
        this.peakRssKiB = Math.max(this.peakRssKiB, rss);
        this.peakPssKiB = Math.max(this.peakPssKiB, pss);
    }

    stop(): TreeMemory {
        clearInterval(this.timer);
        this.sample();
        return { rssMiB: this.peakRssKiB / 1024, pssMiB: this.peakPssKiB / 1024 };
    }
}
