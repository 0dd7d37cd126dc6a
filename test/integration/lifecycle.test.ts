// The real lane: `pulumi up` (Automation API, real engine, real plugins) against the real
// Docker daemon, through a stack's whole life. The tests run in order and share the stack.
import * as assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { writeClientTls } from "../../driver/clientTls";
import { clearLeftovers, docker, dockerOk, labelled, StackUnderTest, tearDown } from "../support/harness";

const FIXTURE = path.join(__dirname, "fixtures", "lifecycle.yaml");
const SCRATCH = "/tmp/dind-provisioner-itest";
const WORKSPACE = `${SCRATCH}/workspace`;
const CONTAINERS = ["itest-dind", "itest-cache", "itest-agent"];
const VOLUMES = ["itest-dind-docker", "itest-cache-docker"];
const RETAINED_VOLUME = "itest-cache-docker";
const TCP_ENDPOINT = "tcp://127.0.0.1:23790";
const UNIX_ENDPOINT = `unix://${SCRATCH}/itest-dind/docker.sock`;

/** GETs a URL, retrying while the server comes up. */
async function fetchText(url: string, attempts = 30): Promise<string> {
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
        try {
            const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
            return await response.text();
        } catch (error) {
            last = error;
            await new Promise((resolve) => setTimeout(resolve, 1000));
        }
    }
    throw new Error(`${url} did not answer: ${String(last)}`);
}

