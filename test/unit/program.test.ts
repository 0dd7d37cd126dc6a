import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { clusterFacts, provisionStack, provisionStackFile } from "../../program";
import { surveyDaemons } from "../../program/daemons";
import { validateStackSource } from "../../stackfile/load";
import { UserError } from "../../components/errors";
import { startFakeEngine } from "./components/fakeEngine";
import { startFakeKubeApi } from "./components/fakeKubeApi";
import {
    CERTIFICATES, CONTAINER, DOCKER_PROVIDER, fakeSteps, FIRST_NODE_PORT, installMocks, isSecret, K8S_CLAIM, K8S_SERVICE, K8S_STATEFUL_SET, NETWORK, PRELOAD, REGISTRY,
    REMOTE_IMAGE, SCOPE, secretValue, StepCalls, valueOf, VOLUME,
} from "./mocks";

const fixtures = path.join(__dirname, "stackfile", "fixtures");

/** A CA certificate of the unit suite's own (no key exists anywhere). */
const REGISTRY_CA = path.join(__dirname, "fixtures", "certificates", "registry-ca.pem");

/** `env` is the runner's: the operator's consent (DIND_PROVISIONER_ALLOW_*) for what the source uses. */
function stackFrom(source: string, env: NodeJS.ProcessEnv = {}) {
    const result = validateStackSource(source, "inline.yaml", env);
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
            .replace("local: { host: unix:///var/run/docker.sock }", "local: { host: unix:///nonexistent/docker.sock }")
            .replace("socket: /var/run/docker.sock", "socket: /nonexistent/docker.sock");
        const outputs = provisionStack(stackFrom(source, { DIND_PROVISIONER_ALLOW_DAEMONS: "unix:///nonexistent/docker.sock" }), {}, fakeSteps());
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
        const withDaemonSocket = mocks.byType(CONTAINER).filter((c) => c.inputs.volumes?.some((v: { hostPath: string }) => v.hostPath === "/nonexistent/docker.sock"));
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

    it("asks each outer engine the stack uses once, before any resource: its API version (DinD hosts only), image ids, objects under the stack's names", async () => {
        const engine = await startFakeEngine({ "dind-provisioner/dind:local": "sha256:dind" }, "1.41");
        const clients = await startFakeEngine({}, "1.45");
        try {
            const stack = stackFrom(`daemons:\n  local: { host: "unix://${engine.socket}" }\n  ci: { host: "unix://${clients.socket}" }\n`
                + "  idle: { host: unix:///nonexistent/docker.sock }\n"
                + "hosts:\n  one: { image: dind-provisioner/dind:local }\n  two: { image: \"docker:27-dind\" }\nclients:\n  agent: { daemon: ci, socketGroup: 998, access: full }\n",
                { DIND_PROVISIONER_ALLOW_DAEMONS: `unix://${engine.socket} unix://${clients.socket} unix:///nonexistent/docker.sock` });
            const facts = await surveyDaemons(stack);
            assert.deepEqual(Object.keys(facts).sort(), ["ci", "local"], "a daemon the stack makes nothing on is not asked");
            assert.equal(facts.local.apiVersion, "1.41");
            assert.equal(facts.ci.apiVersion, undefined, "a daemon without DinD hosts is not asked its version");
            assert.deepEqual(facts.local.imageIds, { "dind-provisioner/dind:local": "sha256:dind" }, "an image the daemon lacks is left to the image resource");
            assert.equal(engine.versionRequests, 1);
            assert.equal(engine.listFilters.length, 1, "one list of containers");
            assert.deepEqual(engine.listFilters.map((f) => JSON.parse(f)), [{ name: ["^/one$", "^/two$"] }]);
            assert.deepEqual(engine.objectFilters.map((f) => JSON.parse(f)), [{ name: ["^one-docker$", "^two-docker$"] }], "one list of volumes; no network to look for");
        } finally {
            await engine.close();
            await clients.close();
        }
    });

    it("asks for the ids of a restricted client's proxy and builder images too (none for builder: false)", async () => {
        const engine = await startFakeEngine({ "dind-provisioner/dood-proxy:local": "sha256:proxy", "dind-provisioner/buildkit:local": "sha256:buildkit", "example/buildkit:1": "sha256:mine" });
        try {
            const allow = { DIND_PROVISIONER_ALLOW_DAEMONS: `unix://${engine.socket}` };
            const daemons = `daemons:\n  local: { host: "unix://${engine.socket}" }\n`;
            const ids = async (client: string) => (await surveyDaemons(stackFrom(`${daemons}clients:\n  agent: { socketGroup: 998${client} }\n`, allow))).local.imageIds;
            assert.deepEqual(await ids(""), { "dind-provisioner/dood-proxy:local": "sha256:proxy", "dind-provisioner/buildkit:local": "sha256:buildkit" });
            assert.deepEqual(await ids(", builder: { image: example/buildkit:1 }"), { "dind-provisioner/dood-proxy:local": "sha256:proxy", "example/buildkit:1": "sha256:mine" });
            assert.deepEqual(await ids(", builder: false"), { "dind-provisioner/dood-proxy:local": "sha256:proxy" });
        } finally {
            await engine.close();
        }
    });

    it("fails naming the daemon when it cannot tell what it holds: the ownership check cannot be skipped", async () => {
        const stack = stackFrom("daemons:\n  local: { host: unix:///nonexistent/docker.sock }\nhosts:\n  one: {}\n", { DIND_PROVISIONER_ALLOW_DAEMONS: "unix:///nonexistent/docker.sock" });
        await assert.rejects(surveyDaemons(stack), /cannot check what daemon "local" \(unix:\/\/\/nonexistent\/docker\.sock\) holds under this stack's names and images, so nothing was changed: .*ENOENT/);
    });

    it("runs each outer container's image by the id its tag has on the daemon, so a tag that moves replaces the container", async () => {
        const mocks = installMocks();
        const stack = stackFrom("hosts:\n  one: { image: dind-provisioner/dind:local }\nclients:\n  agent: { socketGroup: 998, socket: /run/docker.sock }\n"
            + "registries:\n  cache: { port: 5000, image: dind-provisioner/registry:local, insecure: true }\n");
        const imageIds = {
            "dind-provisioner/dind:local": "sha256:dind-now", "dind-provisioner/dood-proxy:local": "sha256:proxy-now", "dind-provisioner/registry:local": "sha256:registry-now",
            "dind-provisioner/buildkit:local": "sha256:buildkit-now",
        };
        await settled(provisionStack(stack, { local: { imageIds } }, fakeSteps()));
        const image = (name: string) => mocks.one(CONTAINER, name).inputs.image;
        assert.equal(image("one-container"), "sha256:dind-now");
        assert.equal(image("agent-dood-proxy-container"), "sha256:proxy-now");
        assert.equal(image("agent-buildkit-container"), "sha256:buildkit-now");
        assert.equal(mocks.one(SCOPE).inputs.proxyImage, "sha256:proxy-now", "the client's cleanup runs the image its proxy runs");
        assert.equal(image("cache-container"), "sha256:registry-now");
        assert.equal(image("agent-container"), "sha256:outer-docker:27.5.1-cli", "an image the daemon lacked: the image resource's id (it pulls it)");
    });

    it("picks every host's health-check schedule from its outer engine's API version", async () => {
        const mocks = installMocks();
        const stack = stackFrom("daemons:\n  old: { host: unix:///run/old.sock }\nhosts:\n  one: { daemon: old }\n  two: {}\n", { DIND_PROVISIONER_ALLOW_DAEMONS: "unix:///run/old.sock" });
        await settled(provisionStack(stack, { old: { apiVersion: "1.41" }, local: { apiVersion: "1.47" } }, fakeSteps()));
        assert.deepEqual(mocks.byType(CONTAINER).map((c) => [c.name, c.inputs.healthcheck.interval, c.inputs.healthcheck.startInterval]),
            [["one-container", "1s", undefined], ["two-container", "30s", "250ms"]], "an engine before Docker 25 has one interval only");
    });

    it("reads the socket's group when the daemon is on this machine", async () => {
        const mocks = installMocks();
        const socket = path.join(mkdtempSync(path.join(os.tmpdir(), "sock-")), "docker.sock");
        writeFileSync(socket, "");
        const local = (file: string) => stackFrom(`daemons:\n  local: { host: "unix://${file}" }\nclients:\n  agent: {}\n`, { DIND_PROVISIONER_ALLOW_DAEMONS: `unix://${file}` });
        const outputs = provisionStack(local(socket));
        await settled(outputs);
        assert.deepEqual(mocks.one(CONTAINER, "agent-container").inputs.groupAdds, [String(statSync(socket).gid)]);
        assert.ok(mocks.one(CONTAINER, "agent-dood-proxy-container").inputs.envs.includes(`DOOD_SOCKET_GID=${statSync(socket).gid}`));
        assert.throws(() => provisionStack(local("/nonexistent/docker.sock")),
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
            "  plain: { socketGroup: 998, builder: false }\n"), {}, fakeSteps());
        await settled(outputs);
        const builder = mocks.one(CONTAINER, "agent-buildkit-container").inputs;
        assert.equal(mocks.one(REMOTE_IMAGE, "agent-buildkit-image").inputs.name, "example/buildkit:1");
        assert.deepEqual(builder.networksAdvanced, [{ name: "bridge" }, { name: "cache-net" }, { name: "secure-net" }]);
        assert.match(builder.uploads[0].content, /\[registry\."cache:5000"\]\n {2}http = true\n\[registry\."secure:5000"\]\n {2}ca = /);
        assert.ok(builder.command.includes("--allow-insecure-entitlement=network.host"), "a client allowed the host's namespaces may ask for it");
        assert.deepEqual(mocks.byType(CONTAINER).map((c) => c.name).filter((n) => n.startsWith("plain")), ["plain-dood-proxy-container", "plain-container"]);
        assert.equal(mocks.one(CONTAINER, "plain-dood-proxy-container").inputs.envs.some((e: string) => e.startsWith("DOOD_BUILDKIT_UPSTREAM")), false);
    });

    it("maps hosts on a cluster: runtime as RuntimeClass, spread, storage class, nested ports through the Service, the node address it learnt", async () => {
        const mocks = installMocks();
        const calls: StepCalls = { readiness: [], preloads: [], registries: [], kubernetes: [] };
        const stack = stackFrom(`daemons:
  farm: { kubernetes: { kubeconfig: /etc/ci/kubeconfig, context: ci, namespace: ci, spread: true } }
hosts:
  builder:
    daemon: farm
    storage: { class: shared-path }
    workloads: { containers: { web: { image: busybox:1.36, ports: [{ internal: 80, external: 8080 }, { internal: 53, external: 5353, protocol: udp }] } } }
  isolated: { daemon: farm, runtime: sysbox-runc }
  plain: { daemon: farm, runtime: runc }
`, { DIND_PROVISIONER_ALLOW_PATHS: "/etc/ci/kubeconfig" });
        const outputs = provisionStack(stack, {}, fakeSteps(calls), { farm: { nodeAddress: "10.0.0.21" } });
        await settled(outputs);
        const pod = (host: string) => mocks.one(K8S_STATEFUL_SET, `${host}-statefulset`).inputs.spec.template;
        assert.deepEqual([pod("isolated").spec.runtimeClassName, pod("isolated").spec.containers[0].securityContext], ["sysbox-runc", { privileged: false }]);
        assert.deepEqual([pod("plain").spec.runtimeClassName, pod("plain").spec.containers[0].securityContext], [undefined, { privileged: true }], "runc: the default, as on Docker");
        assert.equal(pod("builder").metadata.labels["dind-provisioner.spread-group"], "dind-provisioner.unit");
        assert.equal(mocks.one(K8S_CLAIM, "builder-storage").inputs.spec.storageClassName, "shared-path");
        assert.deepEqual(mocks.one(K8S_SERVICE, "builder-service").inputs.spec.ports.map((p: { name: string }) => p.name), ["docker-tls", "nested-tcp-8080", "nested-udp-5353"]);
        const builder = await valueOf(pulumi.output(outputs.hosts.builder) as pulumi.Output<Record<string, any>>);
        assert.equal(builder.tcpEndpoint, `tcp://10.0.0.21:${FIRST_NODE_PORT}`);
        assert.deepEqual(builder.publishedPorts, { "8080/tcp": `10.0.0.21:${FIRST_NODE_PORT + 1}`, "5353/udp": `10.0.0.21:${FIRST_NODE_PORT + 2}` });
        assert.deepEqual(builder.cluster, { namespace: "ci", kubeconfig: "/etc/ci/kubeconfig", context: "ci" });
        assert.equal(builder.node, "node-1");
        assert.deepEqual(calls.kubernetes[0].access, { kubeconfig: "/etc/ci/kubeconfig", context: "ci" });
    });

    it("asks each cluster running DinD hosts what it allows up front, and reports every cluster's problems at once", async () => {
        const api = await startFakeKubeApi();
        try {
            api.routes.set("GET /version", { status: 200, body: {} });
            api.routes.set("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews", { status: 201, body: { status: { allowed: true } } });
            api.routes.set("GET /api/v1/nodes", { status: 200, body: { items: [{ metadata: { name: "n" }, status: { conditions: [{ type: "Ready", status: "True" }], addresses: [{ type: "InternalIP", address: "10.0.0.9" }] } }] } });
            api.routes.set("GET /api/v1/namespaces/ci", { status: 200, body: { metadata: { name: "ci" } } });
            const kubeconfig = api.kubeconfig();
            const stack = stackFrom(`daemons:
  farm: { kubernetes: { kubeconfig: ${kubeconfig}, namespace: ci } }
  lab: { kubernetes: { kubeconfig: ${kubeconfig}, namespace: lab, nodeAddress: lb.example } }
  idle: { kubernetes: { kubeconfig: ${kubeconfig}, namespace: idle } }
hosts:
  one: { daemon: farm }
  two: { daemon: lab }
`, { DIND_PROVISIONER_ALLOW_PATHS: kubeconfig });
            await assert.rejects(clusterFacts(stack), (error: Error) => {
                assert.ok(error instanceof UserError, "provisionStackFile reports it without a stack trace");
                assert.equal(error.message.replace(/\(context .*?\)/, "(CONTEXT)"),
                    "daemons.lab: namespace lab does not exist in the cluster (CONTEXT): create it (kubectl create namespace lab) or name another");
                return true;
            });
            api.routes.set("GET /api/v1/namespaces/lab", { status: 200, body: { metadata: { name: "lab" } } });
            api.requests.length = 0;
            assert.deepEqual(await clusterFacts(stack), { farm: { nodeAddress: "10.0.0.9" }, lab: {} }, "a cluster without hosts is not asked; a given nodeAddress is not looked up");
            assert.equal(api.requests.filter((r) => r.startsWith("GET /api/v1/nodes")).length, 1);
        } finally {
            await api.close();
        }
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
        // A CA file holding more than certificates: only the certificate is uploaded.
        const dir = mkdtempSync(path.join(os.tmpdir(), "reg-ca-"));
        const ca = readFileSync(REGISTRY_CA, "utf8");
        writeFileSync(path.join(dir, "ca.pem"), `# the internal registry's CA\nSECRET_TOKEN=not-for-upload\n${ca}`);
        process.env.REG_UNIT_TOKEN = "t0ken-from-env";
        const source = `registries:\n  hub-cache: { port: 5000, proxy: { remote: https://registry-1.docker.io } }\n  lan-cache: { port: 5001, insecure: true }\n` +
            `hosts:\n  builder:\n    tcp: { port: 23760 }\n    dockerd: { registry-mirrors: [hub-cache, lan-cache], log-level: warn }\n` +
            `    registryAuth: [{ address: registry.internal:5000, username: ci, password: { env: REG_UNIT_TOKEN } }]\n` +
            `    registryCAs: { "registry.internal:5000": ${dir}/ca.pem }\n`;
        try {
            const env = { ...process.env, DIND_PROVISIONER_ALLOW_ENV: "REG_UNIT_TOKEN", DIND_PROVISIONER_ALLOW_PATHS: dir };
            const outputs = provisionStack(stackFrom(source, env), {}, fakeSteps());
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
        assert.equal(uploads["/etc/docker/certs.d/registry.internal:5000/ca.crt"], new X509Certificate(ca).toString());
        assert.doesNotMatch(uploads["/etc/docker/certs.d/registry.internal:5000/ca.crt"], /SECRET_TOKEN/);
        assert.equal(uploads["/etc/docker/certs.d/lan-cache:5000/ca.crt"], undefined, "a plain-HTTP registry has no CA");
        assert.deepEqual(dind.networksAdvanced, [{ name: "bridge" }, { name: "hub-cache-net" }, { name: "lan-cache-net" }]);
        // The inner provider follows the readiness step, whose dynamic provider takes a moment to serialize.
        for (let i = 0; i < 100 && mocks.byType(DOCKER_PROVIDER).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
        const wire = mocks.one(DOCKER_PROVIDER, "builder-inner").inputs.registryAuth;
        assert.deepEqual(JSON.parse(secretValue(wire)), [{ address: "registry.internal:5000", username: "ci", password: "t0ken-from-env" }]);
    });

    it("reads a CA file as certificates only, before any resource: a key, a FIFO, text or a missing file is named and nothing is registered", () => {
        const mocks = installMocks();
        const dir = mkdtempSync(path.join(os.tmpdir(), "reg-ca-"));
        const ca = readFileSync(REGISTRY_CA, "utf8");
        writeFileSync(path.join(dir, "key.pem"), `${ca}-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n`);
        writeFileSync(path.join(dir, "text.pem"), "AWS_SECRET_ACCESS_KEY=abc\n");
        writeFileSync(path.join(dir, "fake.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        spawnSync("mkfifo", [path.join(dir, "fifo.pem")]);
        const source = "registries:\n  cache: { port: 5000 }\nhosts:\n  builder:\n    registryCAs:\n" + ["key", "text", "fake", "fifo", "missing"]
            .map((name) => `      "${name}.internal:5000": ${dir}/${name}.pem\n`).join("");
        const stack = stackFrom(source, { DIND_PROVISIONER_ALLOW_PATHS: dir });
        assert.throws(() => provisionStack(stack), (error: Error) => {
            assert.ok(error instanceof UserError);
            assert.deepEqual(error.message.split("\n"), [
                `hosts.builder.registryCAs["key.internal:5000"]: ${dir}/key.pem holds a private key: a CA file holds certificates only, and no key may leave this machine`,
                `hosts.builder.registryCAs["text.internal:5000"]: ${dir}/text.pem holds no PEM certificate (-----BEGIN CERTIFICATE-----): expected a PEM file of CA certificates`,
                `hosts.builder.registryCAs["fake.internal:5000"]: ${dir}/fake.pem holds a PEM block that is not an X.509 certificate`,
                `hosts.builder.registryCAs["fifo.internal:5000"]: ${dir}/fifo.pem is not a regular file: expected a PEM file of CA certificates`,
                `hosts.builder.registryCAs["missing.internal:5000"]: ${dir}/missing.pem cannot be read: ENOENT`,
            ]);
            assert.doesNotMatch(error.message, /AWS_SECRET|MIGHAgEA/);
            return true;
        });
        assert.equal(mocks.resources.length, 0, "no resource, the registry's included, was registered");
    });
});
