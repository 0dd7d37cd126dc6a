import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import { DindHost, healthSchedule } from "../../../components/DindHost";
import {
    CERT_REQUEST, CERTIFICATES, CONTAINER, DOCKER_PROVIDER, fakeSteps, installMocks, isKnown, isSecret, OUTER_DAEMON, PRELOAD, READ_BACK_MTU, READINESS, registered,
    REMOTE_IMAGE, secretValue, valueOf, VOLUME,
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
        steps: fakeSteps(),
        ...extra,
    }, { provider: outer(), transformations: [mocks.recordOptions] });
}

async function settle(host: DindHost) {
    await registered(host.container, host.volume, host.image, host.readiness, host.certificates?.server.certificate, host.certificates?.client?.certificate,
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
        // The steps run in the program: the endpoint with its key is never an input the state would keep.
        assert.deepEqual(mocks.one(READINESS).inputs, {});
        assert.deepEqual(mocks.one(PRELOAD).inputs, {});
    });

    it("configures the inner provider only once the readiness step, pinging the inner daemon, is done", async () => {
        const mocks = installMocks();
        const steps = fakeSteps();
        let answer: () => void = () => undefined;
        const answered = new Promise<void>((resolve) => (answer = resolve));
        const awaitInnerDaemon = steps.readiness!.awaitInnerDaemon;
        steps.readiness!.awaitInnerDaemon = async (inputs) => (await answered, awaitInnerDaemon(inputs));
        const host = tlsHost(mocks, { readinessTimeout: 90, steps });
        await registered(host.container);
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.deepEqual(mocks.byType(DOCKER_PROVIDER).map((p) => p.name), ["outer"], "no inner provider while the daemon does not answer");
        answer();
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        assert.deepEqual(container.healthcheck.tests, ["CMD", "docker", "--host", "unix:///var/run/docker.sock", "version"]);
        assert.ok(container.command.includes("--host=unix:///var/run/docker.sock"));
        // Not the provider's wait, which sees an exited daemon only at its timeout.
        assert.equal(container.wait, false);
        assert.equal(container.healthcheck.startPeriod, "1m30s", "Go's duration form, as the provider reads it back");
        const [call] = steps.calls.readiness;
        assert.deepEqual({ host: call.host, containerId: call.containerId, timeoutSeconds: call.timeoutSeconds, outer: call.outer.host, inner: call.inner?.host },
            { host: "builder", containerId: "builder-container-id", timeoutSeconds: 90, outer: "unix:///var/run/docker.sock", inner: "tcp://127.0.0.1:23760" });
        assert.deepEqual(mocks.options.get("builder-inner")?.dependsOn, [host.container]);
        assert.equal(mocks.options.get("builder-container")?.deleteBeforeReplace, true);
    });

    it("without an endpoint, checks health often only while starting where the outer engine can (Docker 25+), else every second", async () => {
        const schedules: Record<string, unknown> = {};
        for (const apiVersion of ["1.41", "1.44", "1.47", undefined]) {
            const mocks = installMocks();
            const host = new DindHost("builder", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON, engineApiVersion: apiVersion }, { provider: outer() });
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
        assert.deepEqual(healthSchedule("1.43", false), { interval: "1s" });
        const mocks = installMocks();
        await registered(new DindHost("tuned", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON, engineApiVersion: "1.41", healthCheck: { interval: "5s" } }, { provider: outer() }).container);
        assert.equal(mocks.one(CONTAINER).inputs.healthcheck.interval, "5s", "an explicit healthCheck wins");
    });

    it("with an endpoint, checks health every 30 s on any engine (after a start interval where there is one): readiness pings the inner daemon itself", async () => {
        assert.deepEqual(healthSchedule("1.41", true), { interval: "30s" });
        assert.deepEqual(healthSchedule("1.47", true), { interval: "30s", startInterval: "1s" });
        const mocks = installMocks();
        await settle(tlsHost(mocks, { engineApiVersion: "1.41" }));
        assert.deepEqual(mocks.one(CONTAINER).inputs.healthcheck.interval, "30s");
        assert.equal(mocks.one(CONTAINER).inputs.healthcheck.startInterval, undefined);
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
        assert.equal(await isKnown(host.preloadedImageIds), false);
        // The endpoint itself is still known, for display.
        assert.equal(await valueOf(host.tcpEndpoint), "tcp://127.0.0.1:23760");
    });

    it("gives the DinD container's outer-network address, where nested published ports are reached", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks);
        await settle(host);
        assert.equal(await valueOf(host.publishedPortsAddress), "ip-of-builder-container");
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
        const host = new DindHost("solo", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON, unix: { hostDir: "/run/solo" } }, { provider: outer() });
        await registered(host.container, host.provider);
        assert.equal(mocks.byType(CERTIFICATES).length, 0);
        const provider = mocks.one(DOCKER_PROVIDER, "solo-inner").inputs;
        assert.equal(provider.host, "unix:///run/solo/docker.sock");
        assert.equal(provider.keyMaterial, undefined);
        assert.equal(mocks.one(CONTAINER).inputs.image, "sha256:outer-docker:27.5.1-dind");
    });

    it("serves plain TCP only when tls is off and insecure is on, and says so to dockerd", async () => {
        const mocks = installMocks();
        const host = new DindHost("plain", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON, tcp: { port: 2375, tls: false, insecure: true, bind: "0.0.0.0" } }, { provider: outer() });
        await registered(host.container, host.provider);
        const container = mocks.one(CONTAINER).inputs;
        assert.ok(container.command.includes("--host=tcp://0.0.0.0:2375"));
        assert.ok(container.command.includes("--tls=false"));
        assert.ok(!container.command.includes("--tlsverify"));
        assert.deepEqual(container.uploads, []);
        assert.deepEqual(container.ports, [{ internal: 2375, external: 2375, ip: "0.0.0.0" }]);
        assert.equal(mocks.byType(CERTIFICATES).length, 0);
        assert.equal(await valueOf(host.clientTls), undefined);
        assert.throws(() => new DindHost("refused", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON, tcp: { port: 2375, tls: false } }, { provider: outer() }), /tls false needs tcp.insecure true/);
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
        // The port is published on 10.0.0.7 only: that is where it answers, whatever the machine's name resolves to.
        assert.equal(await valueOf(host.tcpEndpoint), "tcp://10.0.0.7:23761");
    });

    it("dials a wildcard bind on a remote daemon at that daemon's machine", async () => {
        installMocks();
        const host = new DindHost("farm", {
            outerDaemon: { host: "ssh://ci@172.17.0.9", sshOpts: ["-i", "/keys/farm"] },
            tcp: { port: 23761, bind: "0.0.0.0" },
            healthCheck: { interval: "1s" },
        }, { provider: outer() });
        assert.equal(await valueOf(host.tcpEndpoint), "tcp://172.17.0.9:23761");
    });

    it("preloads each image from the outer daemon into the inner one", async () => {
        const mocks = installMocks();
        const steps = fakeSteps();
        const host = tlsHost(mocks, { preload: ["busybox:local", "alpine:3.20"], steps });
        await settle(host);
        assert.deepEqual(mocks.byType(PRELOAD).map((p) => p.name), ["builder-preload-busybox:local", "builder-preload-alpine:3.20"]);
        assert.deepEqual(await valueOf(host.preloadedImageIds), {
            "busybox:local": "sha256:preloaded-busybox:local", "alpine:3.20": "sha256:preloaded-alpine:3.20",
        });
        const [first] = steps.calls.preloads;
        assert.deepEqual(steps.calls.preloads.map((p) => p.image), ["busybox:local", "alpine:3.20"]);
        assert.deepEqual(first.source, { host: "unix:///var/run/docker.sock" });
        assert.deepEqual(first.target, {
            host: "tcp://127.0.0.1:23760", ca: "cert-of-builder-tls-ca", cert: "cert-of-builder-tls-client-cert", key: "key-of-builder-tls-client-key",
        });
        assert.ok(steps.calls.readiness.length === 1, "after the readiness step");
    });

    it("keeps the volume on destroy when storage.retain is set", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks, { storage: { volume: "builder-cache", retain: true } });
        await settle(host);
        assert.equal(mocks.one(VOLUME).inputs.name, "builder-cache");
        assert.equal(mocks.options.get("builder-storage")?.retainOnDelete, true);
        // Nested state outlives a retained volume: nothing is deleted with it.
        assert.equal(host.nestedDeletedWith, undefined);
        const other = installMocks();
        const plain = tlsHost(other);
        await settle(plain);
        assert.equal(other.options.get("builder-storage")?.retainOnDelete, false);
        assert.equal(plain.nestedDeletedWith, plain.volume);
    });

    it("takes over an existing volume only with storage.adopt: keep never deletes it, delete does unless retain; its maker's labels stay", async () => {
        for (const [adopt, retain, retained] of [["keep", false, true], ["delete", false, false], ["delete", true, true]] as const) {
            const mocks = installMocks();
            const host = tlsHost(mocks, { storage: { volume: "evs-userdata-docker", adopt, retain } });
            await settle(host);
            const options = mocks.options.get("builder-storage");
            assert.equal(options?.retainOnDelete, retained, `adopt: ${adopt}, retain: ${retain}`);
            // Docker cannot relabel a volume; a difference would make the provider replace (delete) it on the next up.
            assert.deepEqual(options?.ignoreChanges, ["labels"]);
            assert.equal(host.nestedDeletedWith, retained ? undefined : host.volume);
        }
        const mocks = installMocks();
        await settle(tlsHost(mocks));
        assert.equal(mocks.options.get("builder-storage")?.ignoreChanges, undefined, "a volume the stack makes keeps its labels in check");
    });

    it("runs the image id the caller looked up, so that a tag naming another image replaces the container", async () => {
        const mocks = installMocks();
        await settle(tlsHost(mocks, { imageId: "sha256:rebuilt" }));
        assert.equal(mocks.one(CONTAINER, "builder-container").inputs.image, "sha256:rebuilt");
        assert.equal(mocks.one(REMOTE_IMAGE).inputs.name, "dind-provisioner/dind:local", "the image resource still pulls a missing image");
        const without = installMocks();
        await settle(tlsHost(without));
        assert.equal(without.one(CONTAINER, "builder-container").inputs.image, "sha256:outer-dind-provisioner/dind:local");
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
        assert.throws(() => new DindHost("blind", { steps: fakeSteps(), outerDaemon: OUTER_DAEMON, preload: ["busybox:local"] }, { provider: outer() }), /preload needs a tcp or unix endpoint/);
    });
});

