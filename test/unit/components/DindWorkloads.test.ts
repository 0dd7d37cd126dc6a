import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import { DindHost } from "../../../components/DindHost";
import { DindWorkloads, pullThroughReference } from "../../../components/DindWorkloads";
import { MTU_OPTION } from "../../../components/dockerd";
import { CONTAINER, DOCKER_PROVIDER, fakeSteps, installMocks, NETWORK, OUTER_DAEMON, READ_BACK_MTU, registered, REMOTE_IMAGE, VOLUME } from "../mocks";

function hostWithWorkloads(mocks: ReturnType<typeof installMocks>) {
    const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
    const host = new DindHost("builder", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON, tcp: { port: 23760 }, preload: ["busybox:local"] }, { provider: outer });
    const workloads = new DindWorkloads("builder-workloads", {
        host,
        workloads: {
            networks: ["app"],
            volumes: ["data"],
            containers: {
                web: {
                    image: "busybox:local",
                    command: ["httpd", "-f", "-p", "8080"],
                    env: { MODE: "test" },
                    ports: [{ internal: 8080, external: 8080 }],
                    networks: ["app"],
                    volumes: [{ volume: "data", path: "/data" }],
                },
                pulled: { image: "nginx:1.27" },
            },
        },
    }, { parent: host, transformations: [mocks.recordOptions] });
    return { host, workloads };
}

async function settle({ host, workloads }: ReturnType<typeof hostWithWorkloads>) {
    await registered(host.container, host.provider, ...Object.values(host.preloads), ...Object.values(workloads.networks),
        ...Object.values(workloads.volumes), ...Object.values(workloads.containers));
}

describe("DindWorkloads", () => {
    it("creates every nested resource through the host's inner provider", async () => {
        const mocks = installMocks();
        const made = hostWithWorkloads(mocks);
        await settle(made);
        const innerUrn = mocks.one(DOCKER_PROVIDER, "builder-inner").urn;
        const nested = [
            mocks.one(NETWORK, "builder-workloads-network-app"),
            mocks.one(VOLUME, "builder-workloads-volume-data"),
            mocks.one(CONTAINER, "builder-workloads-container-web"),
            mocks.one(CONTAINER, "builder-workloads-container-pulled"),
            mocks.one(REMOTE_IMAGE, "builder-workloads-image-pulled"),
        ];
        for (const resource of nested) {
            assert.ok(resource.provider?.startsWith("urn:pulumi:unit::dind-provisioner::dind:index:DindHost$pulumi:providers:docker::builder-inner::"),
                `${resource.name} uses ${resource.provider}`);
        }
        assert.ok(innerUrn);
        assert.ok(mocks.one(CONTAINER, "builder-container").provider?.includes("::outer::"));
    });

    it("depends on the DinD container, uses a preloaded image by its copied id, and replaces fixed names by deleting first", async () => {
        const mocks = installMocks();
        const made = hostWithWorkloads(mocks);
        await settle(made);
        for (const name of ["builder-workloads-network-app", "builder-workloads-volume-data", "builder-workloads-container-web"]) {
            const options = mocks.options.get(name)!;
            assert.deepEqual(options.dependsOn, [made.host.container], name);
            assert.equal(options.deleteBeforeReplace, true, name);
        }
        // The id is known only once the copy is done, so the container waits for it; networks and volumes overlap the copy.
        assert.equal(mocks.one(CONTAINER, "builder-workloads-container-web").inputs.image, "sha256:preloaded-busybox:local");
        // Not as a property dependency on the DinD container: replacing it would replace the nested container too.
        const imageId = made.host.preloads["busybox:local"].imageId as unknown as { allResources(): Promise<Set<unknown>> };
        assert.equal((await imageId.allResources()).size, 0);
    });

    it("goes with the host's unretained storage on destroy, so no inner daemon is dialled", async () => {
        const mocks = installMocks();
        const made = hostWithWorkloads(mocks);
        await settle(made);
        assert.equal(made.host.nestedDeletedWith, made.host.volume);
        for (const name of ["builder-workloads-network-app", "builder-workloads-volume-data", "builder-workloads-container-web", "builder-workloads-image-pulled"]) {
            assert.equal(mocks.options.get(name)?.deletedWith, made.host.volume, name);
        }
    });

    it("runs a preloaded image by its id and maps ports, env, networks and volumes", async () => {
        const mocks = installMocks();
        const made = hostWithWorkloads(mocks);
        await settle(made);
        const web = mocks.one(CONTAINER, "builder-workloads-container-web").inputs;
        assert.equal(web.name, "web");
        assert.equal(web.image, "sha256:preloaded-busybox:local");
        assert.deepEqual(web.command, ["httpd", "-f", "-p", "8080"]);
        assert.deepEqual(web.envs, ["MODE=test"]);
        assert.deepEqual(web.ports, [{ internal: 8080, external: 8080, protocol: "tcp" }]);
        assert.deepEqual(web.networksAdvanced, [{ name: "app" }]);
        assert.deepEqual(web.volumes, [{ volumeName: "data", containerPath: "/data", readOnly: false }]);
        assert.equal(web.restart, "unless-stopped");
        assert.equal(web.privileged, undefined);
        const pulled = mocks.one(CONTAINER, "builder-workloads-container-pulled").inputs;
        assert.equal(pulled.image, "sha256:outer-nginx:1.27");
        assert.equal(mocks.one(REMOTE_IMAGE, "builder-workloads-image-pulled").inputs.keepLocally, true);
    });

    it("refuses a host without an endpoint and references to undeclared networks", () => {
        installMocks();
        const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
        const blind = new DindHost("blind", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON }, { provider: outer });
        assert.throws(() => new DindWorkloads("w", { host: blind, workloads: {} }), /has no tcp or unix endpoint/);
        const host = new DindHost("seeing", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON, unix: { hostDir: "/run/seeing" } }, { provider: outer });
        assert.throws(() => new DindWorkloads("w2", { host, workloads: { containers: { web: { image: "busybox:1.36", networks: ["nope"] } } } }),
            /network "nope" is used by a container but not declared/);
    });
});

