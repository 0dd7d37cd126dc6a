// The DooD policy lane: a restricted client drives the real daemon through its policy proxy.
// An attack battery (every escape refused with a message naming the rule, nothing reaching the
// daemon) and a CI battery (what a job does, streams included) run from inside the client.
import * as assert from "node:assert/strict";
import * as http from "node:http";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { docker, dockerOk, removeLabelled, StackUnderTest } from "../support/harness";

const FIXTURE = path.join(__dirname, "fixtures", "dood-policy.yaml");
const SCRATCH = "/tmp/dind-provisioner-dood";
const WORKSPACE = `${SCRATCH}/workspace`;
const AGENT_SOCKET = `${SCRATCH}/sockets/dood-agent/docker.sock`;
const OWNER = "dind-provisioner.dood-client";
const BUSYBOX = "dind-provisioner/busybox:local";
/** A container of the host's, outside every client's scope. */
const HOST_JOB = "dood-hostjob";

/** Runs a shell script inside a client, with its DOCKER_HOST: the proxy's socket. */
function inClient(script: string, client = "dood-agent", input?: string) {
    return docker(["exec", "-i", client, "sh", "-c", script], {}, input);
}

function okIn(script: string, client = "dood-agent", input?: string): string {
    const result = inClient(script, client, input);
    assert.equal(result.status, 0, `${script}\n${result.stderr}${result.stdout}`);
    return result.stdout.trim();
}

/** A raw Engine API request on the client's socket (the client image has no curl). */
function raw(method: string, requestPath: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const request = http.request({ socketPath: AGENT_SOCKET, method, path: requestPath, headers: { "Content-Type": "application/json", ...headers } }, (response) => {
            let text = "";
            response.on("data", (chunk) => (text += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
        });
        request.on("error", reject);
        request.end(body);
    });
}

function ownedOnDaemon(client: string): string[] {
    const list = (kind: string) => dockerOk([kind, "ls", ...(kind === "container" ? ["-a"] : []), "--filter", `label=${OWNER}=${client}`,
        "--format", kind === "container" ? "{{.Names}}" : "{{.Name}}"]).split("\n").filter(Boolean).map((n: string) => `${kind} ${n}`);
    return [...list("container"), ...list("volume"), ...list("network")];
}

function removeClientObjects(client: string) {
    removeLabelled(`${OWNER}=${client}`);
    const images = dockerOk(["image", "ls", "-q", "--filter", `label=${OWNER}=${client}`]).split("\n").filter(Boolean);
    if (images.length > 0) docker(["rmi", "-f", ...new Set(images)]);
}

