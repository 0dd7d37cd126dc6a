// The remote-daemon lane: one stack places a DinD host (mutual-TLS endpoint, preload, a nested web
// server) and a DooD client on each of three real Docker daemons: this machine's, one reached over
// tcp:// with mutual TLS and one over ssh://. The two "remote machines" are privileged containers on
// this machine with their own dockerd and an address on the outer bridge (fixtures/remote-daemons.sh).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { writeClientTls } from "../../driver/clientTls";
import { docker, dockerOk, labelled, removeLabelled, StackUnderTest } from "../support/harness";
import { allowForSuite } from "../support/consent";

const FIXTURES = path.join(__dirname, "fixtures");
const SCRATCH = "/tmp/dind-provisioner-remote";
const BUSYBOX = "dind-provisioner/busybox:local";
const PLACES = ["local", "tcp", "ssh"] as const;
type Place = (typeof PLACES)[number];
const PORTS: Record<Place, number> = { local: 23900, tcp: 23901, ssh: 23902 };
const KNOWN_HOSTS = `${SCRATCH}/known_hosts`;

/** Runs the fixture script; returns its stdout. */
function remoteDaemons(command: "up" | "down"): string {
    const result = spawnSync("bash", [path.join(FIXTURES, "remote-daemons.sh"), command, SCRATCH], { encoding: "utf8", timeout: 10 * 60_000 });
    if (result.status !== 0) throw new Error(`remote-daemons.sh ${command} failed (${result.status}): ${result.stderr}`);
    return result.stdout.trim();
}

