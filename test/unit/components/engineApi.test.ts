import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { apiAtLeast, engineApiVersion, engineRequest } from "../../../components/engineApi";
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

    it("takes an answer that arrived while this process was busy (ts-node compiling under `pulumi up`) instead of timing out", async () => {
        // The engine runs in another process, so it answers while this one is stalled. It says
        // "got" when the request is in, and answers 50 ms later.
        const socket = path.join(mkdtempSync(path.join(os.tmpdir(), "stalled-engine-")), "docker.sock");
        const engine = spawn(process.execPath, ["-e", `require("node:http").createServer((q, r) => {
            console.log("got");
            setTimeout(() => r.end(JSON.stringify({ ApiVersion: "1.41" })), 50);
        }).listen(process.argv[1], () => console.log("ready"));`, socket], { stdio: ["ignore", "pipe", "inherit"] });
        try {
            await once(engine.stdout, "data");
            const answer = engineRequest({ host: `unix://${socket}` }, "GET", "/version", undefined, 100);
            await once(engine.stdout, "data");
            const until = Date.now() + 500;
            while (Date.now() < until) { /* a synchronous stall past the 100 ms timeout */ }
            assert.equal((await answer).statusCode, 200);
        } finally {
            engine.kill();
        }
    });

    it("compares API versions numerically", () => {
        assert.equal(apiAtLeast("1.44", "1.44"), true);
        assert.equal(apiAtLeast("1.100", "1.44"), true);
        assert.equal(apiAtLeast("1.9", "1.44"), false);
        assert.equal(apiAtLeast("2.0", "1.44"), true);
    });
});
