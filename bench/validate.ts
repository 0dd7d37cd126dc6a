// `npm run bench:validate [-- --runs N]`: how fast stack files are judged. Generates a 2,000-host
// file of 5 MB and 150,000 lines and a host with a 40,000-key map, then reports medians of:
// `npm run validate` start-up on a small valid file (end to end, a fresh process each run), the
// loader on each big file in process, and the CLI end to end on the 5 MB file. Wall time and CPU
// time both: on a shared, loaded machine the wall time says more about the neighbours.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateStackSource } from "../stackfile/load";

const repo = path.resolve(__dirname, "..");
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 5;

/** 2,000 hosts of 75 lines each: every kind of key, a merge key per host, one alias. */
function fleetFile(): string {
    const lines = ["x-dind: &dind", "  image: registry.example.com:5000/ci/dind:27.5.1", "  storage: { retain: true }", "hosts:"];
    for (let i = 0; i < 2000; i++) {
        const n = String(i).padStart(4, "0");
        lines.push(`  build-${n}:`, "    <<: *dind", "    tcp:", `      port: ${20000 + i}`, "      bind: 127.0.0.1",
            `      sans: [build-${n}.ci.example.com, 10.0.${i >> 8}.${i & 255}]`, `    unix: { hostDir: /srv/dind/build-${n} }`,
            "    preload: [busybox:1.36, \"alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"]", "    env:");
        for (let k = 0; k < 52; k++) lines.push(`      KEY_${String(k).padStart(2, "0")}: value-${n}-${k}-abcdefgh`);
        lines.push("    workloads:", "      networks: [app]", "      volumes: [data]", "      containers:", "        web:",
            "          image: busybox:1.36", "          command: [sh, -c, \"httpd -f -p 8080\"]", "          env: { MODE: test }",
            "          ports: [{ internal: 8080, external: 8080 }]", "          networks: [app]", "          volumes: [{ volume: data, path: /data }]",
            "        api:", "          image: busybox:1.36", "          ports: [{ internal: 8081, external: 8081 }]");
    }
    return `${lines.join("\n")}\n`;
}

function wideMapFile(): string {
    const env = Array.from({ length: 40_000 }, (_, k) => `      KEY_${k}: value-${k}`).join("\n");
    return `hosts:\n  builder:\n    tcp: { port: 23760 }\n    env:\n${env}\n`;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

interface Sample { wall: number; cpu: number }

/** CPU milliseconds of this process and of its finished children (Linux: /proc/self/stat, 100 ticks a second). */
function cpuMs(): number {
    const own = process.cpuUsage();
    const stat = existsSync("/proc/self/stat") ? readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ") : [];
    const children = stat.length > 14 ? (Number(stat[13]) + Number(stat[14])) * 10 : NaN;
    return (own.user + own.system) / 1000 + children;
}

function time(action: () => void): Sample {
    const start = process.hrtime.bigint();
    const cpu = cpuMs();
    action();
    return { wall: Number(process.hrtime.bigint() - start) / 1e6, cpu: cpuMs() - cpu };
}

function cli(file: string): Sample {
    return time(() => {
        const result = spawnSync(process.execPath, [path.join(repo, "commands", "bundled.js"), "--bundle-packages", "commands/validate.ts", file], { encoding: "utf8", env: { PATH: process.env.PATH } });
        if (result.status !== 0) throw new Error(`validate failed on ${file}:\n${result.stderr.slice(0, 2000)}`);
    });
}

function medians(samples: Sample[]): Sample {
    return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

function main() {
    const dir = mkdtempSync(path.join(os.tmpdir(), "val-bench-"));
    try {
        const small = path.join(repo, "test/unit/stackfile/fixtures/good/full.yaml");
        const fleet = path.join(dir, "fleet.yaml");
        const wide = path.join(dir, "wide.yaml");
        writeFileSync(fleet, fleetFile());
        writeFileSync(wide, wideMapFile());
        const describeFile = (file: string, text: string) => `${(statSync(file).size / 1e6).toFixed(1)} MB, ${text.split("\n").length - 1} lines`;

        cli(small); // builds the bundle if the sources changed: not part of what is measured
        const rows: [string, Sample][] = [];
        rows.push(["npm run validate start-up, small valid file (end to end)", medians(Array.from({ length: runs * 2 }, () => cli(small)))]);
        for (const [label, file, text] of [["2,000-host file", fleet, fleetFile()], ["40,000-key map", wide, wideMapFile()]] as const) {
            const bytes = Buffer.from(text);
            const ms = medians(Array.from({ length: runs }, () => time(() => {
                const result = validateStackSource(bytes, file, {});
                if (!result.stack) throw new Error(`${label} is not valid: ${result.problems[0]?.message}`);
            })));
            rows.push([`loader, ${label} (${describeFile(file, text)})`, ms]);
        }
        rows.push([`npm run validate, 2,000-host file (end to end)`, medians(Array.from({ length: runs }, () => cli(fleet)))]);

        console.log(`medians of ${runs} runs (start-up: ${runs * 2}), on ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}:`);
        console.log(`  ${"".padEnd(78)} ${"wall".padStart(8)} ${"CPU".padStart(8)}`);
        for (const [label, { wall, cpu }] of rows) console.log(`  ${label.padEnd(78)} ${`${wall.toFixed(0)} ms`.padStart(8)} ${`${cpu.toFixed(0)} ms`.padStart(8)}`);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

main();
