// The Kubernetes lane: `pulumi up` (real engine, the kubernetes plugin built from pulumi-kubernetes'
// own provider module) against a real kube-apiserver with etcd storage (fixtures/kube-cluster.sh).
// The API server validates, defaults and stores the objects and allocates cluster IPs; no kubelet
// runs the pods, so the test checks the objects as stored, and destroy.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { X509Certificate } from "node:crypto";
import { StackUnderTest } from "../support/harness";

const FIXTURES = path.join(__dirname, "fixtures");
const SCRATCH = "/tmp/dind-provisioner-remote-k8s";
const NAMESPACE = "remote-ci";

function cluster(command: "up" | "down") {
    const result = spawnSync("bash", [path.join(FIXTURES, "kube-cluster.sh"), command, SCRATCH, ...(command === "up" ? [NAMESPACE] : [])],
        { encoding: "utf8", timeout: 5 * 60_000 });
    if (result.status !== 0) throw new Error(`kube-cluster.sh ${command} failed (${result.status}): ${result.stderr}`);
}

/** GETs an API path with the kubeconfig's token; undefined for 404. */
function get(apiPath: string): Promise<any> {
    const kubeconfig = readFileSync(`${SCRATCH}/kubeconfig`, "utf8");
    const token = /token: (\S+)/.exec(kubeconfig)![1];
    return new Promise((resolve, reject) => {
        https.get({ host: "127.0.0.1", port: 23912, path: apiPath, ca: readFileSync(`${SCRATCH}/pki/apiserver.crt`), headers: { Authorization: `Bearer ${token}` } }, (response) => {
            let body = "";
            response.on("data", (chunk) => (body += chunk));
            response.on("end", () => {
                if (response.statusCode === 404) resolve(undefined);
                else if (response.statusCode === 200) resolve(JSON.parse(body));
                else reject(new Error(`GET ${apiPath}: HTTP ${response.statusCode} ${body}`));
            });
        }).on("error", reject);
    });
}
const ns = (kind: string, name: string, group = "api/v1") => get(`/${group}/namespaces/${NAMESPACE}/${kind}/${name}`);

describe("Kubernetes: DinD hosts as StatefulSets on a real API server", function () {
    this.timeout(15 * 60_000);
    let sut: StackUnderTest;

    before(async () => {
        cluster("up");
        const rendered = path.join(SCRATCH, "stack.yaml");
        writeFileSync(rendered, readFileSync(path.join(FIXTURES, "kubernetes.yaml"), "utf8").replaceAll("${KUBECONFIG}", `${SCRATCH}/kubeconfig`));
        sut = await StackUnderTest.create(rendered, `remote-k8s-${process.pid}`);
    });

    after(async () => {
        if (sut) {
            await sut.stack.destroy().catch((error: Error) => console.error(`destroy during cleanup failed: ${error.message}`));
            await sut.dispose();
        }
        cluster("down");
    });

    it("1. up stores a StatefulSet of one privileged dockerd pod with a readiness probe that asks the inner daemon", async () => {
        const up = await sut.stack.up();
        assert.equal(up.summary.result, "succeeded");
        const set = await ns("statefulsets", "remote-k8s-builder", "apis/apps/v1");
        assert.equal(set.spec.replicas, 1);
        const pod = set.spec.template.spec;
        assert.equal(pod.containers.length, 1);
        const dind = pod.containers[0];
        assert.equal(dind.image, "dind-provisioner/dind:local");
        assert.equal(dind.securityContext.privileged, true);
        assert.deepEqual(dind.readinessProbe.exec.command, ["docker", "--host", "unix:///var/run/docker.sock", "version"]);
        assert.ok(dind.args.includes("--tlsverify"));
        assert.ok(dind.env.some((e: { name: string; value: string }) => e.name === "GENERATION" && e.value === "1"));
        assert.deepEqual(pod.volumes.map((v: any) => v.persistentVolumeClaim?.claimName ?? v.secret?.secretName), ["remote-k8s-builder-docker", "remote-k8s-builder-tls"]);
    });

    it("2. the storage is a claim of the requested size; the TLS material is a Secret whose certificate names the Service", async () => {
        const claim = await ns("persistentvolumeclaims", "remote-k8s-builder-docker");
        assert.equal(claim.spec.resources.requests.storage, "5Gi");
        assert.deepEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
        assert.equal((await ns("persistentvolumeclaims", "remote-k8s-cache-docker")).spec.resources.requests.storage, "20Gi");
        const service = await ns("services", "remote-k8s-builder");
        assert.match(service.spec.clusterIP, /^10\.96\./, "the API server allocated a cluster IP");
        assert.deepEqual(service.spec.selector, { "dind-provisioner.host": "remote-k8s-builder" });
        assert.equal(service.spec.ports[0].port, 12376);
        assert.equal(service.spec.ports[0].targetPort, 2376);
        const secret = await ns("secrets", "remote-k8s-builder-tls");
        assert.deepEqual(Object.keys(secret.data).sort(), ["ca.pem", "cert.pem", "key.pem"]);
        const cert = new X509Certificate(Buffer.from(secret.data["cert.pem"], "base64").toString("utf8"));
        for (const name of [`IP Address:${service.spec.clusterIP}`, "DNS:remote-k8s-builder.remote-ci.svc", "DNS:builder.ci.example.com"]) {
            assert.ok(cert.subjectAltName?.includes(name), `${name} in ${cert.subjectAltName}`);
        }
        const outputs = await sut.stack.outputs();
        assert.equal(outputs.hosts.value["remote-k8s-builder"].tcpEndpoint, `tcp://${service.spec.clusterIP}:12376`);
        assert.equal(outputs.hosts.value["remote-k8s-builder"].serviceEndpoint, "tcp://remote-k8s-builder.remote-ci.svc:12376");
    });

    it("3. keeps the private keys out of the state in plain text", () => {
        const state = sut.stateFiles().map((file) => readFileSync(file, "utf8")).join("\n");
        assert.ok(!state.includes("PRIVATE KEY"), "a private key is in the state in plain text");
        assert.ok(!state.includes("LS0tLS1CRUdJTiBQUklWQVRF"), "a base64 private key is in the state");
    });

    it("4. a second up reports no changes", async () => {
        const up = await sut.stack.up();
        assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"], JSON.stringify(up.summary.resourceChanges));
    });

    it("5. destroy removes every object but the retained claim", async () => {
        await sut.stack.destroy();
        for (const [kind, name, group] of [["statefulsets", "remote-k8s-builder", "apis/apps/v1"], ["services", "remote-k8s-builder"],
            ["secrets", "remote-k8s-builder-tls"], ["persistentvolumeclaims", "remote-k8s-builder-docker"], ["statefulsets", "remote-k8s-cache", "apis/apps/v1"]]) {
            assert.equal(await ns(kind!, name!, group), undefined, `${kind}/${name} is gone`);
        }
        assert.ok(await ns("persistentvolumeclaims", "remote-k8s-cache-docker"), "the retained claim stays");
    });
});
