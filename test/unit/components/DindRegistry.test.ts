import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_REGISTRY_IMAGE } from "../../../components/defaults";
import { DindRegistry, DindRegistryArgs } from "../../../components/DindRegistry";
import {
    CERT_REQUEST, CONTAINER, fakeRegistryReadiness, installMocks, isKnown, LOCALLY_SIGNED_CERT, NETWORK, OUTER_DAEMON, registered, REMOTE_IMAGE, secretValue, valueOf, VOLUME,
} from "../mocks";

function registry(mocks: ReturnType<typeof installMocks>, args: Partial<DindRegistryArgs> = {}) {
    const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
    const made = new DindRegistry("hub-cache", { port: 23820, readiness: fakeRegistryReadiness(), outerDaemon: OUTER_DAEMON, ...args },
        { provider: outer, transformations: [mocks.recordOptions] });
    return registered(made.container, made.volume, made.network, made.image).then(() => made);
}

const configOf = (container: Record<string, any>) => {
    const upload = container.uploads.find((u: { file: string }) => u.file === "/etc/docker/registry/config.yml");
    return JSON.parse(upload.content);
};

describe("DindRegistry", () => {
    it("runs the pinned distribution registry on its own outer network, storage on a volume, published on loopback", async () => {
        const mocks = installMocks();
        const made = await registry(mocks);
        const container = mocks.one(CONTAINER).inputs;
        assert.equal(mocks.one(REMOTE_IMAGE).inputs.name, DEFAULT_REGISTRY_IMAGE);
        assert.match(DEFAULT_REGISTRY_IMAGE, /^registry:2\.\d+\.\d+$/, "a pinned tag");
        assert.equal(container.name, "hub-cache");
        assert.equal(container.privileged, undefined);
        assert.deepEqual(container.ports, [{ internal: 5000, external: 23820, ip: "127.0.0.1" }]);
        assert.deepEqual(container.volumes, [{ volumeName: "hub-cache-data", containerPath: "/var/lib/registry" }]);
        assert.deepEqual(container.networksAdvanced, [{ name: "hub-cache-net" }]);
        assert.equal(mocks.one(NETWORK).inputs.name, "hub-cache-net");
        assert.equal(mocks.options.get("hub-cache-storage")?.retainOnDelete, false);
        assert.equal(made.mirrorUrl, "https://hub-cache:5000");
        assert.equal(made.address, "hub-cache:5000");
        assert.equal(made.publishedAddress, "127.0.0.1:23820");
        assert.equal(await valueOf(made.networkName), "hub-cache-net");
    });

    it("serves TLS with a certificate for its container name, issued by a CA of the stack, and no client certificate", async () => {
        const mocks = installMocks();
        const made = await registry(mocks);
        await registered(made.certificates!.server.certificate);
        const container = mocks.one(CONTAINER).inputs;
        const request = mocks.one(CERT_REQUEST).inputs;
        assert.deepEqual(request.dnsNames, ["hub-cache", "localhost"]);
        assert.deepEqual(request.ipAddresses, ["127.0.0.1"]);
        assert.equal(mocks.byType(LOCALLY_SIGNED_CERT).length, 1);
        assert.deepEqual(configOf(container).http.tls, { certificate: "/etc/docker/registry/tls/cert.pem", key: "/etc/docker/registry/tls/key.pem" });
        assert.ok(container.uploads.some((u: { file: string; permissions?: string }) => u.file === "/etc/docker/registry/tls/key.pem" && u.permissions === "0600"));
        assert.equal(await valueOf(made.caCert), "cert-of-hub-cache-tls-ca");
        assert.deepEqual(mocks.options.get("hub-cache-container")?.additionalSecretOutputs, ["uploads"]);
    });

    it("is a pull-through cache with proxy, its password a secret; keeps its volume with retain", async () => {
        const mocks = installMocks();
        await registry(mocks, {
            proxy: { remote: "https://registry-1.docker.io", username: "ci", password: pulumi.secret("hub-token") },
            storage: { volume: "hub-cache", retain: true },
        });
        // The secret password makes the whole upload list travel as a secret.
        const uploads = secretValue(mocks.one(CONTAINER).inputs.uploads);
        const upload = uploads.find((u: { file: string }) => u.file === "/etc/docker/registry/config.yml");
        assert.deepEqual(JSON.parse(upload.content).proxy, { remoteurl: "https://registry-1.docker.io", username: "ci", password: "hub-token" });
        assert.equal(mocks.one(VOLUME).inputs.name, "hub-cache");
        assert.equal(mocks.options.get("hub-cache-storage")?.retainOnDelete, true);
    });

    it("takes over an existing volume only with storage.adopt, keeping its maker's labels; runs the image id it is given", async () => {
        const mocks = installMocks();
        await registry(mocks, { storage: { volume: "old-cache", adopt: "keep" }, imageId: "sha256:registry-now" });
        assert.equal(mocks.options.get("hub-cache-storage")?.retainOnDelete, true);
        assert.deepEqual(mocks.options.get("hub-cache-storage")?.ignoreChanges, ["labels"]);
        assert.equal(mocks.one(CONTAINER).inputs.image, "sha256:registry-now");
    });

    it("names its network only once the registry container exists, so a host that joins it waits for the registry", async () => {
        const mocks = installMocks(true);
        const made = await registry(mocks);
        assert.equal(await isKnown(made.networkName), false);
    });

    it("serves plain HTTP only with insecure: true, and then issues no certificate", async () => {
        const mocks = installMocks();
        const made = await registry(mocks, { insecure: true });
        const container = mocks.one(CONTAINER).inputs;
        assert.equal(configOf(container).http.tls, undefined);
        assert.equal(configOf(container).proxy, undefined);
        assert.equal(made.certificates, undefined);
        assert.equal(made.mirrorUrl, "http://hub-cache:5000");
        assert.equal(await valueOf(made.caCert), undefined);
    });
});
