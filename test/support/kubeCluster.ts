// The Kubernetes tests' cluster: two nodes and a control plane as containers on this machine's
// Docker (fixtures/kube-cluster.sh), started once for the suite, its add-ons applied
// (fixtures/kube-cluster-addons.yaml: the storage provisioner, its classes, a RuntimeClass), and
// the helpers the tests use to look at it and to cause faults (drain, cordon, a node's death),
// through the project's own Kubernetes API client.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { apiMessage, KubeConnection, kubeConnection, kubeGet, kubeRequest } from "../../components/kubeApi";
import { dockerOk } from "./harness";

const FIXTURES = path.join(__dirname, "..", "integration", "fixtures");

/** Where each kind of object the add-ons hold is created. */
const COLLECTIONS: Record<string, (namespace?: string) => string> = {
    Namespace: () => "/api/v1/namespaces",
    ServiceAccount: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
    ConfigMap: (ns) => `/api/v1/namespaces/${ns}/configmaps`,
    Role: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
    RoleBinding: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
    ClusterRole: () => "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    ClusterRoleBinding: () => "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    Deployment: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`,
    StorageClass: () => "/apis/storage.k8s.io/v1/storageclasses",
    RuntimeClass: () => "/apis/node.k8s.io/v1/runtimeclasses",
    ValidatingAdmissionPolicy: () => "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
    ValidatingAdmissionPolicyBinding: () => "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
};

export interface Pod {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    spec: { nodeName?: string; runtimeClassName?: string; containers: { securityContext?: { privileged?: boolean } }[] };
    status: { phase?: string; podIP?: string; hostIP?: string; conditions?: { type: string; status: string }[] };
}

export class KubeCluster {
    readonly connection: KubeConnection;
    /** The two worker machines, by node name, and their addresses. */
    readonly nodes: string[];
    readonly nodeIps: string[];
    readonly controlPlane: string;
    /** Seconds the start took: machines, images, add-ons, nodes Ready. */
    startSeconds = 0;

    private constructor(readonly dir: string) {
        this.connection = kubeConnection({ kubeconfig: this.kubeconfig });
        const env = Object.fromEntries(readFileSync(path.join(dir, "cluster.env"), "utf8").split("\n").filter(Boolean)
            .map((line) => line.split("=", 2)).map(([k, v]) => [k, v.replace(/^"|"$/g, "")]));
        this.nodes = env.NODES.split(" ");
        this.nodeIps = env.NODE_IPS.split(" ");
        this.controlPlane = env.CONTROL_PLANE;
    }

    /** The admin's kubeconfig (system:masters). */
    get kubeconfig(): string {
        return path.join(this.dir, "kubeconfig");
    }

    /** A kubeconfig whose user the API server knows but RBAC gives no right. */
    get nobodyKubeconfig(): string {
        return path.join(this.dir, "nobody.kubeconfig");
    }

    /** Starts the machines, applies the add-ons, and waits until both nodes are Ready and storage is provisioned. */
    static async start(dir: string): Promise<KubeCluster> {
        const t0 = Date.now();
        script("up", dir);
        const cluster = new KubeCluster(dir);
        await cluster.applyFile(path.join(FIXTURES, "kube-cluster-addons.yaml"));
        await cluster.waitFor("both nodes Ready", 180, async () => {
            const nodes = await cluster.get<{ items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] }>("/api/v1/nodes");
            return nodes!.items.filter((n) => n.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === cluster.nodes.length;
        }, () => cluster.machineLogs());
        await cluster.waitFor("the storage provisioner", 120, async () => {
            const deployment = await cluster.get<{ status: { readyReplicas?: number } }>("/apis/apps/v1/namespaces/local-path-storage/deployments/local-path-provisioner");
            return deployment?.status.readyReplicas === 1;
        });
        cluster.startSeconds = (Date.now() - t0) / 1000;
        return cluster;
    }

    /** Removes the machines, their volumes and network. */
    static stop(dir: string) {
        script("down", dir);
    }

    async get<T = any>(apiPath: string): Promise<T | undefined> {
        return kubeGet<T>(this.connection, apiPath);
    }

    async request(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<any> {
        const answer = await kubeRequest(this.connection, method, apiPath, body, 30_000, contentType);
        if (answer.status >= 300) throw new Error(`${method} ${apiPath}: ${apiMessage(answer)}`);
        return answer.body;
    }

    /** Creates every object of a YAML file (an existing one is left as it is). */
    async applyFile(file: string) {
        for (const document of parseAllDocuments(readFileSync(file, "utf8"))) await this.create(document.toJS());
    }

    async create(object: { kind: string; metadata: { namespace?: string } }) {
        const answer = await kubeRequest(this.connection, "POST", COLLECTIONS[object.kind](object.metadata.namespace), object);
        if (answer.status !== 201 && answer.status !== 409) throw new Error(`creating ${object.kind}: ${apiMessage(answer)}`);
    }

    async createNamespace(name: string, labels: Record<string, string> = {}) {
        await this.create({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } } as never);
    }

    async deleteNamespace(name: string) {
        await kubeRequest(this.connection, "DELETE", `/api/v1/namespaces/${name}`);
    }

    async pod(namespace: string, name: string): Promise<Pod | undefined> {
        return this.get<Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`);
    }

    /** Marks a node unschedulable (or schedulable again). */
    async cordon(node: string, unschedulable = true) {
        await this.request("PATCH", `/api/v1/nodes/${node}`, { spec: { unschedulable } }, "application/merge-patch+json");
    }

    /** `kubectl drain`: cordon, then evict every pod that is not a DaemonSet's or a mirror pod. */
    async drain(node: string) {
        await this.cordon(node);
        const pods = await this.get<{ items: { metadata: { name: string; namespace: string } }[] }>(`/api/v1/pods?fieldSelector=spec.nodeName=${node}`);
        for (const pod of pods!.items) {
            await this.request("POST", `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/eviction`,
                { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace } });
        }
    }

    /**
     * What an operator (or a cloud's node controller) does for a machine that is gone: taints its
     * node out of service, so its pods are deleted and their volumes released (non-graceful node shutdown).
     */
    async markOutOfService(node: string, out = true) {
        const taints = out ? [{ key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" }] : [];
        await this.request("PATCH", `/api/v1/nodes/${node}`, { spec: { taints } }, "application/merge-patch+json");
    }

    /** Polls `check` until it holds, failing after `seconds` with `detail()`'s text. */
    async waitFor(what: string, seconds: number, check: () => Promise<boolean>, detail?: () => string) {
        const deadline = Date.now() + seconds * 1000;
        for (;;) {
            if (await check().catch(() => false)) return;
            if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s${detail ? `\n${detail()}` : ""}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    }

    /** The last lines of each machine's component logs, for a failure's message. */
    machineLogs(): string {
        return [this.controlPlane, ...this.nodes].map((machine) => {
            const tail = spawnSync("docker", ["exec", machine, "sh", "-c", "tail -n 8 /var/log/kube-lane/*.log"], { encoding: "utf8" });
            return `--- ${machine}\n${tail.stdout}${tail.stderr}`;
        }).join("\n");
    }

    /** A shell command in a machine. */
    exec(machine: string, command: string): string {
        return dockerOk(["exec", machine, "sh", "-c", command]);
    }
}

function script(command: "up" | "down", dir: string) {
    const result = spawnSync("bash", [path.join(FIXTURES, "kube-cluster.sh"), command, dir], { encoding: "utf8", timeout: 15 * 60_000 });
    process.stderr.write(result.stderr ?? "");
    if (result.status !== 0) throw new Error(`kube-cluster.sh ${command} failed (${result.status ?? result.error})`);
}
