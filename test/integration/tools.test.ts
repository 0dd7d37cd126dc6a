// The user's ordinary tools on the real lane: docker contexts, the status view, the drift
// check, the client environment (Testcontainers), and state shared by two runners on a real S3
// server. The commands run as `npm run ...` runs them: the scripts' bundles, in new processes.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { openStack, PROJECT_NAME, REPO_ROOT } from "../../driver/stack";
import { docker, dockerOk, removeLabelled, STACK_LABEL } from "../support/harness";
import { pipelineCommands, PIPELINES } from "../support/pipelines";
import { S3Server } from "../support/s3";

const FIXTURES = path.join(__dirname, "fixtures");
/** For the test's own helper programs (fixtures), which no npm script runs. */
const TS_NODE = path.join(REPO_ROOT, "node_modules", ".bin", "ts-node");
const PASSPHRASE = { PULUMI_CONFIG_PASSPHRASE: "integration-tests" };
const S3_PORT = 23881;

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a script of this repository from its bundle in a new process, as its npm script does. */
/** Runs a command as its npm script does (commands/NAME.ts from its bundle). */
function runCommand(command: string, args: string[], env: Record<string, string | undefined>): Run {
    return runProcess(process.execPath, [path.join(REPO_ROOT, "commands", "bundled.js"), `commands/${command}.ts`, ...args], env);
}

/** Runs one of the test's own helper programs (fixtures) with ts-node in a new process. */
function runFixture(fixture: string, args: string[], env: Record<string, string | undefined>): Run {
    return runProcess(TS_NODE, [path.join(FIXTURES, fixture), ...args], env);
}

function runProcess(command: string, args: string[], env: Record<string, string | undefined>): Run {
    const result = spawnSync(command, args, { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: 10 * 60_000 });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? String(result.error ?? "") };
}

function expectStatus(run: Run, status: number, what: string) {
    assert.equal(run.status, status, `${what}: exit ${run.status}, expected ${status}\nstdout:\n${run.stdout.slice(-3000)}\nstderr:\n${run.stderr.slice(-3000)}`);
}

/** Removes a leftover container or volume of an earlier run of this suite; refuses anyone else's. */
function clearLeftover(kind: "container" | "volume", name: string) {
    const result = docker([kind, "inspect", "--format", `{{index .${kind === "volume" ? "Labels" : "Config.Labels"} "${STACK_LABEL}"}}`, name]);
    if (result.status !== 0) return;
    const label = result.stdout.trim();
    if (!label.startsWith(`${PROJECT_NAME}/tools-`)) throw new Error(`a ${kind} named ${name} exists and is not this suite's (label "${label}")`);
    docker(kind === "container" ? ["rm", "-f", "-v", name] : ["volume", "rm", name]);
}

