// A stand-in for the Kubernetes API server on plain http (a kubeconfig may point at one), for unit
// tests of the Kubernetes client, the up-front cluster checks and the readiness step. Each route
// answers what the test put there; the real API server is exercised by the integration suite.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** An answer: a status and a body, or a function of the request (called on every request). */
export type Route = { status: number; body?: unknown } | ((request: { method: string; path: string; body: any; headers: http.IncomingHttpHeaders }) => { status: number; body?: unknown });

export interface FakeKubeApi {
    server: string;
    /** "GET /api/v1/namespaces/ci" -> answer; a path with its query string matches before one without. */
    routes: Map<string, Route>;
    /** Every request, as "METHOD /path?query". */
    requests: string[];
    /** The Date header of every answer. */
    date: string;
    /** A kubeconfig for this server with a bearer token (written once). */
    kubeconfig(token?: string): string;
    close(): Promise<void>;
}

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
    const api: FakeKubeApi = {
        server: "", routes: new Map(), requests: [], date: new Date().toUTCString(),
        kubeconfig: () => "", close: async () => undefined,
    };
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
            const full = req.url!;
            const bare = full.split("?")[0];
            api.requests.push(`${req.method} ${full}`);
            const route = api.routes.get(`${req.method} ${full}`) ?? api.routes.get(`${req.method} ${bare}`);
            const text = Buffer.concat(chunks).toString("utf8");
            const answer = typeof route === "function"
                ? route({ method: req.method!, path: full, body: text ? JSON.parse(text) : undefined, headers: req.headers })
                : route ?? { status: 404, body: { kind: "Status", message: `the server could not find the requested resource (${bare})`, reason: "NotFound" } };
            const body = answer.body === undefined ? "" : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
            res.writeHead(answer.status, { Date: api.date, "Content-Type": typeof answer.body === "string" ? "text/plain" : "application/json" }).end(body);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    api.server = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), "fake-kube-api-"));
    api.kubeconfig = (token = "test-token") => {
        const file = path.join(dir, `kubeconfig-${token}`);
        writeFileSync(file, [
            "apiVersion: v1", "kind: Config", "current-context: fake",
            "clusters: [{ name: fake, cluster: { server: " + api.server + " } }]",
            `users: [{ name: fake, user: { token: ${token} } }]`,
            "contexts: [{ name: fake, context: { cluster: fake, user: fake } }]",
        ].join("\n"));
        return file;
    };
    api.close = () => new Promise((resolve) => server.close(() => resolve()));
    return api;
}
