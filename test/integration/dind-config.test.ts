// The real lane for what pipelines need from a DinD host: inner-daemon settings (MTU, address
// pools), a pull-through cache the stack runs, private registries (a password, a CA), limits,
// and a start-up failure reported with the daemon's own words. Real registries, real daemons,
// real `up`s; the tests run in order and share the stack.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { docker, dockerOk, removeLabelled, StackUnderTest, STACK_LABEL } from "../support/harness";
import { allowForSuite } from "../support/consent";

const FIXTURES = path.join(__dirname, "fixtures");
const SCRATCH = "/tmp/dind-provisioner-reg";
const CONF = `${SCRATCH}/conf`;
/** The test's own registries, on the host network: a stand-in for Docker Hub, one with a password, one with its own CA. */
const REMOTE = { name: "reg-remote", port: 23821, volume: "reg-remote-data" };
const AUTH = { name: "reg-auth", port: 23822 };
const TRUSTED = { name: "reg-ca", port: 23824 };
const SEED = { name: "reg-seed", port: 23825, volume: "reg-seed-data" };
const USERNAME = "reg-ci";
const OWN_CONTAINERS = [REMOTE.name, AUTH.name, TRUSTED.name, SEED.name, "reg-marker"];
const OWN_VOLUMES = [REMOTE.volume, SEED.volume];
const STACK_CONTAINERS = ["reg-a", "reg-b", "reg-bad", "reg-cache"];

const innerOf = (host: string) => ({ DOCKER_HOST: `unix://${SCRATCH}/${host}/docker.sock` });

function run(command: string, args: string[], input?: string): string {
    const result = spawnSync(command, args, { encoding: "utf8", input });
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout;
}

/** Refuses to start next to a same-named container or volume this suite did not create. */
function clearLeftovers() {
    for (const name of [...OWN_CONTAINERS, ...STACK_CONTAINERS]) {
        const labels = docker(["inspect", "--format", "{{json .Config.Labels}}", name]);
        if (labels.status !== 0) continue;
        const parsed = JSON.parse(labels.stdout) ?? {};
        const ours = parsed["dind-provisioner.test"] === "reg" || String(parsed[STACK_LABEL] ?? "").startsWith("dind-provisioner/reg-");
        if (!ours) throw new Error(`a container named ${name} exists and is not this suite's: remove it or free the name`);
        docker(["rm", "-f", "-v", name]);
    }
    for (const volume of [...OWN_VOLUMES, "reg-cache-data", "reg-a-docker", "reg-b-docker", "reg-bad-docker"]) docker(["volume", "rm", volume]);
    docker(["network", "rm", "reg-cache-net"]);
}

/** A registry container of the test's own on the host network (so every DinD host and the cache reach it at the gateway). */
function runRegistry(name: string, port: number, volume: string, config: object, extraMounts: string[] = []) {
    const file = `${CONF}/${name}.yml`;
    writeFileSync(file, JSON.stringify({
        version: 0.1,
        log: { level: "info" },
        storage: { filesystem: { rootdirectory: "/var/lib/registry" } },
        ...config,
        http: { addr: `:${port}`, ...(config as { http?: object }).http },
    }));
    dockerOk(["run", "-d", "--name", name, "--label", "dind-provisioner.test=reg", "--network", "host",
        "-v", `${volume}:/var/lib/registry`, "-v", `${file}:/etc/docker/registry/config.yml:ro`, ...extraMounts, "dind-provisioner/registry:local"]);
    for (let i = 0; i < 50; i++) {
        if (spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0) return;
        spawnSync("sleep", ["0.2"]);
    }
    throw new Error(`${name} did not listen on ${port}: ${docker(["logs", name]).stderr}`);
}

/** Pushes busybox under `image`; `marker` makes an image of its own, whose layer no other image shares. */
function pushAs(image: string, marker?: string) {
    if (marker) {
        dockerOk(["run", "--name", "reg-marker", "--label", "dind-provisioner.test=reg", "dind-provisioner/busybox:local", "sh", "-c", `echo ${marker} > /marker`]);
        spawnSync("sh", ["-c", `docker export reg-marker | docker import -c 'CMD ["sh"]' - ${image}`]);
        docker(["rm", "reg-marker"]);
    } else {
        dockerOk(["tag", "dind-provisioner/busybox:local", image]);
    }
    dockerOk(["push", image]);
    dockerOk(["rmi", image]);
}

