// The markers the policy pack, the recovery and the policy proxy rely on: every component applies
// them after the user's labels, and they are spelled in one place only.
import * as assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import { DindHost } from "../../../components/DindHost";
import { DindRegistry } from "../../../components/DindRegistry";
import { DoodBuilder } from "../../../components/DoodBuilder";
import { DoodClient } from "../../../components/DoodClient";
import { DoodPolicyProxy } from "../../../components/DoodPolicyProxy";
import { KubernetesDindHost } from "../../../components/KubernetesDindHost";
import {
    CLIENT_LABEL, describeOwner, DIND_HOST_ROLE, DOOD_CLIENT_ROLE, DOOD_OWNER_LABEL, DOOD_PROXY_ROLE, HOST_LABEL, objectOwner, ownedBy, ownerOf, REGISTRY_LABEL,
    REGISTRY_ROLE, ROLE_LABEL, STACK_LABEL,
} from "../../../components/markers";
import { CONTAINER, fakeRegistryReadiness, fakeSteps, installMocks, K8S_SERVICE, K8S_STATEFUL_SET, NETWORK, OUTER_DAEMON, registered, VOLUME } from "../mocks";

const repo = path.resolve(__dirname, "..", "..", "..");

/** Labels that try to pass for every marker, and one of the user's own. */
const FORGED = { [ROLE_LABEL]: "forged", [HOST_LABEL]: "forged", [CLIENT_LABEL]: "forged", [REGISTRY_LABEL]: "forged", team: "ci" };

const labelsOf = (inputs: Record<string, any>): Record<string, string> => Object.fromEntries((inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));

