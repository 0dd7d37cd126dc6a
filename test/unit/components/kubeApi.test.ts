import * as assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeEvents, kubeConnection, kubeGet, kubeRequest, objectEvents } from "../../../components/kubeApi";
import { startFakeKubeApi } from "./fakeKubeApi";

function kubeconfigDir(files: Record<string, string>): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), "kubeconfig-"));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return dir;
}

const TWO_CONTEXTS = `
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster: { server: "https://dev.example:6443", certificate-authority: ca.pem, tls-server-name: api.dev }
- name: ci-cluster
  cluster: { server: "https://ci.example:6443", certificate-authority-data: ${Buffer.from("CI CA").toString("base64")}, insecure-skip-tls-verify: true }
users:
- name: dev-user
  user: { client-certificate: cert.pem, client-key-data: ${Buffer.from("DEV KEY").toString("base64")} }
- name: ci-user
  user: { tokenFile: token }
contexts:
- name: dev
  context: { cluster: dev-cluster, user: dev-user }
- name: ci
  context: { cluster: ci-cluster, user: ci-user, namespace: ci }
`;

describe("kubeApi", () => {
    it("finds the cluster and credentials as kubectl does: the current context, or the one named; files relative to the kubeconfig", () => {
        const dir = kubeconfigDir({ config: TWO_CONTEXTS, "ca.pem": "DEV CA", "cert.pem": "DEV CERT", token: "ci-token\n" });
        const kubeconfig = path.join(dir, "config");
        const dev = kubeConnection({ kubeconfig }, {});
        assert.deepEqual({ ...dev, source: undefined }, {
            server: "https://dev.example:6443", ca: "DEV CA", insecure: false, serverName: "api.dev", cert: "DEV CERT", key: "DEV KEY", token: undefined, source: undefined,
        });
        assert.equal(dev.source, `context "dev" of ${kubeconfig}`);
        const ci = kubeConnection({ kubeconfig, context: "ci" }, {});
        assert.equal(ci.server, "https://ci.example:6443");
        assert.equal(ci.ca, "CI CA");
        assert.equal(ci.insecure, true);
        assert.equal(ci.token, "ci-token", "a token file, trimmed");
    });

    it("reads $KUBECONFIG's files, the first one holding a name winning, else ~/.kube/config", () => {
        const dir = kubeconfigDir({
            a: "current-context: b-context\nclusters: [{ name: shared, cluster: { server: https://first:6443 } }]\n",
            b: "current-context: ignored\nclusters: [{ name: shared, cluster: { server: https://second:6443 } }]\n" +
                "users: [{ name: u, user: { token: t } }]\ncontexts: [{ name: b-context, context: { cluster: shared, user: u } }]\n",
        });
        const merged = kubeConnection({}, { KUBECONFIG: `${path.join(dir, "a")}${path.delimiter}${path.join(dir, "missing")}${path.delimiter}${path.join(dir, "b")}` });
        assert.equal(merged.server, "https://first:6443");
        assert.equal(merged.token, "t");
        const home = kubeconfigDir({});
        assert.throws(() => kubeConnection({}, { HOME: home }), /no kubeconfig: none of .*\.kube\/config exists, and this is not a pod/);
    });

    it("names what is missing from a kubeconfig", () => {
        const dir = kubeconfigDir({ config: TWO_CONTEXTS, empty: "apiVersion: v1\n", legacy: TWO_CONTEXTS.replace("user: { tokenFile: token }", "user: { auth-provider: { name: gcp } }") });
        const kubeconfig = path.join(dir, "config");
        assert.throws(() => kubeConnection({ kubeconfig, context: "prod" }), /has no context "prod"/);
        assert.throws(() => kubeConnection({ kubeconfig: path.join(dir, "empty") }), /has no current-context: name a context/);
        assert.throws(() => kubeConnection({ kubeconfig: path.join(dir, "nope") }), /cannot read the kubeconfig .*nope/);
        assert.throws(() => kubeConnection({ kubeconfig: path.join(dir, "legacy"), context: "ci" }), /uses an auth-provider, which kubectl has dropped too/);
    });

    it("runs an exec credential plugin with the cluster in KUBERNETES_EXEC_INFO and takes its token", () => {
        const plugin = "const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO); " +
            "console.log(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential', status: { token: 'from-' + process.env.ROLE + '-' + info.spec.cluster.server } }))";
        const config = TWO_CONTEXTS.replace("user: { tokenFile: token }",
            `user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: ${JSON.stringify(process.execPath)}, args: [-e, ${JSON.stringify(plugin)}], env: [{ name: ROLE, value: ci }] } }`);
        const dir = kubeconfigDir({ config });
        assert.equal(kubeConnection({ kubeconfig: path.join(dir, "config"), context: "ci" }, {}).token, "from-ci-https://ci.example:6443");
        const failing = kubeconfigDir({ config: config.replace(JSON.stringify(plugin), JSON.stringify("console.error('not logged in'); process.exit(3)")) });
        assert.throws(() => kubeConnection({ kubeconfig: path.join(failing, "config"), context: "ci" }, {}), /credential plugin .* failed \(3\): not logged in/);
    });

    it("sends the bearer token, answers JSON, text and 404, and lists an object's events oldest first", async () => {
        const api = await startFakeKubeApi();
        try {
            api.routes.set("GET /api/v1/namespaces/ci", ({ headers }) => ({ status: headers.authorization === "Bearer secret" ? 200 : 401, body: { metadata: { name: "ci" } } }));
            api.routes.set("GET /api/v1/namespaces/ci/pods/b-0/log", { status: 200, body: "line one\nline two\n" });
            api.routes.set("GET /api/v1/namespaces/ci/events", ({ path: p }) => ({
                status: 200,
                body: {
                    items: decodeURIComponent(p).includes("involvedObject.kind=Pod,involvedObject.name=b-0") ? [
                        { type: "Warning", reason: "BackOff", message: "Back-off pulling image", count: 4, lastTimestamp: "2026-12-04T10:00:09Z", involvedObject: { kind: "Pod", name: "b-0" } },
                        { type: "Normal", reason: "Scheduled", message: "Assigned to node-1", lastTimestamp: "2026-12-04T10:00:01Z", involvedObject: { kind: "Pod", name: "b-0" } },
                    ] : [],
                },
            }));
            const connection = kubeConnection({ kubeconfig: api.kubeconfig("secret") });
            assert.deepEqual(await kubeGet(connection, "/api/v1/namespaces/ci"), { metadata: { name: "ci" } });
            assert.equal(await kubeGet(connection, "/api/v1/namespaces/gone"), undefined);
            await assert.rejects(kubeGet(kubeConnection({ kubeconfig: api.kubeconfig("wrong") }), "/api/v1/namespaces/ci"), /HTTP 401/);
            assert.equal((await kubeRequest(connection, "GET", "/api/v1/namespaces/ci/pods/b-0/log?tailLines=2")).body, "line one\nline two\n");
            const events = await objectEvents(connection, "ci", "Pod", "b-0");
            assert.deepEqual(events.map((e) => e.reason), ["Scheduled", "BackOff"]);
            assert.equal(describeEvents(events), "  Normal  Scheduled  Assigned to node-1\n  Warning  BackOff  Back-off pulling image (x4)");
        } finally {
            await api.close();
        }
    });
});
