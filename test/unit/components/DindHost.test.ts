import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import { DindHost, healthSchedule } from "../../../components/DindHost";
import {
    CERT_REQUEST, CERTIFICATES, CONTAINER, DOCKER_PROVIDER, installMocks, isKnown, isSecret, OUTER_DAEMON, PRELOAD, registered, REMOTE_IMAGE, secretValue,
    valueOf, VOLUME,
} from "../mocks";

/** The outer daemon's provider; created after the mocks are installed, like every resource. */
const outer = () => new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });

function tlsHost(mocks: ReturnType<typeof installMocks>, extra: Partial<ConstructorParameters<typeof DindHost>[1]> = {}) {
    return new DindHost("builder", {
        outerDaemon: OUTER_DAEMON,
        image: "dind-provisioner/dind:local",
        tcp: { port: 23760 },
        unix: { hostDir: "/var/run/dind/builder" },
        preload: ["busybox:local"],
        env: { HTTP_PROXY: "http://proxy:3128" },
        ...extra,
    }, { provider: outer(), transformations: [mocks.recordOptions] });
}

async function settle(host: DindHost) {
    await registered(host.container, host.volume, host.image, host.certificates?.server.certificate, host.certificates?.client.certificate,
        host.provider, ...Object.values(host.preloads));
}

