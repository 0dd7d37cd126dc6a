import * as assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { awaitRegistry, registryStartFailure } from "../../../components/RegistryReadiness";
import { FakeEngine, startFakeEngine } from "./fakeEngine";

const running = { State: { Status: "running", Running: true, Restarting: false, ExitCode: 0 }, RestartCount: 0 };
const exited = { State: { Status: "exited", Running: false, Restarting: false, ExitCode: 1, FinishedAt: "2026-12-04T10:00:00.5Z" }, RestartCount: 0 };

describe("RegistryReadiness", () => {
    let engine: FakeEngine;
    let registry: http.Server | undefined;
    beforeEach(async () => (engine = await startFakeEngine()));
    afterEach(async () => {
        await engine.close();
        await new Promise((resolve) => (registry ? registry.close(resolve) : resolve(undefined)));
        registry = undefined;
    });
    const inputs = (extra: object = {}) => ({ registry: "hub-cache", outer: { host: `unix://${engine.socket}` }, containerId: "r1", timeoutSeconds: 2, ...extra });

    /** A registry's /v2/ that answers `status` once `after` requests were refused with 503. */
    async function v2(status: number, after = 0): Promise<string> {
        let asked = 0;
        registry = http.createServer((req, res) => res.writeHead(++asked > after && req.url === "/v2/" ? status : 503).end("{}"));
        await new Promise<void>((resolve) => registry!.listen(0, "127.0.0.1", resolve));
        return `http://127.0.0.1:${(registry.address() as AddressInfo).port}/v2/`;
    }

    it("is done once /v2/ answers, a password's 401 too", async () => {
        engine.containers.set("r1", { states: [running], log: "", updates: [] });
        await awaitRegistry(inputs({ probe: { url: await v2(200, 3) } }));
        await new Promise((resolve) => registry!.close(resolve));
        await awaitRegistry(inputs({ probe: { url: await v2(401) } }));
    });

    it("without a probe from here, is done when its log says it listens", async () => {
        engine.containers.set("r1", { states: [running], log: 'level=info msg="listening on [::]:5000, tls"', updates: [] });
        await awaitRegistry(inputs());
    });

    it("fails within the timeout, naming the registry, the remote it caches, and quoting its log", async () => {
        engine.containers.set("r1", { states: [running], log: "level=info msg=\"configuring endpoint remote\"\nlevel=info msg=\"Starting upload purge\"", updates: [] });
        const started = Date.now();
        await assert.rejects(awaitRegistry(inputs({ probe: { url: "http://127.0.0.1:9/v2/" }, remote: "https://registry-1.docker.io" })), (error: Error) => {
            assert.match(error.message, /^registry hub-cache is not ready: its \/v2\/ did not answer within 2 s \(http:\/\/127\.0\.0\.1:9\/v2\/: .*ECONNREFUSED.*\)\./);
            assert.match(error.message, /It is a pull-through cache of https:\/\/registry-1\.docker\.io, and such a cache does not listen until its first request there ends/);
            assert.match(error.message, /Last lines of its log \(docker logs hub-cache\):\nlevel=info msg="configuring endpoint remote"\nlevel=info msg="Starting upload purge"$/);
            return true;
        });
        assert.ok(Date.now() - started < 4000);
    });

    it("fails at once when its container exits", async () => {
        engine.containers.set("r1", { states: [exited], log: "configuration error: bad storage driver", updates: [] });
        await assert.rejects(awaitRegistry(inputs({ timeoutSeconds: 60, probe: { url: "http://127.0.0.1:9/v2/" } })),
            /^UserError: registry hub-cache is not ready: its container exited \(exit code 1\)\. Last lines of its log \(docker logs hub-cache\):\nconfiguration error: bad storage driver$/);
        assert.equal(registryStartFailure({ ...running, RestartCount: 2 }, 1), "its container exited and its restart policy started it again (1 restart)");
    });
});
