import * as assert from "node:assert/strict";
import { stackStatus } from "../../../commands/status";
import { StackOutputs } from "../../../program/outputs";
import { FakeEngine, startFakeEngine } from "../components/fakeEngine";
import { startFakeKubeApi } from "../components/fakeKubeApi";

describe("commands/status", () => {
    let outer: FakeEngine;
    let inner: FakeEngine;
    beforeEach(async () => {
        outer = await startFakeEngine();
        inner = await startFakeEngine({ "busybox:local": "sha256:1acb0a48c2c1aa" }, "1.45", { tcp: true });
    });
    afterEach(async () => {
        await outer.close();
        await inner.close();
    });

    it("shows a DinD host on Kubernetes by its pod, asked of the cluster (phase, readiness, restarts, node), its endpoint and inner engine", async () => {
        inner.listed = [{ Id: "n1", Names: ["/web"], Image: "sha256:1acb0a48c2c1aa", State: "running", Status: "Up 3 seconds", Ports: [] }];
        const api = await startFakeKubeApi();
        try {
            api.routes.set("GET /api/v1/namespaces/ci/pods/builder-0", {
                status: 200,
                body: {
                    spec: { nodeName: "node-2" },
                    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }], containerStatuses: [{ name: "dind", restartCount: 1, state: { running: {} } }] },
                },
            });
            const builder = {
                statefulSet: "builder", tcpEndpoint: inner.tcpUrl!, dockerHost: inner.tcpUrl!, serviceEndpoint: "tcp://builder.ci.svc:2376",
                preloadedImageIds: { "busybox:local": "sha256:1acb0a48c2c1aa" }, nestedContainerIds: { web: "n1" },
                cluster: { namespace: "ci", kubeconfig: api.kubeconfig() }, publishedPortsAddress: "10.0.0.21", publishedPorts: { "8080/tcp": "10.0.0.21:31080" },
            };
            const outputs: StackOutputs = { hosts: { builder, gone: { ...builder, statefulSet: "gone" } }, clients: {}, clientTls: {}, registries: {} };
            const text = await stackStatus("farm", outputs);
            const lines = text.split("\n");
            assert.match(lines[2], /^HOST\s+POD\s+PHASE\s+READY\s+RESTARTS\s+NODE\s+ENDPOINT\s+ENGINE$/);
            assert.match(lines[3], new RegExp(`^builder\\s+ci/builder-0\\s+Running\\s+ready\\s+1\\s+node-2\\s+${inner.tcpUrl}\\s+26\\.1\\.5$`));
            assert.match(text, /web\s+busybox:local\s+running\s+Up 3 seconds/);
            assert.match(text, /busybox:local\s+sha256:1acb0a48c2c1\s+yes/);
            assert.match(text, /note: nested published ports are reached through the host's Service: 8080\/tcp at 10\.0\.0\.21:31080/);
            assert.match(text, /\ngone\s+ci\/gone-0\s+missing\s+-\s+-\s+-\s/);
            assert.doesNotMatch(text, /TESTCONTAINERS_HOST_OVERRIDE/);
            await api.close();
            assert.match(await stackStatus("farm", outputs), /\nbuilder\s+ci\/builder-0\s+unknown \(.*\)\s+-\s+-\s+-\s/, "a cluster that does not answer shows as such");
        } finally {
            await api.close().catch(() => undefined);
        }
    });

    it("shows a Docker host's container state from its outer daemon, and a missing one as missing", async () => {
        outer.containers.set("c1", { states: [{ State: { Status: "running", Health: { Status: "healthy" } } }], log: "", updates: [] });
        const host = (containerId: string) => ({
            containerId, tcpEndpoint: inner.tcpUrl, dockerHost: inner.tcpUrl, publishedPortsAddress: "172.17.0.5",
            outerDaemon: { host: `unix://${outer.socket}` }, preloadedImageIds: {}, nestedContainerIds: {},
        });
        const text = await stackStatus("local", {
            hosts: { a: host("c1"), b: host("gone") },
            clients: { agent: { containerId: "c1", outerDaemon: { host: `unix://${outer.socket}` } } },
            clientTls: {},
            registries: {},
        });
        assert.match(text, new RegExp(`\\na\\s+running\\s+healthy\\s+${inner.tcpUrl}\\s+172\\.17\\.0\\.5\\s+26\\.1\\.5\\n`));
        assert.match(text, /\nb\s+missing\s+-\s/);
        assert.match(text, /environment: DOCKER_HOST=tcp:\/\/127\.0\.0\.1:\d+ TESTCONTAINERS_HOST_OVERRIDE=172\.17\.0\.5/);
        assert.match(text, /\nagent\s+running\s+unix:/);
    });
});
