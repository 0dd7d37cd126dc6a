import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { clientEnvironment, shellExports, writeClientTls } from "../../../driver/clientTls";
import { DockerHostOutputs, KubernetesHostOutputs } from "../../../program/outputs";

const host = (extra: Partial<DockerHostOutputs> = {}): DockerHostOutputs => ({
    containerId: "c1",
    tcpEndpoint: "tcp://127.0.0.1:23760",
    dockerHost: "tcp://127.0.0.1:23760",
    publishedPortsAddress: "172.17.0.3",
    outerDaemon: { host: "unix:///var/run/docker.sock" },
    preloadedImageIds: {},
    nestedContainerIds: {},
    ...extra,
});

describe("driver/clientTls", () => {
    it("gives a TLS host's whole client environment, with the published-ports address for Testcontainers", () => {
        assert.deepEqual(clientEnvironment(host(), "/home/me/.docker/builder"), {
            env: {
                DOCKER_HOST: "tcp://127.0.0.1:23760",
                DOCKER_TLS_VERIFY: "1",
                DOCKER_CERT_PATH: "/home/me/.docker/builder",
                TESTCONTAINERS_HOST_OVERRIDE: "172.17.0.3",
            },
            notes: [],
        });
    });

    it("says when the published-ports address is on a remote daemon's machine", () => {
        const { env, notes } = clientEnvironment(host({ tcpEndpoint: "tcp://10.0.0.5:23760", outerDaemon: { host: "tcp://10.0.0.5:2376" } }), "/certs");
        assert.equal(env.TESTCONTAINERS_HOST_OVERRIDE, "172.17.0.3");
        assert.match(notes[0], /172\.17\.0\.3 on tcp:\/\/10\.0\.0\.5:2376's machine: not reachable from here/);
    });

    it("uses the unix endpoint without TLS variables when there is no TCP endpoint", () => {
        const { env } = clientEnvironment(host({ tcpEndpoint: undefined, unixEndpoint: "unix:///run/dind/b/docker.sock" }), undefined);
        assert.deepEqual(env, { DOCKER_HOST: "unix:///run/dind/b/docker.sock", TESTCONTAINERS_HOST_OVERRIDE: "172.17.0.3" });
    });

    it("prints sh exports, quoting what needs it, and notes as comments", () => {
        assert.equal(shellExports({ env: { A: "tcp://h:1", B: "/dir with space/it's" }, notes: ["careful"] }),
            "export A=tcp://h:1\nexport B='/dir with space/it'\\''s'\n# careful");
    });

    it("gives a Kubernetes host's TLS environment, and where each nested published port is: a port of its Service, so no Testcontainers override", () => {
        const kubernetes: KubernetesHostOutputs = {
            statefulSet: "builder", tcpEndpoint: "tcp://10.0.0.21:31376", dockerHost: "tcp://10.0.0.21:31376",
            serviceEndpoint: "tcp://builder.ci.svc:2376", preloadedImageIds: {}, nestedContainerIds: {}, cluster: { namespace: "ci" },
            publishedPortsAddress: "10.0.0.21", publishedPorts: { "8080/tcp": "10.0.0.21:31080", "5353/udp": "10.0.0.21:31053" },
        };
        const { env, notes } = clientEnvironment(kubernetes, "/certs");
        assert.deepEqual(env, { DOCKER_HOST: "tcp://10.0.0.21:31376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" });
        assert.deepEqual(notes, ["nested published ports are reached through the host's Service: 8080/tcp at 10.0.0.21:31080, 5353/udp at 10.0.0.21:31053"]);
        assert.deepEqual(clientEnvironment({ ...kubernetes, publishedPorts: {} }, "/certs").notes, []);
    });

    it("writes the client TLS files as the docker CLI reads DOCKER_CERT_PATH, the key readable by its owner only", () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-tls-"));
        try {
            writeClientTls(path.join(dir, "builder"), { ca: "CA", cert: "CERT", key: "KEY" });
            assert.deepEqual(["ca.pem", "cert.pem", "key.pem"].map((f) => readFileSync(path.join(dir, "builder", f), "utf8")), ["CA", "CERT", "KEY"]);
            assert.equal(statSync(path.join(dir, "builder", "key.pem")).mode & 0o777, 0o600);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