describe("DindHost: the inner daemon's settings, registries, limits and runtime", () => {
    const daemonJsonOf = (container: Record<string, any>) => {
        const upload = container.uploads.find((u: { file: string }) => u.file === "/etc/docker/daemon.json");
        return upload && JSON.parse(upload.content);
    };

    it("writes dockerd settings to /etc/docker/daemon.json, a given MTU included", async () => {
        const mocks = installMocks();
        const steps = fakeSteps();
        const host = tlsHost(mocks, {
            steps,
            dockerd: { mtu: 1400, "log-level": "warn", "default-address-pools": [{ base: "10.199.0.0/16", size: 24 }], "registry-mirrors": ["https://hub-cache:5000"] },
        });
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        assert.deepEqual(daemonJsonOf(container), {
            mtu: 1400, "log-level": "warn", "default-address-pools": [{ base: "10.199.0.0/16", size: 24 }], "registry-mirrors": ["https://hub-cache:5000"],
        });
        assert.equal(container.command[0], "dockerd");
        assert.equal(steps.calls.readiness[0].readMtu, false, "a given MTU needs no reading back");
        assert.equal(await valueOf(host.mtu), 1400);
    });

    it("mtu auto: dockerd gets the DinD container's own eth0 MTU at start, and the readiness step reads it back", async () => {
        const mocks = installMocks();
        const steps = fakeSteps();
        const host = tlsHost(mocks, { dockerd: { mtu: "auto" }, steps });
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        assert.deepEqual(container.command.slice(0, 5), ["sh", "-c", 'exec dockerd-entrypoint.sh "$@" --mtu="$(cat /sys/class/net/eth0/mtu)"', "dockerd-auto-mtu", "dockerd"]);
        assert.deepEqual(daemonJsonOf(container), {}, "auto is a flag, never a daemon.json value");
        assert.equal(steps.calls.readiness[0].readMtu, true);
        assert.equal(steps.calls.readiness[0].inner?.host, "tcp://127.0.0.1:23760");
        assert.equal(await valueOf(host.mtu), READ_BACK_MTU);
    });

    it("writes no daemon.json without dockerd settings, and has no MTU of its own", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks);
        await settle(host);
        assert.equal(daemonJsonOf(mocks.one(CONTAINER).inputs), undefined);
        assert.equal(await valueOf(host.mtu), undefined);
    });

    it("refuses a dockerd option it manages itself, with the reason", () => {
        installMocks();
        assert.throws(() => new DindHost("builder", { steps: fakeSteps(), dockerd: { "data-root": "/srv/docker" } }, { provider: outer() }),
            /dockerd\.data-root is managed by this component: the inner daemon's data lives on the storage volume/);
    });

    it("hands registry credentials to the inner provider, the password as a secret", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks, { registryAuth: [{ address: "registry.internal:5000", username: "ci", password: "s3cret-token" }] });
        await settle(host);
        // A provider's inputs travel as JSON; the secret password makes the whole list a secret.
        const wire = mocks.one(DOCKER_PROVIDER, "builder-inner").inputs.registryAuth;
        assert.deepEqual(JSON.parse(secretValue(wire)), [{ address: "registry.internal:5000", username: "ci", password: "s3cret-token" }]);
    });

    it("uploads each registry CA to /etc/docker/certs.d/<host:port>/ca.crt and joins the given outer networks", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks, { registryCAs: { "registry.internal:5000": "-----BEGIN CERTIFICATE-----ca" }, networks: ["hub-cache-net"] });
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        assert.ok(container.uploads.some((u: { file: string; content: string }) =>
            u.file === "/etc/docker/certs.d/registry.internal:5000/ca.crt" && u.content === "-----BEGIN CERTIFICATE-----ca"));
        assert.deepEqual(container.networksAdvanced, [{ name: "bridge" }, { name: "hub-cache-net" }]);
    });

    it("limits the container: cpus and memory on the container, pids in the readiness step", async () => {
        const mocks = installMocks();
        const steps = fakeSteps();
        const host = tlsHost(mocks, { resources: { cpus: 1.5, memory: "4g", pids: 4096 }, steps });
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        assert.equal(container.cpus, "1.5");
        assert.equal(container.memory, 4096, "megabytes, as the provider takes them");
        assert.equal(container.memorySwap, 4096, "no swap on top of the limit");
        assert.equal(steps.calls.readiness[0].pidsLimit, 4096);
        assert.equal(container.privileged, true);
    });

    // sysbox-runc is not installed on the machine the real lane runs on: only the graph is checked.
    it("runs unprivileged under a runtime that isolates Docker in Docker itself (sysbox-runc)", async () => {
        const mocks = installMocks();
        const host = tlsHost(mocks, { runtime: "sysbox-runc" });
        await settle(host);
        const container = mocks.one(CONTAINER).inputs;
        assert.equal(container.runtime, "sysbox-runc");
        assert.equal(container.privileged, false);
    });
});
