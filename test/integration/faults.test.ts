// The real lane's faults: each one is caused for real (signals to the driver's process group,
// a killed inner dockerd, a removed container, a daemon that does not answer, two runs at once)
// and the driver, run as `npm run up` runs it, must recover with no hand work.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, statSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { lockDirsOf, pluginProcesses, processRunning } from "../../driver/recovery";
import { PROJECT_NAME } from "../../driver/stack";
import { clearLeftovers, docker, dockerOk, driver, DriverRun, labelled, StackUnderTest, tearDown } from "../support/harness";
import { allowForSuite } from "../support/consent";

const FIXTURES = path.join(__dirname, "fixtures");
const SCRATCH = "/tmp/dind-provisioner-fault";
const FORWARDED_DIR = "/tmp/dind-provisioner-fault-daemon";
const INNER = { DOCKER_HOST: `unix://${SCRATCH}/fault-dind/docker.sock` };
const SOAK_CYCLES = Number(process.env.FAULTS_SOAK_CYCLES ?? 20);

/** Resolves at the first Docker event matching `filters` from now on (milliseconds after it happens, unlike polling). */
function firstDockerEvent(filters: string[]): Promise<void> {
    const events = spawn("docker", ["events", ...filters, "--format", "{{.ID}}"], { stdio: ["ignore", "pipe", "inherit"] });
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { events.kill(); reject(new Error(`no docker event ${filters.join(" ")} within 60 s`)); }, 60_000);
        events.stdout.once("data", () => { clearTimeout(timer); events.kill(); resolve(); });
    });
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<number> {
    const start = Date.now();
    while (!check()) {
        if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return (Date.now() - start) / 1000;
}

function locksOf(sut: StackUnderTest): string[] {
    return lockDirsOf(sut.backendUrl, PROJECT_NAME, sut.stack.name)!.flatMap((dir) => (existsSync(dir) ? readdirSync(dir) : []))
        .filter((name) => name.endsWith(".json"));
}

function health(container: string): string {
    return docker(["inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", container]).stdout.trim();
}

/** The nested container runs on the inner daemon and the preloaded image is there. */
function assertNestedBack() {
    assert.equal(dockerOk(["inspect", "--format", "{{.State.Running}}", "fault-web"], INNER), "true");
    assert.equal(dockerOk(["exec", "fault-web", "cat", "/data/marker"], INNER), "up");
    assert.equal(docker(["image", "inspect", "dind-provisioner/busybox:local"], INNER).status, 0);
}

/** Plugin processes started by this suite's engines: their working directory is the stack's. */
function pluginsOf(sut: StackUnderTest) {
    return pluginProcesses().filter((p) => {
        try {
            return readFileSync(`/proc/${p.pid}/environ`, "utf8").includes(sut.dir);
        } catch {
            return false;
        }
    });
}

const timings: Record<string, number> = {};

describe("real lane: faults, and the driver's recovery from them", function () {
    this.timeout(10 * 60_000);
    after(() => console.log(`\n    recovery timings (s): ${JSON.stringify(timings)}`));

    describe("one stack through a series of faults", () => {
        let sut: StackUnderTest;
        let flags: string[];
        let generation = 1;
        const bump = () => {
            const from = generation++;
            sut.editStackFile((text) => text.replace(`GENERATION: "${from}"`, `GENERATION: "${generation}"`));
        };

        before(async () => {
            clearLeftovers(["fault-dind"], ["fault-dind-docker"], "fault-");
            rmSync(SCRATCH, { recursive: true, force: true });
            sut = await StackUnderTest.create(path.join(FIXTURES, "faults.yaml"), `fault-${process.pid}`);
            flags = sut.driverFlags;
            await driver("up", flags);
            assertNestedBack();
        });

        after(async () => {
            await tearDown(sut);
            rmSync(SCRATCH, { recursive: true, force: true });
        });

        it("4. SIGTERM to the up's process group in the middle of a replacement cancels cleanly, releases the lock, and the next up converges", async () => {
            bump();
            const run = new DriverRun("up", flags);
            await run.waitFor(/fault-dind-container\b.*(replacing|deleting)/);
            const signalled = Date.now();
            run.killGroup("SIGTERM");
            const { code } = await run.exited;
            timings.sigtermCancel = (Date.now() - signalled) / 1000;
            assert.equal(code, 143, run.output.slice(-3000));
            assert.match(run.output, /SIGTERM received; cancelling|cancelled by SIGTERM/);
            assert.deepEqual(locksOf(sut), [], "the lock is released");
            const next = await driver("up", flags);
            timings.sigtermNextUp = next.seconds;
            assert.doesNotMatch(next.output, /removed the lock/);
            assert.ok(dockerOk(["inspect", "--format", "{{.Config.Env}}", "fault-dind"]).includes(`GENERATION=${generation}`));
            assertNestedBack();
        });

        it("5. SIGKILL of the up's process group while the replacement is created: the next up removes the stale lock, resolves the pending create and stops the orphaned plugins", async () => {
            bump();
            const created = firstDockerEvent(["--filter", "type=container", "--filter", "event=create", "--filter", "container=fault-dind"]);
            const run = new DriverRun("up", flags);
            // The create has reached the daemon; the provider still uploads, starts and reads the container back.
            await created;
            run.killGroup("SIGKILL");
            await run.exited;
            const killed = Date.now();
            assert.equal(locksOf(sut).length, 1, "SIGKILL leaves the engine's lock behind");
            const orphans = pluginsOf(sut);
            assert.ok(orphans.length > 0, "the killed run's plugins outlive it (they run in process groups of their own)");
            const recovered = await driver("up", flags);
            timings.sigkillRecoveryUp = recovered.seconds;
            assert.match(recovered.output, /removed the lock of stack fault-\d+ left by .* pid \d+ .*: that process no longer runs/);
            assert.match(recovered.output, /container fault-dind: interrupted while creating; (removed the unconfirmed container|but the state has it|not on)/);
            // A plugin that outlived the run is stopped by the driver, which says so, unless it noticed the engine's death and exited first.
            for (const [, pid] of recovered.output.matchAll(/stopped pulumi-resource-\S+ pid (\d+): a plugin of a run that was killed/g)) {
                assert.ok(orphans.some((orphan) => orphan.pid === Number(pid)), `stopped pid ${pid}, which was not the killed run's`);
            }
            for (const orphan of orphans) assert.ok(!processRunning(orphan.pid), `${orphan.command[0]} pid ${orphan.pid} still runs`);
            timings.sigkillOrphansGoneAfter = (Date.now() - killed) / 1000;
            assert.deepEqual(locksOf(sut), []);
            assert.ok(dockerOk(["inspect", "--format", "{{.Config.Env}}", "fault-dind"]).includes(`GENERATION=${generation}`));
            assertNestedBack();
            // And the state is whole: another up changes nothing.
            const again = await sut.stack.up();
            assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"], JSON.stringify(again.summary.resourceChanges));
        });

        it("7. a second up of the stack while one runs fails at once naming the holder; the state stays whole", async () => {
            bump();
            const first = new DriverRun("up", flags);
            // Held at its readiness step while the second runs: a paused inner daemon does not answer.
            await first.waitFor(/fault-dind-container\b.*creating replacement/);
            await until("the replacement container runs", () => docker(["inspect", "--format", "{{.State.Running}}", "fault-dind"]).stdout.trim() === "true", 30_000);
            dockerOk(["pause", "fault-dind"]);
            const second = await driver("up", flags, 1).finally(() => dockerOk(["unpause", "fault-dind"]));
            timings.concurrentSecondFailsIn = second.seconds;
            assert.match(second.output, new RegExp(`stack ${sut.stack.name} is in use by \\S+@${os.hostname()} pid \\d+ \\(running\\)`));
            assert.ok(second.seconds < 30, `the second up took ${second.seconds} s to fail`);
            assert.equal((await first.exited).code, 0, first.output.slice(-3000));
            const again = await sut.stack.up();
            assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"], JSON.stringify(again.summary.resourceChanges));
            assertNestedBack();
        });

        it("1. the inner dockerd killed: the DinD host comes back by itself, and refresh then up bring every nested resource back", async () => {
            // dockerd is the container's PID 1 (the entrypoint execs it): its death ends the container.
            const pid = dockerOk(["inspect", "--format", "{{.State.Pid}}", "fault-dind"]);
            assert.match(readFileSync(`/proc/${pid}/cmdline`, "utf8"), /dockerd/);
            const restarts = Number(dockerOk(["inspect", "--format", "{{.RestartCount}}", "fault-dind"]));
            process.kill(Number(pid), "SIGKILL");
            timings.innerDaemonBack = await until("the DinD host restarted and its inner daemon answers",
                () => Number(docker(["inspect", "--format", "{{.RestartCount}}", "fault-dind"]).stdout) > restarts && docker(["version"], INNER).status === 0);
            await driver("refresh", flags);
            const up = await driver("up", flags);
            timings.innerDaemonRefreshUp = up.seconds;
            assertNestedBack();
        });

        it("2. the DinD container removed behind Pulumi's back: refresh then up recreate it, and its volume kept the inner images", async () => {
            dockerOk(["rm", "-f", "fault-dind"]);
            const start = Date.now();
            const refresh = await driver("refresh", flags);
            assert.match(refresh.output, /DinD host fault-dind: container fault-dind is gone/);
            await driver("up", flags);
            timings.removedHostRecreated = (Date.now() - start) / 1000;
            assert.equal(docker(["version"], INNER).status, 0, "up returned once the inner daemon answers");
            assertNestedBack();
        });

        it("6a. destroy succeeds with the DinD host stopped: its nested resources go with its storage, no inner daemon is dialled", async () => {
            dockerOk(["stop", "fault-dind"]);
            const destroy = await driver("destroy", flags);
            timings.destroyStoppedHost = destroy.seconds;
            assert.match(destroy.output, /container fault-dind is stopped/);
            assert.doesNotMatch(destroy.output, /Error pinging Docker server/);
            assert.deepEqual(labelled(sut.label), []);
            assert.deepEqual(((await sut.stack.exportStack()).deployment.resources ?? []).filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack"), []);
        });
    });

    describe("a DinD host with retained storage that is gone", () => {
        let sut: StackUnderTest;

        before(async () => {
            clearLeftovers(["fault-keep"], ["fault-keep-docker"], "fault-");
            sut = await StackUnderTest.create(path.join(FIXTURES, "faults-retained.yaml"), `fault-keep-${process.pid}`);
        });

        after(async () => {
            await tearDown(sut);
            rmSync(SCRATCH, { recursive: true, force: true });
        });

        it("6b. destroy says the nested resources cannot be deleted and what to do; with --drop-nested it succeeds and keeps the volume", async () => {
            await driver("up", sut.driverFlags);
            dockerOk(["rm", "-f", "fault-keep"]);
            const refused = await driver("destroy", sut.driverFlags, 1);
            assert.match(refused.output, /DinD host fault-keep: its container fault-keep is gone and its storage volume fault-keep-docker is retained, so the 1 nested resource\(s\) on its inner daemon/);
            assert.match(refused.output, /--drop-nested/);
            assert.ok(refused.seconds < 30);
            const destroy = await driver("destroy", [...sut.driverFlags, "--drop-nested"]);
            timings.destroyGoneRetainedHost = destroy.seconds;
            assert.deepEqual(labelled(sut.label), ["volume fault-keep-docker"], "only the retained volume stays");
            dockerOk(["volume", "rm", "fault-keep-docker"]);
        });
    });

    describe("an outer daemon that does not answer", () => {
        let sut: StackUnderTest;
        let forwarder: net.Server | undefined;
        let disallow: () => void = () => undefined;

        before(async () => {
            clearLeftovers(["fault-remote"], ["fault-remote-docker"], "fault-");
            rmSync(FORWARDED_DIR, { recursive: true, force: true });
            mkdirSync(FORWARDED_DIR, { recursive: true });
            // The stack's daemon is a socket of this machine other than the runner's own: the operator allows it.
            disallow = allowForSuite({ DIND_PROVISIONER_ALLOW_DAEMONS: `unix://${FORWARDED_DIR}/docker.sock` });
            sut = await StackUnderTest.create(path.join(FIXTURES, "faults-daemon.yaml"), `fault-daemon-${process.pid}`);
        });

        after(async () => {
            await tearDown(sut);
            disallow();
            forwarder?.close();
            rmSync(FORWARDED_DIR, { recursive: true, force: true });
        });

        it("3. up fails within seconds naming the daemon and what to do; once the daemon answers, up converges", async () => {
            const down = await driver("up", sut.driverFlags, 1);
            timings.daemonDownFailsIn = down.seconds;
            assert.match(down.output, new RegExp(`outer Docker daemon "local" \\(unix://${FORWARDED_DIR}/docker.sock\\) does not answer: .*ENOENT.*Start Docker there`));
            assert.ok(down.seconds < 20, `up took ${down.seconds} s to fail`);
            assert.deepEqual(labelled(sut.label), []);
            // The daemon comes back: a forwarder from the stack's socket path to the real one.
            forwarder = net.createServer((client) => {
                const upstream = net.connect("/var/run/docker.sock");
                client.pipe(upstream).pipe(client);
                const close = () => { client.destroy(); upstream.destroy(); };
                client.on("error", close);
                upstream.on("error", close);
            });
            await new Promise<void>((resolve) => forwarder!.listen(`${FORWARDED_DIR}/docker.sock`, resolve));
            const up = await driver("up", sut.driverFlags);
            timings.daemonBackUp = up.seconds;
            assert.equal(health("fault-remote"), "healthy");
            await driver("destroy", sut.driverFlags);
            assert.deepEqual(labelled(sut.label), []);
        });
    });

    describe("soak", () => {
        let sut: StackUnderTest;

        before(async () => {
            clearLeftovers(["fault-soak"], ["fault-soak-docker"], "fault-");
            sut = await StackUnderTest.create(path.join(FIXTURES, "faults-soak.yaml"), `fault-soak-${process.pid}`);
        });

        after(() => tearDown(sut));

        it(`8. ${SOAK_CYCLES} cycles of up, change, up, destroy leave nothing behind, and memory and disk do not grow`, async () => {
            // Other suites and tools share /tmp: count what the engine, its plugins and the Automation API would leave.
            const tmpEntries = () => readdirSync(os.tmpdir()).filter((name) => /pulumi|automation/i.test(name)).length;
            const memAvailableMb = () => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))![1]) / 1024;
            const dockerFreeMb = () => { const s = statfsSync("/var/lib/docker"); return (s.bavail * s.bsize) / 2 ** 20; };
            // This process hosts the inline program and its language server across every cycle.
            const rssMb = () => process.memoryUsage().rss / 2 ** 20;
            // The stack's state, without the update history and backups the backend keeps by design.
            const stateKb = () => sut.stateFiles().filter((f) => !/\/\.pulumi\/(history|backups)\//.test(f)).reduce((sum, f) => sum + statSync(f).size, 0) / 1024;
            const tmpBefore = tmpEntries();
            const samples: { seconds: number; memMb: number; diskMb: number; tmp: number; rssMb: number; stateKb: number }[] = [];
            for (let cycle = 1; cycle <= SOAK_CYCLES; cycle++) {
                const start = Date.now();
                sut.editStackFile((text) => text.replace(/GENERATION: "\d+"/, `GENERATION: "${cycle}a"`));
                await sut.stack.up();
                sut.editStackFile((text) => text.replace(/GENERATION: "\d+a"/, `GENERATION: "${cycle}"`));
                const changed = await sut.stack.up();
                assert.equal(changed.summary.resourceChanges?.replace, 1, JSON.stringify(changed.summary.resourceChanges));
                await sut.stack.destroy();
                assert.deepEqual(labelled(sut.label), [], `cycle ${cycle} left these behind`);
                // The CLI stops its plugins as it exits: allow them a moment.
                await until(`cycle ${cycle}: the plugins exit`, () => pluginsOf(sut).length === 0, 10_000);
                samples.push({ seconds: (Date.now() - start) / 1000, memMb: memAvailableMb(), diskMb: dockerFreeMb(), tmp: tmpEntries(), rssMb: rssMb(), stateKb: stateKb() });
            }
            const quarter = Math.max(1, Math.floor(samples.length / 4));
            const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
            const drift = (key: "memMb" | "diskMb" | "rssMb" | "stateKb") =>
                [mean(samples.slice(0, quarter).map((s) => s[key])), mean(samples.slice(-quarter).map((s) => s[key]))];
            const [firstRss, lastRss] = drift("rssMb");
            const [firstState, lastState] = drift("stateKb");
            const [firstMem, lastMem] = drift("memMb");
            const [firstDisk, lastDisk] = drift("diskMb");
            timings.soakCycleMean = Math.round(mean(samples.map((s) => s.seconds)) * 10) / 10;
            console.log(`    soak: ${samples.length} cycles, mean ${timings.soakCycleMean} s; driver RSS ${firstRss.toFixed(0)} -> ${lastRss.toFixed(0)} MB; `
                + `state ${firstState.toFixed(0)} -> ${lastState.toFixed(0)} KB; MemAvailable ${firstMem.toFixed(0)} -> ${lastMem.toFixed(0)} MB; `
                + `docker disk free ${firstDisk.toFixed(0)} -> ${lastDisk.toFixed(0)} MB; temp entries ${tmpBefore} -> ${samples.at(-1)!.tmp}`);
            // Machine-wide free memory and disk move with whatever else runs here (other suites, builds): they are
            // reported; the assertions are on what this stack owns. Leftover processes are asserted per cycle above.
            assert.ok(lastRss - firstRss < 150, `the driver's RSS grew by ${(lastRss - firstRss).toFixed(0)} MB`);
            assert.ok(lastState - firstState < 16, `the state grew from ${firstState.toFixed(0)} to ${lastState.toFixed(0)} KB`);
            assert.ok(samples.at(-1)!.tmp - tmpBefore < SOAK_CYCLES / 2, `temporary entries grew from ${tmpBefore} to ${samples.at(-1)!.tmp}`);
        });
    });
});