describe("DindHost", () => {
    it("runs dockerd privileged from the image looked up on the outer daemon, storage on a named volume", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks);
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        assert.equal(container.privileged, true);
        assert.equal(container.name, "builder");
        assert.equal(container.image, "sha256:outer-dind-provisioner/dind:local");
        assert.equal(mocks.one(REMOTE_IMAGE).inputs.keepLocally, true);
        assert.equal(container.command[0], "dockerd");
        assert.deepEqual(container.volumes[0], { volumeName: "builder-docker", containerPath: "/var/lib/docker" });
        assert.equal(mocks.one(VOLUME).inputs.name, "builder-docker");
        assert.ok(container.envs.includes("HTTP_PROXY=http://proxy:3128"));
        // The official image's entrypoint would otherwise generate its own certificates.
        assert.ok(container.envs.includes("DOCKER_TLS_CERTDIR="));
        assert.ok(mocks.one(CONTAINER).provider?.startsWith("urn:pulumi:unit::dind-provisioner::pulumi:providers:docker::outer::"));
    });

    it("serves mutual TLS on the TCP endpoint, bound to loopback, with the server side handed to the container", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks);
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        for (const flag of ["--host=tcp://0.0.0.0:2376", "--tlsverify", "--tlscacert=/etc/docker/dind-tls/ca.pem",
            "--tlscert=/etc/docker/dind-tls/cert.pem", "--tlskey=/etc/docker/dind-tls/key.pem"]) {
            assert.ok(container.command.includes(flag), `missing ${flag} in ${container.command.join(" ")}`);
        }
        assert.ok(!container.command.includes("--tls=false"));
        assert.deepEqual(container.ports, [{ internal: 2376, external: 23760, ip: "127.0.0.1" }]);
        assert.deepEqual(container.uploads, [
            { file: "/etc/docker/dind-tls/ca.pem", content: "cert-of-builder-tls-ca" },
            { file: "/etc/docker/dind-tls/cert.pem", content: "cert-of-builder-tls-server-cert" },
            { file: "/etc/docker/dind-tls/key.pem", content: "key-of-builder-tls-server-key", permissions: "0600" },
        ]);
        const names = mocks.one(CERT_REQUEST, "builder-tls-server-request").inputs;
        assert.deepEqual(names.subject, { commonName: "builder" });
        assert.deepEqual(names.dnsNames, ["localhost", "builder"]);
        assert.deepEqual(names.ipAddresses, ["127.0.0.1", "::1"]);
        assert.equal(await valueOf(host.tcpEndpoint), "tcp://127.0.0.1:23760");
        assert.equal(await valueOf(host.dockerHost), "tcp://127.0.0.1:23760");
    });

    it("hands the client side to the inner provider and keeps private keys secret", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks);
        await settle(host);
        const provider = mocks.one(DOCKER_PROVIDER, "builder-inner").inputs;
        assert.equal(provider.host, "tcp://127.0.0.1:23760");
        assert.equal(provider.caMaterial, "cert-of-builder-tls-ca");
        assert.equal(provider.certMaterial, "cert-of-builder-tls-client-cert");
        assert.equal(provider.keyMaterial, "key-of-builder-tls-client-key");
        assert.deepEqual(await valueOf(host.clientTls), { ca: "cert-of-builder-tls-ca", cert: "cert-of-builder-tls-client-cert", key: "key-of-builder-tls-client-key" });
        assert.equal(await isSecret(host.clientTls), true);
        assert.equal(await isSecret(host.innerEndpoint!), true);
        assert.deepEqual(mocks.options.get("builder-container")?.additionalSecretOutputs, ["uploads"]);
        assert.deepEqual(mocks.options.get("builder-preload-busybox:local")?.additionalSecretOutputs, ["target"]);
    });

    it("waits for a health check that asks the inner daemon before anything uses it", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks, { readinessTimeout: 90 });
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        assert.deepEqual(container.healthcheck.tests, ["CMD", "docker", "--host", "unix:///var/run/docker.sock", "version"]);
        assert.ok(container.command.includes("--host=unix:///var/run/docker.sock"));
        assert.equal(container.wait, true);
        assert.equal(container.waitTimeout, 90);
        assert.equal(container.healthcheck.startPeriod, "1m30s", "Go's duration form, as the provider reads it back");
        assert.deepEqual(mocks.options.get("builder-inner")?.dependsOn, [host.container]);
        assert.deepEqual(mocks.options.get("builder-preload-busybox:local")?.dependsOn, [host.container]);
        assert.equal(mocks.options.get("builder-container")?.deleteBeforeReplace, true);
    });

    it("checks often only while starting, where the outer engine can (Docker 25+), and every second otherwise", async () => {
        const schedules: Record<string, unknown> = {};
        for (const apiVersion of ["1.41", "1.44", "1.47", undefined]) {
            const mocks = installMocks();
            const host = new DindHost("builder", { outerDaemon: OUTER_DAEMON, engineApiVersion: apiVersion }, { provider: outer() });
            await registered(host.container);
            const { interval, startInterval } = mocks.one(CONTAINER).inputs.healthcheck;
            schedules[apiVersion ?? "unknown"] = { interval, startInterval };
        }
        assert.deepEqual(schedules, {
            "1.41": { interval: "1s", startInterval: undefined },
            "1.44": { interval: "30s", startInterval: "250ms" },
            "1.47": { interval: "30s", startInterval: "250ms" },
            unknown: { interval: "30s", startInterval: "250ms" },
        }, "an engine that does not answer is taken as current");
        assert.deepEqual(healthSchedule("1.43"), { interval: "1s" });
        const mocks = installMocks();
        await registered(new DindHost("tuned", { outerDaemon: OUTER_DAEMON, engineApiVersion: "1.41", healthCheck: { interval: "5s" } }, { provider: outer() }).container);
        assert.equal(mocks.one(CONTAINER).inputs.healthcheck.interval, "5s", "an explicit healthCheck wins");
    });

    it("leaves the inner provider unconfigured in a preview where the container does not exist yet", async () => {
        const mocks = installMocks(true);
        const host = tlsHost(mocks);
        await settle(host);
        assert.equal(await isKnown(host.containerId), false);
        const provider = mocks.one(DOCKER_PROVIDER, "builder-inner").inputs;
        // The engine receives an unknown host: it cannot dial a daemon that is not there (pulumi-docker#139).
        assert.equal(provider.host?.__pulumiUnknown, true);
        // The preload waits for the container it copies into.
        assert.equal(mocks.one(PRELOAD).inputs.targetContainer?.__pulumiUnknown, true);
        // The endpoint itself is still known, for display.
        assert.equal(await valueOf(host.tcpEndpoint), "tcp://127.0.0.1:23760");
    });

    it("mounts the unix endpoint's host directory and listens there", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks);
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        assert.deepEqual(container.volumes[1], { hostPath: "/var/run/dind/builder", containerPath: "/run/dind-host" });
        assert.ok(container.command.includes("--host=unix:///run/dind-host/docker.sock"));
        assert.equal(await valueOf(host.unixEndpoint), "unix:///var/run/dind/builder/docker.sock");
    });

    it("uses the unix endpoint for the inner provider when there is no TCP endpoint", async () => {
        const mocks = installMocks();
        const host = new DindHost("solo", { outerDaemon: OUTER_DAEMON, unix: { hostDir: "/run/solo" } }, { provider: outer() });
        await registered(host.container, host.provider);
        assert.equal(mocks.byType(CERTIFICATES).length, 0);
        const provider = mocks.one(DOCKER_PROVIDER, "solo-inner").inputs;
        assert.equal(provider.host, "unix:///run/solo/docker.sock");
        assert.equal(provider.keyMaterial, undefined);
        assert.equal(mocks.one(CONTAINER).inputs.image, "sha256:outer-docker:27.5.1-dind");
    });

    it("serves plain TCP only when tls is off and insecure is on, and says so to dockerd", async () => {
        const mocks = installMocks();
        const host = new DindHost("plain", { outerDaemon: OUTER_DAEMON, tcp: { port: 2375, tls: false, insecure: true, bind: "0.0.0.0" } }, { provider: outer() });
        await registered(host.container, host.provider);
        const container = mocks.one(CONTAINER).inputs;
        assert.ok(container.command.includes("--host=tcp://0.0.0.0:2375"));
        assert.ok(container.command.includes("--tls=false"));
        assert.ok(!container.command.includes("--tlsverify"));
        assert.deepEqual(container.uploads, []);
        assert.deepEqual(container.ports, [{ internal: 2375, external: 2375, ip: "0.0.0.0" }]);
        assert.equal(mocks.byType(CERTIFICATES).length, 0);
        assert.equal(await valueOf(host.clientTls), undefined);
        assert.throws(() => new DindHost("refused", { outerDaemon: OUTER_DAEMON, tcp: { port: 2375, tls: false } }, { provider: outer() }), /tls false needs tcp.insecure true/);
    });

    it("names a remote daemon's machine in the certificate and dials it there", async () => {
        const mocks = installMocks();
        const host = new DindHost("farm", {
            outerDaemon: { host: "tcp://build-01.example.com:2376", certPath: "/certs" },
            tcp: { port: 23761, bind: "10.0.0.7", sans: ["dind.example.com", "192.168.1.9"] },
        }, { provider: outer() });
        await registered(host.container, host.certificates?.server.request);
        const names = mocks.one(CERT_REQUEST, "farm-tls-server-request").inputs;
        assert.deepEqual(names.dnsNames, ["localhost", "farm", "dind.example.com", "build-01.example.com"]);
        assert.deepEqual(names.ipAddresses, ["127.0.0.1", "::1", "192.168.1.9", "10.0.0.7"]);
        assert.equal(await valueOf(host.tcpEndpoint), "tcp://build-01.example.com:23761");
    });

    it("preloads each image from the outer daemon into the inner one", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks, { preload: ["busybox:local", "alpine:3.20"] });
        await settle(host);
        const preloads = mocks.byType(PRELOAD);
        assert.deepEqual(preloads.map((p) => p.inputs.image), ["busybox:local", "alpine:3.20"]);
        assert.deepEqual(preloads[0].inputs.source, { host: "unix:///var/run/docker.sock" });
        assert.equal(preloads[0].inputs.targetContainer, "builder-container-id", "a new DinD container has the copy checked again");
        assert.deepEqual(secretValue(preloads[0].inputs.target), {
            host: "tcp://127.0.0.1:23760", ca: "cert-of-builder-tls-ca", cert: "cert-of-builder-tls-client-cert", key: "key-of-builder-tls-client-key",
        });
        assert.deepEqual(await valueOf(host.preloadedImageIds), {
            "busybox:local": "sha256:preloaded-busybox:local", "alpine:3.20": "sha256:preloaded-alpine:3.20",
        });
    });

    it("keeps the volume on destroy when storage.retain is set", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks, { storage: { volume: "builder-cache", retain: true } });
        await settle(host);
        assert.equal(mocks.one(VOLUME).inputs.name, "builder-cache");
        assert.equal(mocks.options.get("builder-storage")?.retainOnDelete, true);
        // Nested state outlives a retained volume: nothing is deleted with it.
        assert.equal(host.nestedDeletedWith, undefined);
        assert.equal(mocks.options.get("builder-preload-busybox:local")?.deletedWith, undefined);
        const other = installMocks();
        const plain = tlsHost(other);
        await settle(plain);
        assert.equal(other.options.get("builder-storage")?.retainOnDelete, false);
        assert.equal(other.options.get("builder-preload-busybox:local")?.deletedWith, plain.volume);
    });

    it("lets transform hooks adjust the container, volume and provider", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks, {
            transform: {
                container: { memory: 2048 },
                volume: (args) => { args.driver = "local"; },
                provider: (args) => ({ ...args, sshOpts: ["-o", "BatchMode=yes"] }),
            },
        });
        await settle(host);
        assert.equal(mocks.one(CONTAINER).inputs.memory, 2048);
        assert.equal(mocks.one(VOLUME).inputs.driver, "local");
        // Provider configuration travels JSON-encoded.
        assert.deepEqual(JSON.parse(mocks.one(DOCKER_PROVIDER, "builder-inner").inputs.sshOpts), ["-o", "BatchMode=yes"]);
    });

    it("refuses preload without an endpoint to reach the inner daemon", () => {
        installMocks();
        assert.throws(() => new DindHost("blind", { outerDaemon: OUTER_DAEMON, preload: ["busybox:local"] }, { provider: outer() }), /preload needs a tcp or unix endpoint/);
    });
});
