// What a cluster must allow before DinD hosts are created there, asked up front so that a stack
// that cannot work is refused before anything exists, with what the cluster says: credentials it
// refuses, RBAC rights the user lacks, a namespace that does not exist or whose Pod Security level
// refuses the hosts' pods, a storage class or RuntimeClass that does not exist. It also learns the
// address a NodePort Service is dialled at. Checks the user has no right to make are skipped: the
// readiness step then reports what happens (the StatefulSet controller's refusal, a claim that
// cannot be provisioned).
import { UserError } from "./errors";
import { apiMessage, KubeAccess, kubeConnection, KubeConnection, kubeGet, kubeRequest } from "./kubeApi";

/** The Pod Security label a namespace enforces with. */
export const POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

/** What the hosts on one cluster need of it. */
export interface ClusterNeeds {
    namespace: string;
    /** Per host: its name, whether its pod is privileged (no isolating RuntimeClass), its storage class and RuntimeClass. */
    hosts: { name: string; privileged: boolean; storageClass?: string; runtimeClass?: string }[];
    /** Learn a node's address for NodePort Services (none when the stack gives one, or uses ClusterIP). */
    nodeAddress: boolean;
}

export interface ClusterFacts {
    /** The InternalIP of the first Ready node by name: where NodePort Services are dialled. */
    nodeAddress?: string;
}

/** The rights DinD hosts need in their namespace: what the provider and the readiness step do there. */
const NEEDED: { group: string; resource: string; verbs: string[] }[] = [
    { group: "apps", resource: "statefulsets", verbs: ["create", "get", "patch", "delete"] },
    { group: "", resource: "services", verbs: ["create", "get", "patch", "delete"] },
    { group: "", resource: "secrets", verbs: ["create", "get", "patch", "delete"] },
    { group: "", resource: "persistentvolumeclaims", verbs: ["create", "get", "patch", "delete"] },
    { group: "", resource: "pods", verbs: ["get"] },
    { group: "", resource: "events", verbs: ["list"] },
];

interface Node {
    metadata: { name: string };
    spec?: { unschedulable?: boolean };
    status?: { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] };
}

/** Who the credentials are, as the API server sees them (SelfSubjectReview), for messages. */
async function whoAmI(connection: KubeConnection): Promise<string> {
    const answer = await kubeRequest(connection, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }).catch(() => undefined);
    return answer?.status === 201 ? String(answer.body?.status?.userInfo?.username ?? "this user") : "this user";
}

/** The verbs of NEEDED the user may not use in the namespace ("create statefulsets.apps"). */
async function missingRights(connection: KubeConnection, namespace: string): Promise<string[]> {
    const asks = NEEDED.flatMap(({ group, resource, verbs }) => verbs.map((verb) => ({ group, resource, verb })));
    const answers = await Promise.all(asks.map(async ({ group, resource, verb }) => {
        const answer = await kubeRequest(connection, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            spec: { resourceAttributes: { namespace, group, resource, verb } },
        });
        if (answer.status !== 201) throw new Error(apiMessage(answer));
        return answer.body.status?.allowed === true ? undefined : `${verb} ${resource}${group ? `.${group}` : ""}`;
    }));
    return answers.filter((a): a is string => a !== undefined);
}

/** The Pod Security problem of running these hosts in a namespace that enforces `level`, if any. */
export function podSecurityProblem(namespace: string, level: string | undefined, hosts: ClusterNeeds["hosts"]): string | undefined {
    if (level === undefined || level === "privileged") return undefined;
    const label = `${POD_SECURITY_ENFORCE_LABEL}=${level}`;
    const fix = `label it ${POD_SECURITY_ENFORCE_LABEL}=privileged (kubectl label namespace ${namespace} ${POD_SECURITY_ENFORCE_LABEL}=privileged --overwrite) or use a namespace that allows privileged pods`;
    const privileged = hosts.filter((h) => h.privileged).map((h) => h.name);
    if (privileged.length > 0) {
        return `namespace ${namespace} enforces Pod Security level "${level}" (label ${label}), which refuses privileged pods, and the pods of ${privileged.join(", ")} are privileged (DinD needs it): ` +
            `${fix}, or give the hosts a runtime that isolates Docker in Docker without privileges (runtime: sysbox-runc)`;
    }
    if (level === "restricted") {
        return `namespace ${namespace} enforces Pod Security level "restricted" (label ${label}), which refuses pods running as root, and dockerd in ${hosts.map((h) => h.name).join(", ")} runs as root: ` +
            `label it ${POD_SECURITY_ENFORCE_LABEL}=baseline or privileged, or use another namespace`;
    }
    return undefined;
}

