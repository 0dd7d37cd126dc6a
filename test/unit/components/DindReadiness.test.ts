import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { awaitInnerDaemon, DindReadiness, FAILURE_LOG_LINES, ReadinessInputs, startFailure } from "../../../components/DindReadiness";
import { demultiplex } from "../../../components/engineApi";
import { installMocks, isKnown, READ_BACK_MTU, valueOf } from "../mocks";
import { FakeEngine, startFakeEngine } from "./fakeEngine";

const starting = { State: { Status: "running", Running: true, Restarting: false, ExitCode: 0, Health: { Status: "starting" } }, RestartCount: 0 };
const healthy = { ...starting, State: { ...starting.State, Health: { Status: "healthy" } } };
const exited = { State: { Status: "exited", Running: false, Restarting: false, ExitCode: 1, Health: { Status: "starting" } }, RestartCount: 0 };
const restarting = { State: { ...exited.State, Status: "restarting", Restarting: true, FinishedAt: "2026-11-28T04:23:39.412345678Z" }, RestartCount: 1 };

describe("DindReadiness", () => {
    let engine: FakeEngine;
    beforeEach(async () => (engine = await startFakeEngine()));
    afterEach(() => engine.close());
    const inputs = (extra: object = {}) => ({ host: "builder", outer: { host: `unix://${engine.socket}` }, containerId: "c1", timeoutSeconds: 30, ...extra });

    it("with an endpoint, is done as soon as the inner daemon answers /_ping, without waiting for the health check", async () => {
        const inner = await startFakeEngine();
        try {
            inner.failingPings = 3;
            engine.containers.set("c1", { states: [starting], log: "", updates: [] });
            const started = Date.now();
            assert.deepEqual(await awaitInnerDaemon(inputs({ inner: { host: `unix://${inner.socket}` } })), { mtu: 0 });
            assert.equal(inner.pings, 4);
            assert.ok(Date.now() - started < 1000, "pings tens of milliseconds apart, not a health check's second");
        } finally {
            await inner.close();
        }
    });

    it("with an endpoint that never answers, still fails as soon as the daemon exits", async () => {
        engine.containers.set("c1", { states: [starting, exited], log: "failed to start daemon: bad setting", updates: [] });
        await assert.rejects(awaitInnerDaemon(inputs({ inner: { host: "unix:///nonexistent/docker.sock" } })), /its DinD container exited \(exit code 1\)[^]*bad setting$/);
    });

    it("is done once the container is healthy, after applying the pids limit", async () => {
        engine.containers.set("c1", { states: [starting, starting, healthy], log: "", updates: [] });
        const state = await awaitInnerDaemon(inputs({ pidsLimit: 4096 }));
        assert.equal(state.mtu, 0);
        assert.deepEqual(engine.containers.get("c1")!.updates, [{ PidsLimit: 4096 }]);
    });

    it("reads the inner bridge's MTU back when given the inner daemon", async () => {
        engine.containers.set("c1", { states: [healthy], log: "", updates: [] });
        engine.bridgeOptions = { "com.docker.network.driver.mtu": "1380" };
        assert.equal((await awaitInnerDaemon(inputs({ inner: { host: `unix://${engine.socket}` }, readMtu: true }))).mtu, 1380);
    });

    it("fails as soon as the daemon exits, quoting the last lines of the container's log", async () => {
        const log = Array.from({ length: 30 }, (_, i) => `line ${i}`).join("\n") +
            '\nfailed to start daemon: error initializing graphdriver: driver not supported: "zfs"';
        engine.containers.set("c1", { states: [starting, exited], log, updates: [] });
        const started = Date.now();
        await assert.rejects(awaitInnerDaemon(inputs()), (error: Error) => {
            assert.match(error.message, /^DinD host builder did not start: its DinD container exited \(exit code 1\): the inner daemon stopped\. Last lines of its log \(docker logs builder\):\n/);
            assert.match(error.message, /driver not supported: "zfs"$/);
            assert.equal(error.message.split("\n").length - 1, FAILURE_LOG_LINES);
            return true;
        });
        assert.ok(Date.now() - started < 5000, "well before the 30 s timeout");
    });

    it("takes a restart for an exit, quoting the log of the run that failed (up to its end), not of the next", async () => {
        assert.match(startFailure(restarting)!, /exited and its restart policy started it again \(1 restart\)/);
        const logQueries: string[] = [];
        engine.containers.set("c1", { states: [starting, restarting], log: "failed to start daemon: bad setting", updates: [], logQueries });
        await assert.rejects(awaitInnerDaemon(inputs()), /restart policy started it again[^]*failed to start daemon: bad setting$/);
        assert.deepEqual(logQueries, ["?stdout=1&stderr=1&until=1795839819.412345678"]);
    });

    it("says when the daemon did not answer in time", async () => {
        assert.equal(startFailure(starting), undefined);
        engine.containers.set("c1", { states: [starting], log: "waiting", updates: [] });
        await assert.rejects(awaitInnerDaemon(inputs({ timeoutSeconds: 0.5 })), /did not answer within 0\.5 s\. Last lines of its log \(docker logs builder\):\nwaiting$/);
    });

    it("does not take a restart from before the wait (a daemon the restart policy brought back) for this start's failure", () => {
        const broughtBack = { State: { ...starting.State, Status: "restarting", Restarting: true }, RestartCount: 1 };
        assert.equal(startFailure(broughtBack, 1), undefined);
        assert.match(startFailure({ ...broughtBack, RestartCount: 3 }, 1)!, /\(2 restarts\)/);
        const unhealthy = { ...starting, State: { ...starting.State, Health: { Status: "unhealthy" } } };
        assert.match(startFailure(unhealthy)!, /unhealthy/);
        assert.equal(startFailure(unhealthy, 0, false), undefined, "where readiness pings, the ping decides");
    });

    it("reads a log with or without stream headers", () => {
        const framed = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 3]), Buffer.from("ab\n"), Buffer.from([2, 0, 0, 0, 0, 0, 0, 2]), Buffer.from("c\n")]);
        assert.equal(demultiplex(framed), "ab\nc\n");
        assert.equal(demultiplex(Buffer.from("plain tty output\n")), "plain tty output\n");
    });

    describe("the component", () => {
        const recording = (calls: ReadinessInputs[], mtu = READ_BACK_MTU) => ({
            awaitInnerDaemon: async (i: ReadinessInputs) => (calls.push(i), { mtu: i.readMtu ? mtu : 0 }),
            innerBridgeMtu: async () => mtu,
        });
        const args = (calls: ReadinessInputs[], extra: object = {}) => ({
            host: "builder", outer: { host: "unix:///var/run/docker.sock" }, containerId: "c1", timeoutSeconds: 30,
            inner: pulumi.secret({ host: "tcp://127.0.0.1:23760", key: "client-key" }), check: recording(calls), ...extra,
        });

        it("in an update, resolves the container id only once the check is done, and not as a secret", async () => {
            installMocks();
            const calls: ReadinessInputs[] = [];
            const readiness = new DindReadiness("builder-readiness", args(calls, { readMtu: true, pidsLimit: 64 }));
            assert.equal(await valueOf(readiness.containerId), "c1");
            assert.equal(await valueOf(readiness.mtu), READ_BACK_MTU);
            assert.deepEqual(calls.map((c) => [c.containerId, c.inner?.key, c.pidsLimit, c.readMtu]), [["c1", "client-key", 64, true]]);
            assert.equal(await (readiness.containerId as unknown as { isSecret: Promise<boolean> }).isSecret, false);
        });

        it("in an update, fails naming the host, as a resource error", async () => {
            installMocks();
            const check = { awaitInnerDaemon: async () => { throw new Error("DinD host builder did not start: exited"); }, innerBridgeMtu: async () => 0 };
            const readiness = new DindReadiness("builder-readiness", { ...args([]), check });
            await assert.rejects(valueOf(readiness.containerId), (error: Error) => pulumi.ResourceError.isInstance(error) && /did not start: exited/.test(error.message));
        });

        it("in a preview, waits for nothing and reads the MTU back only if the daemon answers", async () => {
            installMocks(true);
            const calls: ReadinessInputs[] = [];
            const plain = new DindReadiness("plain", args(calls));
            assert.equal(await valueOf(plain.containerId), "c1");
            assert.equal(await valueOf(plain.mtu), 0);
            assert.equal(await valueOf(new DindReadiness("auto", args(calls, { readMtu: true })).mtu), READ_BACK_MTU);
            const down = { awaitInnerDaemon: recording(calls).awaitInnerDaemon, innerBridgeMtu: async () => { throw new Error("refused"); } };
            assert.equal(await isKnown(new DindReadiness("down", { ...args(calls), readMtu: true, check: down }).mtu), false);
            assert.deepEqual(calls, [], "a preview never waits");
        });
    });
});