/** A CA and a server certificate for the gateway address, made with openssl. */
function makeCa(gateway: string) {
    run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-subj", "/CN=reg test CA", "-keyout", `${CONF}/ca.key`, "-out", `${CONF}/ca.pem`]);
    run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=reg-ca",
        "-keyout", `${CONF}/server.key`, "-out", `${CONF}/server.csr`]);
    writeFileSync(`${CONF}/san.ext`, `subjectAltName=IP:${gateway}\n`);
    run("openssl", ["x509", "-req", "-in", `${CONF}/server.csr`, "-CA", `${CONF}/ca.pem`, "-CAkey", `${CONF}/ca.key`,
        "-CAcreateserial", "-days", "2", "-extfile", `${CONF}/san.ext`, "-out", `${CONF}/server.pem`]);
}

/** A bcrypt htpasswd line (the registry accepts bcrypt only), from the C library's crypt through Python. */
function htpasswd(user: string, password: string): string {
    const hash = run("python3", ["-W", "ignore", "-c",
        "import crypt, sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH)))"], password).trim();
    assert.match(hash, /^\$2[aby]\$/, "a bcrypt hash");
    return `${user}:${hash}\n`;
}

/**
 * Blob digest -> how many times the stand-in registry served it (GET, 200), read from its access
 * log once the count stops changing: the cache stores a blob in the background after serving it.
 */
