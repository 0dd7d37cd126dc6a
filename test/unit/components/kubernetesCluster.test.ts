import * as assert from "node:assert/strict";
import { checkCluster, ClusterNeeds, nodeAddressOf } from "../../../components/kubernetesCluster";
import { FakeKubeApi, startFakeKubeApi } from "./fakeKubeApi";

const needs = (extra: Partial<ClusterNeeds> = {}): ClusterNeeds => ({
    namespace: "ci",
    hosts: [{ name: "builder", privileged: true }, { name: "tester", privileged: true, storageClass: "fast" }],
    nodeAddress: true,
    ...extra,
});

const node = (name: string, ready: boolean, address?: string) => ({
    metadata: { name },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }], addresses: address ? [{ type: "InternalIP", address }, { type: "Hostname", address: name }] : [] },
});

/** A cluster where everything is allowed and exists, unless a test changes a route. */
function welcoming(api: FakeKubeApi, denied: string[] = []) {
    api.routes.set("GET /version", { status: 200, body: { gitVersion: "v1.34.3" } });
    api.routes.set("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ({ body }) => {
        const { verb, resource } = body.spec.resourceAttributes;
        return { status: 201, body: { status: { allowed: !denied.includes(`${verb} ${resource}`) } } };
    });
    api.routes.set("POST /apis/authentication.k8s.io/v1/selfsubjectreviews", { status: 201, body: { status: { userInfo: { username: "ci-deployer" } } } });
    api.routes.set("GET /api/v1/namespaces/ci", { status: 200, body: { metadata: { name: "ci", labels: { "kubernetes.io/metadata.name": "ci" } } } });
    api.routes.set("GET /apis/storage.k8s.io/v1/storageclasses/fast", { status: 200, body: { metadata: { name: "fast" } } });
    api.routes.set("GET /api/v1/nodes", { status: 200, body: { items: [node("node-2", true, "172.18.0.4"), node("node-0", false, "172.18.0.2"), node("node-1", true, "172.18.0.3")] } });
}