describe("tools: contexts, status, drift and the client environment of a real stack", function () {
    this.timeout(20 * 60_000);
    const stackName = `tools-${process.pid}`;
    const host = "tools-dind";
    const context = `${stackName}-${host}`;
    let dir: string;
    let stackFile: string;
    let stack: Stack;
    let env: Record<string, string>;
    const savedDockerConfig = process.env.DOCKER_CONFIG;

    before(async () => {
        for (const name of ["tools-dind", "tools-agent"]) clearLeftover("container", name);
        clearLeftover("volume", "tools-dind-docker");
        dir = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-tools-"));
        stackFile = path.join(dir, "stack.yaml");
        cpSync(path.join(FIXTURES, "tools.yaml"), stackFile);
        // The scripts open the stack as `npm run` does (work directory: the repository), with the
        // state in this directory; contexts go to a docker CLI config of the suite's own.
        env = { PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`, ...PASSPHRASE, DOCKER_CONFIG: path.join(dir, "docker-config") };
        process.env.DOCKER_CONFIG = env.DOCKER_CONFIG;
        stack = await openStack({ stackName, stackFile, backendUrl: env.PULUMI_BACKEND_URL, env: PASSPHRASE });
        await stack.up();
    });

    after(async () => {
        if (stack) {
            await stack.destroy().catch((error: Error) => console.error(`destroy during cleanup failed: ${error.message}`));
            removeLabelled(`${STACK_LABEL}=${PROJECT_NAME}/${stackName}`);
            await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
        }
        rmSync(path.join(REPO_ROOT, `Pulumi.${stackName}.yaml`), { force: true });
        if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
        else process.env.DOCKER_CONFIG = savedDockerConfig;
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const dindAddress = () => dockerOk(["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", host]);

    it("outputs the address where the host's nested published ports are reached", async () => {
        const outputs = await stack.outputs();
        assert.equal(outputs.hosts.value[host].publishedPortsAddress, dindAddress());
        assert.equal(await (await fetch(`http://${dindAddress()}:8080/`)).text(), "hello-from-nested\n");
    });

    it("status: a table of the host (state, health, endpoints, address, engine, nested containers, preloads) and the client, no secret", () => {
        const run = runCommand("status", ["--stack", stackName], env);
        expectStatus(run, 0, "status");
        const out = run.stdout;
        const innerVersion = dockerOk(["exec", host, "docker", "version", "--format", "{{.Server.Version}}"]);
        const hostRow = out.split("\n").find((line) => line.startsWith(`${host} `));
        assert.ok(hostRow, out);
        // Health is Docker's: before Docker 25 its first check runs 30 s after the start, so just after an up it may still be "starting".
        assert.match(hostRow!, new RegExp(`^${host}\\s+running\\s+(healthy|starting)\\s+tcp://127\\.0\\.0\\.1:23880\\s+${escape(dindAddress())}\\s+${escape(innerVersion)}$`));
        assert.match(out, /^ {2}tools-web\s+dind-provisioner\/busybox:local\s+running\s+Up .*:8080->8080\/tcp$/m);
        assert.match(out, /^ {2}dind-provisioner\/busybox:local\s+sha256:\S+\s+yes$/m);
        // A restricted client: where its containers' ports are reached from inside it, and what it owns (its builder, so far).
        assert.match(out, /^tools-agent\s+running\s+unix:\/\/\/var\/run\/docker\.sock\s+\d+\.\d+\.\d+\.\d+$/m);
        assert.match(out, /^ {2}builder\s+tools-agent-buildkit\s+running; its build cache and cache mounts are its own$/m);
        assert.match(out, new RegExp(`TESTCONTAINERS_HOST_OVERRIDE=${escape(dindAddress())}`));
        assert.doesNotMatch(out + run.stderr, /BEGIN|PRIVATE KEY|CERTIFICATE/);
    });

    it("client-tls: prints the whole environment, and Testcontainers works with exactly that", async () => {
        const certDir = path.join(dir, "client-tls");
        const run = runCommand("client-tls", [host, certDir, "--stack", stackName], env);
        expectStatus(run, 0, "client-tls");
        const printed = Object.fromEntries([...run.stdout.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
        assert.deepEqual(printed, {
            DOCKER_HOST: "tcp://127.0.0.1:23880", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certDir, TESTCONTAINERS_HOST_OVERRIDE: dindAddress(),
        });
        // Nothing of the caller's environment but PATH and HOME: the printed lines must be enough.
        const client = spawnSync(TS_NODE, [path.join(FIXTURES, "testcontainers-client.ts")], {
            cwd: REPO_ROOT, encoding: "utf8", timeout: 5 * 60_000,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, ...printed, TESTCONTAINERS_RYUK_DISABLED: "true" },
        });
        assert.equal(client.status, 0, `testcontainers client failed:\n${client.stdout}\n${client.stderr}`);
        const result = JSON.parse(client.stdout.trim().split("\n").pop()!);
        assert.equal(result.body, "hello-from-testcontainers");
        assert.equal(result.host, dindAddress());
        // It ran inside the DinD host, not on the outer daemon.
        assert.equal(docker(["inspect", result.id]).status, 1);
    });

    it("contexts: refuses a same-named context it did not make, creates and updates one per host, removes only its own", () => {
        dockerOk(["context", "create", context, "--docker", "host=tcp://127.0.0.1:1"]);
        const refused = runCommand("contexts", ["--stack", stackName], env);
        expectStatus(refused, 1, "contexts over a foreign context");
        assert.match(refused.stderr, new RegExp(`a docker context named ${context} exists and belongs to nobody this tool knows \\(made by hand: description ""\\), so it was left as it is`));
        dockerOk(["context", "rm", context]);

        for (const attempt of ["create", "update"]) {
            const run = runCommand("contexts", ["--stack", stackName], env);
            expectStatus(run, 0, `contexts (${attempt})`);
            assert.match(run.stdout, new RegExp(`^${context}: docker --context ${context} ps; nested published ports at ${escape(dindAddress())} \\(TESTCONTAINERS_HOST_OVERRIDE\\)$`, "m"));
        }
        assert.deepEqual(dockerOk(["--context", context, "ps", "--format", "{{.Names}}"]).split("\n"), ["tools-web"]);
        const { Metadata: { Description: description } } = JSON.parse(dockerOk(["context", "inspect", "--format", "{{json .}}", context]));
        assert.match(description, new RegExp(`^dind-provisioner ${PROJECT_NAME}/${stackName}: host ${host}; nested published ports at ${escape(dindAddress())}`));
        // The key went into the context store, not a path outside it.
        const tlsPath = JSON.parse(dockerOk(["context", "inspect", "--format", "{{json .}}", context])).Storage.TLSPath as string;
        assert.ok(tlsPath.startsWith(env.DOCKER_CONFIG), tlsPath);

        const other = `${stackName}-other`;
        dockerOk(["context", "create", other, "--docker", "host=tcp://127.0.0.1:1"]);
        const removed = runCommand("contexts", ["--stack", stackName, "--remove"], env);
        expectStatus(removed, 0, "contexts --remove");
        const names = dockerOk(["context", "ls", "--format", "{{.Name}}"]).split("\n");
        assert.ok(!names.includes(context) && names.includes(other), names.join(", "));
        dockerOk(["context", "rm", other]);
    });

    it("drift: 0 when the environment matches, 2 with the differences after a change behind Pulumi's back or in the file, 1 on error", async () => {
        const drift = (file = stackFile, ...flags: string[]) => runCommand("drift", ["--stack", stackName, "--file", file, ...flags], env);
        const clean = drift(stackFile, "--quiet");
        expectStatus(clean, 0, "drift on a fresh up");
        assert.match(clean.stdout, /no drift/);

        // A nested container removed behind Pulumi's back.
        dockerOk(["exec", host, "docker", "rm", "-f", "tools-web"]);
        const removed = drift();
        expectStatus(removed, 2, "drift after a nested container was removed");
        assert.match(removed.stdout, /DRIFT/);
        assert.match(removed.stdout, /environment: deleted outside Pulumi docker:index\/container:Container tools-dind-workloads-container-tools-web/);
        assert.match(removed.stdout, /up would: create docker:index\/container:Container tools-dind-workloads-container-tools-web/);
        await stack.up({ refresh: true });
        expectStatus(drift(), 0, "drift after up put it back");

        // The stack file edited.
        writeFileSync(stackFile, readFileSync(stackFile, "utf8").replace('command: [sleep, "3600"]', 'command: [sleep, "3601"]'));
        const edited = drift();
        expectStatus(edited, 2, "drift after the file was edited");
        assert.match(edited.stdout, /up would: (update|replace) docker:index\/container:Container tools-agent-container \[.*command/);
        cpSync(path.join(FIXTURES, "tools.yaml"), stackFile);

        // Errors: an invalid file, and bad usage.
        const bad = path.join(dir, "bad.yaml");
        writeFileSync(bad, "hosts:\n  tools-dind: { tcp: { port: nope } }\n");
        const invalid = drift(bad);
        expectStatus(invalid, 1, "drift with an invalid file");
        assert.match(invalid.stdout + invalid.stderr, /hosts\.tools-dind\.tcp\.port/);
        expectStatus(runCommand("drift", ["--colour"], env), 1, "drift with bad usage");
    });

    it("destroy removes the stack's contexts", () => {
        expectStatus(runCommand("contexts", ["--stack", stackName], env), 0, "contexts");
        const destroyed = runCommand("destroy", ["--stack", stackName], env);
        expectStatus(destroyed, 0, "destroy");
        assert.match(destroyed.stdout, new RegExp(`removed docker contexts: ${context}`));
        assert.ok(!dockerOk(["context", "ls", "--format", "{{.Name}}"]).split("\n").includes(context));
        assert.equal(docker(["inspect", host]).status, 1);
    });
});

describe("shared state: a self-managed backend on a real S3 server, two runners and the stack lock", function () {
    this.timeout(15 * 60_000);
    const stackName = `tools-s3-${process.pid}`;
    const bucket = "tools-state";
    let server: S3Server;
    let dir: string;
    let env: Record<string, string>;
    const stackFile = path.join(FIXTURES, "tools-s3.yaml");
    // The pipelines' stack: a file in stacks/, where the pipelines look, for the test's duration.
    const ciStack = `tools-ci-${process.pid}`;
    const ciStackFile = path.join(REPO_ROOT, "stacks", `${ciStack}.yaml`);
    const runner = (operation: string, extra: Record<string, string> = {}) =>
        runFixture("runner.ts", [operation, stackName, stackFile], { ...env, ...extra });

    before(async () => {
        clearLeftover("container", "tools-s3-agent");
        clearLeftover("container", "tools-ci-agent");
        server = await S3Server.start(S3_PORT);
        await server.createBucket(bucket);
        dir = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-tools-lock-"));
        env = { PULUMI_BACKEND_URL: server.backendUrl(bucket), ...server.credentials, ...PASSPHRASE };
    });

    after(() => {
        if (env) {
            runner("destroy");
            runCommand("destroy", ["--stack", ciStack], env);
        }
        for (const name of [stackName, ciStack]) removeLabelled(`${STACK_LABEL}=${PROJECT_NAME}/${name}`);
        rmSync(ciStackFile, { force: true });
        rmSync(path.join(REPO_ROOT, `Pulumi.${ciStack}.yaml`), { force: true });
        server?.stop();
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("runner A's up leaves the state in the bucket; runner B, a fresh workspace, previews no change", async () => {
        const up = runner("up");
        expectStatus(up, 0, "runner A: up");
        assert.deepEqual(Object.keys(JSON.parse(up.stdout.trim().split("\n").pop()!).changeSummary), ["create"]);
        const objects = await server.listObjects(bucket, ".pulumi/");
        assert.ok(objects.includes(`.pulumi/stacks/${PROJECT_NAME}/${stackName}.json`), objects.join("\n"));

        const preview = runner("preview");
        expectStatus(preview, 0, "runner B: preview");
        assert.deepEqual(Object.keys(JSON.parse(preview.stdout.trim().split("\n").pop()!).changeSummary), ["same"]);
    });

    it("the lock runner A holds during an up is honoured by runner B", async () => {
        const holding = path.join(dir, "holding");
        const release = path.join(dir, "release");
        const a = spawn(TS_NODE, [path.join(FIXTURES, "runner.ts"), "held-up", stackName, stackFile], {
            cwd: REPO_ROOT, env: { ...process.env, ...env, TOOLS_HOLDING_FILE: holding, TOOLS_RELEASE_FILE: release }, stdio: ["ignore", "pipe", "pipe"],
        });
        let aOutput = "";
        a.stdout.on("data", (chunk) => (aOutput += chunk));
        a.stderr.on("data", (chunk) => (aOutput += chunk));
        const aDone = new Promise<number | null>((resolve) => a.on("exit", resolve));
        try {
            for (let i = 0; !existsSync(holding); i++) {
                if (i > 600 || a.exitCode !== null) throw new Error(`runner A never held the lock:\n${aOutput}`);
                await new Promise((resolve) => setTimeout(resolve, 200));
            }
            const locks = await server.listObjects(bucket, `.pulumi/locks/`);
            assert.ok(locks.some((key) => key.includes(`/${stackName}/`)), `no lock object in the bucket: ${locks.join(", ")}`);

            const b = runner("up");
            expectStatus(b, 1, "runner B: up while A holds the lock");
            assert.match(b.stderr, /currently locked/);
        } finally {
            writeFileSync(release, "");
        }
        assert.equal(await aDone, 0, `runner A failed:\n${aOutput}`);
        assert.deepEqual(await server.listObjects(bucket, `.pulumi/locks/`), []);
    });

    it("the example CI pipelines' commands, run as the pipelines run them, with the state in the bucket", async () => {
        writeFileSync(ciStackFile, readFileSync(stackFile, "utf8").replace(/tools-s3-agent/g, "tools-ci-agent"));
        for (const [system, file] of Object.entries(PIPELINES)) {
            const jobs = pipelineCommands(file);
            for (const job of ["preview", "up", "drift"]) {
                // `npm ci` has run already: it is how this test run itself began.
                for (const command of jobs[job].filter((c) => c !== "npm ci")) {
                    const result = spawnSync("bash", ["-c", command], {
                        cwd: REPO_ROOT, encoding: "utf8", timeout: 10 * 60_000, env: { ...process.env, ...env, STACK: ciStack },
                    });
                    const run = { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
                    expectStatus(run, 0, `${system} ${job}: ${command}`);
                    if (command.includes("preview") && system === "github") assert.match(run.stdout, /\d+ to create/);
                    if (command.includes("preview") && system === "gitlab") assert.doesNotMatch(run.stdout, /to create/);
                    if (command.includes("drift")) assert.match(run.stdout, /no drift/);
                }
            }
        }
        const objects = await server.listObjects(bucket, ".pulumi/stacks/");
        assert.ok(objects.includes(`.pulumi/stacks/${PROJECT_NAME}/${ciStack}.json`), objects.join("\n"));
    });
});
