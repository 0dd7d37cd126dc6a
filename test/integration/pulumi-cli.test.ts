// The official Pulumi CLI on the real lane: `pulumi preview`, `up`, `stack output` and `destroy`
// run index.ts through the Node.js language host, in a scratch copy of the project with its own
// stacks/lh-cli.yaml, as a user with an official install runs them. The tests run in order.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { writeClientTls } from "../../driver/clientTls";
import { openStack, PROJECT_NAME, REPO_ROOT } from "../../driver/stack";
import { docker, dockerOk, labelled, removeLabelled, STACK_LABEL } from "../support/harness";
import { PASSPHRASE, ScratchProject } from "../support/pulumiCli";

const STACK = "lh-cli";
const HOST = "lh-cli-dind";
const CLIENT = "lh-cli-agent";
const NESTED = "lh-cli-web";
const TCP_ENDPOINT = "tcp://127.0.0.1:23860";
const LABEL = `${STACK_LABEL}=${PROJECT_NAME}/${STACK}`;
/** What index.ts needs: the program, the components, the stack-file loader, and the TypeScript settings. */
const PROGRAM_FILES = ["index.ts", "program", "components", "stackfile", "package.json", "tsconfig.json"];

describe("official Pulumi CLI: pulumi preview/up/stack output/destroy run index.ts", function () {
    this.timeout(15 * 60_000);
    let cli: ScratchProject;
    let destroyed = false;
    const innerTcp = () => ({ DOCKER_HOST: TCP_ENDPOINT, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: path.join(cli.dir, "client-tls") });
    const containerId = (name: string) => dockerOk(["inspect", "--format", "{{.Id}}", name]);

    before(() => {
        removeLabelled(LABEL); // a killed earlier run's leftovers: only what carries this stack's label
        cli = new ScratchProject("dind-provisioner-lh-cli-", PROGRAM_FILES, ScratchProject.repositoryProject());
        mkdirSync(path.join(cli.project, "stacks"));
        copyFileSync(path.join(__dirname, "fixtures", "pulumi-cli.yaml"), path.join(cli.project, "stacks", `${STACK}.yaml`));
        cli.ok(["stack", "init", STACK]);
    });

    after(() => {
        if (!cli) return;
        if (!destroyed) {
            const destroy = cli.pulumi(["destroy", "--yes"]);
            if (destroy.status !== 0) console.error(`destroy during cleanup failed:\n${destroy.stdout}\n${destroy.stderr}`);
        }
        removeLabelled(LABEL);
        cli.dispose();
    });

    it("1. pulumi preview --policy-pack policy/ shows the whole stack, passes the guardrails, and creates nothing", () => {
        const preview = cli.ok(["preview", "--policy-pack", path.join(REPO_ROOT, "policy")]);
        for (const resource of ["dind:index:DindHost", `${HOST}-container`, `${HOST}-preload-dind-provisioner/busybox:local`,
            `${HOST}-workloads-container-${NESTED}`, "dind:index:DoodClient", `${CLIENT}-container`]) {
            assert.ok(preview.includes(resource), `${resource} missing from the preview:\n${preview}`);
        }
        assert.match(preview, /Policies:\s+✅ dind-provisioner-guardrails@v0\.1\.0/);
        assert.doesNotMatch(preview, /\[mandatory\]/);
        assert.deepEqual(labelled(LABEL), [], "preview created something");
    });

    it("2. pulumi up --yes creates the DinD host with its preload and nested container, and the DooD client", () => {
        const up = cli.ok(["up", "--yes"]);
        assert.match(up, /Resources:\s+\+ \d+ created/);
        // The docker plugin reports its own version (this project's build: the SDK's + build metadata); the engine takes it as the SDK's.
        assert.doesNotMatch(up, /resource plugin \w+ is expected to have version/);
        assert.equal(dockerOk(["inspect", "--format", "{{.State.Running}} {{.HostConfig.Privileged}}", HOST]), "true true");
        assert.equal(dockerOk(["inspect", "--format", "{{.State.Running}} {{.HostConfig.Privileged}}", CLIENT]), "true false");
        assert.match(dockerOk(["exec", HOST, "docker", "ps", "--format", "{{.Names}} {{.Status}}"]), new RegExp(`^${NESTED} Up `));
        assert.equal(dockerOk(["exec", HOST, "docker", "image", "inspect", "--format", "{{.Id}}", "dind-provisioner/busybox:local"]),
            dockerOk(["image", "inspect", "--format", "{{.Id}}", "dind-provisioner/busybox:local"]));
        // A client that names no access gets the restricted default: it drives the host daemon through its
        // policy proxy, and sees none of the containers it did not create.
        assert.equal(dockerOk(["exec", CLIENT, "docker", "version", "--format", "{{.Server.Version}}"]), dockerOk(["version", "--format", "{{.Server.Version}}"]));
        assert.equal(dockerOk(["exec", CLIENT, "docker", "ps", "-a", "--format", "{{.Names}}"]), "", "the DooD client sees containers that are not its own");
    });

    it("3. pulumi stack output --json gives the endpoints, and --show-secrets the client TLS that opens the TCP endpoint", () => {
        const outputs = JSON.parse(cli.ok(["stack", "output", "--json"]));
        assert.equal(outputs.hosts[HOST].tcpEndpoint, TCP_ENDPOINT);
        assert.equal(outputs.hosts[HOST].containerId, containerId(HOST));
        assert.equal(outputs.clients[CLIENT].containerId, containerId(CLIENT));
        assert.equal(outputs.clientTls, "[secret]");
        const clientTls = JSON.parse(cli.ok(["stack", "output", "clientTls", "--json", "--show-secrets"]));
        assert.match(clientTls[HOST].key, /PRIVATE KEY/);
        writeClientTls(innerTcp().DOCKER_CERT_PATH, clientTls[HOST]);
        assert.equal(dockerOk(["ps", "--format", "{{.Names}}"], innerTcp()), NESTED);
    });

    it("4. a second pulumi up reports no changes", () => {
        const ids = [containerId(HOST), containerId(CLIENT)];
        const up = cli.ok(["up", "--yes", "--expect-no-changes"]);
        assert.match(up, /Resources:\s+\d+ unchanged\s*\n\s*\nDuration/);
        assert.deepEqual([containerId(HOST), containerId(CLIENT)], ids);
    });

    it("5. the npm scripts' engine path (Automation API, inline program) sees the CLI's stack as up to date", async () => {
        const stack = await openStack({
            stackName: STACK,
            stackFile: path.join(cli.project, "stacks", `${STACK}.yaml`),
            backendUrl: `file://${cli.backendDir}`,
            workDir: cli.project,
            env: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
        });
        const preview = await stack.preview();
        assert.deepEqual(Object.keys(preview.changeSummary), ["same"], JSON.stringify(preview.changeSummary));
    });

    it("6. pulumi plugin ls shows the docker plugin the toolchain installed under the version that plugin reports", () => {
        const installed = spawnSync("bash", [path.join(REPO_ROOT, "toolchain", "steps", "pulumi-docker-plugin.sh"), "--print-path"], { encoding: "utf8" }).stdout.trim();
        const reported = spawnSync(installed, ["-version"], { encoding: "utf8" }).stdout.trim();
        const plugins = JSON.parse(cli.ok(["plugin", "ls", "--json"])) as { name: string; kind: string; version: string; path?: string }[];
        const docker = plugins.filter((p) => p.name === "docker" && p.kind === "resource");
        assert.ok(docker.some((p) => p.version === reported), `no docker plugin ${reported} in ${JSON.stringify(docker)}`);
    });

    it("7. pulumi destroy --yes removes every container and volume of the stack", () => {
        const destroy = cli.ok(["destroy", "--yes"]);
        destroyed = true;
        assert.match(destroy, /Resources:\s+- \d+ deleted/);
        assert.deepEqual(labelled(LABEL), []);
        for (const name of [HOST, CLIENT]) assert.notEqual(docker(["container", "inspect", name]).status, 0, name);
        assert.notEqual(docker(["volume", "inspect", `${HOST}-docker`]).status, 0);
    });
});
