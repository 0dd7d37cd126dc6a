import * as assert from "node:assert/strict";
import * as k8s from "@pulumi/kubernetes";
import { DindWorkloads } from "../../../components/DindWorkloads";
import { KubernetesDindHost } from "../../../components/KubernetesDindHost";
import {
    CERT_REQUEST, CLUSTER_IP, CONTAINER, DOCKER_PROVIDER, fakeSteps, FIRST_NODE_PORT, installMocks, isKnown, K8S_CLAIM, K8S_SECRET, K8S_SERVICE, K8S_STATEFUL_SET, POD_NODE,
    PRELOAD, registered, secretValue, StepCalls, valueOf,
} from "../mocks";

const NODE_ADDRESS = "172.18.0.3";

const cluster = () => new k8s.Provider("cluster", { namespace: "ci" });

function farmHost(mocks: ReturnType<typeof installMocks>, extra: Partial<ConstructorParameters<typeof KubernetesDindHost>[1]> = {}, calls?: StepCalls) {
    const steps = fakeSteps(calls);
    return new KubernetesDindHost("builder", {
        namespace: "ci",
        image: "dind-provisioner/dind:local",
        storage: { size: "50Gi" },
        tcp: { port: 2376, sans: ["builder.ci.example.com", "192.0.2.7"], nodeAddress: NODE_ADDRESS },
        env: { HTTP_PROXY: "http://proxy:3128" },
        labels: { team: "ci", "dind-provisioner.stack": "dind-provisioner/unit" },
        access: { kubeconfig: "/etc/ci/kubeconfig", context: "ci" },
        preloadCopier: steps.preload,
        readinessCheck: steps.kubernetesReadiness,
        ...extra,
    }, { provider: cluster(), transformations: [mocks.recordOptions] });
}

async function settle(host: KubernetesDindHost) {
    await registered(host.statefulSet, host.service, host.claim, host.secret, host.certificates.server.request, host.readiness, host.provider, ...Object.values(host.preloads));
}

const WAITS_OURSELVES = { "dind-provisioner.stack": "dind-provisioner/unit", "pulumi.com/waitFor": "jsonpath={.metadata.name}" };

