import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DindPool, DindPoolArgs } from "../../../components/DindPool";
import { CACHE_KEEP_LABEL, CACHE_REGISTRY_LABEL, DECLARED_LABEL, DIND_HOST_ROLE, HOST_LABEL, POOL_LABEL, ROLE_LABEL } from "../../../components/markers";
import { CONTAINER, fakeSteps, installMocks, NETWORK, OUTER_DAEMON, registered, VOLUME } from "../mocks";

const labelsOf = (inputs: Record<string, any>): Record<string, string> => Object.fromEntries((inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));

function pool(args: Partial<DindPoolArgs> = {}) {
    const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
    return new DindPool("ci", {
        size: 3,
        template: { outerDaemon: OUTER_DAEMON, image: "dind-provisioner/dind:local", tcp: { port: 24500 }, labels: { team: "ci", [POOL_LABEL]: "forged" }, steps: fakeSteps() },
        ...args,
    }, { provider: outer });
}

async function settle(made: DindPool) {
    await registered(...Object.values(made.members).flatMap((m) => [m.container, m.volume]), ...Object.values(made.workloads).flatMap((w) => Object.values(w.containers)));
}

describe("DindPool", () => {
    it("makes size members, each with its own name, consecutive port and volume, marked with their pool", async () => {
        const mocks = installMocks();
        const made = pool();
        await settle(made);
        assert.deepEqual(made.memberNames, ["ci-1", "ci-2", "ci-3"]);
        const containers = mocks.byType(CONTAINER).map((c) => c.inputs);
        assert.deepEqual(containers.map((c) => [c.name, c.ports[0].external]), [["ci-1", 24500], ["ci-2", 24501], ["ci-3", 24502]]);
        assert.deepEqual(mocks.byType(VOLUME).map((v) => v.inputs.name), ["ci-1-docker", "ci-2-docker", "ci-3-docker"]);
        for (const [i, c] of containers.entries()) {
            const labels = labelsOf(c);
            assert.deepEqual([labels[ROLE_LABEL], labels[HOST_LABEL], labels[POOL_LABEL], labels.team], [DIND_HOST_ROLE, `ci-${i + 1}`, "ci", "ci"], "a template label cannot fake the pool");
        }
    });

    it("keeps each member's client TLS inside its container for lease (the key 0600; uploads are secret outputs of the container)", async () => {
        const mocks = installMocks();
        await settle(pool({ size: 1 }));
        const uploads = mocks.one(CONTAINER).inputs.uploads as { file: string; permissions?: string; content: unknown }[];
        const client = uploads.filter((u) => u.file.startsWith("/etc/docker/dind-tls/client/"));
        assert.deepEqual(client.map((u) => [u.file, u.permissions]),
            [["/etc/docker/dind-tls/client/ca.pem", undefined], ["/etc/docker/dind-tls/client/cert.pem", undefined], ["/etc/docker/dind-tls/client/key.pem", "0600"]]);
        assert.equal(client[2].content, "key-of-ci-1-tls-client-key");
    });

    it("gives each member its own socket directory, and labels its workloads as declared", async () => {
        const mocks = installMocks();
        await settle(pool({
            size: 2,
            template: { outerDaemon: OUTER_DAEMON, unix: { hostDir: "/var/run/dind/ci/" }, steps: fakeSteps() },
            workloads: { containers: { svc: { image: "ghcr.io/acme/svc:1" } } },
            pullThrough: { "ghcr.io": "ghcr-cache:5000" },
        }));
        const dind = mocks.byType(CONTAINER).filter((c) => c.name.endsWith("-container") && !c.name.includes("workloads"));
        assert.deepEqual(dind.map((c) => c.inputs.volumes[1].hostPath), ["/var/run/dind/ci/ci-1", "/var/run/dind/ci/ci-2"]);
        const nested = mocks.byType(CONTAINER).filter((c) => c.name.includes("workloads-container-svc"));
        assert.equal(nested.length, 2);
        for (const c of nested) assert.equal(labelsOf(c.inputs)[DECLARED_LABEL], "true");
    });

    it("with a build-cache registry: members join its network, trust its CA, run the containerd image store, and name it for lease", async () => {
        const mocks = installMocks();
        const registry = { address: "build-cache:5000", mirrorUrl: "https://build-cache:5000", networkName: pulumi.output("build-cache-net"), caCert: pulumi.output<string | undefined>("CA-PEM") };
        await settle(pool({ size: 1, cache: { keep: "20GB", registry } }));
        const container = mocks.one(CONTAINER).inputs;
        assert.deepEqual(container.networksAdvanced, [{ name: "bridge" }, { name: "build-cache-net" }]);
        const upload = (file: string) => container.uploads.find((u: { file: string }) => u.file === file);
        assert.equal(upload("/etc/docker/certs.d/build-cache:5000/ca.crt").content, "CA-PEM");
        assert.deepEqual(JSON.parse(upload("/etc/docker/daemon.json").content).features, { "containerd-snapshotter": true });
        const labels = labelsOf(container);
        assert.deepEqual([labels[CACHE_KEEP_LABEL], labels[CACHE_REGISTRY_LABEL]], ["20000000000", "build-cache:5000"]);
    });

    it("refuses what it derives per member, a template without an endpoint, sizes out of range, ports past 65535", () => {
        installMocks();
        const template = { outerDaemon: OUTER_DAEMON, tcp: { port: 24500 } };
        assert.throws(() => pool({ size: 0 }), /size must be a whole number from 1 to 100, got 0/);
        assert.throws(() => pool({ size: 101 }), /got 101/);
        assert.throws(() => pool({ template: { outerDaemon: OUTER_DAEMON } }), /the template needs a tcp or unix endpoint/);
        assert.throws(() => pool({ template: { ...template, containerName: "x" } }), /cannot name its container/);
        assert.throws(() => pool({ template: { ...template, storage: { volume: "x" } } }), /cannot name one/);
        assert.throws(() => pool({ template: { outerDaemon: OUTER_DAEMON, tcp: { port: 65534 } } }), /ports 65534 to 65536 go past 65535/);
        const registry = { address: "r:5000", mirrorUrl: "https://r:5000", networkName: pulumi.output("n"), caCert: pulumi.output<string | undefined>("CA") };
        assert.throws(() => pool({ template: { ...template, dockerd: { features: { "containerd-snapshotter": false } } }, cache: { registry } }), /needs the containerd image store/);
    });

    it("adds no network of its own", async () => {
        const mocks = installMocks();
        await settle(pool({ size: 1 }));
        assert.equal(mocks.byType(NETWORK).length, 0);
    });
});
