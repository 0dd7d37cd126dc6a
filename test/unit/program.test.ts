import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { outerApiVersions, provisionStack, provisionStackFile } from "../../program";
import { validateStackSource } from "../../stackfile/load";
import { startFakeEngine } from "./components/fakeEngine";
import { CERTIFICATES, CONTAINER, DOCKER_PROVIDER, fakeSteps, installMocks, isSecret, NETWORK, PRELOAD, REGISTRY, REMOTE_IMAGE, secretValue, valueOf, VOLUME } from "./mocks";

const fixtures = path.join(__dirname, "stackfile", "fixtures");

function stackFrom(source: string) {
    const result = validateStackSource(source, "inline.yaml", {});
    assert.deepEqual(result.problems, []);
    return result.stack!;
}

/** Resolves once every registration the program started has reached the mocks. */
async function settled(outputs: ReturnType<typeof provisionStack>) {
    await valueOf(pulumi.output(outputs) as pulumi.Output<unknown>);
}

describe("program", () => {
    it("provisions a host with its workloads and a client from one stack file", async () => {
        const mocks = installMocks();
        // A daemon socket that does not exist: the unit lane talks to no engine.
        const source = readFixture("good/full.yaml")
            .replace("workspace: /srv/ci", "workspace: /srv/ci\n    socketGroup: 998")
            .replace("local: { host: unix:///var/run/docker.sock }", "local: { host: unix:///nonexistent/docker.sock }");
        const outputs = provisionStack(stackFrom(source), {}, fakeSteps());
        await settled(outputs);
        const count = (type: string) => mocks.byType(type).length;
        assert.equal(count(CONTAINER), 5, "DinD, nested web, DooD agent, its policy proxy and its builder");
        assert.equal(count(VOLUME), 5, "storage, nested data, the proxy's records, the builder's cache and its socket");
        assert.equal(count(NETWORK), 1);
        assert.equal(count(CERTIFICATES), 1);
        assert.equal(count(PRELOAD), 1);
        assert.equal(count(REMOTE_IMAGE), 4, "the DinD, client, proxy and builder images on the outer daemon");
        assert.deepEqual(mocks.byType(DOCKER_PROVIDER).map((p) => p.name).sort(), ["builder-inner", "daemon-local"]);
        assert.equal(mocks.one(DOCKER_PROVIDER, "daemon-local").inputs.host, "unix:///nonexistent/docker.sock");
        const privileged = mocks.byType(CONTAINER).filter((c) => c.inputs.privileged === true).map((c) => c.name);
        assert.deepEqual(privileged, ["builder-container"], "privileged only where DinD needs it");
        const dind = mocks.one(CONTAINER, "builder-container").inputs;
        assert.deepEqual(dind.labels.find((l: { label: string }) => l.label === "dind-provisioner.stack"), { label: "dind-provisioner.stack", value: "dind-provisioner/unit" });
        assert.equal(await valueOf(outputs.hosts.builder.dockerHost), "tcp://127.0.0.1:23760");
        assert.deepEqual(await valueOf(outputs.hosts.builder.nestedContainerIds), { web: "builder-workloads-container-web-id" });
        assert.equal(await valueOf(outputs.clients.agent.containerId), "agent-container-id");
        // A client that names no access gets the restricted policy: only its proxy has the daemon's socket.
        const withDaemonSocket = mocks.byType(CONTAINER).filter((c) => c.inputs.volumes?.some((v: { hostPath: string }) => v.hostPath === "/var/run/docker.sock"));
        assert.deepEqual(withDaemonSocket.map((c) => c.name), ["agent-dood-proxy-container"]);
        const proxy = mocks.one(CONTAINER, "agent-dood-proxy-container").inputs;
        assert.ok(proxy.envs.includes('DOOD_POLICY={"client":"agent","privileged":false,"hostNamespaces":false,"binds":["/srv/ci"],"scope":"own"}'));
        assert.ok(proxy.envs.includes("DOOD_SOCKET_GID=998"));
        assert.deepEqual(mocks.one(CONTAINER, "agent-container").inputs.volumes[0], { hostPath: "/run/dind-provisioner/dood/agent", containerPath: "/run/dood" });
        // Its own BuildKit builder, which only the proxy's builder socket reaches; buildx uses it.
        assert.equal(mocks.one(CONTAINER, "agent-buildkit-container").inputs.privileged, false);
        assert.ok(proxy.envs.includes("DOOD_BUILDKIT_UPSTREAM=/run/buildkit/buildkitd.sock"));
        assert.ok(mocks.one(CONTAINER, "agent-container").inputs.envs.includes("BUILDX_BUILDER=dood"));
        assert.equal(await valueOf(outputs.clients.agent.publishedPortsAddress), "gateway-of-agent-container");
        assert.equal(outputs.clients.agent.restricted, true);
        assert.equal(await isSecret(outputs.clientTls), true);
        assert.equal(await isSecret(outputs.hosts.builder.dockerHost), false);
    });

    it("asks each outer engine running a DinD host for its API version once, before any resource", async () => {
        const engine = await startFakeEngine({}, "1.41");
        try {
            const stack = stackFrom(`daemons:\n  local: { host: "unix://${engine.socket}" }\n  idle: { host: "unix:///nonexistent/docker.sock" }\nhosts:\n  one: {}\n  two: {}\n`);
            assert.deepEqual(await outerApiVersions(stack), { local: "1.41" }, "a daemon without hosts is not asked");
            assert.equal(engine.versionRequests, 1);
        } finally {
            await engine.close();
        }
    });

    it("picks every host's health-check schedule from its outer engine's API version", async () => {
        const mocks = installMocks();
        const stack = stackFrom("daemons:\n  old: { host: unix:///run/old.sock }\nhosts:\n  one: { daemon: old }\n  two: {}\n");
        await settled(provisionStack(stack, { old: "1.41", local: "1.47" }, fakeSteps()));
        assert.deepEqual(mocks.byType(CONTAINER).map((c) => [c.name, c.inputs.healthcheck.interval, c.inputs.healthcheck.startInterval]),
            [["one-container", "1s", undefined], ["two-container", "30s", "250ms"]], "an engine before Docker 25 has one interval only");
    });

    it("reads the socket's group when the daemon is on this machine", async () => {
        const mocks = installMocks();
        const socket = path.join(mkdtempSync(path.join(os.tmpdir(), "sock-")), "docker.sock");
        writeFileSync(socket, "");
        const outputs = provisionStack(stackFrom(`clients:\n  agent: { socket: ${socket} }\n`));
        await settled(outputs);
        assert.deepEqual(mocks.one(CONTAINER, "agent-container").inputs.groupAdds, [String(statSync(socket).gid)]);
        assert.ok(mocks.one(CONTAINER, "agent-dood-proxy-container").inputs.envs.includes(`DOOD_SOCKET_GID=${statSync(socket).gid}`));
        assert.throws(() => provisionStack(stackFrom("clients:\n  agent: { socket: /nonexistent/docker.sock }\n")),
            /clients\.agent\.socket: cannot read the group of \/nonexistent\/docker\.sock/);
    });

    it("gives a client with access: full the daemon's own socket and no proxy", async () => {
        const mocks = installMocks();
        const outputs = provisionStack(stackFrom("clients:\n  agent: { socket: /run/docker.sock, socketGroup: 998, access: full }\n"));
        await settled(outputs);
        assert.deepEqual(mocks.byType(CONTAINER).map((c) => c.name), ["agent-container"]);
        assert.deepEqual(mocks.one(CONTAINER).inputs.volumes, [{ hostPath: "/run/docker.sock", containerPath: "/var/run/docker.sock" }]);
    });

    it("resolves workspace in a client's binds and passes its socket directory", async () => {
        const mocks = installMocks();
        const outputs = provisionStack(stackFrom("clients:\n  agent:\n    socketGroup: 998\n    workspace: /srv/ci\n" +
            "    access: { binds: [workspace, /data/cache, /srv/ci], scope: all, socketDir: /tmp/dood/agent }\n"));
        await settled(outputs);
        const proxy = mocks.one(CONTAINER, "agent-dood-proxy-container").inputs;
        assert.ok(proxy.envs.includes('DOOD_POLICY={"client":"agent","privileged":false,"hostNamespaces":false,"binds":["/srv/ci","/data/cache"],"scope":"all"}'));
        assert.deepEqual(proxy.volumes[1], { hostPath: "/tmp/dood/agent", containerPath: "/run/dood" });
        assert.deepEqual(mocks.one(CONTAINER, "agent-container").inputs.volumes[0], { hostPath: "/tmp/dood/agent", containerPath: "/run/dood" });
    });

    it("gives a restricted client a builder that reaches the stack's registries it names, or none with builder: false", async () => {
        const mocks = installMocks();
        const outputs = provisionStack(stackFrom("registries:\n  cache: { port: 5000, insecure: true }\n  secure: { port: 5001 }\n" +
            "clients:\n  agent:\n    socketGroup: 998\n    access: { hostNamespaces: true }\n" +
            "    builder: { image: example/buildkit:1, registries: [cache, secure] }\n" +
            "  plain: { socketGroup: 998, builder: false }\n"));
        await settled(outputs);
        const builder = mocks.one(CONTAINER, "agent-buildkit-container").inputs;
        assert.equal(mocks.one(REMOTE_IMAGE, "agent-buildkit-image").inputs.name, "example/buildkit:1");
        assert.deepEqual(builder.networksAdvanced, [{ name: "bridge" }, { name: "cache-net" }, { name: "secure-net" }]);
        assert.match(builder.uploads[0].content, /\[registry\."cache:5000"\]\n {2}http = true\n\[registry\."secure:5000"\]\n {2}ca = /);
        assert.ok(builder.command.includes("--allow-insecure-entitlement=network.host"), "a client allowed the host's namespaces may ask for it");
        assert.deepEqual(mocks.byType(CONTAINER).map((c) => c.name).filter((n) => n.startsWith("plain")), ["plain-dood-proxy-container", "plain-container"]);
        assert.equal(mocks.one(CONTAINER, "plain-dood-proxy-container").inputs.envs.some((e: string) => e.startsWith("DOOD_BUILDKIT_UPSTREAM")), false);
    });

    it("provisions nothing from an invalid file and names every problem", async () => {
        const mocks = installMocks();
        await assert.rejects(provisionStackFile(path.join(fixtures, "bad", "uniqueness.yaml"), {}), (error: Error) => {
            assert.ok(error instanceof pulumi.RunError);
            assert.match(error.message, /^5 problems in stack file:\n/);
            assert.match(error.message, /uniqueness\.yaml:11:18: hosts\.tester\.tcp\.port: host port 23760 on daemon "local" is already taken by hosts\.builder\.tcp\.port/);
            return true;
        });
        await assert.rejects(provisionStackFile(path.join(fixtures, "bad", "empty.yaml"), {}), /the file is empty/);
        assert.equal(mocks.resources.length, 0);
    });
});

