import * as assert from "node:assert/strict";
import { awaitInnerDaemon, demultiplex, FAILURE_LOG_LINES, readinessProvider, startFailure } from "../../../components/DindReadiness";
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

    it("is done once the container is healthy, after applying the pids limit", async () => {
        engine.containers.set("c1", { states: [starting, starting, healthy], log: "", updates: [] });
        const state = await awaitInnerDaemon(inputs({ pidsLimit: 4096 }));
        assert.equal(state.mtu, 0);
        assert.deepEqual(engine.containers.get("c1")!.updates, [{ PidsLimit: 4096 }]);
    });

    it("reads the inner bridge's MTU back when given the inner daemon", async () => {
        engine.containers.set("c1", { states: [healthy], log: "", updates: [] });
        engine.bridgeOptions = { "com.docker.network.driver.mtu": "1380" };
        assert.equal((await awaitInnerDaemon(inputs({ inner: { host: `unix://${engine.socket}` } }))).mtu, 1380);
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

    it("waits again (an update, not a replacement) for a new container, and is a no-op otherwise", async () => {
        const olds = { ...inputs(), mtu: 0 };
        assert.deepEqual(await readinessProvider.diff!("builder", olds, inputs()), { changes: false });
        assert.deepEqual(await readinessProvider.diff!("builder", olds, inputs({ containerId: "c2" })), { changes: true });
        assert.deepEqual(await readinessProvider.diff!("builder", olds, inputs({ pidsLimit: 100 })), { changes: true });
    });

    it("reads a log with or without stream headers", () => {
        const framed = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 3]), Buffer.from("ab\n"), Buffer.from([2, 0, 0, 0, 0, 0, 0, 2]), Buffer.from("c\n")]);
        assert.equal(demultiplex(framed), "ab\nc\n");
        assert.equal(demultiplex(Buffer.from("plain tty output\n")), "plain tty output\n");
    });
});