describe("kubernetesCluster", () => {
    let api: FakeKubeApi;
    beforeEach(async () => (api = await startFakeKubeApi()));
    afterEach(() => api.close());

    it("learns where NodePorts are dialled: the first Ready node by name, as long as it lives", async () => {
        welcoming(api);
        assert.deepEqual(await checkCluster({ kubeconfig: api.kubeconfig() }, needs(), "daemons.farm"), { nodeAddress: "172.18.0.3" });
        assert.deepEqual(await checkCluster({ kubeconfig: api.kubeconfig() }, needs({ nodeAddress: false }), "daemons.farm"), {});
        assert.equal(nodeAddressOf([node("a", true), node("b", true, "10.0.0.2")]), "10.0.0.2", "a node without an InternalIP is skipped");
        assert.equal(nodeAddressOf([node("a", false, "10.0.0.1")]), undefined);
    });

    it("refuses credentials the cluster refuses, and a cluster that does not answer", async () => {
        api.routes.set("GET /version", { status: 401, body: { kind: "Status", message: "Unauthorized", reason: "Unauthorized" } });
        await assert.rejects(checkCluster({ kubeconfig: api.kubeconfig("stale") }, needs(), "daemons.farm"),
            new RegExp(`^UserError: daemons.farm: the cluster at ${api.server} refuses the credentials of context "fake" of .*: Unauthorized$`));
        const gone = api.kubeconfig();
        await api.close();
        await assert.rejects(checkCluster({ kubeconfig: gone }, needs(), "daemons.farm"), /daemons.farm: the cluster does not answer \(context "fake" of .*\): GET \/version on http:\/\/127.0.0.1:\d+: /);
        api = await startFakeKubeApi();
    });

    it("names the RBAC rights the user lacks in the namespace, and who the user is", async () => {
        welcoming(api, ["create statefulsets", "delete secrets"]);
        await assert.rejects(checkCluster({ kubeconfig: api.kubeconfig() }, needs(), "daemons.farm"), (error: Error) => {
            assert.match(error.message, /^daemons.farm: User "ci-deployer" \(context "fake" of .*\) may not create statefulsets.apps, delete secrets in namespace ci \(RBAC forbids it\): DinD hosts need create\/get\/patch\/delete statefulsets, /);
            return true;
        });
    });

    it("refuses a namespace that does not exist, storage and runtime classes that do not, all at once", async () => {
        welcoming(api);
        api.routes.delete("GET /api/v1/namespaces/ci");
        api.routes.delete("GET /apis/storage.k8s.io/v1/storageclasses/fast");
        const hosts = [{ name: "builder", privileged: false, runtimeClass: "sysbox-runc" }, { name: "tester", privileged: true, storageClass: "fast" }];
        await assert.rejects(checkCluster({ kubeconfig: api.kubeconfig() }, needs({ hosts }), "daemons.farm"), (error: Error) => {
            assert.deepEqual(error.message.split("\n").map((line) => line.replace(/\(context .*?\)/, "(CONTEXT)")), [
                "daemons.farm: namespace ci does not exist in the cluster (CONTEXT): create it (kubectl create namespace ci) or name another",
                "daemons.farm: storage class fast (of tester) does not exist in the cluster (kubectl get storageclass)",
                "daemons.farm: RuntimeClass sysbox-runc (of builder) does not exist in the cluster (kubectl get runtimeclass)",
            ]);
            return true;
        });
    });

    it("refuses a namespace whose Pod Security level refuses the hosts' pods, naming the namespace label", async () => {
        welcoming(api);
        const labelled = (level: string) => api.routes.set("GET /api/v1/namespaces/ci", { status: 200, body: { metadata: { name: "ci", labels: { "pod-security.kubernetes.io/enforce": level } } } });
        labelled("baseline");
        await assert.rejects(checkCluster({ kubeconfig: api.kubeconfig() }, needs(), "daemons.farm"),
            /^UserError: daemons.farm: namespace ci enforces Pod Security level "baseline" \(label pod-security.kubernetes.io\/enforce=baseline\), which refuses privileged pods, and the pods of builder, tester are privileged \(DinD needs it\): label it pod-security.kubernetes.io\/enforce=privileged \(kubectl label namespace ci pod-security.kubernetes.io\/enforce=privileged --overwrite\)/);
        const isolated = needs({ hosts: [{ name: "builder", privileged: false }] });
        assert.deepEqual(await checkCluster({ kubeconfig: api.kubeconfig() }, isolated, "daemons.farm"), { nodeAddress: "172.18.0.3" }, "baseline admits an unprivileged pod");
        labelled("restricted");
        await assert.rejects(checkCluster({ kubeconfig: api.kubeconfig() }, isolated, "daemons.farm"),
            /namespace ci enforces Pod Security level "restricted" \(label pod-security.kubernetes.io\/enforce=restricted\), which refuses pods running as root/);
        labelled("privileged");
        await checkCluster({ kubeconfig: api.kubeconfig() }, needs(), "daemons.farm");
    });

    it("skips what the user may not read, but needs a node address it cannot learn", async () => {
        welcoming(api);
        const forbidden = { status: 403, body: { kind: "Status", message: "forbidden", reason: "Forbidden" } };
        api.routes.set("GET /api/v1/namespaces/ci", forbidden);
        api.routes.set("GET /apis/storage.k8s.io/v1/storageclasses/fast", forbidden);
        assert.deepEqual(await checkCluster({ kubeconfig: api.kubeconfig() }, needs({ nodeAddress: false }), "daemons.farm"), {});
        api.routes.set("GET /api/v1/nodes", forbidden);
        await assert.rejects(checkCluster({ kubeconfig: api.kubeconfig() }, needs(), "daemons.farm"),
            /daemons.farm: User "ci-deployer" may not list nodes, so no node address for the hosts' NodePort Services is known: set kubernetes.nodeAddress/);
        api.routes.set("GET /api/v1/nodes", { status: 200, body: { items: [node("node-1", false, "172.18.0.3")] } });
        await assert.rejects(checkCluster({ kubeconfig: api.kubeconfig() }, needs(), "daemons.farm"), /no node of the cluster is Ready with an InternalIP/);
    });
});