async function settledBlobFetches(): Promise<Map<string, number>> {
    let last = "";
    for (let i = 0; i < 30; i++) {
        const counts = blobFetches();
        const now = JSON.stringify([...counts]);
        if (now === last) return counts;
        last = now;
        await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    throw new Error(`the stand-in registry's blob fetches did not settle: ${last}`);
}


function blobFetches(): Map<string, number> {
    const log = docker(["logs", REMOTE.name]);
    const counts = new Map<string, number>();
    for (const match of `${log.stdout}\n${log.stderr}`.matchAll(/"GET \/v2\/library\/reg-bb\/blobs\/(sha256:[0-9a-f]+) HTTP\/1\.1" 200/g)) {
        counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
    }
    return counts;
}

describe("real lane: inner-daemon settings, registries and start-up failures", function () {
    this.timeout(20 * 60_000);
    let sut: StackUnderTest;
    let disallow: () => void = () => undefined;
    let gateway: string;
    const password = `reg-pw-${randomBytes(12).toString("hex")}`;
    const logs: string[] = [];

    before(async () => {
        clearLeftovers();
        rmSync(SCRATCH, { recursive: true, force: true });
        mkdirSync(CONF, { recursive: true });
        gateway = dockerOk(["network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"]);
        makeCa(gateway);
        writeFileSync(`${CONF}/htpasswd`, htpasswd(USERNAME, password));

        // Docker Hub's stand-in holds the image under a Hub name; the seed fills the volume the private registries serve.
        runRegistry(REMOTE.name, REMOTE.port, REMOTE.volume, {});
        pushAs(`127.0.0.1:${REMOTE.port}/library/reg-bb:1`);
        runRegistry(SEED.name, SEED.port, SEED.volume, {});
        // Layers of their own: a layer the host already has would not be pulled through the cache.
        pushAs(`127.0.0.1:${SEED.port}/reg-private:1`, "private");
        pushAs(`127.0.0.1:${SEED.port}/reg-trusted:1`, "trusted");
        docker(["rm", "-f", SEED.name]);
        runRegistry(AUTH.name, AUTH.port, SEED.volume, { auth: { htpasswd: { realm: "reg", path: "/conf/htpasswd" } } },
            ["-v", `${CONF}/htpasswd:/conf/htpasswd:ro`]);
        runRegistry(TRUSTED.name, TRUSTED.port, SEED.volume, { http: { tls: { certificate: "/conf/server.pem", key: "/conf/server.key" } } },
            ["-v", `${CONF}/server.pem:/conf/server.pem:ro`, "-v", `${CONF}/server.key:/conf/server.key:ro`]);
        // Without credentials the private registry refuses: the pull below needs registryAuth.
        const anonymous = spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${AUTH.port}; printf 'GET /v2/ HTTP/1.0\\r\\n\\r\\n' >&3; head -n 1 <&3`], { encoding: "utf8" });
        assert.match(anonymous.stdout, /401/);

        process.env.REG_AUTH_PASSWORD = password;
        // The operator allows the variable the stack takes as a password, and the directory of its registry CA.
        disallow = allowForSuite({ DIND_PROVISIONER_ALLOW_ENV: "REG_AUTH_PASSWORD", DIND_PROVISIONER_ALLOW_PATHS: CONF });
        sut = await StackUnderTest.create(path.join(FIXTURES, "dind-config.yaml"), "reg-config");
        sut.editStackFile((text) => text.replaceAll("GATEWAY", gateway).replaceAll("CA_FILE", `${CONF}/ca.pem`));
    });

    after(async () => {
        if (sut) {
            await sut.stack.destroy().catch((error: Error) => console.error(`destroy during cleanup failed: ${error.message}`));
            removeLabelled(sut.label);
            await sut.dispose();
        }
        delete process.env.REG_AUTH_PASSWORD;
        disallow();
        for (const name of OWN_CONTAINERS) docker(["rm", "-f", "-v", name]);
        for (const volume of [...OWN_VOLUMES, "reg-cache-data"]) docker(["volume", "rm", volume]);
        rmSync(SCRATCH, { recursive: true, force: true });
    });

    it("1. up: a host pulls a Hub-named image through the stack's pull-through cache (no preload), a password-protected one and one behind its own CA", async () => {
        const started = Date.now();
        const up = await sut.stack.up({ onOutput: (text) => logs.push(text) });
        console.log(`      first up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.equal(up.summary.result, "succeeded");
        const running = dockerOk(["ps", "--format", "{{.Names}}"], innerOf("reg-a")).split("\n").sort();
        assert.deepEqual(running, ["reg-hub", "reg-private", "reg-trusted"]);
        const images = dockerOk(["images", "--format", "{{.Repository}}:{{.Tag}}"], innerOf("reg-a")).split("\n").sort();
        assert.deepEqual(images, [`${gateway}:${AUTH.port}/reg-private:1`, `${gateway}:${TRUSTED.port}/reg-trusted:1`, "reg-bb:1"]);
        // The CA registry was reached with registryCAs alone, not as an insecure registry.
        const daemonJson = JSON.parse(dockerOk(["exec", "reg-a", "cat", "/etc/docker/daemon.json"]));
        assert.deepEqual(daemonJson["insecure-registries"], [`${gateway}:${AUTH.port}`]);
        assert.deepEqual(daemonJson["registry-mirrors"], ["https://reg-cache:5000"]);
        assert.equal(dockerOk(["exec", "reg-a", "cat", `/etc/docker/certs.d/${gateway}:${TRUSTED.port}/ca.crt`]), readFileSync(`${CONF}/ca.pem`, "utf8").trim());
        // The image config and its layer, each fetched by the cache from the stand-in.
        const fetched = await settledBlobFetches();
        assert.equal(fetched.size, 2, `the cache fetched the image's blobs from the stand-in: ${[...fetched]}`);
    });

    it("2. mtu 1400 on the inner default bridge and on a workloads network; the address pool on a workloads network", () => {
        const inner = innerOf("reg-a");
        const mtuOf = (network: string) => dockerOk(["network", "inspect", network, "--format", '{{index .Options "com.docker.network.driver.mtu"}}'], inner);
        assert.equal(mtuOf("bridge"), "1400");
        assert.equal(mtuOf("reg-app"), "1400");
        assert.equal(dockerOk(["exec", "reg-hub", "cat", "/sys/class/net/eth0/mtu"], inner), "1400", "a nested container's interface on reg-app");
        const subnet = dockerOk(["network", "inspect", "reg-app", "--format", "{{(index .IPAM.Config 0).Subnet}}"], inner);
        assert.match(subnet, /^10\.199\.\d+\.0\/24$/);
    });

    it("3. resources are the DinD container's limits in docker inspect", () => {
        const [nanoCpus, memory, swap, pids] = dockerOk(["inspect", "reg-a", "--format",
            "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}}"]).split(" ");
        assert.deepEqual({ nanoCpus, memory, swap, pids }, { nanoCpus: "1500000000", memory: String(2 * 1024 ** 3), swap: String(2 * 1024 ** 3), pids: "2048" });
    });

    it("4. a second host pulls the same image through the cache: the stand-in serves no blob again; mtu auto", async () => {
        const before = await settledBlobFetches();
        sut.editStackFile((text) => `${text.trimEnd()}\n${readFileSync(path.join(FIXTURES, "dind-config-second-host.yaml"), "utf8").split("\n").filter((l) => !l.startsWith("#")).join("\n")}`);
        const updated: string[] = [];
        const up = await sut.stack.up({
            onOutput: (text) => logs.push(text),
            onEvent: (event) => {
                const step = event.resOutputsEvent?.metadata;
                if (step && step.op !== "same" && step.op !== "create") updated.push(`${step.op} ${step.urn.split("::").pop()} ${(step.diffs ?? []).join(",")}`.trim());
            },
        });
        assert.equal(up.summary.result, "succeeded");
        // The first host and the registry are left alone (the stack's own outputs list the new host).
        assert.deepEqual(updated.filter((step) => !step.startsWith("update dind-provisioner-reg-config")), []);
        assert.deepEqual(dockerOk(["ps", "--format", "{{.Names}}"], innerOf("reg-b")).split("\n"), ["reg-hub"]);
        assert.deepEqual(dockerOk(["images", "--format", "{{.Repository}}:{{.Tag}}"], innerOf("reg-b")).split("\n"), ["reg-bb:1"]);
        const after = await settledBlobFetches();
        console.log(`      stand-in blob fetches after both hosts pulled: ${JSON.stringify(Object.fromEntries(after))}`);
        // The second host's pull is served from the cache: not one more fetch from the stand-in.
        // (Distribution 2.8's proxy fetches a blob twice on its first miss, one stream to serve it and
        // one to store it, so the first pull may show 2 per blob; every later pull shows none.)
        assert.deepEqual([...after].sort(), [...before].sort(), "no blob fetched from the stand-in again");
        for (const [digest, count] of after) assert.ok(count <= 2, `${digest} fetched ${count} times`);

        // auto: the DinD container's own eth0 MTU, on the inner bridge and on its workloads network.
        const own = dockerOk(["exec", "reg-b", "cat", "/sys/class/net/eth0/mtu"]);
        const inner = innerOf("reg-b");
        const mtuOf = (network: string) => dockerOk(["network", "inspect", network, "--format", '{{index .Options "com.docker.network.driver.mtu"}}'], inner);
        assert.equal(mtuOf("bridge"), own);
        assert.equal(mtuOf("reg-app"), own);
        assert.match(dockerOk(["exec", "reg-b", "sh", "-c", "tr '\\0' ' ' </proc/1/cmdline"]), new RegExp(`--mtu=${own}\\b`));
    });

    it("5. a further up changes nothing (the readiness steps and the registry included)", async () => {
        const up = await sut.stack.up({ onOutput: (text) => logs.push(text) });
        assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"], JSON.stringify(up.summary.resourceChanges));
    });

    it("6. the registry password is nowhere in the state files, the outputs or the up logs", async () => {
        assert.ok(logs.join("").length > 0);
        assert.ok(!logs.join("").includes(password), "up logs");
        const outputs = await sut.stack.outputs();
        assert.ok(!JSON.stringify(outputs).includes(password), "outputs");
        for (const file of sut.stateFiles()) assert.ok(!readFileSync(file, "utf8").includes(password), file);
        assert.ok(sut.stateFiles().length > 0);
        for (const container of ["reg-a", "reg-b", "reg-cache"]) {
            const log = docker(["logs", container]);
            assert.ok(!`${log.stdout}${log.stderr}`.includes(password), `docker logs ${container}`);
        }
    });

    it("7. a dockerd setting only the daemon can refuse fails up in seconds, with the daemon's own complaint", async () => {
        const bad = await StackUnderTest.create(path.join(FIXTURES, "dind-config-bad.yaml"), "reg-bad");
        try {
            const started = Date.now();
            const error = await bad.stack.up().then(() => undefined, (e: Error) => e);
            const seconds = (Date.now() - started) / 1000;
            console.log(`      failing up: ${seconds.toFixed(1)} s (readiness timeout 120 s)`);
            assert.ok(error, "up failed");
            assert.match(error.message, /DinD host reg-bad did not start: its DinD container exited/);
            assert.match(error.message, /Last lines of its log \(docker logs reg-bad\)/);
            assert.match(error.message, /failed to start daemon: error initializing graphdriver/);
            console.log(`      ${error.message.split("\n").filter((line) => line.includes("did not start") || line.includes("failed to start daemon")).slice(-2).join("\n      ").trim()}`);
            assert.ok(seconds < 60, `failed after ${seconds} s`);
        } finally {
            await bad.stack.destroy().catch(() => undefined);
            removeLabelled(bad.label);
            await bad.dispose();
        }
    });
});

