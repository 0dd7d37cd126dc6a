// The stack file as a security boundary, through the real driver (what `npm run preview` runs): a
// preview of a file whose keys would run a command, read a file or reach a socket of this machine
// runs nothing, reads nothing and reaches nothing, and the engine never starts. With the operator's
// consent (DIND_PROVISIONER_ALLOW_*, which a file cannot set) the same keys do take effect.
// Every program a preview could start is watched: ssh, kubectl and the pulumi CLI go through
// recording shims on PATH, the commands the files name write marker files, and the sockets and
// ports the files name are the test's own listeners, which count the connections they get.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { PROJECT_NAME, REPO_ROOT } from "../../driver/stack";

const SCRATCH = `/tmp/dind-provisioner-trust-${process.pid}`;
/** A port of this issue's range (COORDINATION.md) where nothing listens but the test's recorder. */
const RECORDER_PORT = 24110;
/** An ssh port nothing listens on: an allowed daemon whose connection would fail, after its options ran. */
const SSH_URL = "ssh://ci@127.0.0.1:24111";
/** A Kubernetes API server address nothing listens on. */
const API_SERVER = "https://127.0.0.1:24112";
const MARKERS = path.join(SCRATCH, "markers");
const SHIM_LOG = path.join(SCRATCH, "shims.log");

interface Run { status: number | null; stdout: string; stderr: string }

/** The driver as `npm run preview` runs it, in its own process (so that the test's listeners keep answering). */
function preview(stackFile: string, env: Record<string, string>): Promise<Run> {
    const name = path.basename(stackFile, ".yaml");
    return run(["commands/preview.ts", "--stack", `trust-${name}`, "--file", stackFile, "--backend", `file://${SCRATCH}/state`,
        "--work-dir", `${SCRATCH}/project`], env);
}

