import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import { DoodClient } from "../../../components/DoodClient";
import { DoodPolicyProxy } from "../../../components/DoodPolicyProxy";
import { DoodBuilder } from "../../../components/DoodBuilder";
import { CONTAINER, installMocks, registered, REMOTE_IMAGE, SCOPE, valueOf, VOLUME } from "../mocks";

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
            "DOOD_SOCKET_HOST_DIR=/run/dind-provisioner/dood/agent",
            "DOOD_DAEMON_SOCKET=/var/run/docker.sock",
            "DOOD_STATE_DIR=/var/lib/dood-proxy",
            "DOOD_SOCKET_GID=998",
        ]);
        assert.deepEqual(container.volumes, [
            { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" },
            { hostPath: "/run/dind-provisioner/dood/agent", containerPath: "/run/dood" },
            { volumeName: "agent-dood-proxy", containerPath: "/var/lib/dood-proxy" },
            { hostPath: "/srv/ci", containerPath: "/srv/ci", readOnly: true },
        ]);
        assert.equal(mocks.one(VOLUME).inputs.name, "agent-dood-proxy", "what the proxy records lives on a volume of its own, not in the client's reach");
        assert.equal(container.groupAdds, undefined, "no builder, no builder socket");
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

    it("serves the client's builder: its socket volume read-only, its group, its upstream", async () => {
        const mocks = installMocks();
        const builder = new DoodBuilder("agent-buildkit", { client: "agent" });
        const proxy = new DoodPolicyProxy("agent-dood-proxy", { client: "agent", daemonSocket: "/var/run/docker.sock", builder },
            { transformations: [mocks.recordOptions] });
        await registered(proxy.container);
        const container = mocks.one(CONTAINER, "agent-dood-proxy-container").inputs;
        assert.ok(container.envs.includes("DOOD_BUILDKIT_UPSTREAM=/run/buildkit/buildkitd.sock"));
        assert.deepEqual(container.volumes.find((v: { containerPath: string }) => v.containerPath === "/run/buildkit"),
            { volumeName: "agent-buildkit-socket", containerPath: "/run/buildkit", readOnly: true });
        assert.deepEqual(container.groupAdds, ["100000"]);
        assert.deepEqual(mocks.options.get("agent-dood-proxy-container")?.dependsOn, [builder]);
    });

    it("is what a DoodClient mounts instead of the daemon's socket; the client's builder is buildx's", async () => {
        const mocks = installMocks();
        const plain = new DoodPolicyProxy("plain-dood-proxy", { client: "plain", daemonSocket: "/var/run/docker.sock" });
        const plainClient = new DoodClient("plain", { socket: "/var/run/docker.sock", policyProxy: plain });
        const builder = new DoodBuilder("agent-buildkit", { client: "agent" });
        const proxy = new DoodPolicyProxy("agent-dood-proxy", { client: "agent", daemonSocket: "/var/run/docker.sock", builder });
        const client = new DoodClient("agent", { socket: "/var/run/docker.sock", policyProxy: proxy, env: { CI: "true" } },
            { transformations: [mocks.recordOptions] });
        await registered(client.container, plainClient.container);
        const container = mocks.one(CONTAINER, "agent-container").inputs;
        assert.deepEqual(container.volumes, [{ hostPath: "/run/dind-provisioner/dood/agent", containerPath: "/run/dood" }]);
        assert.deepEqual(container.envs, ["BUILDX_CONFIG=/run/dood/buildx", "BUILDX_BUILDER=dood", "CI=true", "DOCKER_HOST=unix:///run/dood/docker.sock"]);
        assert.deepEqual(mocks.one(CONTAINER, "plain-container").inputs.envs, ["DOCKER_HOST=unix:///run/dood/docker.sock"],
            "without a builder, buildx is left alone (the daemon's BuildKit is refused with its reason)");
        assert.deepEqual(mocks.options.get("agent-container")?.dependsOn, [proxy]);
        assert.equal(await valueOf(client.publishedPortsAddress), "gateway-of-agent-container", "where its containers' published ports are reached from inside");
    });

    it("gives a proxied client a scope that empties it when it goes", async () => {
        const mocks = installMocks();
        const proxy = new DoodPolicyProxy("agent-dood-proxy", { client: "agent", daemonSocket: "/srv/docker.sock" });
        const client = new DoodClient("agent", { socket: "/srv/docker.sock", policyProxy: proxy, daemon: { host: "tcp://10.0.0.5:2376", certPath: "/certs" } });
        const direct = new DoodClient("trusted", { socket: "/var/run/docker.sock" });
        await registered(client.container, direct.container, client.scope!);
        const scope = mocks.one(SCOPE, "agent-scope").inputs;
        assert.deepEqual({ ...scope, __provider: undefined }, {
            __provider: undefined,
            client: "agent",
            daemon: { host: "tcp://10.0.0.5:2376", certPath: "/certs" },
            proxyImage: "sha256:outer-dind-provisioner/dood-proxy:local",
            policy: proxy.policyJson,
            daemonSocket: "/srv/docker.sock",
            stateVolume: "agent-dood-proxy",
            clientContainerId: "agent-container-id",
        });
        assert.equal(direct.scope, undefined, "a client on the daemon's own socket has no proxy that recorded its objects");
    });
});
