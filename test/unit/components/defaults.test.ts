import * as assert from "node:assert/strict";
import { defaultOuterDaemon, defaultStorageVolume } from "../../../components/defaults";

describe("component defaults", () => {
    it("finds the outer daemon as the docker CLI does, from the environment it is given", () => {
        assert.deepEqual(defaultOuterDaemon({}), { host: "unix:///var/run/docker.sock" });
        assert.deepEqual(defaultOuterDaemon({ DOCKER_HOST: "unix:///run/user/1000/docker.sock", DOCKER_TLS_VERIFY: "1" }),
            { host: "unix:///run/user/1000/docker.sock" }, "TLS applies to tcp:// only");
        assert.deepEqual(defaultOuterDaemon({ DOCKER_HOST: "tcp://10.0.0.5:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/home/ci/.docker/farm" }),
            { host: "tcp://10.0.0.5:2376", certPath: "/home/ci/.docker/farm" });
        assert.deepEqual(defaultOuterDaemon({ DOCKER_HOST: "tcp://10.0.0.5:2376", DOCKER_TLS_VERIFY: "1", HOME: "/home/ci" }),
            { host: "tcp://10.0.0.5:2376", certPath: "/home/ci/.docker" }, "without DOCKER_CERT_PATH, ~/.docker");
        assert.deepEqual(defaultOuterDaemon({ DOCKER_HOST: "tcp://10.0.0.5:2375", DOCKER_CERT_PATH: "/home/ci/.docker/farm" }),
            { host: "tcp://10.0.0.5:2375" }, "without DOCKER_TLS_VERIFY the docker CLI talks plain TCP");
    });

    it("names a host's storage volume after its container", () => {
        assert.equal(defaultStorageVolume("builder"), "builder-docker");
    });
});
