import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import { DindHost } from "../../../components/DindHost";
import { DindWorkloads } from "../../../components/DindWorkloads";
import { MTU_OPTION } from "../../../components/dockerd";
import { CONTAINER, DOCKER_PROVIDER, installMocks, NETWORK, OUTER_DAEMON, READ_BACK_MTU, registered, REMOTE_IMAGE, VOLUME } from "../mocks";

function hostWithWorkloads(mocks: ReturnType<typeof installMocks>) {
    const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
    const host = new DindHost("builder", { outerDaemon: OUTER_DAEMON, tcp: { port: 23760 }, preload: ["busybox:local"] }, { provider: outer });
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

    it("waits for readiness, containers and pulls also for the preloads, and replaces fixed names by deleting first", async () => {
        const mocks = installMocks();
        const made = hostWithWorkloads(mocks);
        await settle(made);
        const afterPreloads = [made.host.readiness, made.host.preloads["busybox:local"]];
        const expected: Record<string, unknown[]> = {
            "builder-workloads-network-app": [made.host.readiness],
            "builder-workloads-volume-data": [made.host.readiness],
            "builder-workloads-container-web": afterPreloads,
            "builder-workloads-image-pulled": afterPreloads,
        };
        for (const [name, dependsOn] of Object.entries(expected)) {
            const options = mocks.options.get(name)!;
            assert.deepEqual(options.dependsOn, dependsOn, name);
            assert.equal(options.deleteBeforeReplace, true, name);
        }
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
        const blind = new DindHost("blind", { outerDaemon: OUTER_DAEMON }, { provider: outer });
        assert.throws(() => new DindWorkloads("w", { host: blind, workloads: {} }), /has no tcp or unix endpoint/);
        const host = new DindHost("seeing", { outerDaemon: OUTER_DAEMON, unix: { hostDir: "/run/seeing" } }, { provider: outer });
        assert.throws(() => new DindWorkloads("w2", { host, workloads: { containers: { web: { image: "busybox:1.36", networks: ["nope"] } } } }),
            /network "nope" is used by a container but not declared/);
    });
});

describe("DindWorkloads: the host's MTU on nested networks", () => {
    for (const [mtu, expected] of [[1400, "1400"], ["auto", String(READ_BACK_MTU)]] as const) {
        it(`sets ${MTU_OPTION} on every network it creates (mtu: ${mtu})`, async () => {
            const mocks = installMocks();
            const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
            const host = new DindHost("builder", { tcp: { port: 23760 }, dockerd: { mtu } }, { provider: outer });
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
});
