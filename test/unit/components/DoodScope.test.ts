import * as assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { CLEANUP_ROLE, cleanScope, ScopeInputs, scopeProvider } from "../../../components/DoodScope";
import { CLIENT_LABEL, ROLE_LABEL, STACK_LABEL } from "../../../components/markers";

const inputs: ScopeInputs = {
    client: "agent",
    daemon: { host: "unix:///nonexistent" },
    proxyImage: "sha256:proxy",
    policy: '{"client":"agent","scope":"own"}',
    daemonSocket: "/var/run/docker.sock",
    stateVolume: "agent-dood-proxy",
    clientContainerId: "c-agent",
    owner: "dind-provisioner/dev",
};

/** An Engine API that runs the cleanup container: it records what was asked and says `said`, exiting with `exit`; it lists `listed` under any name. */
async function fakeDaemon(said: string, exit: number, listed: object[] = []) {
    const socket = path.join(mkdtempSync(path.join(os.tmpdir(), "scope-")), "docker.sock");
    const requests: { method: string; path: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (chunk) => (body += chunk));
        req.on("end", () => {
            requests.push({ method: req.method!, path: req.url!, body });
            if (req.url!.startsWith("/containers/json")) res.writeHead(200).end(JSON.stringify(listed));
            else if (req.url!.startsWith("/containers/create")) res.writeHead(201).end(JSON.stringify({ Id: "cleanup-id" }));
            else if (req.url!.endsWith("/wait")) res.writeHead(200).end(JSON.stringify({ StatusCode: exit }));
            else if (req.url!.includes("/logs")) {
                const header = Buffer.alloc(8);
                header[0] = 1;
                header.writeUInt32BE(Buffer.byteLength(said), 4);
                res.writeHead(200).end(Buffer.concat([header, Buffer.from(said)]));
            } else res.writeHead(204).end();
        });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return { daemon: { host: `unix://${socket}` }, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe("DoodScope", () => {
    it("is replaced, delete first, when the client's container is (a new client starts empty); other changes are updates", async () => {
        const replaced = await scopeProvider.diff!("agent", inputs, { ...inputs, clientContainerId: "c-new" });
        assert.deepEqual(replaced, { changes: true, replaces: ["clientContainerId"], deleteBeforeReplace: true });
        const updated = await scopeProvider.diff!("agent", inputs, { ...inputs, proxyImage: "sha256:newer" });
        assert.deepEqual(updated, { changes: true, replaces: [], deleteBeforeReplace: true });
        assert.equal((await scopeProvider.diff!("agent", inputs, { ...inputs })).changes, false);
        const reordered = Object.fromEntries(Object.entries({ ...inputs, daemon: { ...inputs.daemon } }).reverse()) as unknown as ScopeInputs;
        assert.equal((await scopeProvider.diff!("agent", inputs, reordered)).changes, false, "the same properties in another key order are no change");
        const loadedOtherwise = { ...inputs, __provider: "exports.handler = __f1;" } as ScopeInputs;
        assert.equal((await scopeProvider.diff!("agent", { ...inputs, __provider: "exports.handler = __f0;" } as ScopeInputs, loadedOtherwise)).changes, false,
            "the provider's code serialized by another loader (the scripts' bundle, ts-node) is no change");
    });

    it("runs the proxy's cleanup next to the daemon: the client stopped first, the daemon's socket and the records mounted, no network", async () => {
        const fake = await fakeDaemon("containers: 2 (agent.web, agent.db)", 0);
        try {
            const said = await cleanScope({ ...inputs, daemon: fake.daemon }, true);
            assert.equal(said, "containers: 2 (agent.web, agent.db)");
            const create = fake.requests.find((r) => r.path.startsWith("/containers/create"))!;
            assert.equal(create.path, "/containers/create?name=agent-dood-cleanup");
            const body = JSON.parse(create.body);
            assert.deepEqual(body.Cmd, ["cleanup", "--stop", "c-agent"]);
            assert.equal(body.Image, "sha256:proxy");
            assert.deepEqual(body.Env, ['DOOD_POLICY={"client":"agent","scope":"own"}', "DOOD_STATE_DIR=/var/lib/dood-proxy"]);
            assert.deepEqual(body.HostConfig.Binds, ["/var/run/docker.sock:/var/run/docker.sock", "agent-dood-proxy:/var/lib/dood-proxy"]);
            assert.equal(body.HostConfig.NetworkMode, "none");
            assert.deepEqual(body.Labels, { [STACK_LABEL]: "dind-provisioner/dev", [ROLE_LABEL]: CLEANUP_ROLE, [CLIENT_LABEL]: "agent" }, "the stack's, like every outer object it makes");
            assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.path.split("?")[0]}`), [
                "GET /containers/json", "POST /containers/create", "POST /containers/cleanup-id/start",
                "POST /containers/cleanup-id/wait", "GET /containers/cleanup-id/logs", "DELETE /containers/cleanup-id",
            ]);
        } finally {
            await fake.close();
        }
    });

    it("removes a cleanup container an earlier cleanup left, and no container of anyone else's under that name", async () => {
        const ours = { Id: "left-id", Names: ["/agent-dood-cleanup"], Labels: { [STACK_LABEL]: "dind-provisioner/dev", [ROLE_LABEL]: CLEANUP_ROLE, [CLIENT_LABEL]: "agent" } };
        const left = await fakeDaemon("", 0, [ours]);
        try {
            await cleanScope({ ...inputs, daemon: left.daemon }, true);
            assert.equal(left.requests[1].path, "/containers/left-id?force=1&v=0");
        } finally {
            await left.close();
        }
        const theirs = await fakeDaemon("", 0, [{ ...ours, Labels: { [STACK_LABEL]: "dind-provisioner/staging", [ROLE_LABEL]: CLEANUP_ROLE, [CLIENT_LABEL]: "agent" } }]);
        try {
            await assert.rejects(cleanScope({ ...inputs, daemon: theirs.daemon }, true),
                /cannot empty client agent's scope: its cleanup container's name, agent-dood-cleanup, is taken by a container of stack dind-provisioner\/staging; remove or rename that one/);
            assert.deepEqual(theirs.requests.map((r) => r.method), ["GET"], "nothing removed, nothing created");
        } finally {
            await theirs.close();
        }
    });

    it("fails with what the cleanup said when it fails, and removes its container all the same", async () => {
        const fake = await fakeDaemon("GET /containers/json: 500 boom", 1);
        try {
            await assert.rejects(cleanScope({ ...inputs, daemon: fake.daemon }, true), /the cleanup of client agent failed \(exit 1\):\nGET \/containers\/json: 500 boom/);
            assert.equal(fake.requests.at(-1)!.path, "/containers/cleanup-id?force=1&v=0");
        } finally {
            await fake.close();
        }
    });
});
