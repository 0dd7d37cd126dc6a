// The Kubernetes lane: `pulumi up` (real engine, the kubernetes plugin built from pulumi-kubernetes'
// own provider module) against a real two-node cluster (kubeCluster.ts: kube-apiserver, controller
// manager, scheduler, kubelets, kube-proxy, containerd, bridge CNI, local-path-provisioner, all
// built or installed offline), started once for this file. DinD pods start and pass their probe;
// `up` waits for them; preload and a nested web container go through the NodePort endpoint; the
// hosts move or stay when their node is drained or dies, as their storage allows; a retained claim
// outlives destroy; bad input and faults fail `up` with the cluster's own reason, and a second `up`
// recovers once they are fixed.
import * as assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import type { ClientTls } from "../../components/contract";
import { EngineClient, EngineEndpoint, engineRequest } from "../../components/engineApi";
import * as k8s from "@pulumi/kubernetes";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { stackStatus } from "../../commands/status";
import { removeStackContexts, syncContexts } from "../../driver/contexts";
import { readOutputs, REPO_ROOT } from "../../driver/stack";
import type { KubernetesHostOutputs } from "../../program/outputs";
import { allowForSuite } from "../support/consent";
import { dockerOk, StackUnderTest } from "../support/harness";
import { KubeCluster, Pod } from "../support/kubeCluster";

const FIXTURES = path.join(__dirname, "fixtures");
const SCRATCH = "/tmp/dind-provisioner-kube-lane";
const NAMESPACE = "dind-ci";
const FAULTS_NAMESPACE = "dind-faults";
const BUSYBOX = "dind-provisioner/busybox:local";
/** What the suite measured, printed at its end (docs/remote-daemons.md quotes it). */
const timings: Record<string, number | string> = {};

function render(fixture: string, kubeconfig: string): string {
    const file = path.join(SCRATCH, path.basename(fixture));
    writeFileSync(file, readFileSync(path.join(FIXTURES, fixture), "utf8").replaceAll("${KUBECONFIG}", kubeconfig));
    return file;
}

interface HostOutputs {
    tcpEndpoint: string;
    publishedPorts: Record<string, string>;
    publishedPortsAddress: string;
    node?: string;
    preloadedImageIds: Record<string, string>;
    nestedContainerIds: Record<string, string>;
}

async function hostOutputs(sut: StackUnderTest): Promise<{ hosts: Record<string, HostOutputs>; clientTls: Record<string, ClientTls> }> {
    const outputs = await sut.stack.outputs();
    return { hosts: outputs.hosts.value, clientTls: outputs.clientTls.value };
}

async function inner(sut: StackUnderTest, host: string): Promise<EngineEndpoint> {
    const { hosts, clientTls } = await hostOutputs(sut);
    return { host: hosts[host].tcpEndpoint, ...clientTls[host] };
}

const engine = (endpoint: EngineEndpoint) => new EngineClient(endpoint, { timeoutMs: 10_000 });

function httpGet(address: string): Promise<string> {
    return new Promise((resolve, reject) => {
        http.get(`http://${address}/`, { timeout: 5000 }, (response) => {
            let body = "";
            response.on("data", (chunk) => (body += chunk));
            response.on("end", () => resolve(body));
        }).on("error", reject).on("timeout", function (this: http.ClientRequest) {
            this.destroy(new Error("timeout"));
        });
    });
}

async function eventually<T>(what: string, seconds: number, attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        try {
            return await attempt();
        } catch (error) {
            if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s: ${(error as Error).message}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    }
}

/** `up` that must fail: its error message. */
async function failingUp(sut: StackUnderTest): Promise<{ message: string; seconds: number }> {
    const t0 = Date.now();
    try {
        await sut.stack.up();
    } catch (error) {
        return { message: (error as Error).message, seconds: (Date.now() - t0) / 1000 };
    }
    throw new Error("up succeeded, expected it to fail");
}

async function timedUp(sut: StackUnderTest) {
    const t0 = Date.now();
    const up = await sut.stack.up();
    assert.equal(up.summary.result, "succeeded");
    return { up, seconds: (Date.now() - t0) / 1000 };
}