// [what, command run in the client, the message expected]
const ATTACKS: [string, string, RegExp][] = [
    ["privileged container", `docker run --rm --privileged ${BUSYBOX} true`, /dood policy \(client dood-agent\): privileged containers are not allowed \(access\.privileged: false\)/],
    ["capability SYS_ADMIN", `docker run --rm --cap-add SYS_ADMIN ${BUSYBOX} true`, /adding capability SYS_ADMIN is not allowed/],
    ["every capability", `docker run --rm --cap-add ALL ${BUSYBOX} true`, /adding capability ALL/],
    ["a host device", `docker run --rm --device /dev/null:/dev/x ${BUSYBOX} true`, /host devices \(Devices\)/],
    ["GPUs (device requests)", `docker run --rm --gpus all ${BUSYBOX} true`, /host devices \(DeviceRequests\)/],
    ["a device cgroup rule", `docker run --rm --device-cgroup-rule 'a *:* rwm' ${BUSYBOX} true`, /DeviceCgroupRules/],
    ["seccomp unconfined", `docker run --rm --security-opt seccomp=unconfined ${BUSYBOX} true`, /security option "seccomp=unconfined" is not allowed/],
    ["AppArmor unconfined", `docker run --rm --security-opt apparmor=unconfined ${BUSYBOX} true`, /apparmor=unconfined/],
    ["SELinux labels off", `docker run --rm --security-opt label=disable ${BUSYBOX} true`, /label=disable/],
    ["system paths unmasked", `docker run --rm --security-opt systempaths=unconfined ${BUSYBOX} true`, /MaskedPaths \(systempaths=unconfined\)/],
    ["a cgroup parent", `docker run --rm --cgroup-parent / ${BUSYBOX} true`, /a cgroup parent \(\/\) is not allowed/],
    ["another runtime", `docker run --rm --runtime io.containerd.runc.v2 ${BUSYBOX} true`, /runtime "io\.containerd\.runc\.v2" is not allowed/],
    ["host pid namespace", `docker run --rm --pid host ${BUSYBOX} true`, /the host's namespace \(PidMode: host\) is not allowed \(access\.hostNamespaces: false\)/],
    ["host network", `docker run --rm --network host ${BUSYBOX} true`, /NetworkMode: host/],
    ["host ipc", `docker run --rm --ipc host ${BUSYBOX} true`, /IpcMode: host/],
    ["host uts", `docker run --rm --uts host ${BUSYBOX} true`, /UTSMode: host/],
    ["host user namespace", `docker run --rm --userns host ${BUSYBOX} true`, /UsernsMode: host/],
    ["host cgroup namespace", `docker run --rm --cgroupns host ${BUSYBOX} true`, /CgroupnsMode: host/],
    ["the pid namespace of the host's container", `docker run --rm --pid container:${HOST_JOB} ${BUSYBOX} true`, /No such container: dood-hostjob/],
    ["the network of the host's container", `docker run --rm --network container:${HOST_JOB} ${BUSYBOX} true`, /No such container: dood-hostjob/],
    ["bind /", `docker run --rm -v /:/host ${BUSYBOX} true`, /bind mount of host path \/ is outside the allowed host paths \(\/tmp\/dind-provisioner-dood\/workspace\) \(access\.binds\)/],
    ["bind the daemon's socket's directory", `docker run --rm -v /var/run:/s ${BUSYBOX} true`, /host path \/var\/run is outside/],
    ["bind /etc read-only", `docker run --rm -v /etc:/etc2:ro ${BUSYBOX} true`, /host path \/etc is outside/],
    ["bind out of the workspace with ..", `docker run --rm -v "$PWD/../..:/x" ${BUSYBOX} true`, /host path \S+ is outside the allowed host paths/],
    ["bind a sibling sharing the workspace's prefix", `docker run --rm -v "$PWD-evil:/x" ${BUSYBOX} true`, /workspace-evil is outside/],
    ["bind a symlink in the workspace to /", `ln -sfn / escape && docker run --rm -v "$PWD/escape:/x" ${BUSYBOX} true`, /workspace\/escape is outside/],
    ["mount type=bind of /", `docker run --rm --mount type=bind,src=/,dst=/host ${BUSYBOX} true`, /host path \/ is outside/],
    ["inline volume bound to /", `docker run --rm --mount type=volume,dst=/x,volume-driver=local,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/ ${BUSYBOX} true`, /volume bound to host path \/ is outside/],
    ["volume bound to /etc", "docker volume create --opt type=none --opt o=bind --opt device=/etc dood-atk-vol", /volume bound to host path \/etc is outside/],
    ["volume of a block device", "docker volume create --opt type=ext4 --opt device=/dev/sda1 dood-atk-vol2", /type="ext4"/],
    ["volume plugin", "docker volume create --driver sshfs dood-atk-vol3", /volume driver "sshfs" is not allowed/],
    ["macvlan network", "docker network create -d macvlan -o parent=eth0 dood-atk-net", /network driver macvlan attaches to the host's interfaces/],
    ["a network on the host's docker0", "docker network create -o com.docker.network.bridge.name=docker0 dood-atk-net2", /bridge\.name/],
    ["volumes of the host's container", `docker run --rm --volumes-from ${HOST_JOB} ${BUSYBOX} true`, /No such container: dood-hostjob/],
    ["a link to the host's container", `docker run --rm --link ${HOST_JOB}:x ${BUSYBOX} true`, /No such container: dood-hostjob/],
    ["build on the host network", `mkdir -p atk && echo 'FROM scratch' > atk/Dockerfile && docker build --network host atk`,
        /dood policy \(client dood-agent\): the host network \(build --network host\) is not allowed \(access\.hostNamespaces: false\)/],
    ["the classic builder (it fetches ADD URLs on the daemon's network)", "mkdir -p atk && echo 'FROM scratch' > atk/Dockerfile && DOCKER_BUILDKIT=0 docker build atk",
        /the classic builder is not allowed: the daemon would fetch ADD URLs and remote contexts from its own machine's network/],
    ["privileged exec into its own container", `docker run -d --name victim ${BUSYBOX} sleep 60 >/dev/null && docker exec --privileged victim true; rc=$?; docker rm -f victim >/dev/null; exit $rc`,
        /privileged exec is not allowed \(access\.privileged: false\)/],
    ["exec into the host's container", `docker exec ${HOST_JOB} true`, /No such container: dood-hostjob/],
    ["inspect the host's container", `docker inspect ${HOST_JOB}`, /No such (container|object): dood-hostjob/],
    ["logs of the host's container", `docker logs ${HOST_JOB}`, /No such container: dood-hostjob/],
    ["stop the host's container", `docker stop ${HOST_JOB}`, /No such container: dood-hostjob/],
    ["kill the host's container", `docker kill ${HOST_JOB}`, /No such container: dood-hostjob/],
    ["remove the host's container", `docker rm ${HOST_JOB}`, /No such container: dood-hostjob/],
    ["copy files out of the host's container", `docker cp ${HOST_JOB}:/etc/hostname .`, /No such container(:path)?: dood-hostjob/],
    ["export the host's container", `docker export ${HOST_JOB} > /dev/null`, /No such container: dood-hostjob/],
    ["commit the host's container", `docker commit ${HOST_JOB} dood-stolen`, /No such container: dood-hostjob/],
    ["top of the host's container", `docker top ${HOST_JOB}`, /No such container: dood-hostjob/],
    ["rename the host's container", `docker rename ${HOST_JOB} dood-renamed`, /No such container: dood-hostjob/],
    ["update the host's container", `docker update --memory 64m ${HOST_JOB}`, /No such container: dood-hostjob/],
    ["attach to the host's container", `docker attach ${HOST_JOB}`, /No such container: dood-hostjob/],
    ["remove a shared image", `docker rmi ${BUSYBOX}`, /is shared with other clients: only images this client built and tags it created can be removed \(access\.scope: own\)/],
    ["install a plugin", "docker plugin install --grant-all-permissions vieux/sshfs", /default deny/],
    ["list plugins", "docker plugin ls", /GET \/plugins is not an endpoint this proxy allows \(default deny\)/],
    ["swarm init", "docker swarm init", /POST \/swarm\/init is not an endpoint this proxy allows/],
    ["services", "docker service ls", /default deny/],
    ["secrets", "docker secret ls", /default deny/],
    ["system df", "docker system df", /system df lists every client's objects \(access\.scope: own\)/],
];

// [what, method, path, body, expected status, expected message]; sent on the client's socket.
const RAW_ATTACKS: [string, string, string, string | undefined, number, RegExp][] = [
    ["a host sysctl (the CLI refuses it itself)", "POST", "/v1.41/containers/create?name=dood-atk-raw", `{"Image":"${BUSYBOX}","HostConfig":{"Sysctls":{"kernel.core_pattern":"|/tmp/x"}}}`, 403, /sysctl kernel\.core_pattern is not namespaced/],
    ["a doubled slash", "POST", "/v1.41//containers/create?name=dood-atk-raw", '{"Image":"x","HostConfig":{"Privileged":true}}', 400, /not in canonical form/],
    ["a .. segment", "GET", `/v1.41/containers/x/../${HOST_JOB}/json`, undefined, 400, /not in canonical form/],
    ["percent-encoding", "POST", "/v1.41/%63ontainers/create?name=dood-atk-raw", '{"Image":"x","HostConfig":{"Privileged":true}}', 400, /encoded/],
    ["an encoded slash", "GET", `/containers/x%2F..%2F${HOST_JOB}/json`, undefined, 400, /encoded/],
    ["a trailing slash", "POST", "/containers/create/?name=dood-atk-raw", '{"Image":"x","HostConfig":{"Privileged":true}}', 400, /canonical/],
    ["a bad version prefix", "GET", "/v9.0/containers/json", undefined, 400, /invalid API version/],
    ["duplicate keys", "POST", "/v1.41/containers/create?name=dood-atk-raw", `{"Image":"${BUSYBOX}","HostConfig":{"Privileged":false,"privileged":true}}`, 400, /duplicate key/],
    ["a lower-case key", "POST", "/v1.41/containers/create?name=dood-atk-raw", `{"Image":"${BUSYBOX}","hostconfig":{"privileged":true}}`, 403, /privileged containers are not allowed/],
    ["a non-ASCII key Go folds onto Binds", "POST", "/v1.41/containers/create?name=dood-atk-raw", `{"Image":"${BUSYBOX}","HostConfig":{"Bind\u017f":["/:/host"]}}`, 400, /non-ASCII key/],
    ["a body over 1 MiB", "POST", "/v1.41/containers/create?name=dood-atk-raw", `{"Image":"${BUSYBOX}","Env":["${"A".repeat(1 << 20)}"]}`, 413, /larger than 1 MiB/],
    ["privileged exec", "POST", `/v1.41/containers/${HOST_JOB}/exec`, '{"Cmd":["true"],"Privileged":true}', 404, /No such container/],
    ["the daemon's BuildKit session", "POST", "/v1.41/session", undefined, 403, /the daemon's BuildKit \(\/v1\.41\/session\) is shared by every client's builds/],
    ["the daemon's BuildKit gRPC", "POST", "/v1.41/grpc", undefined, 403, /the daemon's BuildKit \(\/v1\.41\/grpc\)/],
    // What buildx's docker driver posts next to its session: the daemon's BuildKit, shared by every client.
    ["a BuildKit build on the daemon", "POST", "/v1.41/build?version=2&session=dood-atk&t=dood-atk", undefined, 403,
        /the daemon's BuildKit \(\/v1\.41\/build\) is shared by every client's builds: this client builds on its own builder/],
    ["a classic build from a remote context (the daemon would fetch it)", "POST", "/v1.41/build?remote=http://127.0.0.1:2375/x&t=dood-atk", undefined, 403,
        /the classic builder is not allowed/],
    ["an import from a URL (the daemon would fetch it)", "POST", "/v1.41/images/create?fromSrc=http://169.254.169.254/latest&repo=dood-atk", undefined, 403,
        /importing from a URL \(http:\/\/169\.254\.169\.254\/latest\) makes the daemon fetch it from its own network/],
    ["a .. from an allowed endpoint to a refused one", "GET", "/v1.41/distribution/x/../../plugins", undefined, 400, /canonical/],
];

describe("real lane: DooD through a policy proxy", function () {
    this.timeout(15 * 60_000);
    let sut: StackUnderTest;

    before(async () => {
        for (const name of ["dood-agent", "dood-other", "dood-agent-dood-proxy", "dood-other-dood-proxy", HOST_JOB]) {
            const label = docker(["inspect", "--format", "{{index .Config.Labels \"dind-provisioner.stack\"}}", name]);
            if (label.status !== 0) continue;
            if (name !== HOST_JOB && !label.stdout.startsWith("dind-provisioner/dood-")) {
                throw new Error(`a container named ${name} exists and is not this suite's: remove it or free the name`);
            }
            docker(["rm", "-f", "-v", name]);
        }
        ["dood-agent", "dood-other"].forEach(removeClientObjects);
        rmSync(SCRATCH, { recursive: true, force: true });
        mkdirSync(WORKSPACE, { recursive: true });
        mkdirSync(`${SCRATCH}/other`, { recursive: true });
        dockerOk(["run", "-d", "--name", HOST_JOB, "--label", "dind-provisioner.test=dood", "-v", "/etc:/host-etc:ro", BUSYBOX, "sleep", "3600"]);
        sut = await StackUnderTest.create(FIXTURE, `dood-${process.pid}`);
    });

    after(async () => {
        docker(["rm", "-f", "-v", HOST_JOB]);
        if (!sut) return;
        ["dood-agent", "dood-other"].forEach(removeClientObjects);
        await sut.stack.destroy().catch((error: Error) => console.error(`destroy during cleanup failed: ${error.message}`));
        removeLabelled(sut.label);
        await sut.dispose();
        rmSync(SCRATCH, { recursive: true, force: true });
    });

    it("1. up gives each restricted client a proxy; only the proxies hold the daemon's socket", async () => {
        const up = await sut.stack.up();
        assert.equal(up.summary.result, "succeeded");
        for (const client of ["dood-agent", "dood-other"]) {
            const mounts = dockerOk(["inspect", "--format", "{{range .Mounts}}{{.Source}} {{end}}", client]);
            assert.ok(!mounts.includes("docker.sock"), `${client} mounts ${mounts}`);
            const proxyMounts = dockerOk(["inspect", "--format", "{{.HostConfig.Privileged}} {{range .Mounts}}{{.Source}} {{end}}", `${client}-dood-proxy`]);
            assert.match(proxyMounts, /^false .*\/var\/run\/docker\.sock/);
        }
        // The socket appears within moments of the proxy's start.
        for (let i = 0; i < 50 && inClient("docker version").status !== 0; i++) await new Promise((r) => setTimeout(r, 200));
        assert.match(okIn("docker version --format '{{.Server.Version}}'"), /^\d+\./);
    });

    describe("2. attack battery: refused with a message naming the rule, nothing reaches the daemon", () => {
        for (const [what, script, message] of ATTACKS) {
            it(what, () => {
                const result = inClient(script);
                assert.notEqual(result.status, 0, `${script} succeeded:\n${result.stdout}`);
                assert.match(result.stderr + result.stdout, message);
            });
        }
        for (const [what, method, requestPath, body, status, message] of RAW_ATTACKS) {
            it(`raw API: ${what}`, async () => {
                const answer = await raw(method, requestPath, body);
                assert.equal(answer.status, status, answer.body);
                assert.match(JSON.parse(answer.body).message, message);
            });
        }
        it("afterwards: the daemon holds nothing of the client's, the host's container runs untouched", () => {
            assert.deepEqual(ownedOnDaemon("dood-agent"), []);
            assert.equal(docker(["inspect", "dood-agent.dood-atk-raw"]).status, 1);
            assert.equal(dockerOk(["ps", "-a", "--filter", "name=dood-atk", "--format", "{{.Names}}"]), "");
            assert.equal(dockerOk(["volume", "ls", "--filter", "name=dood-atk", "--format", "{{.Name}}"]), "");
            assert.equal(dockerOk(["network", "ls", "--filter", "name=dood-atk", "--format", "{{.Name}}"]), "");
            assert.equal(dockerOk(["inspect", "--format", "{{.State.Running}} {{.Name}}", HOST_JOB]), "true /dood-hostjob");
        });
    });

    describe("3. CI battery: what a job does works through the same proxy", () => {
        it("build from a Dockerfile with BuildKit on the client's own builder, then run the image", () => {
            // No registry here, and the builder is not the daemon: its base is busybox's binary, copied out of a container.
            okIn(`mkdir -p app && docker create --name bb ${BUSYBOX} true >/dev/null && docker cp bb:/bin/busybox app/busybox && docker rm bb >/dev/null`);
            okIn("printf 'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo built-through-the-proxy > /built.txt\"]\\n" +
                "CMD [\"/bin/busybox\", \"cat\", \"/built.txt\"]\\n' > app/Dockerfile && docker build -q -t dood-app:1 app");
            assert.equal(okIn("docker run --rm dood-app:1"), "built-through-the-proxy");
            assert.equal(dockerOk(["image", "inspect", "--format", `{{index .Config.Labels "${OWNER}"}}`, "dood-app:1"]), "dood-agent", "built images carry the client's label");
        });

        it("run with a bind under the workspace: the file lands in the host's workspace", () => {
            okIn(`docker run --rm -v "$PWD:/w" ${BUSYBOX} sh -c 'echo from-a-nested-container > /w/result.txt'`);
            assert.equal(readFileSync(path.join(WORKSPACE, "result.txt"), "utf8").trim(), "from-a-nested-container");
        });

        it("run detached under a chosen name, logs, logs -f, exec, exec -i, exec -t, attach", () => {
            okIn(`docker run -d --name ticker ${BUSYBOX} sh -c 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done'`);
            assert.equal(dockerOk(["inspect", "--format", "{{index .Config.Labels \"" + OWNER + "\"}}", "dood-agent.ticker"]), "dood-agent", "named <client>.<name> on the daemon, labelled");
            assert.match(okIn("sleep 1; docker logs ticker"), /tick0/);
            const followed = okIn("timeout 2 docker logs -f --tail 0 ticker; true");
            assert.match(followed, /tick\d+\ntick\d+/, "logs -f streams new lines");
            assert.equal(okIn("docker exec ticker echo exec-ok"), "exec-ok");
            assert.equal(okIn("docker exec -i ticker tr a-z A-Z", "dood-agent", "stdin through the proxy\n"), "STDIN THROUGH THE PROXY");
            const tty = docker(["exec", "-t", "dood-agent", "docker", "exec", "-t", "ticker", "sh", "-c", "tty"]);
            assert.match(tty.stdout, /\/dev\/pts\/\d+/);
            assert.match(okIn("timeout 2 docker attach --no-stdin --sig-proxy=false ticker; true"), /tick\d+/);
            assert.equal(okIn("echo piped | docker run -i --rm " + BUSYBOX + " tr a-z A-Z"), "PIPED", "stdin closes, output still arrives");
        });

        it("cp into and out of its own container", () => {
            writeFileSync(path.join(WORKSPACE, "in.txt"), "copied-in\n");
            okIn("docker cp in.txt ticker:/tmp/in.txt");
            assert.equal(okIn("docker exec ticker cat /tmp/in.txt"), "copied-in");
            okIn("docker cp ticker:/tmp/in.txt out.txt");
            assert.equal(readFileSync(path.join(WORKSPACE, "out.txt"), "utf8"), "copied-in\n");
        });

        it("a compose-style app: a network, a volume and two containers that find each other by name", () => {
            // The same requests compose makes, with plain commands.
            okIn("docker network create app && docker volume create site");
            okIn(`docker run -d --name web --network app -v site:/site ${BUSYBOX} sh -c 'echo hello-from-web > /site/index.html && exec httpd -f -p 8080 -h /site'`);
            const fetched = okIn(`for i in 1 2 3 4 5 6 7 8 9 10; do docker run --rm --network app ${BUSYBOX} wget -qO- http://web:8080/ && exit 0; sleep 0.5; done; exit 1`);
            assert.equal(fetched, "hello-from-web");
            assert.equal(dockerOk(["network", "inspect", "--format", "{{.Name}}", "dood-agent.app"]), "dood-agent.app");
            assert.equal(dockerOk(["volume", "inspect", "--format", "{{.Name}}", "dood-agent.site"]), "dood-agent.site");
        });

        it("save and load", () => {
            okIn("docker save dood-app:1 -o app.tar && docker rmi dood-app:1 && docker load -i app.tar");
            assert.equal(okIn("docker run --rm dood-app:1"), "built-through-the-proxy");
        });

        it("sees only its own: ps, volumes, networks; another client and the host see none of it", () => {
            const own = okIn("docker ps -a --format '{{.Names}}'").split("\n").sort();
            assert.deepEqual(own, ["dood-agent.ticker", "dood-agent.web"]);
            assert.deepEqual(okIn("docker volume ls --format '{{.Name}}'").split("\n"), ["dood-agent.site"]);
            // Networks under the names the client gave them (Compose looks its networks up by name).
            assert.deepEqual(okIn("docker network ls --format '{{.Name}}'").split("\n"), ["app"]);
            // Another client: the same short name is its own, no collision, and the agent's are invisible.
            okIn(`docker run -d --name web ${BUSYBOX} sleep 600`, "dood-other");
            assert.equal(okIn("docker ps -a --format '{{.Names}}'", "dood-other"), "dood-other.web");
            assert.match(inClient("docker logs ticker", "dood-other").stderr, /No such container: ticker/);
            assert.match(inClient("docker exec dood-agent.ticker true", "dood-other").stderr, /No such container: dood-agent\.ticker/);
            assert.match(inClient("docker stop web && docker rm web", "dood-other").stdout, /web/);
            assert.equal(dockerOk(["inspect", "--format", "{{.State.Running}}", "dood-agent.web"]), "true", "the agent's web still runs");
        });

        it("cleans up its own", () => {
            okIn("docker rm -f ticker web && docker network rm app && docker volume rm site && docker rmi dood-app:1");
            assert.deepEqual(ownedOnDaemon("dood-agent"), []);
        });
    });
});
