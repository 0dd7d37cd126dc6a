import * as assert from "node:assert/strict";
import { clientEnvironment, HostOutputs, parseArgs, shellExports, UsageError } from "../../../scripts/stackOutputs";

const host = (extra: Partial<HostOutputs> = {}): HostOutputs => ({
    containerId: "c1",
    tcpEndpoint: "tcp://127.0.0.1:23760",
    dockerHost: "tcp://127.0.0.1:23760",
    publishedPortsAddress: "172.17.0.3",
    outerDaemon: { host: "unix:///var/run/docker.sock" },
    preloadedImageIds: {},
    nestedContainerIds: {},
    ...extra,
});

describe("scripts/stackOutputs", () => {
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

    it("parses stacks, flags and options; refuses unknown options", () => {
        assert.deepEqual(parseArgs([]).stacks, ["local"]);
        const parsed = parseArgs(["--stack", "a", "--remove", "--file", "f.yaml", "--stack", "b", "x"], ["--remove"], ["--file"]);
        assert.deepEqual(parsed.stacks, ["a", "b"]);
        assert.ok(parsed.flags.has("--remove"));
        assert.equal(parsed.values.get("--file"), "f.yaml");
        assert.deepEqual(parsed.args, ["x"]);
        assert.throws(() => parseArgs(["--colour"]), UsageError);
        assert.throws(() => parseArgs(["--stack"]), /--stack needs a value/);
    });
});
