import * as assert from "node:assert/strict";
import * as k8s from "@pulumi/kubernetes";
import { DindWorkloads } from "../../../components/DindWorkloads";
import { KubernetesDindHost } from "../../../components/KubernetesDindHost";
import {
    CERT_REQUEST, CLUSTER_IP, CONTAINER, DOCKER_PROVIDER, fakeSteps, installMocks, K8S_CLAIM, K8S_SECRET, K8S_SERVICE, K8S_STATEFUL_SET, PRELOAD, registered, secretValue, valueOf,
} from "../mocks";

const cluster = () => new k8s.Provider("cluster", { namespace: "ci" });

function farmHost(mocks: ReturnType<typeof installMocks>, extra: Partial<ConstructorParameters<typeof KubernetesDindHost>[1]> = {}) {
    return new KubernetesDindHost("builder", {
        namespace: "ci",
        image: "dind-provisioner/dind:local",
        storage: { size: "50Gi" },
        tcp: { port: 2376, sans: ["builder.ci.example.com", "192.0.2.7"] },
        env: { HTTP_PROXY: "http://proxy:3128" },
        labels: { team: "ci", "dind-provisioner.stack": "dind-provisioner/unit" },
        preloadCopier: fakeSteps().preload,
        ...extra,
    }, { provider: cluster(), transformations: [mocks.recordOptions] });
}

async function settle(host: KubernetesDindHost) {
    await registered(host.statefulSet, host.service, host.claim, host.secret, host.certificates.server.request, host.provider, ...Object.values(host.preloads));
}

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
        assert.deepEqual(dind.readinessProbe.exec.command, ["docker", "--host", "unix:///var/run/docker.sock", "version"]);
        assert.ok(dind.args.includes("--tlsverify") && dind.args.includes("--host=tcp://0.0.0.0:2376"), dind.args.join(" "));
        assert.deepEqual(dind.env, [{ name: "HTTP_PROXY", value: "http://proxy:3128" }, { name: "DOCKER_TLS_CERTDIR", value: "" }]);
        assert.deepEqual(set.metadata.annotations, { "dind-provisioner.stack": "dind-provisioner/unit" }, "waits for readiness by default");
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

        mocks = installMocks();
        await settle(farmHost(mocks, { storage: { volume: "cache", retain: true } }));
        assert.equal(mocks.one(K8S_CLAIM).inputs.metadata.name, "cache");
        assert.deepEqual(mocks.one(K8S_CLAIM).inputs.spec.resources.requests, { storage: "20Gi" });
        assert.equal(mocks.options.get("builder-storage")?.retainOnDelete, true);
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
        assert.deepEqual(names.ipAddresses, [CLUSTER_IP, "192.0.2.7"]);
    });

    it("serves the endpoint through a Service selecting the pod, and reports it", async () => {
        const mocks = installMocks();
        const host = farmHost(mocks, { tcp: { port: 12376 } });
        await settle(host);
        const service = mocks.one(K8S_SERVICE).inputs;
        assert.deepEqual(service.spec.selector, { "dind-provisioner.host": "builder" });
        assert.deepEqual(service.spec.ports, [{ name: "docker-tls", port: 12376, targetPort: 2376, protocol: "TCP" }]);
        assert.equal(await valueOf(host.tcpEndpoint), `tcp://${CLUSTER_IP}:12376`);
        assert.equal(await valueOf(host.serviceEndpoint), "tcp://builder.ci.svc:12376");
    });

    it("drives nested workloads and preloads through the same inner provider as on Docker", async () => {
        const mocks = installMocks();
        const copier = fakeSteps();
        const host = farmHost(mocks, { preload: ["busybox:local"], preloadSource: { host: "unix:///var/run/docker.sock" }, preloadCopier: copier.preload });
        const nested = new DindWorkloads("builder-workloads", { host, workloads: { containers: { web: { image: "busybox:local" } } } }, { parent: host });
        await settle(host);
        await registered(...Object.values(nested.containers));
        const provider = mocks.one(DOCKER_PROVIDER, "builder-inner").inputs;
        assert.equal(provider.host, `tcp://${CLUSTER_IP}:2376`);
        assert.equal(provider.keyMaterial, "key-of-builder-tls-client-key");
        assert.deepEqual(mocks.byType(PRELOAD).map((p) => p.name), ["builder-preload-busybox:local"]);
        const [preload] = copier.calls.preloads;
        assert.deepEqual(preload.source, { host: "unix:///var/run/docker.sock" });
        assert.equal(preload.target.host, `tcp://${CLUSTER_IP}:2376`);
        const web = mocks.one(CONTAINER, "builder-workloads-container-web");
        assert.match(web.provider ?? "", /builder-inner/);
        assert.equal(web.inputs.image, "sha256:preloaded-busybox:local");
    });

    it("can skip waiting for readiness and delete in the background, and then makes no inner provider", async () => {
        const mocks = installMocks();
        const host = farmHost(mocks, { skipAwait: true, innerProvider: false });
        await settle(host);
        for (const type of [K8S_STATEFUL_SET, K8S_SERVICE, K8S_CLAIM, K8S_SECRET]) {
            assert.deepEqual(mocks.one(type).inputs.metadata.annotations,
                { "dind-provisioner.stack": "dind-provisioner/unit", "pulumi.com/skipAwait": "true", "pulumi.com/deletionPropagationPolicy": "background" }, type);
        }
        assert.equal(host.provider, undefined);
        assert.equal(mocks.byType(DOCKER_PROVIDER).length, 0);
        assert.throws(() => farmHost(mocks, { innerProvider: false, preload: ["busybox:local"] }), /preload needs the inner provider/);
    });
});
