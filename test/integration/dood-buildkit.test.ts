// The jobs CI agents exist for, in restricted DooD clients: BuildKit builds on each client's own
// builder (cache mounts, secrets, multi-stage targets, a registry cache exported by one client and
// imported by another), Compose, a tool that mounts the Docker socket, Testcontainers; the attacks
// these open (entitlements, host networking, cache mounts across clients, the daemon's files and
// network, tag overwrites by every route, Compose files asking for privileges, a nested container on
// the socket); and the end of a client, replaced or destroyed, which leaves nothing of it.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { docker, dockerOk, removeLabelled, StackUnderTest } from "../support/harness";
import { REPO_ROOT } from "../../driver/stack";

const FIXTURE = path.join(__dirname, "fixtures", "dood-buildkit.yaml");
const FILES = path.join(__dirname, "fixtures", "dood-buildkit");
const SCRATCH = "/tmp/dind-provisioner-dood-bk";
const AGENT = "dood-bk-agent";
const OTHER = "dood-bk-other";
const WORKSPACE: Record<string, string> = { [AGENT]: `${SCRATCH}/agent`, [OTHER]: `${SCRATCH}/other` };
const OWNER = "dind-provisioner.dood-client";
const BUSYBOX = "dind-provisioner/busybox:local";
const REGISTRY = "127.0.0.1:24210";
/** A service on the daemon's machine, on its loopback: what a build must not reach. */
const HOST_SERVICE_PORT = 24211;
const TOKEN = "s3cret-token-of-the-agent";

function inClient(script: string, client = AGENT, input?: string) {
    return docker(["exec", "-i", "-w", WORKSPACE[client], client, "sh", "-c", script], {}, input);
}

function okIn(script: string, client = AGENT): string {
    const result = inClient(script, client);
    assert.equal(result.status, 0, `${client}: ${script}\n${result.stderr}${result.stdout}`);
    return (result.stdout + result.stderr).trim();
}

/** Runs a script that must fail, and returns what it printed. */
function refusedIn(script: string, message: RegExp, client = AGENT): string {
    const result = inClient(script, client);
    const out = result.stderr + result.stdout;
    assert.notEqual(result.status, 0, `${client}: ${script} succeeded:\n${out}`);
    assert.match(out, message);
    return out;
}

function imageId(ref: string): string {
    const result = docker(["image", "inspect", "--format", "{{.Id}}", ref]);
    return result.status === 0 ? result.stdout.trim() : "";
}

/** Everything on the daemon that carries a client's owner label, as "kind name" lines. */
function ownedOnDaemon(client: string): string[] {
    const list = (kind: string, format: string, all = false) => dockerOk([kind, "ls", ...(all ? ["-a"] : []), "--filter", `label=${OWNER}=${client}`,
        "--format", format]).split("\n").filter(Boolean).map((n) => `${kind} ${n}`);
    return [...list("container", "{{.Names}}", true), ...list("volume", "{{.Name}}"), ...list("network", "{{.Name}}"), ...list("image", "{{.ID}}")];
}

/** How many builds a client's builder has recorded (buildx history): a refused build must not add one. */
function builds(client = AGENT): number {
    return okIn("docker buildx history ls --format '{{.Ref}}'", client).split("\n").filter(Boolean).length;
}

function removeEverythingOf(client: string) {
    removeLabelled(`${OWNER}=${client}`);
    const images = dockerOk(["image", "ls", "-q", "--filter", `label=${OWNER}=${client}`]).split("\n").filter(Boolean);
    if (images.length > 0) docker(["rmi", "-f", ...new Set(images)]);
}

