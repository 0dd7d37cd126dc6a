import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { checkOuterDaemons, DaemonUnreachableError } from "../../../driver/preflight";
import { lockDirsOf, processRunning, releaseStaleLocks, resolvePendingOperations, StackLockedError } from "../../../driver/recovery";
import { Deployment } from "../../../driver/state";
import { validateStackSource } from "../../../stackfile/load";

/** A pid that provably does not run: a child that has exited and been reaped. */
function deadPid(): number {
    return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
}

describe("driver recovery", () => {
    let backend: string;
    let lockDir: string;
    const writeLock = (name: string, content: object) => {
        mkdirSync(lockDir, { recursive: true });
        writeFileSync(path.join(lockDir, name), JSON.stringify({ username: "ci", timestamp: "2026-11-28T04:00:00Z", ...content }));
        return path.join(lockDir, name);
    };

    beforeEach(() => {
        backend = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-unit-"));
        lockDir = lockDirsOf(`file://${backend}`, "dind-provisioner", "dev")![0];
    });
    afterEach(() => rmSync(backend, { recursive: true, force: true }));

    it("finds the file backend's lock directory of a stack, and none for other backends", () => {
        assert.equal(lockDir, path.join(backend, ".pulumi", "locks", "organization", "dind-provisioner", "dev"));
        assert.equal(lockDirsOf("s3://bucket", "dind-provisioner", "dev"), undefined);
    });

    it("removes a lock whose process on this machine no longer runs, and says so", () => {
        const pid = deadPid();
        const file = writeLock("a.json", { pid, hostname: os.hostname() });
        const done = releaseStaleLocks(lockDirsOf(`file://${backend}`, "dind-provisioner", "dev")!, "dev");
        assert.equal(existsSync(file), false);
        assert.match(done[0], new RegExp(`removed the lock of stack dev left by ci@${os.hostname()} pid ${pid} .*no longer runs`));
    });

    it("never breaks the lock of a live process or of another machine, and names the holder", () => {
        const live = writeLock("live.json", { pid: process.pid, hostname: os.hostname() });
        assert.throws(() => releaseStaleLocks([lockDir], "dev"), (error: Error) => {
            assert.ok(error instanceof StackLockedError);
            assert.match(error.message, new RegExp(`stack dev is in use by ci@${os.hostname()} pid ${process.pid} \\(running\\)`));
            return true;
        });
        assert.ok(existsSync(live));
        rmSync(live);
        const remote = writeLock("remote.json", { pid: deadPid(), hostname: "other-machine" });
        assert.throws(() => releaseStaleLocks([lockDir], "dev"), /pid \d+ on another machine, other-machine/);
        assert.ok(existsSync(remote));
    });
});

describe("resolvePendingOperations", () => {
    /** A stack whose CLI calls are recorded: an export gives `exported`, an import is kept. */
    const recordingStack = (exported: Deployment) => {
        const calls: string[] = [];
        const stack = {
            exportStack: async () => (calls.push("export"), { version: 3, deployment: structuredClone(exported) }),
            importStack: async (state: { deployment: Deployment }) => void calls.push(`import ${JSON.stringify(state.deployment.pending_operations)}`),
        } as unknown as Stack;
        return { stack, calls };
    };
    const pending: Deployment = { resources: [], pending_operations: [{ type: "updating", resource: { urn: "urn:a", type: "docker:index/network:Network" } }] };

    it("asks the CLI nothing when the deployment the backend's file holds has nothing pending", async () => {
        const { stack, calls } = recordingStack(pending);
        assert.deepEqual(await resolvePendingOperations(stack, "dind-provisioner/dev", { resources: [] }), []);
        assert.deepEqual(calls, []);
    });

    it("clears what is pending through an export and an import, with or without the backend's file", async () => {
        for (const saved of [pending, undefined]) {
            const { stack, calls } = recordingStack(pending);
            assert.deepEqual(await resolvePendingOperations(stack, "dind-provisioner/dev", saved), ["urn:a: interrupted while updating; cleared (the next up or refresh checks it again)"]);
            assert.deepEqual(calls, ["export", "import []"]);
        }
    });
});

describe("pre-flight daemon check", () => {
    /** The operator allows the daemon (DIND_PROVISIONER_ALLOW_DAEMONS), as it must for any daemon but its own local one. */
    const stackWith = (host: string, extra = "") => validateStackSource(`daemons:\n  local: { host: "${host}"${extra} }\nhosts:\n  builder: {}\n`, "s.yaml",
        { DIND_PROVISIONER_ALLOW_DAEMONS: host }).stack!;

    it("names the daemon that does not answer and what to do", async () => {
        await assert.rejects(checkOuterDaemons(stackWith("unix:///nonexistent/docker.sock"), "stacks/dev.yaml"), (error: Error) => {
            assert.ok(error instanceof DaemonUnreachableError);
            assert.match(error.message, /outer Docker daemon "local" \(unix:\/\/\/nonexistent\/docker.sock\) does not answer: .*ENOENT/);
            assert.match(error.message, /Start Docker there, or point daemons.local.host in stacks\/dev.yaml at a daemon that runs/);
            return true;
        });
    });

    it("fails after its timeout on a daemon that accepts connections but never answers", async () => {
        const silent = net.createServer(() => undefined);
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const port = (silent.address() as net.AddressInfo).port;
        try {
            const stack = stackWith(`tcp://127.0.0.1:${port}`, ", insecure: true");
            await assert.rejects(checkOuterDaemons(stack, "s.yaml"), /does not answer: .*no answer within 3000 ms/);
        } finally {
            silent.close();
        }
    });
});

describe("processRunning", () => {
    it("takes a zombie (exited, not yet reaped) as gone, and a live process as running", async () => {
        // `sleep 0.3` exits under a parent that has exec'd `sleep 60` by then, which never reaps it: a
        // zombie. (A child that ended before the exec could be reaped by the shell: no zombie to see.)
        const parent = spawn("sh", ["-c", "sleep 0.3 & echo $!; exec sleep 60"], { stdio: ["ignore", "pipe", "ignore"] });
        const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once("data", (d: Buffer) => resolve(d.toString()))));
        try {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            assert.match(readFileSync(`/proc/${zombie}/stat`, "utf8"), /\) Z /);
            assert.equal(processRunning(zombie), false);
            assert.equal(processRunning(parent.pid!), true);
        } finally {
            parent.kill("SIGKILL");
        }
    });
});