function readFixture(name: string): string {
    return readFileSync(path.join(fixtures, name), "utf8");
}

describe("program: registries and the hosts that use them", () => {
    it("points a host at a stack registry by name: its URL as mirror, its network, its CA; secrets from the environment", async () => {
        const mocks = installMocks();
        const dir = mkdtempSync(path.join(os.tmpdir(), "reg-ca-"));
        writeFileSync(path.join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----internal");
        process.env.REG_UNIT_TOKEN = "t0ken-from-env";
        const source = `registries:\n  hub-cache: { port: 5000, proxy: { remote: https://registry-1.docker.io } }\n  lan-cache: { port: 5001, insecure: true }\n` +
            `hosts:\n  builder:\n    tcp: { port: 23760 }\n    dockerd: { registry-mirrors: [hub-cache, lan-cache], log-level: warn }\n` +
            `    registryAuth: [{ address: registry.internal:5000, username: ci, password: { env: REG_UNIT_TOKEN } }]\n` +
            `    registryCAs: { "registry.internal:5000": ${dir}/ca.pem }\n`;
        try {
            const outputs = provisionStack(validateStackSource(source, "inline.yaml", process.env).stack!, {}, fakeSteps());
            await settled(outputs);
        } finally {
            delete process.env.REG_UNIT_TOKEN;
        }
        assert.deepEqual(mocks.byType(REGISTRY).map((r) => r.name).sort(), ["hub-cache", "lan-cache"]);
        const dind = mocks.one(CONTAINER, "builder-container").inputs;
        const uploads = Object.fromEntries(dind.uploads.map((u: { file: string; content: string }) => [u.file, u.content]));
        assert.deepEqual(JSON.parse(uploads["/etc/docker/daemon.json"]), {
            "registry-mirrors": ["https://hub-cache:5000", "http://lan-cache:5000"],
            "insecure-registries": ["lan-cache:5000"],
            "log-level": "warn",
        });
        assert.equal(uploads["/etc/docker/certs.d/hub-cache:5000/ca.crt"], "cert-of-hub-cache-tls-ca");
        assert.equal(uploads["/etc/docker/certs.d/registry.internal:5000/ca.crt"], "-----BEGIN CERTIFICATE-----internal");
        assert.equal(uploads["/etc/docker/certs.d/lan-cache:5000/ca.crt"], undefined, "a plain-HTTP registry has no CA");
        assert.deepEqual(dind.networksAdvanced, [{ name: "bridge" }, { name: "hub-cache-net" }, { name: "lan-cache-net" }]);
        // The inner provider follows the readiness step, whose dynamic provider takes a moment to serialize.
        for (let i = 0; i < 100 && mocks.byType(DOCKER_PROVIDER).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
        const wire = mocks.one(DOCKER_PROVIDER, "builder-inner").inputs.registryAuth;
        assert.deepEqual(JSON.parse(secretValue(wire)), [{ address: "registry.internal:5000", username: "ci", password: "t0ken-from-env" }]);
    });

    it("names an unreadable CA file", () => {
        installMocks();
        const stack = stackFrom("hosts:\n  builder:\n    registryCAs: { \"registry.internal:5000\": /nonexistent/ca.pem }\n");
        assert.throws(() => provisionStack(stack), /hosts\.builder\.registryCAs\.registry\.internal:5000: cannot read \/nonexistent\/ca\.pem/);
    });
});
