import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import { DoodClient } from "../../../components/DoodClient";
import { DoodPolicyProxy } from "../../../components/DoodPolicyProxy";
import { CONTAINER, installMocks, registered, REMOTE_IMAGE } from "../mocks";

describe("DoodPolicyProxy", () => {
    it("runs the proxy unprivileged with the daemon's socket, its policy, its socket directory and the bind roots read-only", async () => {
        const mocks = installMocks();
        const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
        const proxy = new DoodPolicyProxy("agent-dood-proxy", {
            client: "agent",
            policy: { binds: ["/srv/ci"] },
            daemonSocket: "/var/run/docker.sock",
            socketGroup: 998,
        }, { provider: outer, transformations: [mocks.recordOptions] });
        await registered(proxy.container, proxy.image);
        const container = mocks.one(CONTAINER).inputs;
        assert.equal(container.name, "agent-dood-proxy");
        assert.equal(mocks.one(REMOTE_IMAGE).inputs.name, "dind-provisioner/dood-proxy:local");
        assert.equal(container.image, "sha256:outer-dind-provisioner/dood-proxy:local");
        assert.deepEqual(container.envs, [
            'DOOD_POLICY={"client":"agent","privileged":false,"hostNamespaces":false,"binds":["/srv/ci"],"scope":"own"}',
            "DOOD_LISTEN=/run/dood/docker.sock",
            "DOOD_SOCKET_GID=998",
        ]);
        assert.deepEqual(container.volumes, [
            { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" },
            { hostPath: "/run/dind-provisioner/dood/agent", containerPath: "/run/dood" },
            { hostPath: "/srv/ci", containerPath: "/srv/ci", readOnly: true },
        ]);
        assert.equal(container.privileged, false);
        assert.deepEqual(container.capabilities, { drops: ["ALL"], adds: ["CAP_CHOWN"] });
        assert.equal(container.readOnly, true);
        assert.deepEqual(container.healthcheck.tests, ["CMD", "/dood-proxy", "healthcheck"]);
        assert.equal(proxy.socketDir, "/run/dind-provisioner/dood/agent");
        assert.equal(mocks.options.get("agent-dood-proxy-container")?.deleteBeforeReplace, true);
    });

    it("lets transform hooks adjust the image and the container", async () => {
        const mocks = installMocks();
        const proxy = new DoodPolicyProxy("p", {
            client: "agent", daemonSocket: "/var/run/docker.sock", socketDir: "/tmp/dood/agent",
            transform: { image: { name: "registry:5000/dood-proxy:1", build: { context: "dood-proxy" } }, container: { memory: 64 } },
        });
        await registered(proxy.container);
        assert.equal(mocks.one(REMOTE_IMAGE).inputs.name, "registry:5000/dood-proxy:1");
        assert.equal(mocks.one(REMOTE_IMAGE).inputs.build.context, "dood-proxy", "users with a registry build it from the project's Dockerfile");
        assert.equal(mocks.one(CONTAINER).inputs.memory, 64);
        assert.equal(mocks.one(CONTAINER).inputs.volumes[1].hostPath, "/tmp/dood/agent");
    });

    it("is what a DoodClient mounts instead of the daemon's socket", async () => {
        const mocks = installMocks();
        const proxy = new DoodPolicyProxy("agent-dood-proxy", { client: "agent", daemonSocket: "/var/run/docker.sock" });
        const client = new DoodClient("agent", { socket: "/var/run/docker.sock", policyProxy: proxy, env: { CI: "true" } },
            { transformations: [mocks.recordOptions] });
        await registered(client.container);
        const container = mocks.one(CONTAINER, "agent-container").inputs;
        assert.deepEqual(container.volumes, [{ hostPath: "/run/dind-provisioner/dood/agent", containerPath: "/run/dood" }]);
        assert.deepEqual(container.envs, ["DOCKER_BUILDKIT=0", "CI=true", "DOCKER_HOST=unix:///run/dood/docker.sock"]);
        assert.deepEqual(mocks.options.get("agent-container")?.dependsOn, [proxy]);
    });
});