/** A command of commands/ as its npm run command runs it. */
function run(script: string[], env: Record<string, string>): Promise<Run> {
    const args = [path.join(REPO_ROOT, "commands", "bundled.js"), ...script];
    // Only the operator's consent given here: none of the caller's DIND_PROVISIONER_ALLOW_* variables.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("DIND_PROVISIONER_ALLOW_")));
    return new Promise((resolve) => {
        const child = spawn(process.execPath, args, {
            cwd: REPO_ROOT,
            env: { ...inherited, PATH: `${SCRATCH}/shims:${process.env.PATH}`, PULUMI_CONFIG_PASSPHRASE: "trust-tests", SHIM_LOG, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        const timer = setTimeout(() => child.kill("SIGTERM"), 5 * 60_000);
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
    });
}

/** A listener that answers like a Docker daemon's ping and version, and counts who connects. */
function recorder(listen: (server: net.Server) => void): { connections: () => number; close: () => Promise<void> } {
    let connections = 0;
    const server = net.createServer((socket) => {
        connections++;
        socket.on("error", () => socket.destroy());
        socket.once("data", (request) => {
            const body = request.toString().startsWith("GET /version") ? JSON.stringify({ ApiVersion: "1.45", Version: "26.1.5" }) : "OK";
            socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        });
    });
    listen(server);
    return { connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A program on PATH that notes its call in SHIM_LOG, then runs the real one. */
function shim(name: string) {
    const real = spawnSync("sh", ["-c", `command -v ${name} || true`], { encoding: "utf8" }).stdout.trim();
    const file = path.join(SCRATCH, "shims", name);
    writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> "$SHIM_LOG"\n${real ? `exec ${real} "$@"` : "exit 127"}\n`);
    chmodSync(file, 0o755);
}

const ranShims = () => (existsSync(SHIM_LOG) ? readFileSync(SHIM_LOG, "utf8").trim().split("\n").filter(Boolean) : []);
const markers = () => readdirSync(MARKERS);

/** A command that leaves the marker `name` when it runs. */
const touch = (name: string) => `touch ${MARKERS}/${name}`;

function writeStack(name: string, text: string): string {
    const file = path.join(SCRATCH, `${name}.yaml`);
    writeFileSync(file, text);
    return file;
}

const sshStack = (options: string[]) => `daemons:\n  farm:\n    host: "${SSH_URL}"\n    sshOpts: ${JSON.stringify(options)}\n` +
    "hosts:\n  trust-far: { daemon: farm, tcp: { port: 24113, bind: 0.0.0.0 } }\n";
const kubeStack = (kubeconfig: string) => `daemons:\n  cluster: { kubernetes: { kubeconfig: ${kubeconfig}, namespace: trust } }\n` +
    "hosts:\n  trust-pod: { daemon: cluster }\n";

describe("the stack file as a security boundary: preview through the real driver", function () {
    this.timeout(15 * 60_000);
    let tcp: ReturnType<typeof recorder>;
    let socket: ReturnType<typeof recorder>;
    const socketPath = path.join(SCRATCH, "daemon.sock");

    before(async () => {
        for (const dir of ["shims", "markers", "state", "project"]) mkdirSync(path.join(SCRATCH, dir), { recursive: true });
        for (const name of ["ssh", "kubectl", "pulumi"]) shim(name);
        symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(SCRATCH, "project", "node_modules"));
        writeFileSync(path.join(SCRATCH, "project", "Pulumi.yaml"), `name: ${PROJECT_NAME}\nruntime: nodejs\n`);
        // An ssh configuration and a kubeconfig as a merge request could add them to the checkout.
        writeFileSync(path.join(SCRATCH, "ssh_config"), `Host *\n  ProxyCommand sh -c '${touch("ssh-config-proxycommand")}; exit 1'\n`);
        writeFileSync(path.join(SCRATCH, "plugin.sh"), `#!/bin/sh\n${touch("kubeconfig-exec-plugin")}\n` +
            "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}'\n");
        chmodSync(path.join(SCRATCH, "plugin.sh"), 0o755);
        writeFileSync(path.join(SCRATCH, "kubeconfig"), [
            "apiVersion: v1", "kind: Config", "current-context: trust",
            `clusters: [{ name: trust, cluster: { server: "${API_SERVER}", insecure-skip-tls-verify: true } }]`,
            "contexts: [{ name: trust, context: { cluster: trust, user: trust } }]",
            `users: [{ name: trust, user: { exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: ${SCRATCH}/plugin.sh, interactiveMode: Never } } }]`,
        ].join("\n"));
        writeFileSync(path.join(SCRATCH, "secret.env"), "AWS_SECRET_ACCESS_KEY=trust-test-secret-file-content\n");
        tcp = recorder((server) => server.listen(RECORDER_PORT, "127.0.0.1"));
        socket = recorder((server) => server.listen(socketPath));
    });

    after(async () => {
        await tcp?.close();
        await socket?.close();
        rmSync(SCRATCH, { recursive: true, force: true });
    });

    const hostile: [string, () => string, Record<string, string>, RegExp][] = [
        ["ssh ProxyCommand", () => sshStack(["-o", `ProxyCommand=sh -c '${touch("proxycommand")}'`]), { DIND_PROVISIONER_ALLOW_DAEMONS: SSH_URL }, /sshOpts\[1\]: ProxyCommand runs a command/],
        ["ssh LocalCommand", () => sshStack(["-o", "PermitLocalCommand=yes", "-o", `LocalCommand=${touch("localcommand")}`]), { DIND_PROVISIONER_ALLOW_DAEMONS: SSH_URL }, /LocalCommand runs a command/],
        ["ssh Match exec", () => sshStack(["-o", `Match exec "${touch("match-exec")}"`]), { DIND_PROVISIONER_ALLOW_DAEMONS: SSH_URL }, /Match blocks run commands/],
        ["ssh -F", () => sshStack(["-F", `${SCRATCH}/ssh_config`]), { DIND_PROVISIONER_ALLOW_DAEMONS: SSH_URL }, /-F reads an ssh configuration .* DIND_PROVISIONER_ALLOW_PATHS/],
        ["ssh -o Include", () => sshStack(["-o", `Include=${SCRATCH}/ssh_config`]), { DIND_PROVISIONER_ALLOW_DAEMONS: SSH_URL }, /Include reads other ssh configuration files/],
        ["ssh KnownHostsCommand", () => sshStack(["-o", `KnownHostsCommand=/bin/sh -c '${touch("knownhostscommand")}'`]), { DIND_PROVISIONER_ALLOW_DAEMONS: SSH_URL }, /KnownHostsCommand runs a command/],
        ["ssh daemon not allowed", () => sshStack([]), {}, /daemons\.farm\.host: daemon ssh:\/\/ci@127\.0\.0\.1:24111 is not one the operator allowed: preview and up would run ssh/],
        ["kubeconfig exec plugin", () => kubeStack(`${SCRATCH}/kubeconfig`), {}, /kubeconfig: reads a kubeconfig .* DIND_PROVISIONER_ALLOW_PATHS/],
        ["a socket of this machine", () => `daemons:\n  near: { host: "unix://${socketPath}" }\nhosts:\n  trust-near: { daemon: near }\n`, {}, /would reach the socket/],
        ["an address this machine reaches", () => `daemons:\n  near: { host: "tcp://127.0.0.1:${RECORDER_PORT}", insecure: true }\nhosts:\n  trust-near: { daemon: near }\n`, {}, /would connect to it from this machine/],
        ["a file as a CA", () => `hosts:\n  trust-ca:\n    registryCAs: { "registry.internal:5000": ${SCRATCH}/secret.env }\n`, {}, /reads a registry's CA certificate .* DIND_PROVISIONER_ALLOW_PATHS/],
        ["a variable as a secret", () => "hosts:\n  trust-env:\n    registryAuth: [{ address: attacker.example.com, username: x, password: { env: TRUST_TEST_SECRET } }]\n",
            { TRUST_TEST_SECRET: "trust-test-secret-variable" }, /takes the runner's environment variable TRUST_TEST_SECRET, which the operator has not allowed/],
    ];

    for (const [what, text, env, refusal] of hostile) {
        it(`refuses ${what}: runs, reads and reaches nothing, and starts no engine`, async () => {
            const before = { tcp: tcp.connections(), socket: socket.connections(), markers: markers().length };
            const run = await preview(writeStack(what.replace(/\W+/g, "-"), text()), env);
            assert.equal(run.status, 1, run.stderr);
            assert.match(run.stderr, refusal);
            assert.deepEqual(ranShims(), [], "no ssh, kubectl or pulumi ran");
            assert.equal(markers().length, before.markers, `markers: ${markers().join(", ")}`);
            assert.equal(tcp.connections(), before.tcp, "nothing connected to the recorder's port");
            assert.equal(socket.connections(), before.socket, "nothing connected to the recorder's socket");
            assert.doesNotMatch(run.stdout + run.stderr, /trust-test-secret/, "no secret of this machine in the output");
        });
    }

    it("refuses the same in npm run drift, which previews too: nothing runs", async () => {
        const stackFile = writeStack("drift-proxycommand", sshStack(["-o", `ProxyCommand=sh -c '${touch("drift-proxycommand")}'`]));
        const drift = await run(["commands/drift.ts", "--stack", "trust-drift", "--file", stackFile], { DIND_PROVISIONER_ALLOW_DAEMONS: SSH_URL, PULUMI_BACKEND_URL: `file://${SCRATCH}/state` });
        assert.equal(drift.status, 1, drift.stderr);
        assert.match(drift.stderr, /ProxyCommand runs a command/);
        assert.deepEqual(ranShims(), []);
        assert.ok(!markers().includes("drift-proxycommand"));
    });

    describe("with the operator's consent", () => {
        beforeEach(() => rmSync(SHIM_LOG, { force: true }));

        it("an allowed daemon's socket is reached, and preview runs the engine", async () => {
            const before = socket.connections();
            const run = await preview(writeStack("allowed-socket", `daemons:\n  near: { host: "unix://${socketPath}" }\nhosts:\n  trust-near: { daemon: near }\n`),
                { DIND_PROVISIONER_ALLOW_DAEMONS: `unix://${socketPath}` });
            assert.ok(socket.connections() > before, `the daemon was reached (exit ${run.status}): ${run.stderr.slice(-2000)}`);
            assert.ok(ranShims().some((line) => line.startsWith("pulumi ")), "the engine ran");
        });

        it("an ssh configuration the operator allows is the operator's: its ProxyCommand runs", async () => {
            const run = await preview(writeStack("allowed-ssh-config", sshStack(["-F", `${SCRATCH}/ssh_config`, "-o", "BatchMode=yes"])),
                { DIND_PROVISIONER_ALLOW_DAEMONS: SSH_URL, DIND_PROVISIONER_ALLOW_PATHS: `${SCRATCH}/ssh_config` });
            assert.ok(ranShims().some((line) => line.startsWith(`ssh -F ${SCRATCH}/ssh_config`)), `ssh ran with the allowed configuration (exit ${run.status}): ${ranShims().join("\n")}`);
            assert.ok(markers().includes("ssh-config-proxycommand"), run.stderr.slice(-2000));
        });

        it("a kubeconfig the operator allows is the operator's: its exec plugin runs", async () => {
            const run = await preview(writeStack("allowed-kubeconfig", kubeStack(`${SCRATCH}/kubeconfig`)), { DIND_PROVISIONER_ALLOW_PATHS: `${SCRATCH}/kubeconfig` });
            assert.ok(markers().includes("kubeconfig-exec-plugin"), `the exec plugin ran (exit ${run.status}): ${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
        });
    });
});
