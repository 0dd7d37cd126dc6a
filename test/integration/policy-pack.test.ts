// The guardrails policy pack, run by the Pulumi CLI on the real lane: a program that makes a
// privileged container, a docker.sock mount, a plain-TCP dockerd and a public port with plain
// docker.Container resources is refused at preview, with each policy's message. (The compliant
// case, index.ts with the components, is step 1 of pulumi-cli.test.ts.)
import * as assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../driver/stack";
import { dockerOk } from "../support/harness";
import { ScratchProject } from "../support/pulumiCli";

const STACK = "lh-policy";

describe("guardrails policy pack under the Pulumi CLI", function () {
    this.timeout(10 * 60_000);
    let cli: ScratchProject;

    before(() => {
        cli = new ScratchProject("dind-provisioner-lh-policy-", ["package.json", "tsconfig.json"],
            { ...ScratchProject.repositoryProject(), name: "lh-policy-violations" });
        copyFileSync(path.join(__dirname, "fixtures", "policy-violations", "index.ts"), path.join(cli.project, "index.ts"));
        cli.ok(["stack", "init", STACK]);
    });

    after(() => cli?.dispose());

    it("refuses a violating program at preview with every policy's message, and creates nothing", () => {
        const preview = cli.pulumi(["preview", "--policy-pack", path.join(REPO_ROOT, "policy")]);
        const output = preview.stdout + preview.stderr;
        assert.notEqual(preview.status, 0, output);
        assert.match(output, /Policies:\s+❌ dind-provisioner-guardrails@v0\.1\.0/);
        for (const expected of [
            "container lh-privileged is privileged, but only DinD hosts (DindHost) may be",
            "container lh-socket mounts the Docker socket (/var/run/docker.sock), but only DooD clients (DoodClient) and their policy proxies (DoodPolicyProxy) may",
            "container lh-plain-tcp serves the Docker API on tcp://0.0.0.0:2375 without --tlsverify",
            "container lh-public publishes 0.0.0.0:23861 beyond loopback without declaring it",
        ]) {
            assert.ok(output.includes(expected), `"${expected}" missing from:\n${output}`);
        }
        for (const [policy, name] of [["privileged-only-dind-hosts", "lh-privileged"], ["docker-socket-only-dood-clients", "lh-socket"],
            ["tcp-endpoints-need-tls", "lh-plain-tcp"], ["loopback-binds-unless-declared", "lh-public"]]) {
            assert.ok(output.includes(`[mandatory]  ${policy}  (docker:index:Container: ${name})`), `${policy} on ${name} missing from:\n${output}`);
        }
        assert.equal(dockerOk(["ps", "-a", "--filter", "name=^/lh-(privileged|socket|plain-tcp|public)", "--format", "{{.Names}}"]), "");
    });

    it("lets the same program through without the policy pack, so the refusal is the pack's doing", () => {
        const preview = cli.pulumi(["preview"]);
        assert.equal(preview.status, 0, preview.stdout + preview.stderr);
        assert.match(preview.stdout, /\+ \d+ to create/);
        assert.doesNotMatch(preview.stdout, /Policies:|\[mandatory\]/);
    });
});
