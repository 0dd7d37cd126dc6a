import * as assert from "node:assert/strict";
import { EngineClient } from "../../../components/engineApi";
import { DECLARED_LABEL } from "../../../components/markers";
import { ImageUsage, resetHost, ResetInterruptedError } from "../../../driver/reset";
import { FakeDaemon, startFakeDaemon } from "./fakeDaemon";

const NOW = 1_800_000_000;
const declared = { [DECLARED_LABEL]: "true" };

describe("driver/reset", () => {
    let inner: FakeDaemon;
    const engine = () => new EngineClient({ host: inner.host });
    beforeEach(async () => (inner = await startFakeDaemon()));
    afterEach(() => inner.close());

    it("removes what the stack did not declare, starts declared containers a job stopped, leaves a swarm", async () => {
        for (let i = 0; i < 20; i++) inner.add({ Name: `job-${i}`, ImageID: "sha256:job" });
        inner.add({ Name: "svc", Labels: declared, State: "exited", ImageID: "sha256:svc" });
        inner.volumes.push(...["a", "b", "c", "d", "e"].map((Name) => ({ Name, Labels: {} })), { Name: "data", Labels: declared });
        inner.networks.push(...["bridge", "host", "none"].map((Name) => ({ Id: Name, Name, Labels: {} })),
            ...["n1", "n2", "n3"].map((Name) => ({ Id: `id-${Name}`, Name, Labels: {} })), { Id: "app", Name: "app", Labels: declared });
        inner.swarm = true;
        const report = await resetHost(engine(), { now: NOW });
        assert.deepEqual([report.containers, report.volumes, report.networks, report.swarm, report.restarted], [20, 5, 3, true, ["svc"]]);
        assert.deepEqual(inner.containers.map((c) => [c.Name, c.State]), [["svc", "running"]]);
        assert.deepEqual(inner.volumes.map((v) => v.Name), ["data"]);
        assert.deepEqual(inner.networks.map((n) => n.Name), ["bridge", "host", "none", "app"]);
        assert.equal(inner.swarm, false);
    });

    it("keeps images and build cache within the budget, the least recently used going first, never an image in use", async () => {
        inner.add({ Name: "svc", Labels: declared, ImageID: "sha256:in-use" });
        inner.images.push(
            { Id: "sha256:in-use", Size: 400, SharedSize: 0, RepoTags: ["svc:1"] },
            { Id: "sha256:old", Size: 300, SharedSize: 0, RepoTags: ["old:1"] },
            { Id: "sha256:recent", Size: 300, SharedSize: 0, RepoTags: ["recent:1"] },
            { Id: "sha256:new", Size: 100, SharedSize: 0, RepoTags: ["new:1"] },
        );
        inner.buildCache.push(
            { ID: "cache-older", Size: 200, Shared: false, InUse: false, LastUsedAt: new Date((NOW - 5000) * 1000).toISOString() },
            { ID: "cache-recent", Size: 200, Shared: false, InUse: false, LastUsedAt: new Date((NOW - 10) * 1000).toISOString() },
        );
        let saved: ImageUsage = { "sha256:old": NOW - 9000, "sha256:recent": NOW - 100, "sha256:gone": NOW - 50 };
        const ledger = { read: async () => saved, write: async (usage: ImageUsage) => void (saved = usage) };
        const report = await resetHost(engine(), { now: NOW, keepBytes: 1000, ledger });
        // 1500 bytes: the old image (LRU), then the older cache record, bring it to 1000.
        assert.deepEqual(inner.images.map((i) => i.Id), ["sha256:in-use", "sha256:recent", "sha256:new"]);
        assert.deepEqual(inner.buildCache.map((b) => b.ID), ["cache-recent"]);
        assert.deepEqual(report.evicted, { images: 1, cacheRecords: 1, bytes: 500 });
        assert.equal(report.storageBytes, 1000);
        assert.deepEqual(saved, { "sha256:in-use": NOW, "sha256:recent": NOW - 100, "sha256:new": NOW }, "in use now, first seen now, forgotten when gone");
    });

    it("stops before its next removals once another lease took the member over", async () => {
        for (let i = 0; i < 20; i++) inner.add({ Name: `job-${i}` });
        let checks = 0;
        await assert.rejects(resetHost(engine(), { now: NOW, lost: async () => ++checks > 1 }), ResetInterruptedError);
        assert.equal(inner.containers.length, 12, "the first batch of 8 went, the rest stayed for the new holder");
    });
});
