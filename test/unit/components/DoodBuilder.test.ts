import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { BUILDER_SECCOMP_PROFILE, DOCKER_DEFAULT_SECCOMP, NAMESPACE_SYSCALLS } from "../../../components/builderSeccomp";
import { builderConfig, DoodBuilder } from "../../../components/DoodBuilder";
import { CONTAINER, installMocks, registered, REMOTE_IMAGE, VOLUME } from "../mocks";

describe("DoodBuilder", () => {
    it("runs buildkitd unprivileged: SETUID, SETGID and CHOWN only, no-new-privileges, Docker's seccomp profile plus namespaces", async () => {
        const mocks = installMocks();
        const builder = new DoodBuilder("agent-buildkit", { client: "agent" }, { transformations: [mocks.recordOptions] });
        await registered(builder.container);
        const container = mocks.one(CONTAINER).inputs;
        assert.equal(container.name, "agent-buildkit");
        assert.equal(mocks.one(REMOTE_IMAGE).inputs.name, "dind-provisioner/buildkit:local");
        assert.equal(container.privileged, false);
        assert.deepEqual(container.capabilities, { drops: ["ALL"], adds: ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"] });
        const [noNewPrivileges, seccomp] = container.securityOpts;
        assert.equal(noNewPrivileges, "no-new-privileges");
        const profile = JSON.parse(seccomp.replace(/^seccomp=/, ""));
        assert.deepEqual(profile, JSON.parse(JSON.stringify(BUILDER_SECCOMP_PROFILE)));
        assert.deepEqual(profile.syscalls.slice(0, -1), DOCKER_DEFAULT_SECCOMP.syscalls, "Docker's default rules, unchanged");
        assert.deepEqual(profile.syscalls.at(-1), { names: NAMESPACE_SYSCALLS, action: "SCMP_ACT_ALLOW" });
        assert.deepEqual(container.command, ["--oci-worker-no-process-sandbox", "--config=/etc/buildkit/buildkitd.toml"]);
        assert.deepEqual(container.volumes, [
            { volumeName: "agent-buildkit", containerPath: "/var/lib/buildkit" },
            { volumeName: "agent-buildkit-socket", containerPath: "/run/buildkit" },
        ]);
        assert.deepEqual(mocks.byType(VOLUME).map((v) => v.inputs.name), ["agent-buildkit", "agent-buildkit-socket"]);
        assert.equal(container.networksAdvanced, undefined);
        assert.ok(container.labels.some((l: { label: string; value: string }) => l.label === "dind-provisioner.role" && l.value === "dood-builder"));
        assert.equal(mocks.options.get("agent-buildkit-container")?.deleteBeforeReplace, true);
    });

    it("reaches the registries it is given: their networks, their CAs, plain HTTP where they serve it; grants the entitlements it is told", async () => {
        const mocks = installMocks();
        const builder = new DoodBuilder("b", {
            client: "agent",
            registries: [
                { address: "cache:5000", network: pulumi.output("cache-net"), ca: pulumi.output("PEM OF CACHE"), insecure: false },
                { address: "plain:5000", network: "plain-net", insecure: true },
            ],
            entitlements: ["network.host"],
        });
        await registered(builder.container);
        const container = mocks.one(CONTAINER).inputs;
        assert.deepEqual(container.networksAdvanced, [{ name: "bridge" }, { name: "cache-net" }, { name: "plain-net" }]);
        assert.deepEqual(container.uploads, [
            { file: "/etc/buildkit/buildkitd.toml", content: '[registry."cache:5000"]\n  ca = ["/etc/buildkit/certs/cache:5000/ca.pem"]\n[registry."plain:5000"]\n  http = true\n' },
            { file: "/etc/buildkit/certs/cache:5000/ca.pem", content: "PEM OF CACHE" },
        ]);
        assert.ok(container.command.includes("--allow-insecure-entitlement=network.host"));
    });

    it("writes an empty configuration when no registry is named", () => {
        assert.equal(builderConfig([]), "\n");
    });
});