describe("Kubernetes: DinD hosts on a real two-node cluster", function () {
    this.timeout(20 * 60_000);
    let cluster: KubeCluster;
    let sut: StackUnderTest;
    const pod = async (host: string): Promise<Pod> => (await cluster.pod(NAMESPACE, `${host}-0`))!;

    let disallow: () => void = () => undefined;

    before(async () => {
        KubeCluster.stop(SCRATCH);
        cluster = await KubeCluster.start(SCRATCH);
        timings.clusterStartSeconds = cluster.startSeconds;
        await cluster.createNamespace(NAMESPACE);
        // The operator allows the kubeconfigs the stacks name (an exec plugin in a kubeconfig would run on this machine).
        disallow = allowForSuite({ DIND_PROVISIONER_ALLOW_PATHS: cluster.dir });
        sut = await StackUnderTest.create(render("kubernetes.yaml", cluster.kubeconfig), `k8s-lane-${process.pid}`);
    });

    after(async () => {
        if (sut) {
            await sut.stack.destroy().catch((error: Error) => console.error(`destroy during cleanup failed: ${error.message}`));
            await sut.dispose();
        }
        console.log(`kubernetes timings: ${JSON.stringify(timings)}`);
        if (process.env.KUBE_LANE_KEEP !== "1") KubeCluster.stop(SCRATCH);
        disallow();
    });

    it("1. a cold up of two hosts waits for their pods, which run privileged dockerd on different nodes and pass their probe", async () => {
        const { seconds } = await timedUp(sut);
        timings.coldUpTwoHostsSeconds = seconds;
        const [builder, cache] = [await pod("k8s-builder"), await pod("k8s-cache")];
        for (const p of [builder, cache]) {
            assert.equal(p.status.phase, "Running");
            assert.ok(p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"), `${p.metadata.name} is Ready`);
            assert.equal(p.spec.containers[0].securityContext?.privileged, true);
        }
        assert.notEqual(builder.spec.nodeName, cache.spec.nodeName, "spread: one host per node");
        const ready = (p: any) => Date.parse(p.status.conditions.find((c: { type: string }) => c.type === "Ready").lastTransitionTime);
        const full = [await cluster.get(`/api/v1/namespaces/${NAMESPACE}/pods/k8s-builder-0`), await cluster.get(`/api/v1/namespaces/${NAMESPACE}/pods/k8s-cache-0`)];
        timings.podCreatedToReadySeconds = Math.max(...full.map((p) => (ready(p) - Date.parse(p.metadata.creationTimestamp)) / 1000));
        const { hosts } = await hostOutputs(sut);
        assert.equal(hosts["k8s-builder"].node, builder.spec.nodeName);
    });

    it("2. the mutual-TLS endpoint is a NodePort at a node's address, which the server certificate names", async () => {
        const { hosts } = await hostOutputs(sut);
        const endpoint = hosts["k8s-builder"].tcpEndpoint;
        const address = new URL(endpoint).hostname;
        assert.ok(cluster.nodeIps.includes(address), `${endpoint} is at a node's address (${cluster.nodeIps.join(", ")})`);
        const service = await cluster.get(`/api/v1/namespaces/${NAMESPACE}/services/k8s-builder`);
        assert.equal(service.spec.type, "NodePort");
        assert.equal(Number(new URL(endpoint).port), service.spec.ports.find((p: { name: string }) => p.name === "docker-tls").nodePort);
        const version = await engine(await inner(sut, "k8s-builder")).version();
        assert.match(version.Version, /^\d+\./);
        const secret = await cluster.get(`/api/v1/namespaces/${NAMESPACE}/secrets/k8s-builder-tls`);
        const cert = new X509Certificate(Buffer.from(secret.data["cert.pem"], "base64").toString("utf8"));
        for (const name of [`IP Address:${address}`, `IP Address:${service.spec.clusterIP}`, "DNS:k8s-builder.dind-ci.svc", "DNS:builder.ci.example.com"]) {
            assert.ok(cert.subjectAltName?.includes(name), `${name} in ${cert.subjectAltName}`);
        }
        // Without the client certificate the daemon refuses the connection.
        await assert.rejects(new EngineClient({ host: endpoint, ca: (await inner(sut, "k8s-builder")).ca }, { timeoutMs: 5000 }).version());
    });

    it("3. preload copied busybox from this machine's daemon into both inner daemons, with the outer image's id", async () => {
        const outerId = dockerOk(["image", "inspect", "-f", "{{.Id}}", BUSYBOX]);
        const { hosts } = await hostOutputs(sut);
        for (const host of ["k8s-builder", "k8s-cache"]) {
            assert.equal(hosts[host].preloadedImageIds[BUSYBOX], outerId);
            assert.equal(await engine(await inner(sut, host)).inspectImage(BUSYBOX), outerId);
        }
    });

    it("4. a nested web container serves through the host's Service, reachable from here", async () => {
        const { hosts } = await hostOutputs(sut);
        const address = hosts["k8s-builder"].publishedPorts["8080/tcp"];
        assert.match(address, /^[\d.]+:\d+$/);
        assert.equal(await eventually("the nested web container", 30, () => httpGet(address)), "hello from a pod\n");
        const nested = await engine(await inner(sut, "k8s-builder")).listContainers();
        assert.deepEqual(nested.map((c: { Names: string[] }) => c.Names[0]), ["/web"]);
    });

    it("5. a second up reports no changes, and no private key is in the state in plain text", async () => {
        const { up, seconds } = await timedUp(sut);
        timings.noOpUpSeconds = seconds;
        assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"], JSON.stringify(up.summary.resourceChanges));
        const state = sut.stateFiles().map((file) => readFileSync(file, "utf8")).join("\n");
        assert.ok(!state.includes("PRIVATE KEY"), "a private key is in the state in plain text");
        assert.ok(!state.includes("LS0tLS1CRUdJTiBQUklWQVRF"), "a base64 private key is in the state");
    });

    it("6. status shows each host's pod (phase, readiness, node), endpoint, nested containers and preloads; contexts reach the inner daemons", async () => {
        const outputs = await readOutputs(sut.stack);
        const out = await stackStatus(sut.stack.name, outputs);
        const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        for (const host of ["k8s-builder", "k8s-cache"]) {
            const p = await pod(host);
            assert.match(out, new RegExp(`^${host}\\s+${NAMESPACE}/${host}-0\\s+Running\\s+ready\\s+0\\s+${p.spec.nodeName}\\s+${escape(outputs.hosts[host].tcpEndpoint!)}\\s+\\d+\\.`, "m"), out);
        }
        assert.match(out, /^ {2}web\s+dind-provisioner\/busybox:local\s+running\s+Up .*8080->8080\/tcp$/m, out);
        assert.match(out, /^ {2}dind-provisioner\/busybox:local\s+sha256:\S+\s+yes$/m, out);
        const builder = outputs.hosts["k8s-builder"] as KubernetesHostOutputs;
        assert.match(out, new RegExp(`note: nested published ports are reached through the host's Service: 8080/tcp at ${escape(builder.publishedPorts["8080/tcp"])}`));
        assert.doesNotMatch(out, /BEGIN|PRIVATE KEY|CERTIFICATE|TESTCONTAINERS_HOST_OVERRIDE/);

        const saved = process.env.DOCKER_CONFIG;
        process.env.DOCKER_CONFIG = mkdtempSync(path.join(os.tmpdir(), "k8s-lane-docker-config-"));
        try {
            const contexts = syncContexts(sut.stack.name, outputs);
            assert.deepEqual(Object.keys(contexts).sort(), ["k8s-builder", "k8s-cache"]);
            const env = { DOCKER_CONFIG: process.env.DOCKER_CONFIG };
            assert.equal(dockerOk(["--context", contexts["k8s-builder"], "ps", "--format", "{{.Names}}"], env), "web");
            assert.match(dockerOk(["--context", contexts["k8s-cache"], "version", "--format", "{{.Server.Version}}"], env), /^\d+\./);
            const description = JSON.parse(dockerOk(["context", "inspect", "--format", "{{json .}}", contexts["k8s-builder"]], env)).Metadata.Description;
            assert.match(description, /host k8s-builder; nested published ports through its Service: 8080\/tcp at [\d.]+:\d+$/);
            assert.deepEqual(removeStackContexts(sut.stack.name).sort(), Object.values(contexts).sort());
        } finally {
            rmSync(process.env.DOCKER_CONFIG, { recursive: true, force: true });
            if (saved === undefined) delete process.env.DOCKER_CONFIG;
            else process.env.DOCKER_CONFIG = saved;
        }
    });

    it("6a. the guardrails pack lets the hosts' privileged pods through, and refuses a look-alike privileged pod on the same cluster", async () => {
        const policy = path.join(REPO_ROOT, "policy");
        const preview = await sut.stack.preview({ policyPacks: [policy] });
        assert.doesNotMatch(preview.stdout, /mandatory/, preview.stdout);
        const workDir = mkdtempSync(path.join(os.tmpdir(), "k8s-lane-look-alike-"));
        try {
            const lookAlike = await LocalWorkspace.createOrSelectStack({
                stackName: "look-alike", projectName: "k8s-lane-look-alike",
                program: async () => {
                    const provider = new k8s.Provider("cluster", { kubeconfig: readFileSync(cluster.kubeconfig, "utf8"), namespace: NAMESPACE });
                    new k8s.apps.v1.StatefulSet("k8s-look-alike", {
                        metadata: { name: "k8s-look-alike" },
                        spec: {
                            serviceName: "k8s-look-alike", selector: { matchLabels: { app: "look-alike" } },
                            template: {
                                metadata: { labels: { app: "look-alike", "dind-provisioner.role": "dind-host" } },
                                spec: { containers: [{ name: "dind", image: "dind-provisioner/dind:local", args: ["dockerd"], securityContext: { privileged: true } }] },
                            },
                        },
                    }, { provider });
                },
            }, { workDir, envVars: { PULUMI_BACKEND_URL: `file://${workDir}`, PULUMI_CONFIG_PASSPHRASE: "look-alike" } });
            await assert.rejects(lookAlike.preview({ policyPacks: [policy] }), (error: Error) => {
                assert.match(error.message, /\[mandatory\] {2}privileged-pods-only-dind-hosts {2}\(kubernetes:apps\/v1:StatefulSet: k8s-look-alike\)/);
                assert.match(error.message, /apps\/v1:StatefulSet k8s-look-alike runs a privileged container \(dind\), but only DinD hosts \(KubernetesDindHost\) may/);
                return true;
            });
            assert.equal(await cluster.get(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/k8s-look-alike`), undefined, "nothing was created");
        } finally {
            rmSync(workDir, { recursive: true, force: true });
        }
    });

    it("6b. per-host memory on a node, from the pod's cgroup", async () => {
        const p: any = await cluster.get(`/api/v1/namespaces/${NAMESPACE}/pods/k8s-cache-0`);
        const stat = cluster.exec(p.spec.nodeName, `cat /sys/fs/cgroup/memory/kubelet/kubepods/besteffort/pod${p.metadata.uid}/memory.stat`);
        const value = (key: string) => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(stat)?.[1]);
        const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
        assert.ok(value("total_rss") > 1024 * 1024, stat);
        timings.idleHostRssMiB = mib(value("total_rss"));
        timings.idleHostPageCacheMiB = mib(value("total_cache"));
    });

    it("7. draining the cache's node cannot move it (its volume is on that node): up says so within a bounded time, then recovers once the node is back", async () => {
        const node = (await pod("k8s-cache")).spec.nodeName!;
        await cluster.drain(node);
        try {
            await cluster.waitFor("k8s-cache pending for its node", 60, async () => (await pod("k8s-cache"))?.status.phase === "Pending");
            const { message, seconds } = await failingUp(sut);
            assert.match(message, /DinD host k8s-cache did not start: pod k8s-cache-0 cannot be scheduled: 0\/2 nodes are available: 1 node\(s\) didn't match PersistentVolume's node affinity, 1 node\(s\) were unschedulable/);
            timings.unschedulableUpFailsSeconds = seconds;
        } finally {
            await cluster.cordon(node, false);
        }
        await timedUp(sut);
        assert.equal((await pod("k8s-cache")).spec.nodeName, node);
    });

    it("8. draining the builder's node moves it, with its claim on storage any node attaches, to the other node; up then finds it whole", async () => {
        const from = (await pod("k8s-builder")).spec.nodeName!;
        const to = cluster.nodes.find((n) => n !== from)!;
        const t0 = Date.now();
        await cluster.drain(from);
        try {
            await cluster.waitFor("k8s-builder back on the other node", 180, async () => {
                const p = await pod("k8s-builder");
                return p?.spec.nodeName === to && !!p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
            });
            timings.drainMoveSeconds = (Date.now() - t0) / 1000;
            const { up } = await timedUp(sut);
            assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"], "nothing to redo");
            const endpoint = await inner(sut, "k8s-builder");
            const outerId = dockerOk(["image", "inspect", "-f", "{{.Id}}", BUSYBOX]);
            assert.equal(await engine(endpoint).inspectImage(BUSYBOX), outerId, "the inner images moved with the claim");
            const { hosts } = await hostOutputs(sut);
            assert.equal(await eventually("the nested web container after the move", 60, () => httpGet(hosts["k8s-builder"].publishedPorts["8080/tcp"])), "hello from a pod\n");
        } finally {
            await cluster.cordon(from, false);
        }
    });

    it("9. a node killed mid-run: the host on storage any node attaches comes back on the other node once the node is declared gone; the node-local one when the node returns", async () => {
        const victim = (await pod("k8s-builder")).spec.nodeName!;
        const cacheWasThere = (await pod("k8s-cache")).spec.nodeName === victim;
        assert.ok(cacheWasThere, "tests 7 and 8 left both hosts on one node");
        dockerOk(["kill", victim]);
        const t0 = Date.now();
        try {
            await cluster.waitFor(`${victim} NotReady`, 120, async () => {
                const node = await cluster.get(`/api/v1/nodes/${victim}`);
                return node.status.conditions.some((c: { type: string; status: string }) => c.type === "Ready" && c.status !== "True");
            });
            // What an operator (or a cloud's node controller) does for a machine that is gone.
            await cluster.markOutOfService(victim);
            await cluster.waitFor("k8s-builder on the surviving node", 180, async () => {
                const p = await pod("k8s-builder");
                return !!p && p.spec.nodeName !== victim && !!p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
            });
            timings.nodeLossToBuilderReadySeconds = (Date.now() - t0) / 1000;
            // The node-local host's pod was deleted with the node's pods; its new one waits for the node its volume is on.
            await cluster.waitFor("k8s-cache pending for its node", 60, async () => (await pod("k8s-cache"))?.status.phase === "Pending");
        } finally {
            dockerOk(["start", victim]);
            await cluster.markOutOfService(victim, false);
        }
        await cluster.waitFor(`${victim} Ready again`, 180, async () => {
            const node = await cluster.get(`/api/v1/nodes/${victim}`);
            return node.status.conditions.some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True");
        });
        await timedUp(sut);
        const { hosts } = await hostOutputs(sut);
        assert.equal(await eventually("the nested web container after the node's loss", 60, () => httpGet(hosts["k8s-builder"].publishedPorts["8080/tcp"])), "hello from a pod\n");
        assert.equal((await pod("k8s-cache")).status.phase, "Running");
    });

    it("10. destroy keeps the retained claim with its inner images, and a new up finds them", async () => {
        const cache = await inner(sut, "k8s-cache");
        const tagged = await engineRequest(cache, { method: "POST", path: `/images/${BUSYBOX}/tag?repo=kept-across-destroy&tag=1`, timeoutMs: 10_000 });
        assert.equal(tagged.statusCode, 201);
        await sut.stack.destroy();
        for (const [kind, name, group] of [["statefulsets", "k8s-builder", "apis/apps/v1"], ["services", "k8s-cache"], ["persistentvolumeclaims", "k8s-builder-docker"]]) {
            assert.equal(await cluster.get(`/${group ?? "api/v1"}/namespaces/${NAMESPACE}/${kind}/${name}`), undefined, `${kind}/${name} is gone`);
        }
        assert.ok(await cluster.get(`/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims/k8s-cache-docker`), "the retained claim stays");
        await timedUp(sut);
        const again = await inner(sut, "k8s-cache");
        assert.ok((await engine(again).listImages()).some((i) => i.RepoTags?.includes("kept-across-destroy:1")));
    });

    describe("bad input and faults: up fails with the cluster's own reason within a bounded time, and a second up recovers once fixed", () => {
        let faults: StackUnderTest;
        before(async () => {
            faults = await StackUnderTest.create(render("kubernetes-faults.yaml", cluster.nobodyKubeconfig), `k8s-faults-${process.pid}`);
        });
        after(async () => {
            if (faults) {
                await faults.stack.destroy().catch((error: Error) => console.error(`destroy during cleanup failed: ${error.message}`));
                await faults.dispose();
            }
            await cluster.deleteNamespace(FAULTS_NAMESPACE);
            for (const object of ["clusterrolebindings/k8s-lane-nobody-reads-nodes", "clusterroles/k8s-lane-node-reader"]) {
                await cluster.request("DELETE", `/apis/rbac.authorization.k8s.io/v1/${object}`).catch(() => undefined);
            }
        });

        it("11. a namespace and a storage class that do not exist are refused up front, together, creating nothing", async () => {
            faults.editStackFile((text) => text.replaceAll(cluster.nobodyKubeconfig, cluster.kubeconfig));
            const { message, seconds } = await failingUp(faults);
            assert.match(message, /daemons\.cluster: namespace dind-faults does not exist in the cluster .*: create it \(kubectl create namespace dind-faults\)/);
            assert.match(message, /daemons\.cluster: storage class no-such-class \(of k8s-fault\) does not exist in the cluster/);
            timings.refusedUpFrontSeconds = seconds;
            const state = await faults.stack.exportStack();
            assert.equal((state.deployment.resources ?? []).filter((r: { type: string }) => r.type.startsWith("kubernetes:")).length, 0, "nothing was created");
        });

        it("12. a kubeconfig whose user has no rights (RBAC) is refused up front, naming the user and the rights", async () => {
            await cluster.createNamespace(FAULTS_NAMESPACE);
            faults.editStackFile((text) => text.replaceAll(cluster.kubeconfig, cluster.nobodyKubeconfig));
            const { message } = await failingUp(faults);
            assert.match(message, /daemons\.cluster: User "kube-lane-nobody" \(context .*\) may not create statefulsets\.apps, .* in namespace dind-faults \(RBAC forbids it\)/);
            assert.match(message, /daemons\.cluster: User "kube-lane-nobody" may not list nodes/);
        });

        it("13. given the rights (edit in the namespace, nodes to read), the same user gets as far as the cluster can tell: a claim of a class that does not exist", async () => {
            await cluster.create({
                apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "nobody-edits", namespace: FAULTS_NAMESPACE },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" }, subjects: [{ kind: "User", name: "kube-lane-nobody" }],
            } as never);
            await cluster.create({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "k8s-lane-node-reader" },
                rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list"] }] } as never);
            await cluster.create({
                apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "k8s-lane-nobody-reads-nodes" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "k8s-lane-node-reader" }, subjects: [{ kind: "User", name: "kube-lane-nobody" }],
            } as never);
            // This user may not read storage classes: the claim's provisioning tells.
            const { message, seconds } = await failingUp(faults);
            assert.match(message, /DinD host k8s-fault did not start: its claim k8s-fault-docker cannot be provisioned: .*"no-such-class" not found/);
            timings.claimUnprovisionableUpFailsSeconds = seconds;
        });

        it("14. an image the nodes do not have fails up with the kubelet's reason; fixing it recovers", async () => {
            // A claim's class cannot change: up replaces the claim, and the StatefulSet whose pod holds it.
            faults.editStackFile((text) => text.replace("class: no-such-class", "class: shared-path"));
            const { message, seconds } = await failingUp(faults);
            assert.match(message, /DinD host k8s-fault did not start: its dind container cannot start: (ImagePullBackOff|ErrImageNeverPull)/);
            assert.match(message, /dind-provisioner\/dind:missing/);
            timings.imageMissingUpFailsSeconds = seconds;
            faults.editStackFile((text) => text.replace("dind-provisioner/dind:missing", "dind-provisioner/dind:local"));
            await timedUp(faults);
        });

        it("15. privileged refused by admission (a ValidatingAdmissionPolicy): up fails with the StatefulSet controller's refusal; lifting it recovers", async () => {
            // What the API server decides for a privileged pod in the namespace, without creating one.
            const admitPrivileged = () => cluster.request("POST", `/api/v1/namespaces/${FAULTS_NAMESPACE}/pods?dryRun=All`, {
                apiVersion: "v1", kind: "Pod", metadata: { name: "probe" }, spec: { containers: [{ name: "c", image: BUSYBOX, securityContext: { privileged: true } }] },
            });
            await cluster.create({
                apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name: "k8s-lane-no-privileged" },
                spec: {
                    failurePolicy: "Fail",
                    matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }] },
                    validations: [{ expression: "object.spec.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged)", message: "privileged containers are not allowed here" }],
                },
            } as never);
            await cluster.create({
                apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: "k8s-lane-no-privileged" },
                spec: { policyName: "k8s-lane-no-privileged", validationActions: ["Deny"], matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": FAULTS_NAMESPACE } } } },
            } as never);
            try {
                // The policy is enforced once the API server has loaded it.
                await eventually("the admission policy in force", 30, async () => {
                    const answer = await admitPrivileged().then(() => "admitted", (error: Error) => error.message);
                    if (!answer.includes("privileged containers are not allowed here")) throw new Error(answer);
                });
                faults.editStackFile((text) => text.replace('GENERATION: "1"', 'GENERATION: "2"'));
                const { message, seconds } = await failingUp(faults);
                assert.match(message, /DinD host k8s-fault did not start: the StatefulSet controller cannot create its pod k8s-fault-0: .*privileged containers are not allowed here/);
                timings.admissionRefusalUpFailsSeconds = seconds;
            } finally {
                await cluster.request("DELETE", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/k8s-lane-no-privileged");
                await cluster.request("DELETE", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/k8s-lane-no-privileged");
            }
            // Lifted once the API server has dropped it (the controller's next retry then succeeds).
            await eventually("the admission policy lifted", 30, async () => {
                await admitPrivileged();
            });
            await timedUp(faults);
        });

        it("16. a runtime class makes the pod unprivileged (here plain runc under another name, where dockerd cannot start): up fails with the daemon's own log", async () => {
            faults.editStackFile((text) => text.replace("    env:", "    runtime: isolated\n    env:"));
            const { message } = await failingUp(faults);
            const p = (await cluster.pod(FAULTS_NAMESPACE, "k8s-fault-0"))!;
            assert.equal(p.spec.runtimeClassName, "isolated");
            assert.equal(p.spec.containers[0].securityContext?.privileged, false);
            assert.match(message, /DinD host k8s-fault did not start: its dind container exited .* Last lines of its log/);
            faults.editStackFile((text) => text.replace("    runtime: isolated\n", ""));
            await timedUp(faults);
        });

        it("17. a namespace whose Pod Security level refuses privileged pods is refused up front, naming its label", async () => {
            await cluster.request("PATCH", `/api/v1/namespaces/${FAULTS_NAMESPACE}`, { metadata: { labels: { "pod-security.kubernetes.io/enforce": "baseline" } } }, "application/merge-patch+json");
            const { message } = await failingUp(faults);
            assert.match(message, /namespace dind-faults enforces Pod Security level "baseline" \(label pod-security.kubernetes.io\/enforce=baseline\), which refuses privileged pods/);
            await cluster.request("PATCH", `/api/v1/namespaces/${FAULTS_NAMESPACE}`, { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } }, "application/merge-patch+json");
            await timedUp(faults);
        });
    });
});