function containerIp(name: string): string {
    return dockerOk(["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name]);
}

describe("real lane: a stack's life against a real Docker daemon", function () {
    this.timeout(15 * 60_000);
    let sut: StackUnderTest;
    let tlsDir: string;
    const innerTcp = () => ({ DOCKER_HOST: TCP_ENDPOINT, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: tlsDir });
    const innerUnix = { DOCKER_HOST: UNIX_ENDPOINT };

    before(async () => {
        clearLeftovers(CONTAINERS, VOLUMES, "itest-");
        rmSync(SCRATCH, { recursive: true, force: true });
        mkdirSync(WORKSPACE, { recursive: true });
        sut = await StackUnderTest.create(FIXTURE, `itest-${process.pid}`);
        tlsDir = path.join(sut.dir, "client-tls");
    });

    after(async () => {
        await tearDown(sut);
        rmSync(SCRATCH, { recursive: true, force: true });
    });

    it("1. previews a fresh stack with nested workloads while no DinD host exists", async () => {
        const preview = await sut.stack.preview();
        assert.equal(docker(["container", "inspect", "itest-dind"]).status, 1, "preview must not create the DinD host");
        assert.match(preview.stdout, /itest-dind-workloads-container-itest-web/);
        assert.match(preview.stdout, /itest-dind-preload-dind-provisioner\/busybox:local/);
        assert.deepEqual(Object.keys(preview.changeSummary).sort(), ["create"]);
    });

    it("2a. up creates a DinD host answering on its mutual-TLS TCP endpoint and its unix endpoint", async () => {
        const up = await sut.stack.up();
        assert.equal(up.summary.result, "succeeded");
        const outputs = await sut.stack.outputs();
        assert.equal(outputs.clientTls.secret, true);
        writeClientTls(tlsDir, outputs.clientTls.value["itest-dind"]);
        const host = outputs.hosts.value["itest-dind"];
        assert.equal(host.tcpEndpoint, TCP_ENDPOINT);
        assert.equal(host.unixEndpoint, UNIX_ENDPOINT);
        assert.equal(host.dockerHost, TCP_ENDPOINT);
        const viaTcp = dockerOk(["info", "--format", "{{.Name}}"], innerTcp());
        const viaUnix = dockerOk(["info", "--format", "{{.Name}}"], innerUnix);
        assert.equal(viaTcp, viaUnix, "both endpoints reach the same inner daemon");
        assert.notEqual(viaTcp, dockerOk(["info", "--format", "{{.Name}}"]), "the inner daemon is not the outer one");
        assert.equal(dockerOk(["inspect", "--format", "{{.HostConfig.Privileged}}", "itest-dind"]), "true");
        assert.equal(dockerOk(["inspect", "--format", "{{.HostConfig.Privileged}}", "itest-agent"]), "false");
        // Readiness pinged the inner daemon: the health check only keeps the health current, on any engine.
        assert.equal(dockerOk(["inspect", "--format", "{{.Config.Healthcheck.Interval}}", "itest-dind"]), "30s");
    });

    it("2a'. the server certificate names the endpoint's addresses and chains to the stack's CA", async () => {
        const material = { ca: readFileSync(path.join(tlsDir, "ca.pem")), cert: readFileSync(path.join(tlsDir, "cert.pem")), key: readFileSync(path.join(tlsDir, "key.pem")) };
        const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
            const socket = tls.connect({ host: "127.0.0.1", port: 23790, ...material }, () => {
                resolve(socket.getPeerCertificate());
                socket.end();
            });
            socket.on("error", reject);
        });
        for (const name of ["DNS:localhost", "DNS:itest-dind", "IP Address:127.0.0.1"]) assert.ok(peer.subjectaltname?.includes(name), `${name} in ${peer.subjectaltname}`);
        assert.equal(peer.subject.CN, "itest-dind");
    });

    it("2b. the preloaded image is inside the DinD host, with the outer image's id", () => {
        const outerId = dockerOk(["image", "inspect", "--format", "{{.Id}}", "dind-provisioner/busybox:local"]);
        assert.equal(dockerOk(["image", "inspect", "--format", "{{.Id}}", "dind-provisioner/busybox:local"], innerTcp()), outerId);
    });

    it("2c. a nested container serves HTTP that this machine reaches at the DinD host's address", async () => {
        assert.equal(await fetchText(`http://${containerIp("itest-dind")}:8080/`), "hello-from-nested\n");
    });

    it("2d. the DooD client lists the host's containers, itself included, also as a non-root user", () => {
        const names = dockerOk(["exec", "itest-agent", "docker", "ps", "--format", "{{.Names}}"]).split("\n");
        assert.ok(names.includes("itest-agent") && names.includes("itest-dind"), names.join(", "));
        assert.equal(docker(["exec", "--user", "1000:1000", "itest-agent", "docker", "ps", "-q"]).status, 0, "the socket's group is added");
    });

    it("2e. a bind mount the DooD client asks for names the same files, thanks to path parity", () => {
        writeFileSync(`${WORKSPACE}/marker.txt`, "same-files\n");
        const seen = dockerOk(["exec", "itest-agent", "sh", "-c", 'docker run --rm -v "$PWD:/w" dind-provisioner/busybox:local cat /w/marker.txt']);
        assert.equal(seen, "same-files");
    });

    it("2f. keeps every private key out of the state in plain text", () => {
        const state = sut.stateFiles().map((file) => readFileSync(file, "utf8")).join("\n");
        assert.ok(state.includes("BEGIN CERTIFICATE"), "the state holds the certificates");
        assert.ok(!state.includes("PRIVATE KEY"), "a private key is in the state in plain text");
        assert.match(state, /"ciphertext"/);
    });

    it("3. isolation: nested containers and inner images are absent from the outer daemon", () => {
        assert.equal(dockerOk(["ps", "-a", "--filter", "name=^/itest-web$", "--format", "{{.Names}}"], innerTcp()), "itest-web");
        assert.equal(dockerOk(["ps", "-a", "--filter", "name=^/itest-web$", "--format", "{{.Names}}"]), "");
        dockerOk(["tag", "dind-provisioner/busybox:local", "itest-inner-only:1"], innerTcp());
        assert.notEqual(docker(["image", "inspect", "itest-inner-only:1"]).status, 0, "an inner image leaked to the outer daemon");
        assert.notEqual(docker(["image", "inspect", "dind-provisioner/dind:local"], innerTcp()).status, 0, "an outer image is in the inner daemon");
    });

    it("4. the TCP endpoint refuses a client without the client certificate", async () => {
        const noCert = docker(["--host", TCP_ENDPOINT, "--tlsverify", "--tlscacert", path.join(tlsDir, "ca.pem"), "version", "--format", "{{.Server.Version}}"]);
        assert.notEqual(noCert.status, 0);
        assert.match(noCert.stderr, /certificate|tls/i);
        const plain = await fetch(`http://127.0.0.1:23790/version`).then((r) => r.text());
        assert.match(plain, /HTTP request to an HTTPS server/);
    });

    it("5. a second up reports no changes", async () => {
        const up = await sut.stack.up();
        assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"], JSON.stringify(up.summary.resourceChanges));
    });

    it("6. drift: a nested container removed behind Pulumi's back comes back after refresh and up", async () => {
        dockerOk(["rm", "-f", "itest-web"], innerTcp());
        await sut.stack.refresh();
        const up = await sut.stack.up();
        assert.equal(up.summary.resourceChanges?.create, 1, JSON.stringify(up.summary.resourceChanges));
        assert.equal(await fetchText(`http://${containerIp("itest-dind")}:8080/`), "hello-from-nested\n");
    });

    it("7. persistence: a replaced DinD container keeps the inner images through its volume", async () => {
        const before = dockerOk(["inspect", "--format", "{{.Id}}", "itest-dind"]);
        sut.editStackFile((text) => text.replace('GENERATION: "1"', 'GENERATION: "2"'));
        const up = await sut.stack.up();
        assert.equal(up.summary.resourceChanges?.replace, 1, JSON.stringify(up.summary.resourceChanges));
        assert.notEqual(dockerOk(["inspect", "--format", "{{.Id}}", "itest-dind"]), before);
        assert.ok(dockerOk(["inspect", "--format", "{{.Config.Env}}", "itest-dind"]).includes("GENERATION=2"));
        // Only the volume can have carried this tag over: it was made inside the old container.
        assert.equal(docker(["image", "inspect", "itest-inner-only:1"], innerTcp()).status, 0);
        assert.equal(docker(["image", "inspect", "dind-provisioner/busybox:local"], innerTcp()).status, 0);
        assert.equal(await fetchText(`http://${containerIp("itest-dind")}:8080/`), "hello-from-nested\n");
    });

    it("8. destroy leaves nothing of the stack on the outer daemon but the retained volume", async () => {
        await sut.stack.destroy();
        assert.deepEqual(labelled(sut.label), [`volume ${RETAINED_VOLUME}`]);
        for (const name of CONTAINERS) assert.notEqual(docker(["container", "inspect", name]).status, 0, name);
        dockerOk(["volume", "rm", RETAINED_VOLUME]);
    });
});
