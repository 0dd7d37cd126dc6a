import * as assert from "node:assert/strict";
import { apiAtLeast, engineApiVersion } from "../../../components/engineApi";
import { startFakeEngine } from "./fakeEngine";

describe("engineApi", () => {
    it("reads the engine's API version, or undefined when nothing answers", async () => {
        const engine = await startFakeEngine({}, "1.44");
        try {
            assert.equal(await engineApiVersion({ host: `unix://${engine.socket}` }), "1.44");
        } finally {
            await engine.close();
        }
        assert.equal(await engineApiVersion({ host: "unix:///nonexistent/docker.sock" }), undefined);
        assert.equal(await engineApiVersion({ host: "ssh://build-01" }), undefined);
    });

    it("compares API versions numerically", () => {
        assert.equal(apiAtLeast("1.44", "1.44"), true);
        assert.equal(apiAtLeast("1.100", "1.44"), true);
        assert.equal(apiAtLeast("1.9", "1.44"), false);
        assert.equal(apiAtLeast("2.0", "1.44"), true);
    });
});
