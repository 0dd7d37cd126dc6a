import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";
import { DindHost } from "../../../components/DindHost";
import { DindWorkloads } from "../../../components/DindWorkloads";
import { DoodClient } from "../../../components/DoodClient";
import { DoodPolicyProxy } from "../../../components/DoodPolicyProxy";
import { KubernetesDindHost } from "../../../components/KubernetesDindHost";
import { guardrails, isDockerSocket, parentType, podTemplateOf, tcpListeners } from "../../../policy/guardrails";
import { CONTAINER, fakeSteps, installMocks, K8S_STATEFUL_SET, Recorder, registered, valueOf } from "../mocks";

/** Runs every guardrail on a container as the engine would show it, and returns "policy: message" lines. */
async function violations(mocks: Recorder, container: docker.Container): Promise<string[]> {
    await registered(container);
    const urn = await valueOf(container.urn);
    const name = urn.split("::").pop()!;
    const recorded = mocks.one(CONTAINER, name);
    const providerUrn = recorded.provider?.slice(0, recorded.provider.lastIndexOf("::"));
    const args = {
        type: CONTAINER,
        name,
        urn,
        props: recorded.inputs,
        provider: providerUrn && { urn: providerUrn, type: providerUrn.split("::")[2].split("$").pop(), name: providerUrn.split("::").pop(), props: {} },
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: {}, additionalSecretOutputs: [] },
        stackTags: new Map(),
    } as unknown as ResourceValidationArgs;
    const found: string[] = [];
    for (const policy of guardrails) {
        await (policy.validateResource as ResourceValidation)(args, (message) => found.push(`${policy.name}: ${message}`));
    }
    return found;
}

const outer = () => new docker.Provider("outer", { host: "unix:///var/run/docker.sock" });

/** Runs every guardrail on a Kubernetes resource as the engine would show it. */
async function kubernetesViolations(mocks: Recorder, resource: pulumi.CustomResource, type: string): Promise<string[]> {
    await registered(resource);
    const urn = await valueOf(resource.urn);
    const name = urn.split("::").pop()!;
    const args = { type, name, urn, props: mocks.one(type, name).inputs, opts: {}, stackTags: new Map() } as unknown as ResourceValidationArgs;
    const found: string[] = [];
    for (const policy of guardrails) {
        await (policy.validateResource as ResourceValidation)(args, (message) => found.push(`${policy.name}: ${message}`));
    }
    return found;
}

const cluster = () => new k8s.Provider("cluster", { namespace: "ci" });
const dindPod = (extra: Record<string, unknown> = {}) => ({
    metadata: { labels: { "dind-provisioner.role": "dind-host" } },
    spec: { containers: [{ name: "dind", image: "docker:dind", args: ["dockerd"], securityContext: { privileged: true } }], ...extra },
});