describe("DindWorkloads: the host's MTU on nested networks", () => {
    for (const [mtu, expected] of [[1400, "1400"], ["auto", String(READ_BACK_MTU)]] as const) {
        it(`sets ${MTU_OPTION} on every network it creates (mtu: ${mtu})`, async () => {
            const mocks = installMocks();
            const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
            const host = new DindHost("builder", { steps: fakeSteps(), tcp: { port: 23760 }, dockerd: { mtu } }, { provider: outer });
            const workloads = new DindWorkloads("builder-workloads", { host, workloads: { networks: ["app", "db"] } }, { parent: host });
            await registered(...Object.values(workloads.networks));
            for (const network of mocks.byType(NETWORK)) assert.deepEqual(network.inputs.options, { [MTU_OPTION]: expected }, network.name);
            assert.equal(mocks.byType(NETWORK).length, 2);
        });
    }

    it("leaves the networks' MTU to dockerd when the host sets none", async () => {
        const mocks = installMocks();
        const made = hostWithWorkloads(mocks);
        await settle(made);
        assert.equal(mocks.one(NETWORK).inputs.options, undefined);
    });

    it("pulls a registry's images through its cache and tags them as written; Docker Hub's and digests keep their names", async () => {
        const mocks = installMocks();
        const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
        const host = new DindHost("builder", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON, tcp: { port: 23760 } }, { provider: outer });
        const workloads = new DindWorkloads("builder-workloads", {
            host,
            labels: { team: "ci" },
            pullThrough: { "ghcr.io": "ghcr-cache:5000" },
            workloads: { containers: { app: { image: "ghcr.io/acme/app:1" }, pinned: { image: "ghcr.io/acme/app@sha256:abc" }, hub: { image: "nginx:1.27" }, quay: { image: "quay.io/x/y:2" } } },
        }, { parent: host });
        await registered(...Object.values(workloads.containers));
        assert.deepEqual(mocks.byType(REMOTE_IMAGE).filter((i) => i.name.startsWith("builder-workloads")).map((i) => i.inputs.name),
            ["ghcr-cache:5000/acme/app:1", "ghcr-cache:5000/acme/app@sha256:abc", "nginx:1.27", "quay.io/x/y:2"]);
        assert.deepEqual(mocks.byType("docker:index/tag:Tag").map((t) => [t.inputs.sourceImage, t.inputs.targetImage]), [["sha256:outer-ghcr-cache:5000/acme/app:1", "ghcr.io/acme/app:1"]]);
        for (const c of Object.keys(workloads.containers)) assert.deepEqual(mocks.one(CONTAINER, `builder-workloads-container-${c}`).inputs.labels, [{ label: "team", value: "ci" }]);
    });

    it("gives nested objects no labels when given none, as before the argument existed", async () => {
        const mocks = installMocks();
        await settle(hostWithWorkloads(mocks));
        assert.equal(mocks.one(CONTAINER, "builder-workloads-container-web").inputs.labels, undefined);
        assert.equal(mocks.one(NETWORK).inputs.labels, undefined);
        assert.equal(mocks.byType(VOLUME).find((v) => v.name === "builder-workloads-volume-data")!.inputs.labels, undefined);
    });

    it("reads an image's registry as Docker does", () => {
        const through = { "ghcr.io": "c:5000", "localhost:5001": "l:5000", "registry.internal": "r:5000" };
        assert.equal(pullThroughReference("ghcr.io/a/b:1", through), "c:5000/a/b:1");
        assert.equal(pullThroughReference("localhost:5001/b", through), "l:5000/b");
        assert.equal(pullThroughReference("registry.internal/team/b:2", through), "r:5000/team/b:2");
        assert.equal(pullThroughReference("acme/app:1", through), undefined, "Docker Hub's: a user name, not a registry");
        assert.equal(pullThroughReference("docker.io/library/b", { "docker.io": "x:5000" }), undefined, "Docker Hub goes through registry-mirrors");
        assert.equal(pullThroughReference("constructor.io/x", {}), undefined);
    });
});