describe("KubernetesDindHost", () => {
    it("runs dockerd in a StatefulSet of one privileged pod, with a readiness probe that asks the inner daemon", async () => {
        const mocks = installMocks();
        await settle(farmHost(mocks));
        const set = mocks.one(K8S_STATEFUL_SET).inputs;
        assert.equal(set.metadata.namespace, "ci");
        assert.equal(set.spec.replicas, 1);
        assert.deepEqual(set.spec.selector.matchLabels, { "dind-provisioner.host": "builder" });
        const pod = set.spec.template.spec;
        const dind = pod.containers[0];
        assert.equal(pod.containers.length, 1);
        assert.equal(dind.image, "dind-provisioner/dind:local");
        assert.deepEqual(dind.securityContext, { privileged: true });
        assert.equal(pod.runtimeClassName, undefined);
        assert.equal(pod.affinity, undefined);
        assert.deepEqual(dind.readinessProbe.exec.command, ["docker", "--host", "unix:///var/run/docker.sock", "version"]);
        assert.ok(dind.args.includes("--tlsverify") && dind.args.includes("--host=tcp://0.0.0.0:2376"), dind.args.join(" "));
        assert.deepEqual(dind.env, [{ name: "HTTP_PROXY", value: "http://proxy:3128" }, { name: "DOCKER_TLS_CERTDIR", value: "" }]);
        assert.deepEqual(set.metadata.annotations, WAITS_OURSELVES, "the readiness step waits, not the provider");
        assert.deepEqual(set.metadata.labels, { "dind-provisioner.role": "dind-host", team: "ci", "dind-provisioner.host": "builder" },
            "a value Kubernetes refuses as a label is an annotation");
        assert.equal(mocks.byType(CONTAINER).length, 0, "no Docker container on a cluster");
    });

    it("keeps /var/lib/docker on a claim of the requested size, retained on destroy when asked", async () => {
        let mocks = installMocks();
        await settle(farmHost(mocks));
        const claim = mocks.one(K8S_CLAIM).inputs;
        assert.equal(claim.metadata.name, "builder-docker");
        assert.deepEqual(claim.spec.resources.requests, { storage: "50Gi" });
        const pod = mocks.one(K8S_STATEFUL_SET).inputs.spec.template.spec;
        assert.deepEqual(pod.volumes[0], { name: "docker", persistentVolumeClaim: { claimName: "builder-docker" } });
        assert.deepEqual(pod.containers[0].volumeMounts[0], { name: "docker", mountPath: "/var/lib/docker" });
        assert.notEqual(mocks.options.get("builder-storage")?.retainOnDelete, true);
        assert.equal(claim.spec.storageClassName, undefined, "the cluster's default class");
        assert.deepEqual(claim.metadata.annotations, WAITS_OURSELVES, "the provider never waits for a claim (a bound WaitForFirstConsumer one would never do)");

        mocks = installMocks();
        const retained = farmHost(mocks, { storage: { volume: "cache", retain: true, class: "shared-path" } });
        await settle(retained);
        assert.equal(mocks.one(K8S_CLAIM).inputs.metadata.name, "cache");
        assert.equal(mocks.one(K8S_CLAIM).inputs.spec.storageClassName, "shared-path");
        assert.deepEqual(mocks.one(K8S_CLAIM).inputs.spec.resources.requests, { storage: "20Gi" });
        assert.equal(mocks.options.get("builder-storage")?.retainOnDelete, true);
        assert.equal(retained.nestedDeletedWith, undefined, "nested state outlives a retained claim");
        assert.deepEqual(mocks.options.get("builder-statefulset")?.replaceWith, [retained.claim], "a replaced claim takes the pod that holds it along");
    });

    it("puts the server's TLS material in a Secret mounted in the pod, as a secret, naming the Service and its cluster IP", async () => {
        const mocks = installMocks();
        await settle(farmHost(mocks));
        const data = secretValue(mocks.one(K8S_SECRET).inputs.stringData);
        assert.deepEqual(Object.keys(data).sort(), ["ca.pem", "cert.pem", "key.pem"]);
        assert.equal(data["key.pem"], "key-of-builder-tls-server-key");
        const pod = mocks.one(K8S_STATEFUL_SET).inputs.spec.template.spec;
        assert.deepEqual(pod.volumes[1], { name: "tls", secret: { secretName: "builder-tls", defaultMode: 0o400 } });
        const names = mocks.one(CERT_REQUEST, "builder-tls-server-request").inputs;
        assert.deepEqual(names.dnsNames, ["builder", "builder.ci", "builder.ci.svc", "builder.ci.svc.cluster.local", "builder.ci.example.com"]);
        assert.deepEqual(names.ipAddresses, [CLUSTER_IP, NODE_ADDRESS, "192.0.2.7"]);
        const template = mocks.one(K8S_STATEFUL_SET).inputs.spec.template.metadata;
        assert.match(template.annotations["dind-provisioner.tls-hash"], /^[0-9a-f]{16}$/, "a reissued certificate restarts dockerd, which reads it at start");
    });

    it("serves the endpoint and the nested published ports through a NodePort Service, dialled at the node address", async () => {
        const mocks = installMocks();
        const host = farmHost(mocks, { tcp: { port: 12376, nodeAddress: NODE_ADDRESS }, publishedPorts: [{ port: 8080 }, { port: 5353, protocol: "udp" }] });
        await settle(host);
        const service = mocks.one(K8S_SERVICE).inputs;
        assert.equal(service.spec.type, "NodePort");
        assert.deepEqual(service.spec.selector, { "dind-provisioner.host": "builder" });
        assert.deepEqual(service.spec.ports, [
            { name: "docker-tls", port: 12376, targetPort: 2376, protocol: "TCP" },
            { name: "nested-tcp-8080", port: 8080, targetPort: 8080, protocol: "TCP" },
            { name: "nested-udp-5353", port: 5353, targetPort: 5353, protocol: "UDP" },
        ]);
        assert.equal(await valueOf(host.tcpEndpoint), `tcp://${NODE_ADDRESS}:${FIRST_NODE_PORT}`);
        assert.equal(await valueOf(host.serviceEndpoint), "tcp://builder.ci.svc:12376");
        assert.equal(await valueOf(host.publishedPortsAddress), NODE_ADDRESS);
        assert.deepEqual(await valueOf(host.publishedPorts), { "8080/tcp": `${NODE_ADDRESS}:${FIRST_NODE_PORT + 1}`, "5353/udp": `${NODE_ADDRESS}:${FIRST_NODE_PORT + 2}` });
        const ports = mocks.one(K8S_STATEFUL_SET).inputs.spec.template.spec.containers[0].ports;
        assert.deepEqual(ports.slice(1), [{ containerPort: 8080, protocol: "TCP" }, { containerPort: 5353, protocol: "UDP" }]);
    });

    it("dials the cluster IP with a ClusterIP Service, and needs a node address with a NodePort one", async () => {
        const mocks = installMocks();
        const host = farmHost(mocks, { tcp: { port: 12376, service: "ClusterIP" }, publishedPorts: [{ port: 8080 }] });
        await settle(host);
        assert.equal(mocks.one(K8S_SERVICE).inputs.spec.type, "ClusterIP");
        assert.equal(await valueOf(host.tcpEndpoint), `tcp://${CLUSTER_IP}:12376`);
        assert.deepEqual(await valueOf(host.publishedPorts), { "8080/tcp": `${CLUSTER_IP}:8080` });
        assert.deepEqual(mocks.one(CERT_REQUEST, "builder-tls-server-request").inputs.ipAddresses, [CLUSTER_IP]);
        assert.throws(() => farmHost(installMocks(), { tcp: { port: 2376 } }), /a NodePort Service needs tcp.nodeAddress/);
    });

    it("waits for the pod and its inner daemon in the readiness step, and configures the inner provider only then", async () => {
        const mocks = installMocks();
        const calls: StepCalls = { readiness: [], preloads: [], kubernetes: [] };
        const host = farmHost(mocks, { readinessTimeout: 600 }, calls);
        await settle(host);
        const [wait] = calls.kubernetes;
        assert.deepEqual({ ...wait, inner: undefined }, {
            host: "builder", access: { kubeconfig: "/etc/ci/kubeconfig", context: "ci" }, namespace: "ci", statefulSet: "builder", generation: 1,
            claim: "builder-docker", inner: undefined, timeoutSeconds: 600,
        });
        assert.equal(wait.inner.host, `tcp://${NODE_ADDRESS}:${FIRST_NODE_PORT}`);
        assert.equal(wait.inner.key, "key-of-builder-tls-client-key");
        assert.equal(await valueOf(host.node), POD_NODE);
        assert.equal(mocks.one(DOCKER_PROVIDER, "builder-inner").inputs.host, `tcp://${NODE_ADDRESS}:${FIRST_NODE_PORT}`);

        const preview = installMocks(true);
        const previewed = farmHost(preview, {}, calls);
        await settle(previewed);
        assert.equal(calls.kubernetes.length, 1, "a preview waits for nothing");
        assert.equal(await isKnown(previewed.node), false);
    });

    it("runs the pod unprivileged under an isolating RuntimeClass, and spreads a group's hosts over nodes", async () => {
        const mocks = installMocks();
        await settle(farmHost(mocks, { runtimeClassName: "sysbox-runc", spreadGroup: "dind-provisioner/ci stack" }));
        const set = mocks.one(K8S_STATEFUL_SET).inputs;
        const pod = set.spec.template.spec;
        assert.equal(pod.runtimeClassName, "sysbox-runc");
        assert.deepEqual(pod.containers[0].securityContext, { privileged: false });
        assert.equal(set.spec.template.metadata.labels["dind-provisioner.spread-group"], "dind-provisioner-ci-stack", "made a valid label value");
        assert.deepEqual(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution, [{
            weight: 100,
            podAffinityTerm: { labelSelector: { matchLabels: { "dind-provisioner.spread-group": "dind-provisioner-ci-stack" } }, topologyKey: "kubernetes.io/hostname" },
        }]);
    });

    it("drives nested workloads and preloads through the same inner provider as on Docker", async () => {
        const mocks = installMocks();
        const copier = fakeSteps();
        const host = farmHost(mocks, { preload: ["busybox:local"], preloadSource: { host: "unix:///var/run/docker.sock" }, preloadCopier: copier.preload });
        const nested = new DindWorkloads("builder-workloads", { host, workloads: { containers: { web: { image: "busybox:local" } } } }, { parent: host });
        await settle(host);
        await registered(...Object.values(nested.containers));
        const provider = mocks.one(DOCKER_PROVIDER, "builder-inner").inputs;
        assert.equal(provider.host, `tcp://${NODE_ADDRESS}:${FIRST_NODE_PORT}`);
        assert.equal(provider.keyMaterial, "key-of-builder-tls-client-key");
        assert.deepEqual(mocks.byType(PRELOAD).map((p) => p.name), ["builder-preload-busybox:local"]);
        const [preload] = copier.calls.preloads;
        assert.deepEqual(preload.source, { host: "unix:///var/run/docker.sock" });
        assert.equal(preload.target.host, `tcp://${NODE_ADDRESS}:${FIRST_NODE_PORT}`);
        const web = mocks.one(CONTAINER, "builder-workloads-container-web");
        assert.match(web.provider ?? "", /builder-inner/);
        assert.equal(web.inputs.image, "sha256:preloaded-busybox:local");
    });

    it("can skip waiting for readiness and delete in the background, and then makes no inner provider", async () => {
        const mocks = installMocks();
        const calls: StepCalls = { readiness: [], preloads: [], kubernetes: [] };
        const host = farmHost(mocks, { skipAwait: true, innerProvider: false }, calls);
        await settle(host);
        for (const type of [K8S_STATEFUL_SET, K8S_SERVICE, K8S_CLAIM, K8S_SECRET]) {
            assert.deepEqual(mocks.one(type).inputs.metadata.annotations,
                { "dind-provisioner.stack": "dind-provisioner/unit", "pulumi.com/skipAwait": "true", "pulumi.com/deletionPropagationPolicy": "background" }, type);
        }
        assert.equal(host.readiness, undefined);
        assert.equal(calls.kubernetes.length, 0);
        assert.equal(host.provider, undefined);
        assert.equal(mocks.byType(DOCKER_PROVIDER).length, 0);
        assert.throws(() => farmHost(mocks, { innerProvider: false, preload: ["busybox:local"] }), /preload needs the inner provider/);
        assert.throws(() => farmHost(mocks, { skipAwait: true }), /need the readiness step/);
    });
});