describe("real lane: BuildKit, Compose and socket tools in restricted DooD clients", function () {
    this.timeout(30 * 60_000);
    let sut: StackUnderTest;
    let gateway = "";
    const shared = { busybox: "" };

    before(async () => {
        for (const name of [AGENT, OTHER, `${AGENT}-dood-proxy`, `${OTHER}-dood-proxy`, `${AGENT}-buildkit`, `${OTHER}-buildkit`, "dood-bk-cache"]) {
            const label = docker(["inspect", "--format", "{{index .Config.Labels \"dind-provisioner.stack\"}}", name]);
            if (label.status !== 0) continue;
            if (!label.stdout.startsWith("dind-provisioner/dood-bk-")) throw new Error(`a container named ${name} exists and is not this suite's: remove it or free the name`);
            docker(["rm", "-f", "-v", name]);
        }
        [AGENT, OTHER].forEach(removeEverythingOf);
        for (const tag of ["dood-bk-app:1", "dood-bk-promoted:1", `${REGISTRY}/busybox:local`]) docker(["rmi", tag]);
        rmSync(SCRATCH, { recursive: true, force: true });
        for (const dir of Object.values(WORKSPACE)) {
            mkdirSync(dir, { recursive: true });
            cpSync(FILES, dir, { recursive: true });
            writeFileSync(path.join(dir, "token.txt"), TOKEN);
        }
        shared.busybox = imageId(BUSYBOX);
        sut = await StackUnderTest.create(FIXTURE, `dood-bk-${process.pid}`);
    });

    after(async () => {
        if (!sut) return;
        await sut.stack.destroy().catch((error: Error) => console.error(`destroy during cleanup failed: ${error.message}`));
        removeLabelled(sut.label);
        [AGENT, OTHER].forEach(removeEverythingOf);
        for (const tag of ["dood-bk-app:1", "dood-bk-promoted:1", `${REGISTRY}/busybox:local`]) docker(["rmi", tag]);
        await sut.dispose();
        rmSync(SCRATCH, { recursive: true, force: true });
    });

    describe("1.", () => { // a suite, so that it runs in this order among the suites
    it("1. up: each client gets a proxy and a builder, neither privileged; the builder keeps SETUID, SETGID and CHOWN only", async () => {
        const up = await sut.stack.up();
        assert.equal(up.summary.result, "succeeded");
        for (const client of [AGENT, OTHER]) {
            const builder = JSON.parse(dockerOk(["inspect", `${client}-buildkit`]))[0];
            assert.equal(builder.HostConfig.Privileged, false);
            assert.deepEqual(builder.HostConfig.CapDrop, ["ALL"]);
            assert.deepEqual([...builder.HostConfig.CapAdd].sort(), ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"]);
            assert.ok(builder.HostConfig.SecurityOpt.includes("no-new-privileges"));
            assert.ok(!builder.Mounts.some((m: { Source: string }) => m.Source.endsWith("docker.sock")), "the builder never sees the daemon's socket");
            // Its processes are root of a user namespace mapped onto 100000-165535: nobody on the machine.
            const top = dockerOk(["top", `${client}-buildkit`, "-o", "pid,uid,comm"]);
            assert.match(top, /^\s*\d+\s+100000\s+buildkitd$/m);
            for (let i = 0; i < 100 && inClient("docker buildx inspect --bootstrap >/dev/null", client).status !== 0; i++) await new Promise((r) => setTimeout(r, 200));
            assert.match(okIn("docker buildx inspect", client), /Driver:\s+remote[\s\S]*Status:\s+running[\s\S]*BuildKit version:\s+v0\.34\.2/);
        }
        gateway = (await sut.stack.outputs()).clients.value[AGENT].publishedPortsAddress;
        assert.match(gateway, /^\d+\.\d+\.\d+\.\d+$/);
        // The base image builds start from: pushed by the client, through its proxy, to the stack's registry.
        okIn(`docker tag ${BUSYBOX} ${REGISTRY}/busybox:local && docker push -q ${REGISTRY}/busybox:local`);
    });
    });

    describe("2. BuildKit on the client's own builder", () => {
        it("a multi-stage build: --target, --build-arg, a cache mount and a secret; --load into the daemon, where the client runs it", () => {
            okIn(`docker build --target final --build-arg GREETING=hello --secret id=token,src=token.txt -t dood-bk-app:1 app`);
            assert.equal(okIn("docker run --rm dood-bk-app:1"), `runs=1 token-length=${TOKEN.length} seen=hello,`);
            assert.equal(dockerOk(["image", "inspect", "--format", `{{index .Config.Labels "${OWNER}"}}`, "dood-bk-app:1"]), AGENT,
                "the build is labelled as the client's, like its containers");
            // The secret reached the build step, and nothing of it the image.
            okIn("docker save dood-bk-app:1 -o app.tar");
            assert.equal(spawnSync("grep", ["-c", TOKEN, path.join(WORKSPACE[AGENT], "app.tar")]).stdout.toString().trim(), "0");
        });

        it("a rebuild reports its steps cached; a new argument reruns the step, whose cache mount kept the earlier run", () => {
            const rebuilt = okIn(`docker build --progress plain --target final --build-arg GREETING=hello --secret id=token,src=token.txt -t dood-bk-app:1 app 2>&1`);
            assert.match(rebuilt, /RUN --mount=type=cache[\s\S]*?CACHED/);
            assert.match(rebuilt, /RUN --mount=type=secret[\s\S]*?CACHED/);
            okIn(`docker build --target final --build-arg GREETING=again --secret id=token,src=token.txt -t dood-bk-app:1 app`);
            assert.equal(okIn("docker run --rm dood-bk-app:1"), `runs=2 token-length=${TOKEN.length} seen=hello,again,`);
        });

        it("a cache exported to the stack's registry by one client, imported by another on its own, fresh builder", () => {
            okIn(`docker buildx build --target final --build-arg GREETING=exported --secret id=token,src=token.txt ` +
                `--cache-to type=registry,ref=dood-bk-cache:5000/cache/app,mode=max -t dood-bk-app:1 app`);
            assert.equal(builds(OTHER), 0, "the other client's builder has built nothing yet");
            const imported = okIn(`docker buildx build --progress plain --target final --build-arg GREETING=exported --secret id=token,src=token.txt ` +
                `--cache-from type=registry,ref=dood-bk-cache:5000/cache/app -t dood-bk-other-app:1 app 2>&1`, OTHER);
            assert.match(imported, /importing cache manifest from dood-bk-cache:5000\/cache\/app/);
            assert.match(imported, /RUN --mount=type=cache[\s\S]*?CACHED/);
            assert.match(okIn("docker run --rm dood-bk-other-app:1", OTHER), /^runs=3 .* seen=hello,again,exported,$/);
        });

        it("a cache mount id is the client's own: the other client's builder starts it empty", () => {
            okIn(`docker build --target final --build-arg GREETING=other --secret id=token,src=token.txt -t dood-bk-other-app:2 app`, OTHER);
            assert.equal(okIn("docker run --rm dood-bk-other-app:2", OTHER), `runs=1 token-length=${TOKEN.length} seen=other,`);
        });
    });

    describe("3. BuildKit attacks: refused, nothing reaches the builder", () => {
        const refusals: [string, string, RegExp][] = [
            ["build --network host", "docker build --network host app",
                /dood policy \(client dood-bk-agent\): the host network \(build --network host\) is not allowed \(access\.hostNamespaces: false\)/],
            ["--allow network.host", "docker buildx build --allow network.host app",
                /the host network \(build --network host, --allow network\.host\) is not allowed: build entitlement network\.host \(access\.hostNamespaces: false\)/],
            ["--allow security.insecure", "docker buildx build --allow security.insecure app",
                /privileged build steps \(RUN --security=insecure, --allow security\.insecure\) is not allowed: build entitlement security\.insecure \(access\.privileged: false\)/],
            ["the classic builder", "DOCKER_BUILDKIT=0 docker build app", /the classic builder is not allowed: the daemon would fetch ADD URLs/],
            // buildx's docker-container driver starts a privileged BuildKit container of its own.
            ["a privileged builder of the client's own (buildx's docker-container driver)",
                "docker buildx create --name escape --driver docker-container --driver-opt image=dind-provisioner/buildkit:local >/dev/null && " +
                "docker buildx build --builder escape app; rc=$?; docker buildx rm escape >/dev/null 2>&1; exit $rc",
                /privileged containers are not allowed \(access\.privileged: false\)/],
        ];
        for (const [what, script, message] of refusals) {
            it(what, () => {
                const before = builds();
                refusedIn(script, message);
                assert.equal(builds(), before, "the refused build never reached the builder");
            });
        }

        it("RUN --network=host and RUN --security=insecure without the entitlement: the builder refuses the step", () => {
            for (const [flag, entitlement] of [["--network=host", "network.host"], ["--security=insecure", "security.insecure"]]) {
                okIn(`mkdir -p atk && printf 'FROM dood-bk-cache:5000/busybox:local\\nRUN ${flag} true\\n' > atk/Dockerfile`);
                refusedIn("docker build atk", new RegExp(`${entitlement.replace(".", "\\.")} is not allowed`));
            }
        });

        it("the build context and the Dockerfile reach the client's files, never the daemon's machine", async () => {
            // --build-context with /etc is the client's /etc (its own hostname), not the daemon machine's.
            okIn("mkdir -p ctx && printf 'FROM dood-bk-cache:5000/busybox:local\\nCOPY --from=etc hostname /seen-hostname\\n' > ctx/Dockerfile && " +
                "docker build --build-context etc=/etc -t dood-bk-ctx:1 ctx");
            assert.equal(okIn("docker run --rm dood-bk-ctx:1 cat /seen-hostname"), okIn("hostname"));
            assert.notEqual(okIn("hostname"), dockerOk(["info", "--format", "{{.Name}}"]));
            okIn("docker rmi dood-bk-ctx:1");
            // A path out of the context.
            okIn("printf 'FROM dood-bk-cache:5000/busybox:local\\nCOPY ../../../../etc/passwd /p\\n' > ctx/Dockerfile");
            refusedIn("docker build ctx", /not found|outside|failed to compute cache key/);
            // A service on the daemon machine's loopback: the builder has a loopback of its own.
            let asked = 0;
            const server = http.createServer((_, res) => { asked++; res.end("daemon-machine-secret"); });
            await new Promise<void>((resolve) => server.listen(HOST_SERVICE_PORT, "127.0.0.1", resolve));
            try {
                okIn(`printf 'FROM dood-bk-cache:5000/busybox:local\\nADD http://127.0.0.1:${HOST_SERVICE_PORT}/secret /secret\\n' > ctx/Dockerfile`);
                refusedIn("docker build ctx", /connection refused|failed to do request|dial tcp/);
                assert.equal(asked, 0);
            } finally {
                server.close();
            }
        });
    });

    describe("4. no image poisoning: a tag the client did not create cannot be written by any route", () => {
        const notCreated = (tag: string) => new RegExp(`image tag ${tag.replace(/[./]/g, "\\$&")} exists and this client did not create it`);
        const busyboxTag = "docker.io/dind-provisioner/busybox:local";
        const otherTag = "docker.io/library/dood-bk-app:1";

        before(() => {
            // An image of the agent's own, saved, then untagged: what a poisoned archive would carry.
            okIn("printf 'FROM dood-bk-cache:5000/busybox:local\\nRUN echo poisoned > /poison\\n' > atk/Dockerfile && docker build -t dood-bk-evil:1 atk && " +
                "docker save dood-bk-evil:1 -o evil.tar && docker rmi dood-bk-evil:1 && mkdir -p evil && tar -C evil -xf evil.tar && " +
                `sed -i 's#dood-bk-evil:1#${BUSYBOX}#' evil/manifest.json && tar -C evil -cf poisoned.tar .`);
            cpSync(path.join(WORKSPACE[AGENT], "evil"), path.join(WORKSPACE[OTHER], "evil"), { recursive: true });
        });

        const routes: [string, string, RegExp][] = [
            ["tag", `docker tag ${REGISTRY}/busybox:local ${BUSYBOX}`, notCreated(busyboxTag)],
            ["load (the tags are inside the archive)", "docker load -i poisoned.tar", notCreated(busyboxTag)],
            ["pull", `docker pull ${BUSYBOX}`, notCreated(busyboxTag)],
            ["build (--load)", `docker build -t ${BUSYBOX} atk`, notCreated(busyboxTag)],
            ["import", `docker import evil.tar ${BUSYBOX}`, notCreated(busyboxTag)],
            ["commit", `docker run --name dood-bk-committed ${BUSYBOX} true && docker commit dood-bk-committed ${BUSYBOX}; rc=$?; docker rm dood-bk-committed >/dev/null; exit $rc`,
                notCreated(busyboxTag)],
            ["another client's tag", `docker tag ${REGISTRY}/busybox:local dood-bk-app:1`, notCreated(otherTag)],
            ["another client's tag, by load", `sed -i 's#${BUSYBOX}#dood-bk-app:1#' evil/manifest.json && tar -C evil -cf theirs.tar . && docker load -i theirs.tar`, notCreated(otherTag)],
        ];
        for (const [what, script, message] of routes) {
            it(what, () => {
                const agentApp = imageId("dood-bk-app:1");
                refusedIn(script, message, what.startsWith("another") ? OTHER : AGENT);
                assert.equal(imageId(BUSYBOX), shared.busybox, `${BUSYBOX} still names the image it named`);
                assert.equal(imageId("dood-bk-app:1"), agentApp, "the agent's tag still names its image");
            });
        }

        it("afterwards: the refused archive's image never reached the daemon; shared images stay readable", () => {
            const evilConfig = JSON.parse(okIn("cat evil/manifest.json"))[0].Config.replace(/^blobs\/sha256\//, "").replace(/\.json$/, "");
            assert.equal(docker(["image", "inspect", `sha256:${evilConfig}`]).status, 1);
            assert.equal(okIn(`docker run --rm ${BUSYBOX} echo readable`, OTHER), "readable");
            okIn(`docker image inspect ${BUSYBOX} >/dev/null && docker save ${BUSYBOX} >/dev/null`, OTHER);
        });
    });

    describe("5. Compose", () => {
        const project = (client: string) => `cd compose && CLIENT=${client} docker compose -p demo`;

        it("up -d --build, ps, logs: built, healthy before its dependant starts, a published port the client reaches", () => {
            okIn(`${project(AGENT)} up -d --build --wait 2>&1`);
            const ps = okIn(`${project(AGENT)} ps --format '{{.Name}} {{.State}} {{.Health}}'`);
            assert.match(ps, /^dood-bk-agent\.demo-db-1 running healthy$/m);
            assert.match(ps, /^dood-bk-agent\.demo-web-1 running/m);
            assert.match(okIn(`${project(AGENT)} logs db 2>&1`), /db-1\s+\| db-of-dood-bk-agent$/m);
            const port = okIn(`${project(AGENT)} port web 8080`).split(":").at(-1);
            const page = okIn(`docker run --rm ${BUSYBOX} wget -qO- http://${gateway}:${port}/`);
            assert.equal(page, "hello from the workspace\ndb-of-dood-bk-agent");
        });

        it("two clients run the same project: names, networks and volumes never collide, each sees only its own", () => {
            okIn(`${project(OTHER)} up -d --build --wait 2>&1`, OTHER);
            for (const client of [AGENT, OTHER]) {
                assert.deepEqual(okIn(`docker ps --format '{{.Names}}' | sort`, client).split("\n"), [`${client}.demo-db-1`, `${client}.demo-web-1`]);
                assert.equal(dockerOk(["volume", "inspect", "--format", "{{.Name}}", `${client}.demo_data`]), `${client}.demo_data`);
                assert.equal(dockerOk(["network", "inspect", "--format", "{{.Name}}", `${client}.demo_back`]), `${client}.demo_back`);
            }
            const port = okIn(`${project(OTHER)} port web 8080`, OTHER).split(":").at(-1);
            assert.equal(okIn(`docker run --rm ${BUSYBOX} wget -qO- http://${gateway}:${port}/`, OTHER), "hello from the workspace\ndb-of-dood-bk-other");
        });

        it("down -v removes the project's containers, network and volume, and only the client's", () => {
            okIn(`${project(AGENT)} down -v 2>&1`);
            assert.equal(dockerOk(["ps", "-a", "--filter", `label=${OWNER}=${AGENT}`, "--filter", "label=com.docker.compose.project=demo", "--format", "{{.Names}}"]), "");
            assert.equal(docker(["volume", "inspect", `${AGENT}.demo_data`]).status, 1);
            assert.match(okIn("docker ps --format '{{.Names}}'", OTHER), /dood-bk-other\.demo-web-1/);
            okIn(`${project(OTHER)} down -v 2>&1`, OTHER);
        });

        const attacks: [string, string, RegExp][] = [
            ["privileged", "privileged: true", /privileged containers are not allowed \(access\.privileged: false\)/],
            ["a host device", "devices: [/dev/null:/dev/x]", /host devices \(Devices\)/],
            ["the host's pid namespace", "pid: host", /PidMode: host/],
            ["the host's network", "network_mode: host", /NetworkMode: host/],
            ["a capability", "cap_add: [SYS_ADMIN]", /adding capability (CAP_)?SYS_ADMIN is not allowed/],
            ["a bind outside the workspace", "volumes: [/etc:/host-etc]", /bind mount of host path \/etc is outside the allowed host paths/],
            ["the daemon's socket's directory", "volumes: [/var/run:/host-run]", /host path \/var\/run is outside/],
        ];
        for (const [what, line, message] of attacks) {
            it(`a Compose file asking for ${what}: refused, no container`, () => {
                okIn(`mkdir -p bad && printf 'services:\\n  x:\\n    image: ${BUSYBOX}\\n    command: [sleep, "60"]\\n    ${line}\\n' > bad/compose.yaml`);
                refusedIn("cd bad && docker compose -p bad up -d 2>&1", message);
                assert.equal(okIn("docker ps -a --filter label=com.docker.compose.project=bad --format '{{.Names}}'"), "");
                okIn("cd bad && docker compose -p bad down 2>&1");
            });
        }
    });

    describe("6. a container that mounts the Docker socket gets the client's proxy socket", () => {
        const nested = (command: string) => `docker run --rm -v /var/run/docker.sock:/var/run/docker.sock dind-provisioner/dind:local sh -c '${command}'`;

        it("sees and touches only the client's objects", () => {
            okIn(`docker run -d --name mine ${BUSYBOX} sleep 600`);
            okIn(`docker run -d --name theirs ${BUSYBOX} sleep 600`, OTHER);
            const seen = okIn(nested("docker ps --format {{.Names}}").replace("--rm", "--rm --name peek")).split("\n").sort();
            assert.ok(seen.includes(`${AGENT}.peek`) && seen.includes(`${AGENT}.mine`), seen.join(" "));
            const agents = dockerOk(["ps", "--filter", `label=${OWNER}=${AGENT}`, "--format", "{{.Names}}"]).split("\n").sort();
            assert.deepEqual(seen.filter((name) => name !== `${AGENT}.peek`), agents, "exactly the agent's containers");
            assert.equal(okIn(nested("docker exec mine echo through-the-rewritten-socket")), "through-the-rewritten-socket");
            const mounts = JSON.parse(okIn(`docker run -d -v /var/run/docker.sock:/var/run/docker.sock ${BUSYBOX} sleep 60 | xargs docker inspect`))[0].Mounts;
            assert.deepEqual(mounts.map((m: { Source: string }) => m.Source), [`${SCRATCH}/sockets/agent/docker.sock`]);
        });

        const escapes: [string, string, RegExp][] = [
            ["a privileged container", `docker run --rm --privileged ${BUSYBOX} true`, /privileged containers are not allowed/],
            ["the host's root", `docker run --rm -v /:/host ${BUSYBOX} true`, /bind mount of host path \/ is outside/],
            ["the daemon's socket again, to get out", `docker run --rm -v /var/run/docker.sock:/s dind-provisioner/dind:local docker -H unix:///s run --rm --privileged ${BUSYBOX} true`,
                /privileged containers are not allowed/],
            ["another client's container", "docker stop dood-bk-other.theirs", /No such container: dood-bk-other\.theirs/],
            ["the builder's container", `docker exec ${AGENT}-buildkit true`, /No such container/],
            ["the proxy's container", `docker inspect ${AGENT}-dood-proxy`, /No such (object|container)/],
        ];
        for (const [what, command, message] of escapes) {
            it(`tries ${what}: refused`, () => {
                refusedIn(nested(command), message);
            });
        }

        it("afterwards: the other client's container runs untouched", () => {
            assert.equal(dockerOk(["inspect", "--format", "{{.State.Running}}", `${OTHER}.theirs`]), "true");
        });
    });

    describe("7.", () => { // a suite, so that it runs in this order among the suites
    it("7. Testcontainers for Node.js in the client (reaper off), at the published-ports address the stack gives", () => {
        const bundle = path.join(WORKSPACE[AGENT], "tc.js");
        const built = spawnSync(path.join(REPO_ROOT, "node_modules", ".bin", "esbuild"), [
            path.join(__dirname, "fixtures", "testcontainers-client.ts"), "--bundle", "--platform=node", "--target=node20", `--outfile=${bundle}`,
            // ssh2's optional native parts: it falls back to JavaScript without them.
            "--external:cpu-features", "--external:./crypto/build/Release/sshcrypto.node", "--log-level=error"], { encoding: "utf8" });
        assert.equal(built.status, 0, built.stderr);
        cpSync(process.execPath, path.join(WORKSPACE[AGENT], "node"));
        const out = okIn(`TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=${gateway} ./node tc.js 2>&1`);
        const json = out.split("\n").filter((line) => line.startsWith("{")).at(-1);
            assert.ok(json, `Testcontainers printed no result:\n${out}`);
            const result = JSON.parse(json);
        assert.equal(result.body, "hello-from-testcontainers");
        assert.equal(result.host, gateway);
        assert.equal(docker(["inspect", result.id]).status, 1, "it removed its container");
    });
    });

    describe("8.", () => { // a suite, so that it runs in this order among the suites
    it("8. status lists what each client owns and where its published ports are reached", () => {
        okIn(`docker volume create kept && docker network create kept-net`);
        const run = spawnSync(process.execPath, [path.join(REPO_ROOT, "commands", "bundled.js"), "commands/status.ts", ...sut.driverFlags.slice(0, 2)], {
            cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: "integration-tests", PULUMI_BACKEND_URL: sut.backendUrl },
        });
        assert.equal(run.status, 0, run.stderr);
        const agentSection = run.stdout.slice(run.stdout.indexOf(`\n${AGENT} `), run.stdout.indexOf(`\n${OTHER} `));
        assert.match(agentSection, new RegExp(`^${AGENT}\\s+running\\s+unix:///var/run/docker\\.sock\\s+${gateway.replace(/\./g, "\\.")}$`, "m"));
        for (const row of [/^ {2}container\s+dood-bk-agent\.mine\s+running/m, /^ {2}volume\s+dood-bk-agent\.kept/m, /^ {2}network\s+dood-bk-agent\.kept-net/m,
            /^ {2}image\s+dood-bk-app:1\s+built by it/m, /^ {2}tag\s+docker\.io\/library\/dood-bk-app:1\s+created by it/m,
            /^ {2}tag\s+127\.0\.0\.1:24210\/busybox:local\s+created by it/m, /^ {2}builder\s+dood-bk-agent-buildkit\s+running/m,
            new RegExp(`TESTCONTAINERS_HOST_OVERRIDE=${gateway.replace(/\./g, "\\.")}`)]) {
            assert.match(agentSection, row);
        }
        assert.doesNotMatch(agentSection, /dood-bk-other\./);
    });
    });

    describe("9.", () => { // a suite, so that it runs in this order among the suites
    it("9. a replaced client starts empty: the old one's objects go with it", async () => {
        assert.ok(ownedOnDaemon(OTHER).some((o) => o === `container ${OTHER}.theirs`));
        sut.editStackFile((text) => text.replace("workspace: /tmp/dind-provisioner-dood-bk/other", "workspace: /tmp/dind-provisioner-dood-bk/other\n    env: { GENERATION: \"2\" }"));
        const up = await sut.stack.up();
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(ownedOnDaemon(OTHER), [], "nothing of the replaced client is left");
        assert.equal(imageId("dood-bk-other-app:1"), "", "the images it built went with it");
        assert.equal(okIn("docker ps -a --format '{{.Names}}'", OTHER), "", "the new client sees nothing");
        assert.equal(okIn("env | grep GENERATION", OTHER), "GENERATION=2");
        assert.match(okIn(`docker buildx inspect --bootstrap`, OTHER), /Status:\s+running/);
        assert.notEqual(ownedOnDaemon(AGENT).length, 0, "the agent kept its own");
    });
    });

    describe("10.", () => { // a suite, so that it runs in this order among the suites
    it("10. destroy leaves nothing of a client: containers, volumes, networks, builds, tags, builder; promoted and shared images stay", async () => {
        // The operator keeps one of the agent's builds under a name of their own (with the daemon's socket).
        dockerOk(["tag", "dood-bk-app:1", "dood-bk-promoted:1"]);
        const promoted = imageId("dood-bk-promoted:1");
        const destroyed = await sut.stack.destroy();
        assert.equal(destroyed.summary.result, "succeeded");
        for (const client of [AGENT, OTHER]) {
            assert.deepEqual(ownedOnDaemon(client).filter((o) => !o.endsWith(promoted.slice(7, 19))), [], `nothing of ${client} is left`);
            for (const name of [`${client}-buildkit`, `${client}-buildkit-socket`, `${client}-dood-proxy`]) {
                assert.equal(docker(["volume", "inspect", name]).status, 1, `volume ${name}`);
            }
            assert.equal(docker(["inspect", `${client}-buildkit`]).status, 1);
        }
        assert.equal(imageId("dood-bk-app:1"), "", "the tag the agent created went");
        assert.equal(imageId(`${REGISTRY}/busybox:local`), "", "the tag it pushed from went");
        assert.equal(imageId("dood-bk-promoted:1"), promoted, "the operator's tag keeps the build it names");
        assert.equal(imageId(BUSYBOX), shared.busybox, "the shared image is untouched");
        assert.deepEqual(dockerOk(["ps", "-a", "--filter", `label=dind-provisioner.role=dood-cleanup`, "--format", "{{.Names}}"]), "");
        docker(["rmi", "dood-bk-promoted:1"]);
    });

    it("11. the socket directories a destroyed client's proxy left (its sockets, its buildx configuration) are the stack's again: preview after destroy is clean", async () => {
        assert.deepEqual(readdirSync(`${SCRATCH}/sockets/agent`).sort(), ["buildkit.sock", "buildx", "docker.sock"]);
        const preview = await sut.stack.preview();
        assert.ok((preview.changeSummary.create ?? 0) > 0, JSON.stringify(preview.changeSummary));
    });
    });
});
