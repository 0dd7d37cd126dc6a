import * as assert from "node:assert/strict";
import { stackStatus } from "../../../commands/status";
import { StackOutputs } from "../../../program/outputs";
import { FakeEngine, startFakeEngine } from "../components/fakeEngine";

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

    it("shows a DinD host on Kubernetes, which has no container on an outer daemon: its StatefulSet, endpoints and inner engine", async () => {
        inner.listed = [{ Id: "n1", Names: ["/web"], Image: "sha256:1acb0a48c2c1aa", State: "running", Status: "Up 3 seconds", Ports: [] }];
        const outputs: StackOutputs = {
            hosts: {
                builder: {
                    statefulSet: "builder", tcpEndpoint: inner.tcpUrl!, dockerHost: inner.tcpUrl!, serviceEndpoint: "tcp://builder.ci.svc:2376",
                    preloadedImageIds: { "busybox:local": "sha256:1acb0a48c2c1aa" }, nestedContainerIds: { web: "n1" },
                },
            },
            clients: {},
            clientTls: {},
            registries: {},
        };
        const text = await stackStatus("farm", outputs);
        const lines = text.split("\n");
        assert.match(lines[2], /^HOST\s+STATE\s+HEALTH\s+ENDPOINTS\s+PUBLISHED PORTS AT\s+ENGINE$/);
        assert.match(lines[3], new RegExp(`^builder\\s+kubernetes\\s+-\\s+${inner.tcpUrl}\\s+-\\s+26\\.1\\.5$`));
        assert.match(text, /StatefulSet builder; in the cluster: tcp:\/\/builder\.ci\.svc:2376/);
        assert.match(text, /web\s+busybox:local\s+running\s+Up 3 seconds/);
        assert.match(text, /busybox:local\s+sha256:1acb0a48c2c1\s+yes/);
        assert.match(text, /note: .*cluster IP of its Service/);
        assert.doesNotMatch(text, /TESTCONTAINERS_HOST_OVERRIDE/);
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
