import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import { DoodClient } from "../../../components/DoodClient";
import { CONTAINER, installMocks, registered, REMOTE_IMAGE } from "../mocks";

describe("DoodClient", () => {
    it("mounts the daemon's socket, sets DOCKER_HOST, adds the socket's group, and is not privileged", async () => {
        const mocks = installMocks();
        const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
        const client = new DoodClient("agent", {
            image: "dind-provisioner/dind:local",
            command: ["sleep", "3600"],
            socket: "/var/run/docker.sock",
            socketGroup: 998,
            user: "1000:1000",
            env: { CI: "true" },
        }, { provider: outer });
        await registered(client.container, client.image);
        const container = mocks.one(CONTAINER).inputs;
        assert.equal(container.name, "agent");
        assert.equal(container.image, "sha256:outer-dind-provisioner/dind:local");
        assert.equal(mocks.one(REMOTE_IMAGE).inputs.keepLocally, true);
        assert.deepEqual(container.volumes, [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }]);
        assert.deepEqual(container.envs, ["CI=true", "DOCKER_HOST=unix:///var/run/docker.sock"]);
        assert.deepEqual(container.groupAdds, ["998"]);
        assert.equal(container.user, "1000:1000");
        assert.equal(container.privileged, false);
        assert.deepEqual(container.command, ["sleep", "3600"]);
        assert.ok(mocks.one(CONTAINER).provider?.includes("::outer::"));
    });

    it("mounts the workspace at the same absolute path, so bind mounts it requests resolve to the same files", async () => {
        const mocks = installMocks();
        const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
        const client = new DoodClient("agent", { socket: "/run/user/docker.sock", workspace: "/srv/ci" },
            { provider: outer, transformations: [mocks.recordOptions] });
        await registered(client.container);
        const container = mocks.one(CONTAINER).inputs;
        assert.deepEqual(container.volumes, [
            { hostPath: "/run/user/docker.sock", containerPath: "/var/run/docker.sock" },
            { hostPath: "/srv/ci", containerPath: "/srv/ci" },
        ]);
        assert.equal(container.workingDir, "/srv/ci");
        assert.equal(container.groupAdds, undefined);
        assert.equal(mocks.one(REMOTE_IMAGE).inputs.name, "docker:27.5.1-cli");
        assert.equal(mocks.options.get("agent-container")?.deleteBeforeReplace, true);
    });

    it("lets a transform hook adjust the container", async () => {
        const mocks = installMocks();
        const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
        const client = new DoodClient("agent", { socket: "/var/run/docker.sock", transform: { container: { readOnly: true } } }, { provider: outer });
        await registered(client.container);
        assert.equal(mocks.one(CONTAINER).inputs.readOnly, true);
    });
});