describe("guardrails policy pack", () => {
    describe("lets the components through", () => {
        it("a DinD host with a TLS endpoint, a unix endpoint and nested workloads publishing ports, and a DooD client", async () => {
            const mocks = installMocks();
            const provider = outer();
            const host = new DindHost("builder", { steps: fakeSteps(), tcp: { port: 23760 }, unix: { hostDir: "/var/run/dind/builder" } }, { provider });
            const workloads = new DindWorkloads("builder-apps", {
                host,
                workloads: { containers: { web: { image: "busybox:1.36", ports: [{ internal: 8080, external: 8080 }] } } },
            }, { parent: host });
            const client = new DoodClient("agent", { socket: "/var/run/docker.sock", workspace: "/srv/ci" }, { provider });
            assert.deepEqual(await violations(mocks, host.container), []);
            assert.deepEqual(await violations(mocks, workloads.containers.web), []);
            assert.deepEqual(await violations(mocks, client.container), []);
        });

        it("a restricted DooD client and its policy proxy, the one container given the daemon's socket", async () => {
            const mocks = installMocks();
            const provider = outer();
            const proxy = new DoodPolicyProxy("agent-dood-proxy", { client: "agent", daemonSocket: "/var/run/docker.sock" }, { provider });
            const client = new DoodClient("agent", { socket: "/var/run/docker.sock", workspace: "/srv/ci", policyProxy: proxy }, { provider });
            assert.deepEqual(await violations(mocks, proxy.container), []);
            assert.deepEqual(await violations(mocks, client.container), []);
            // The same socket mount on a container that is no proxy's is refused.
            const fake = new docker.Container("fake-proxy", {
                image: "busybox:1.36", volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
                labels: [{ label: "dind-provisioner.role", value: "dood-proxy" }],
            }, { provider });
            assert.match((await violations(mocks, fake)).join("\n"), /^docker-socket-only-dood-clients: container fake-proxy mounts the Docker socket/);
        });

        it("a DinD host serving plain TCP on every address, because its arguments say insecure and bind 0.0.0.0", async () => {
            const mocks = installMocks();
            const host = new DindHost("open", { steps: fakeSteps(), tcp: { port: 23761, tls: false, insecure: true, bind: "0.0.0.0" } }, { provider: outer() });
            assert.deepEqual(await violations(mocks, host.container), []);
        });
    });

    describe("refuses look-alikes", () => {
        it("a privileged container that copies a DinD host's label and command but is not a DindHost's child", async () => {
            const mocks = installMocks();
            const fake = new docker.Container("fake", {
                image: "docker:dind", privileged: true, command: ["dockerd"],
                labels: [{ label: "dind-provisioner.role", value: "dind-host" }],
            }, { provider: outer() });
            assert.deepEqual(await violations(mocks, fake), [
                "privileged-only-dind-hosts: container fake is privileged, but only DinD hosts (DindHost) may be: " +
                "a privileged container is root on the machine. Drop `privileged`, or use DindHost.",
            ]);
        });

        it("a privileged container parented to a DindHost that does not carry its label or run dockerd", async () => {
            const mocks = installMocks();
            const host = new DindHost("builder", { steps: fakeSteps(), unix: { hostDir: "/var/run/dind/builder" } }, { provider: outer() });
            const sidecar = new docker.Container("sidecar", { image: "busybox:1.36", privileged: true }, { parent: host, provider: outer() });
            const labelled = new docker.Container("labelled", {
                image: "busybox:1.36", privileged: true, command: ["sh"], labels: [{ label: "dind-provisioner.role", value: "dind-host" }],
            }, { parent: host, provider: outer() });
            assert.match((await violations(mocks, sidecar)).join("\n"), /^privileged-only-dind-hosts: container sidecar is privileged/);
            assert.match((await violations(mocks, labelled)).join("\n"), /^privileged-only-dind-hosts: container labelled is privileged/);
        });

        it("containers that mount the Docker socket, or the directory holding it, without being a DooD client", async () => {
            const mocks = installMocks();
            const provider = outer();
            const socket = new docker.Container("socket", {
                image: "docker:cli", volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
                labels: [{ label: "dind-provisioner.role", value: "dood-client" }],
            }, { provider });
            const mount = new docker.Container("mount", { image: "docker:cli", mounts: [{ type: "bind", source: "/run/docker.sock", target: "/sock" }] }, { provider });
            const dir = new docker.Container("dir", { image: "docker:cli", volumes: [{ hostPath: "/var/run/", containerPath: "/host-run" }] }, { provider });
            assert.deepEqual(await violations(mocks, socket), [
                "docker-socket-only-dood-clients: container socket mounts the Docker socket (/var/run/docker.sock), " +
                "but only DooD clients (DoodClient) and their policy proxies (DoodPolicyProxy) may: the socket is root-equivalent on the host.",
            ]);
            assert.match((await violations(mocks, mount)).join("\n"), /container mount mounts the Docker socket \(\/run\/docker.sock\)/);
            assert.match((await violations(mocks, dir)).join("\n"), /container dir mounts the Docker socket \(\/var\/run\/\)/);
        });

        it("a dockerd serving TCP without --tlsverify, in each flag form, unless labelled insecure", async () => {
            const mocks = installMocks();
            const provider = outer();
            const forms = [["dockerd", "-H", "tcp://0.0.0.0:2375"], ["dockerd", "--host=tcp://0.0.0.0:2375", "--tls"], ["dockerd", "-Htcp://127.0.0.1:2375"]];
            for (const [i, command] of forms.entries()) {
                const daemon = new docker.Container(`plain-${i}`, { image: "daemon", command }, { provider });
                assert.deepEqual(await violations(mocks, daemon), [
                    `tcp-endpoints-need-tls: container plain-${i} serves the Docker API on ${tcpListeners(command).join(", ")} without --tlsverify: ` +
                    "anyone who reaches it is root. Use mutual TLS, or set insecure: true (label dind-provisioner.insecure=true).",
                ]);
            }
            const verified = new docker.Container("verified", { image: "daemon", entrypoints: ["dockerd", "--host", "tcp://127.0.0.1:2376", "--tlsverify"] }, { provider });
            const declared = new docker.Container("declared", {
                image: "daemon", command: ["dockerd", "-H", "tcp://127.0.0.1:2375"], labels: [{ label: "dind-provisioner.insecure", value: "true" }],
            }, { provider });
            assert.deepEqual(await violations(mocks, verified), []);
            assert.deepEqual(await violations(mocks, declared), []);
        });

        it("ports published beyond loopback (an unset ip is every address) unless labelled public-bind", async () => {
            const mocks = installMocks();
            const provider = outer();
            const open = new docker.Container("open", { image: "web", ports: [{ internal: 80, external: 8080 }, { internal: 81, ip: "127.0.0.1" }] }, { provider });
            const v6 = new docker.Container("v6", { image: "web", ports: [{ internal: 80, external: 8081, ip: "::" }] }, { provider });
            const local = new docker.Container("local", { image: "web", ports: [{ internal: 80, external: 8082, ip: "127.0.0.1" }, { internal: 81, ip: "::1" }] }, { provider });
            const declared = new docker.Container("declared", {
                image: "web", ports: [{ internal: 80, external: 8083 }], labels: [{ label: "dind-provisioner.public-bind", value: "true" }],
            }, { provider });
            assert.deepEqual(await violations(mocks, open), [
                "loopback-binds-unless-declared: container open publishes 0.0.0.0:8080 beyond loopback without declaring it: " +
                "bind to 127.0.0.1, or label it dind-provisioner.public-bind=true (DindHost does so for a non-loopback tcp.bind).",
            ]);
            assert.match((await violations(mocks, v6)).join("\n"), /container v6 publishes :::8081 beyond loopback/);
            assert.deepEqual(await violations(mocks, local), []);
            assert.deepEqual(await violations(mocks, declared), []);
        });
    });

    describe("on Kubernetes, privileged pods", () => {
        it("lets a KubernetesDindHost's StatefulSet through, privileged or under an isolating runtime", async () => {
            const mocks = installMocks();
            const steps = fakeSteps();
            const host = new KubernetesDindHost("builder", { namespace: "ci", tcp: { nodeAddress: "10.0.0.21" }, readinessCheck: steps.kubernetesReadiness, innerProvider: false },
                { provider: cluster() });
            const isolated = new KubernetesDindHost("isolated", { namespace: "ci", tcp: { nodeAddress: "10.0.0.21" }, runtimeClassName: "sysbox-runc",
                readinessCheck: steps.kubernetesReadiness, innerProvider: false }, { provider: cluster() });
            assert.deepEqual(await kubernetesViolations(mocks, host.statefulSet, K8S_STATEFUL_SET), []);
            assert.deepEqual(await kubernetesViolations(mocks, isolated.statefulSet, K8S_STATEFUL_SET), []);
        });

        it("lets a KubernetesDindHost's nested containers publish ports: they bind inside its pod", async () => {
            const mocks = installMocks();
            const host = new KubernetesDindHost("builder", { namespace: "ci", tcp: { nodeAddress: "10.0.0.21" }, readinessCheck: fakeSteps().kubernetesReadiness },
                { provider: cluster() });
            const workloads = new DindWorkloads("builder-apps", {
                host, workloads: { containers: { web: { image: "busybox:1.36", ports: [{ internal: 8080, external: 8080 }] } } },
            }, { parent: host });
            assert.deepEqual(await violations(mocks, workloads.containers.web), []);
        });

        it("refuses a look-alike StatefulSet with the DinD host's label and command outside the component, and a privileged sidecar added to one", async () => {
            const mocks = installMocks();
            const fake = new k8s.apps.v1.StatefulSet("fake", {
                spec: { serviceName: "fake", selector: { matchLabels: { a: "b" } }, template: dindPod() },
            }, { provider: cluster() });
            assert.deepEqual(await kubernetesViolations(mocks, fake, K8S_STATEFUL_SET), [
                "privileged-pods-only-dind-hosts: apps/v1:StatefulSet fake runs a privileged container (dind), but only DinD hosts (KubernetesDindHost) may: " +
                "a privileged container is root on its node. Drop `privileged`, or use KubernetesDindHost.",
            ]);
            const sidecar = { name: "debug", image: "busybox", command: ["sh"], securityContext: { privileged: true } };
            const host = new KubernetesDindHost("builder", {
                namespace: "ci", tcp: { nodeAddress: "10.0.0.21" }, readinessCheck: fakeSteps().kubernetesReadiness, innerProvider: false,
                transform: { statefulSet: (args) => void (args.spec as any).template.spec.containers.push(sidecar) },
            }, { provider: cluster() });
            assert.match((await kubernetesViolations(mocks, host.statefulSet, K8S_STATEFUL_SET)).join("\n"), /StatefulSet builder-statefulset runs a privileged container \(dind, debug\)/);
        });

        it("refuses privileged containers in every kind of workload, init and ephemeral containers and patches included", async () => {
            const mocks = installMocks();
            const provider = cluster();
            const privileged = { name: "p", image: "busybox", securityContext: { privileged: true } };
            const plain = { name: "c", image: "busybox" };
            const cases: [pulumi.CustomResource, string][] = [
                [new k8s.core.v1.Pod("pod", { spec: { containers: [plain], initContainers: [privileged] } }, { provider }), "kubernetes:core/v1:Pod"],
                [new k8s.apps.v1.Deployment("deployment", { spec: { selector: {}, template: { spec: { containers: [privileged] } } } }, { provider }), "kubernetes:apps/v1:Deployment"],
                [new k8s.apps.v1.DaemonSet("daemonset", { spec: { selector: {}, template: { spec: { containers: [privileged] } } } }, { provider }), "kubernetes:apps/v1:DaemonSet"],
                [new k8s.batch.v1.CronJob("cronjob", { spec: { schedule: "@daily", jobTemplate: { spec: { template: { spec: { containers: [privileged] } } } } } }, { provider }), "kubernetes:batch/v1:CronJob"],
                [new k8s.apps.v1.StatefulSetPatch("patch", { metadata: { name: "builder" }, spec: { template: { spec: { containers: [privileged] } } } }, { provider }), "kubernetes:apps/v1:StatefulSetPatch"],
            ];
            for (const [resource, type] of cases) {
                assert.match((await kubernetesViolations(mocks, resource, type)).join("\n"), /^privileged-pods-only-dind-hosts: .* runs a privileged container \(p\)/, type);
            }
            const unprivileged = new k8s.apps.v1.Deployment("web", { spec: { selector: {}, template: { spec: { containers: [plain] } } } }, { provider });
            assert.deepEqual(await kubernetesViolations(mocks, unprivileged, "kubernetes:apps/v1:Deployment"), []);
            assert.equal(podTemplateOf("kubernetes:core/v1:Service", {}), undefined);
        });
    });

    it("reads the parent type from a URN's type chain, the socket paths and dockerd's TCP flags", () => {
        assert.equal(parentType("urn:pulumi:dev::p::my:Wrap$dind:index:DindHost$docker:index/container:Container::b"), "dind:index:DindHost");
        assert.equal(parentType("urn:pulumi:dev::p::docker:index/container:Container::b"), undefined);
        assert.ok(isDockerSocket("/var/run/docker.sock") && isDockerSocket("/run/user/1000/docker.sock") && isDockerSocket("/run/"));
        assert.ok(!isDockerSocket("/var/run/dind/builder") && !isDockerSocket("/srv/ci"));
        assert.deepEqual(tcpListeners(["dockerd", "--host=unix:///var/run/docker.sock", "-H", "tcp://0.0.0.0:2376", "--host", "tcp://[::1]:2375"]),
            ["tcp://0.0.0.0:2376", "tcp://[::1]:2375"]);
    });
});