describe("markers", () => {
    it("DindHost: a user label cannot override its role or host marker, on the container and the volume", async () => {
        const mocks = installMocks();
        const host = new DindHost("builder", { outerDaemon: OUTER_DAEMON, tcp: { port: 23760 }, labels: FORGED, steps: fakeSteps() });
        await registered(host.container, host.volume);
        for (const type of [CONTAINER, VOLUME]) {
            const labels = labelsOf(mocks.one(type).inputs);
            assert.equal(labels[ROLE_LABEL], DIND_HOST_ROLE, type);
            assert.equal(labels[HOST_LABEL], "builder", type);
            assert.equal(labels.team, "ci", "the user's own labels stay");
        }
    });

    it("DindRegistry: a user label cannot override its role or registry marker, on the container, volume and network", async () => {
        const mocks = installMocks();
        const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
        const made = new DindRegistry("hub-cache", { port: 23820, labels: FORGED, readiness: fakeRegistryReadiness(), outerDaemon: OUTER_DAEMON }, { provider: outer });
        await registered(made.container, made.volume, made.network);
        for (const type of [CONTAINER, VOLUME, NETWORK]) {
            const labels = labelsOf(mocks.one(type).inputs);
            assert.equal(labels[ROLE_LABEL], REGISTRY_ROLE, type);
            assert.equal(labels[REGISTRY_LABEL], "hub-cache", type);
            assert.equal(labels.team, "ci");
        }
    });

    it("DoodClient and DoodPolicyProxy: a user label cannot override their role or client marker", async () => {
        const mocks = installMocks();
        const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
        const proxy = new DoodPolicyProxy("agent-dood-proxy", { client: "agent", daemonSocket: "/var/run/docker.sock", labels: FORGED }, { provider: outer });
        const client = new DoodClient("agent", { socket: "/var/run/docker.sock", policyProxy: proxy, labels: FORGED }, { provider: outer });
        await registered(proxy.container, client.container);
        const proxyLabels = labelsOf(mocks.one(CONTAINER, "agent-dood-proxy-container").inputs);
        const clientLabels = labelsOf(mocks.one(CONTAINER, "agent-container").inputs);
        assert.deepEqual([proxyLabels[ROLE_LABEL], proxyLabels[CLIENT_LABEL]], [DOOD_PROXY_ROLE, "agent"]);
        assert.deepEqual([clientLabels[ROLE_LABEL], clientLabels[CLIENT_LABEL]], [DOOD_CLIENT_ROLE, "agent"]);
    });

    it("KubernetesDindHost: a user label cannot override its role or the host label its Service selects pods by", async () => {
        const mocks = installMocks();
        const host = new KubernetesDindHost("builder", { namespace: "ci", tcp: { nodeAddress: "10.0.0.21" }, innerProvider: false, labels: { ...FORGED, [HOST_LABEL]: "other-host" } },
            { provider: new k8s.Provider("cluster", { namespace: "ci" }) });
        await registered(host.statefulSet, host.service);
        const set = mocks.one(K8S_STATEFUL_SET).inputs;
        for (const labels of [set.metadata.labels, set.spec.template.metadata.labels]) {
            assert.equal(labels[ROLE_LABEL], DIND_HOST_ROLE);
            assert.equal(labels[HOST_LABEL], "builder");
            assert.equal(labels.team, "ci");
        }
        assert.deepEqual(mocks.one(K8S_SERVICE).inputs.spec.selector, { [HOST_LABEL]: "builder" });
        assert.equal(set.metadata.annotations?.[ROLE_LABEL], undefined, "a marker does not come back as an annotation either");
    });

    it("every Docker component labels each object it makes with its owner, over a user label that claims another", async () => {
        const mocks = installMocks();
        const outer = new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });
        const forged = { [STACK_LABEL]: "dind-provisioner/prod", team: "ci" };
        const owner = ownerOf("dind-provisioner", "dev");
        const host = new DindHost("builder", { outerDaemon: OUTER_DAEMON, labels: forged, owner, steps: fakeSteps() }, { provider: outer });
        const made = new DindRegistry("hub-cache", { port: 23820, labels: forged, owner }, { provider: outer });
        const builder = new DoodBuilder("agent-buildkit", { client: "agent", labels: forged, owner }, { provider: outer });
        const proxy = new DoodPolicyProxy("agent-dood-proxy", { client: "agent", daemonSocket: "/var/run/docker.sock", builder, labels: forged, owner }, { provider: outer });
        const client = new DoodClient("agent", { socket: "/var/run/docker.sock", policyProxy: proxy, labels: forged, owner }, { provider: outer });
        await registered(host.container, host.volume, made.container, made.volume, made.network, builder.container, builder.stateVolume, builder.socketVolume,
            proxy.container, proxy.stateVolume, client.container);
        const objects = [...mocks.byType(CONTAINER), ...mocks.byType(VOLUME), ...mocks.byType(NETWORK)];
        assert.equal(objects.length, 11);
        for (const object of objects) assert.deepEqual([object.name, labelsOf(object.inputs)[STACK_LABEL]], [object.name, "dind-provisioner/dev"]);
        // Without an owner (a program of the library's user that never gave one) the labels stay the user's, as before.
        const plain = installMocks();
        const bare = new DoodClient("agent", { socket: "/var/run/docker.sock", labels: forged }, { provider: new docker.Provider("outer", { host: "unix:///var/run/docker.sock" }) });
        await registered(bare.container);
        assert.equal(labelsOf(plain.one(CONTAINER).inputs)[STACK_LABEL], "dind-provisioner/prod");
    });

    it("tell an object's owner by its labels: a stack, a DooD client (whatever stack it claims), or nobody", () => {
        assert.deepEqual(objectOwner({ [STACK_LABEL]: "p/dev" }), { kind: "stack", stack: "p/dev" });
        assert.deepEqual(objectOwner(null), { kind: "none" });
        assert.deepEqual(objectOwner({ [DOOD_OWNER_LABEL]: "agent", [STACK_LABEL]: "p/dev" }), { kind: "dood-client", client: "agent", claims: "p/dev" });
        assert.equal(ownedBy({ [STACK_LABEL]: "p/dev" }, "p/dev"), true);
        assert.equal(ownedBy({ [STACK_LABEL]: "p/dev" }, "p/prod"), false);
        // The policy proxy sets its label over whatever a client asks, but lets it write the stack label: such an object is the client's.
        assert.equal(ownedBy({ [DOOD_OWNER_LABEL]: "agent", [STACK_LABEL]: "p/dev" }, "p/dev"), false);
        assert.equal(describeOwner(objectOwner({ [DOOD_OWNER_LABEL]: "agent", [STACK_LABEL]: "p/dev" })), "DooD client agent (which labelled it as stack p/dev's)");
        assert.equal(describeOwner(objectOwner({})), `nobody (made by hand: it has no ${STACK_LABEL} label)`);
    });

    it("are spelled only in components/markers.ts: no label or type token literal elsewhere in the code", () => {
        const code = ["components", "stackfile", "program", "driver", "commands", "policy", "bench", "test/support"]
            .flatMap((dir) => readdirSync(path.join(repo, dir), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts")).map((f) => path.join(dir, f)))
            .concat("index.ts")
            .filter((file) => file !== path.join("components", "markers.ts"));
        const literal = /["'`](dind-provisioner\.[a-z-]+|dind:index:[A-Za-z]*|docker:index\/[A-Za-z]+:[A-Za-z]+|pulumi:providers:docker)["'`]/g;
        const found = code.flatMap((file) => [...readFileSync(path.join(repo, file), "utf8").matchAll(literal)].map(([match]) => `${file}: ${match}`));
        assert.deepEqual(found, []);
    });

    it("the policy proxy (Go) labels a client's objects with the same owner label", () => {
        const policy = readFileSync(path.join(repo, "dood-proxy", "policy.go"), "utf8");
        assert.match(policy, new RegExp(`const OwnerLabel = "${DOOD_OWNER_LABEL.replace(/\./g, "\\.")}"`));
    });
});
