import * as assert from "node:assert/strict";
import { contextPlans } from "../../../driver/contexts";
import { StackOutputs } from "../../../program/outputs";

const tls = { ca: "CA", cert: "CERT", key: "KEY" };

describe("driver/contexts", () => {
    it("plans a context per host with an endpoint: a Docker host's TLS endpoint or unix socket, and a Kubernetes host's NodePort", () => {
        const outputs: StackOutputs = {
            hosts: {
                builder: {
                    containerId: "c1", tcpEndpoint: "tcp://127.0.0.1:23760", dockerHost: "tcp://127.0.0.1:23760", publishedPortsAddress: "172.17.0.5",
                    outerDaemon: { host: "unix:///var/run/docker.sock" }, preloadedImageIds: {}, nestedContainerIds: {},
                },
                socketOnly: {
                    containerId: "c2", unixEndpoint: "unix:///srv/dind/s/docker.sock", dockerHost: "unix:///srv/dind/s/docker.sock",
                    outerDaemon: { host: "unix:///var/run/docker.sock" }, preloadedImageIds: {}, nestedContainerIds: {},
                },
                noEndpoint: { containerId: "c3", outerDaemon: { host: "unix:///var/run/docker.sock" }, preloadedImageIds: {}, nestedContainerIds: {} },
                farm: {
                    statefulSet: "farm", tcpEndpoint: "tcp://10.0.0.21:31376", dockerHost: "tcp://10.0.0.21:31376", serviceEndpoint: "tcp://farm.ci.svc:2376",
                    preloadedImageIds: {}, nestedContainerIds: {}, cluster: { namespace: "ci" }, publishedPortsAddress: "10.0.0.21",
                    publishedPorts: { "8080/tcp": "10.0.0.21:31080" },
                },
            },
            clients: {},
            clientTls: { builder: tls, farm: { ...tls, ca: "FARM-CA" } },
            registries: {},
        };
        assert.deepEqual(contextPlans("dev", outputs), [
            {
                host: "builder", name: "dev-builder", endpoint: "tcp://127.0.0.1:23760", tls,
                description: "dind-provisioner dind-provisioner/dev: host builder; nested published ports at 172.17.0.5 (TESTCONTAINERS_HOST_OVERRIDE)",
            },
            {
                host: "socketOnly", name: "dev-socketOnly", endpoint: "unix:///srv/dind/s/docker.sock", tls: undefined,
                description: "dind-provisioner dind-provisioner/dev: host socketOnly; no published-ports address",
            },
            {
                host: "farm", name: "dev-farm", endpoint: "tcp://10.0.0.21:31376", tls: { ...tls, ca: "FARM-CA" },
                description: "dind-provisioner dind-provisioner/dev: host farm; nested published ports through its Service: 8080/tcp at 10.0.0.21:31080",
            },
        ]);
    });
});
