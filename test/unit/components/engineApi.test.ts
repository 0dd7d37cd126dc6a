import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { apiAtLeast, EngineApiError, engineApiVersion, EngineClient, engineRequest, sshCommand } from "../../../components/engineApi";
import { preloadImage } from "../../../components/ImagePreload";
import { FakeEngine, startFakeEngine } from "./fakeEngine";

// Stands in for the ssh client: records its arguments, then does what `docker system dial-stdio`
// does on the remote machine (joins stdin and stdout to the daemon's socket), here to a fake engine.
const FAKE_SSH = `#!/usr/bin/env node
require("fs").appendFileSync(process.env.FAKE_SSH_LOG, JSON.stringify(process.argv.slice(2)) + "\\n");
if (process.env.FAKE_SSH_FAIL) { process.stderr.write("Permission denied (publickey).\\n"); process.exit(255); }
const socket = require("net").connect(process.env.FAKE_SSH_SOCKET);
process.stdin.pipe(socket).pipe(process.stdout);
`;

describe("Engine API over ssh:// (docker system dial-stdio)", () => {
    let engine: FakeEngine;
    let inner: FakeEngine;
    let dir: string;
    const saved = { ...process.env };

    beforeEach(async () => {
        engine = await startFakeEngine({ "busybox:local": "sha256:bbb" }, "1.45");
        inner = await startFakeEngine();
        dir = mkdtempSync(path.join(os.tmpdir(), "fake-ssh-"));
        writeFileSync(path.join(dir, "ssh"), FAKE_SSH);
        chmodSync(path.join(dir, "ssh"), 0o755);
        Object.assign(process.env, { PATH: `${dir}:${process.env.PATH}`, FAKE_SSH_LOG: path.join(dir, "log"), FAKE_SSH_SOCKET: engine.socket });
    });
    afterEach(async () => {
        process.env = { ...saved };
        await engine.close();
        await inner.close();
        rmSync(dir, { recursive: true, force: true });
    });
    const sshCalls = () => readFileSync(path.join(dir, "log"), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));

    it("runs the ssh client with the daemon's user, port and options, and docker system dial-stdio on the remote", () => {
        assert.deepEqual(sshCommand("ssh://ci@farm-01:2222", ["-i", "/k"], ["docker", "system", "dial-stdio"]),
            ["ssh", "-i", "/k", "-l", "ci", "-p", "2222", "--", "farm-01", "docker", "system", "dial-stdio"]);
        assert.deepEqual(sshCommand("ssh://[fd00::5]", [], ["true"]), ["ssh", "--", "fd00::5", "true"]);
    });

    it("asks the remote daemon for its API version through the ssh client", async () => {
        assert.equal(await engineApiVersion({ host: "ssh://root@10.0.0.9", sshOpts: ["-o", "BatchMode=yes"] }), "1.45");
        assert.deepEqual(sshCalls(), [["-o", "BatchMode=yes", "-l", "root", "--", "10.0.0.9", "docker", "system", "dial-stdio"]]);
    });

    it("preloads an image from an ssh:// outer daemon into the inner one", async () => {
        const imageId = await preloadImage({ image: "busybox:local", source: { host: "ssh://root@10.0.0.9" }, target: { host: `unix://${inner.socket}` } });
        assert.equal(imageId, "sha256:bbb");
        assert.equal(inner.images.get("busybox:local"), "sha256:bbb");
        assert.ok(sshCalls().length >= 2, "inspect and save each go through ssh");
    });

    it("reports what the ssh client said when it cannot connect", async () => {
        process.env.FAKE_SSH_FAIL = "1";
        await assert.rejects(preloadImage({ image: "busybox:local", source: { host: "ssh://root@10.0.0.9" }, target: { host: `unix://${inner.socket}` } }),
            /on ssh:\/\/root@10\.0\.0\.9: .*\(ssh: Permission denied \(publickey\)\.\)/);
    });
});

describe("engineApi", () => {
    it("pings: fails while the daemon answers with an error, naming the daemon, the call and the status; then resolves", async () => {
        const engine = await startFakeEngine();
        const daemon = `unix://${engine.socket}`;
        try {
            engine.failingPings = 1;
            await assert.rejects(new EngineClient({ host: daemon }).ping(), (error: Error) => {
                assert.ok(error instanceof EngineApiError);
                assert.deepEqual([error.daemon, error.call, error.status, error.detail], [daemon, "GET /_ping", 503, "starting"]);
                assert.equal(error.message, `GET /_ping on ${daemon}: HTTP 503 starting`);
                return true;
            });
            await new EngineClient({ host: daemon }).ping();
        } finally {
            await engine.close();
        }
    });

    it("says why a daemon cannot be reached at all, naming it and the call", async () => {
        await assert.rejects(new EngineClient({ host: "unix:///nonexistent/docker.sock" }).ping(),
            (error: Error) => error instanceof EngineApiError && error.status === undefined && /^GET \/_ping on unix:\/\/\/nonexistent\/docker\.sock: .*ENOENT/.test(error.message));
        await assert.rejects(new EngineClient({ host: "http://10.0.0.5" }).ping(), /GET \/_ping on http:\/\/10\.0\.0\.5: cannot reach it over the Engine API: expected unix:\/\/, tcp:\/\/ or ssh:\/\//);
    });

    it("inspects containers (none: undefined), lists them with filters, removes them, and reads Docker's own error words", async () => {
        const engine = await startFakeEngine({ "busybox:local": "sha256:bbb" });
        const client = new EngineClient({ host: `unix://${engine.socket}` });
        try {
            engine.containers.set("c1", { states: [{ Id: "c1", State: { Status: "running", Running: true }, RestartCount: 0 }], log: "", updates: [] });
            assert.equal((await client.inspectContainer("c1"))?.State.Running, true);
            assert.equal(await client.inspectContainer("gone"), undefined);
            engine.listed = [{ Id: "c1", Names: ["/web"], Labels: { a: "b" } }];
            assert.deepEqual((await client.listContainers({ all: true, filters: { name: ["^/web$"] } })).map((c) => c.Id), ["c1"]);
            assert.deepEqual(engine.listFilters, ['{"name":["^/web$"]}']);
            await client.removeContainer("c1", { force: true, volumes: true });
            assert.deepEqual(engine.removed, ["c1?force=1&v=1"]);
            assert.equal(await client.inspectImage("busybox:local"), "sha256:bbb");
            assert.equal(await client.inspectImage("missing:1"), undefined);
            assert.equal((await client.version()).ApiVersion, "1.41");
            await assert.rejects(client.containerLogs("gone", { tail: 5 }), /GET \/containers\/gone\/logs\?stdout=1&stderr=1&tail=5 on unix:.*: HTTP 404 No such container: gone$/);
        } finally {
            await engine.close();
        }
    });

    it("reads the engine's API version, or undefined when nothing answers", async () => {
        const engine = await startFakeEngine({}, "1.44");
        try {
            assert.equal(await engineApiVersion({ host: `unix://${engine.socket}` }), "1.44");
        } finally {
            await engine.close();
        }
        assert.equal(await engineApiVersion({ host: "unix:///nonexistent/docker.sock" }), undefined);
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
            const answer = engineRequest({ host: `unix://${socket}` }, { method: "GET", path: "/version", timeoutMs: 100 });
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