describe("remote daemons: DinD hosts and DooD clients on a local, a tcp:// and an ssh:// daemon", function () {
    this.timeout(20 * 60_000);
    let sut: StackUnderTest;
    let tcpIp: string;
    let sshIp: string;
    let disallow: () => void = () => undefined;
    const sshArgs = () => ["-i", `${SCRATCH}/ssh/id_ed25519`, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"];
    /** Runs the docker CLI against an outer daemon; the ssh one's CLI runs on its machine (the CLI takes no ssh options). */
    const onOuter = (place: Place, args: string[]) => place === "ssh"
        ? sshRun(["docker", ...args.map((a) => `'${a.replace(/'/g, "'\\''")}'`)])
        : docker(args, place === "tcp" ? { DOCKER_HOST: `tcp://${tcpIp}:2376`, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: `${SCRATCH}/client` } : {});
    const onOuterOk = (place: Place, args: string[]) => {
        const result = onOuter(place, args);
        if (result.status !== 0) throw new Error(`docker ${args.join(" ")} on ${place} failed: ${result.stderr}`);
        return result.stdout.trim();
    };
    const sshRun = (words: string[]) => {
        const result = spawnSync("ssh", [...sshArgs(), `root@${sshIp}`, ...words], { encoding: "utf8", timeout: 120_000 });
        return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
    };
    const tlsDir = (place: Place) => path.join(sut.dir, `tls-${place}`);
    const endpointOf = (place: Place) => `tcp://${place === "local" ? "127.0.0.1" : place === "tcp" ? tcpIp : sshIp}:${PORTS[place]}`;
    const inner = (place: Place) => ({ DOCKER_HOST: endpointOf(place), DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: tlsDir(place) });

    before(async () => {
        [tcpIp, sshIp] = remoteDaemons("up").split(" ");
        // The remote machines are new each run: so are their host keys.
        rmSync(KNOWN_HOSTS, { force: true });
        // What an operator allows for this stack: the two farm daemons, and the files of this machine it uses for them.
        disallow = allowForSuite({
            DIND_PROVISIONER_ALLOW_DAEMONS: `tcp://${tcpIp}:2376 ssh://root@${sshIp}`,
            DIND_PROVISIONER_ALLOW_PATHS: `${SCRATCH}/client:${SCRATCH}/ssh/id_ed25519:${KNOWN_HOSTS}`,
        });
        const socketGid = onOuterOk("tcp", ["run", "--rm", "-v", "/var/run/docker.sock:/s", "--entrypoint", "stat", "dind-provisioner/busybox:local", "-c", "%g", "/s"]);
        const text = readFileSync(path.join(FIXTURES, "remote-daemons.yaml"), "utf8")
            .replaceAll("${TCP_IP}", tcpIp).replaceAll("${SSH_IP}", sshIp)
            .replaceAll("${CLIENT_CERTS}", `${SCRATCH}/client`).replaceAll("${SSH_KEY}", `${SCRATCH}/ssh/id_ed25519`).replaceAll("${KNOWN_HOSTS}", KNOWN_HOSTS)
            .replaceAll("${TCP_SOCKET_GID}", socketGid);
        const rendered = path.join(SCRATCH, "stack.yaml");
        writeFileSync(rendered, text);
        sut = await StackUnderTest.create(rendered, `remote-${process.pid}`);
    });

    after(async () => {
        if (sut) {
            await sut.stack.destroy().catch((error: Error) => console.error(`destroy during cleanup failed: ${error.message}`));
            removeLabelled(sut.label);
            await sut.dispose();
        }
        // The remote daemons go with everything left on them.
        remoteDaemons("down");
        disallow();
    });

    it("1. up creates every host and client on its own daemon, each host answering on its mutual-TLS endpoint at an address this machine reaches", async () => {
        const up = await sut.stack.up();
        assert.equal(up.summary.result, "succeeded");
        const outputs = await sut.stack.outputs();
        for (const place of PLACES) {
            const name = `remote-${place}-dind`;
            writeClientTls(tlsDir(place), outputs.clientTls.value[name]);
            assert.equal(outputs.hosts.value[name].tcpEndpoint, endpointOf(place));
            // Each host and client runs on its own daemon, and on no other.
            for (const other of PLACES) {
                const present = onOuter(other, ["container", "inspect", "--format", "{{.HostConfig.Privileged}}", name]);
                assert.equal(present.status === 0, other === place, `${name} on the ${other} daemon`);
                if (other === place) assert.equal(present.stdout.trim(), "true");
            }
            assert.equal(onOuterOk(place, ["container", "inspect", "--format", "{{.HostConfig.Privileged}}", `remote-${place}-agent`]), "false");
            const innerName = dockerOk(["info", "--format", "{{.Name}}"], inner(place));
            assert.notEqual(innerName, onOuterOk(place, ["info", "--format", "{{.Name}}"]), `the ${place} host's inner daemon is not its outer one`);
        }
        assert.notEqual(tcpIp.startsWith("127."), true);
    });

    it("2. the remote hosts' server certificates name the remote machine's address", async () => {
        for (const [place, ip] of [["tcp", tcpIp], ["ssh", sshIp]] as const) {
            const dir = tlsDir(place);
            const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
                const socket = tls.connect({ host: ip, port: PORTS[place], ca: readFileSync(`${dir}/ca.pem`), cert: readFileSync(`${dir}/cert.pem`), key: readFileSync(`${dir}/key.pem`) }, () => {
                    resolve(socket.getPeerCertificate());
                    socket.end();
                });
                socket.on("error", reject);
            });
            assert.ok(peer.subjectaltname?.includes(`IP Address:${ip}`), `${ip} in ${peer.subjectaltname}`);
        }
    });

    it("3. preload copied the image from each host's own outer daemon (over unix, tcp and ssh)", async () => {
        const outputs = await sut.stack.outputs();
        for (const place of PLACES) {
            const outerId = onOuterOk(place, ["image", "inspect", "--format", "{{.Id}}", BUSYBOX]);
            assert.equal(dockerOk(["image", "inspect", "--format", "{{.Id}}", BUSYBOX], inner(place)), outerId, place);
            assert.equal(outputs.hosts.value[`remote-${place}-dind`].preloadedImageIds[BUSYBOX], outerId);
        }
    });

    it("4. each nested web server answers inside its DinD host", () => {
        for (const place of PLACES) {
            // A container in the DinD host's network namespace reaches the published port on its loopback.
            const page = dockerOk(["run", "--rm", "--network", "host", BUSYBOX, "wget", "-qO-", "http://127.0.0.1:8080/"], inner(place));
            assert.equal(page, "hello-from-nested", place);
        }
    });

    it("5. the unix endpoint of a host on a remote daemon is on that remote machine", () => {
        const socket = `${SCRATCH}/remote-tcp-dind/docker.sock`;
        assert.equal(docker(["exec", "remote-daemon-tcp", "test", "-S", socket]).status, 0, "the socket is on the remote machine");
        assert.equal(docker(["exec", "remote-daemon-tcp", "docker", "--host", `unix://${socket}`, "info", "--format", "{{.Name}}"]).stdout.trim(),
            dockerOk(["info", "--format", "{{.Name}}"], inner("tcp")));
    });

    it("6. each DooD client drives its own daemon, as a non-root user through the socket's group (read over ssh, given for tcp)", () => {
        for (const place of PLACES) {
            const names = onOuterOk(place, ["exec", `remote-${place}-agent`, "docker", "ps", "--format", "{{.Names}}"]).split("\n");
            assert.ok(names.includes(`remote-${place}-agent`) && names.includes(`remote-${place}-dind`), `${place}: ${names.join(", ")}`);
        }
        for (const place of ["tcp", "ssh"] as const) {
            assert.equal(onOuterOk(place, ["exec", `remote-${place}-agent`, "id", "-u"]), "1000");
            assert.equal(onOuter(place, ["exec", `remote-${place}-agent`, "docker", "ps", "-q"]).status, 0, `${place}: the socket's group is added`);
        }
    });

    it("7. a second up reports no changes", async () => {
        const up = await sut.stack.up();
        assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"], JSON.stringify(up.summary.resourceChanges));
    });

    it("8. destroy removes every host, client and volume from all three daemons", async () => {
        await sut.stack.destroy();
        assert.deepEqual(labelled(sut.label), []);
        for (const place of ["tcp", "ssh"] as const) {
            const left = onOuterOk(place, ["ps", "-a", "-q", "--filter", `label=${sut.label}`]) + onOuterOk(place, ["volume", "ls", "-q", "--filter", `label=${sut.label}`]);
            assert.equal(left, "", `left on the ${place} daemon`);
        }
    });
});