/** The first Ready node's InternalIP (nodes by name, so every run picks the same one while it lives). */
export function nodeAddressOf(nodes: Node[]): string | undefined {
    const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    for (const node of ready) {
        const address = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
        if (address) return address;
    }
    return undefined;
}

/**
 * Checks that the cluster lets these hosts run, and learns its facts; throws one error listing
 * every problem (prefixed by `where`, e.g. `daemons.farm`).
 */
export async function checkCluster(access: KubeAccess, needs: ClusterNeeds, where: string): Promise<ClusterFacts> {
    let connection: KubeConnection;
    try {
        connection = kubeConnection(access);
    } catch (error) {
        throw new UserError(`${where}: ${(error as Error).message}`);
    }
    const fail = (problems: string[]) => new UserError(problems.map((p) => `${where}: ${p}`).join("\n"));
    const version = await kubeRequest(connection, "GET", "/version").catch((error: Error) => error);
    if (version instanceof Error) throw fail([`the cluster does not answer (${connection.source}): ${version.message}`]);
    if (version.status === 401) throw fail([`the cluster at ${connection.server} refuses the credentials of ${connection.source}: ${apiMessage(version)}`]);

    const { namespace } = needs;
    const problems: string[] = [];
    const missing = await missingRights(connection, namespace);
    if (missing.length > 0) {
        problems.push(`User "${await whoAmI(connection)}" (${connection.source}) may not ${missing.join(", ")} in namespace ${namespace} (RBAC forbids it): ` +
            `DinD hosts need ${NEEDED.map((n) => `${n.verbs.join("/")} ${n.resource}`).join(", ")} there`);
    }
    const tolerant = async <T>(apiPath: string): Promise<T | undefined | "forbidden"> => {
        try {
            return await kubeGet<T>(connection, apiPath);
        } catch (error) {
            if ((error as { status?: number }).status === 403) return "forbidden";
            throw error;
        }
    };
    const ns = await tolerant<{ metadata: { labels?: Record<string, string> } }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}`);
    if (ns === undefined) problems.push(`namespace ${namespace} does not exist in the cluster (${connection.source}): create it (kubectl create namespace ${namespace}) or name another`);
    if (ns && ns !== "forbidden") {
        const problem = podSecurityProblem(namespace, ns.metadata.labels?.[POD_SECURITY_ENFORCE_LABEL], needs.hosts);
        if (problem) problems.push(problem);
    }
    for (const [kind, path, named] of [
        ["storage class", "/apis/storage.k8s.io/v1/storageclasses/", (h: ClusterNeeds["hosts"][number]) => h.storageClass],
        ["RuntimeClass", "/apis/node.k8s.io/v1/runtimeclasses/", (h: ClusterNeeds["hosts"][number]) => h.runtimeClass],
    ] as const) {
        for (const name of new Set(needs.hosts.map(named).filter((n): n is string => !!n))) {
            if ((await tolerant(`${path}${encodeURIComponent(name)}`)) === undefined) {
                const users = needs.hosts.filter((h) => named(h) === name).map((h) => h.name).join(", ");
                problems.push(`${kind} ${name} (of ${users}) does not exist in the cluster (kubectl get ${kind === "RuntimeClass" ? "runtimeclass" : "storageclass"})`);
            }
        }
    }
    const facts: ClusterFacts = {};
    if (needs.nodeAddress) {
        const nodes = await tolerant<{ items: Node[] }>("/api/v1/nodes");
        if (nodes === "forbidden") problems.push(`User "${await whoAmI(connection)}" may not list nodes, so no node address for the hosts' NodePort Services is known: set kubernetes.nodeAddress`);
        else if (!(facts.nodeAddress = nodeAddressOf(nodes?.items ?? []))) problems.push("no node of the cluster is Ready with an InternalIP, where the hosts' NodePort Services would be dialled: set kubernetes.nodeAddress");
    }
    if (problems.length > 0) throw fail(problems);
    return facts;
}
