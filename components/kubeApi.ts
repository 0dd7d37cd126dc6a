// A small client for the Kubernetes API, as kubectl finds a cluster: a kubeconfig (the file
// named, else $KUBECONFIG's files, else ~/.kube/config) and its context, or, with none, the pod's
// own service account (in-cluster). It authenticates with what a kubeconfig user holds: a bearer
// token (or token file), a client certificate, or an exec credential plugin (the ones managed
// clusters use: aws eks get-token, gke-gcloud-auth-plugin, kubelogin). Used by the Kubernetes
// readiness step, the up-front checks of a cluster and the status view.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { UserError } from "./errors";

/** Which cluster, and as whom: what the Kubernetes provider is given. */
export interface KubeAccess {
    /** Path of the kubeconfig file. @default $KUBECONFIG's files, else ~/.kube/config, else the pod's service account @example "/home/ci/.kube/config" */
    kubeconfig?: string;
    /** The kubeconfig context. @default its current context @example "ci" */
    context?: string;
}

/** A cluster's address and the credentials to present there. */
export interface KubeConnection {
    server: string;
    ca?: string;
    cert?: string;
    key?: string;
    token?: string;
    insecure?: boolean;
    /** The name the server's certificate is checked against, when not the server's host. */
    serverName?: string;
    /** Where the connection came from, for messages: "context ci of /home/ci/.kube/config". */
    source: string;
}

/** A cluster that refuses, or a kubeconfig that does not say how to reach one: the user's to fix. */
export class KubeApiError extends UserError {
    constructor(message: string, readonly status?: number, readonly reason?: string) {
        super(message);
    }
}

interface NamedEntry<T> {
    name: string;
    cluster?: T;
    user?: T;
    context?: T;
}
interface KubeconfigFile {
    "current-context"?: string;
    clusters?: NamedEntry<Record<string, unknown>>[];
    users?: NamedEntry<Record<string, unknown>>[];
    contexts?: NamedEntry<{ cluster?: string; user?: string; namespace?: string }>[];
}

const IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The kubeconfig files kubectl would read, first wins (as kubectl merges $KUBECONFIG). */
function kubeconfigFiles(access: KubeAccess, env: NodeJS.ProcessEnv): string[] {
    if (access.kubeconfig) return [access.kubeconfig];
    if (env.KUBECONFIG) return env.KUBECONFIG.split(path.delimiter).filter(Boolean);
    return [path.join(env.HOME || os.homedir(), ".kube", "config")];
}

/** A file's contents, or base64 `*-data` decoded; paths are relative to the kubeconfig's directory. */
function material(entry: Record<string, unknown>, key: string, dir: string): string | undefined {
    const data = entry[`${key}-data`];
    if (typeof data === "string") return Buffer.from(data, "base64").toString("utf8");
    const file = entry[key];
    return typeof file === "string" ? fs.readFileSync(path.resolve(dir, file), "utf8") : undefined;
}

/** Resolves where and as whom to connect, as kubectl does; exec plugins run here. */
export function kubeConnection(access: KubeAccess = {}, env: NodeJS.ProcessEnv = process.env): KubeConnection {
    const files = kubeconfigFiles(access, env).filter((file) => access.kubeconfig || fs.existsSync(file));
    if (files.length === 0 && env.KUBERNETES_SERVICE_HOST) {
        return {
            server: `https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT ?? "443"}`,
            ca: fs.readFileSync(path.join(IN_CLUSTER_DIR, "ca.crt"), "utf8"),
            token: fs.readFileSync(path.join(IN_CLUSTER_DIR, "token"), "utf8").trim(),
            source: "the pod's service account (in-cluster)",
        };
    }
    if (files.length === 0) throw new KubeApiError(`no kubeconfig: none of ${kubeconfigFiles(access, env).join(", ")} exists, and this is not a pod`);
    const configs = files.map((file) => {
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (error) {
            throw new KubeApiError(`cannot read the kubeconfig ${file}: ${(error as Error).message}`);
        }
        return { file, dir: path.dirname(path.resolve(file)), config: (parseYaml(text) ?? {}) as KubeconfigFile };
    });
    const find = <T>(kind: "clusters" | "users" | "contexts", name: string | undefined) => {
        for (const { config, dir, file } of configs) {
            const entry = (config[kind] as NamedEntry<T>[] | undefined)?.find((e) => e.name === name);
            if (entry) return { entry, dir, file };
        }
        return undefined;
    };
    const contextName = access.context ?? configs.map((c) => c.config["current-context"]).find(Boolean);
    const where = `${files.join(":")}`;
    if (!contextName) throw new KubeApiError(`the kubeconfig ${where} has no current-context: name a context`);
    const context = find<{ cluster?: string; user?: string }>("contexts", contextName)?.entry.context;
    if (!context) throw new KubeApiError(`the kubeconfig ${where} has no context "${contextName}"`);
    const cluster = find<Record<string, unknown>>("clusters", context.cluster);
    if (!cluster?.entry.cluster?.server) throw new KubeApiError(`the kubeconfig ${where} has no cluster "${context.cluster}" with a server (context "${contextName}")`);
    const user = find<Record<string, unknown>>("users", context.user);
    const c = cluster.entry.cluster;
    const u = user?.entry.user ?? {};
    const userDir = user?.dir ?? cluster.dir;
    const connection: KubeConnection = {
        server: String(c.server),
        ca: material(c, "certificate-authority", cluster.dir),
        insecure: c["insecure-skip-tls-verify"] === true,
        serverName: typeof c["tls-server-name"] === "string" ? c["tls-server-name"] : undefined,
        cert: material(u, "client-certificate", userDir),
        key: material(u, "client-key", userDir),
        token: typeof u.token === "string" ? u.token : typeof u.tokenFile === "string" ? fs.readFileSync(path.resolve(userDir, u.tokenFile), "utf8").trim() : undefined,
        source: `context "${contextName}" of ${where}`,
    };
    if (u.exec) Object.assign(connection, execCredential(u.exec as ExecConfig, connection, env));
    else if (u["auth-provider"]) throw new KubeApiError(`the kubeconfig user of context "${contextName}" uses an auth-provider, which kubectl has dropped too: use an exec credential plugin`);
    return connection;
}

interface ExecConfig {
    command: string;
    args?: string[];
    env?: { name: string; value: string }[] | null;
    apiVersion?: string;
}

/** Runs a kubeconfig's exec credential plugin (client.authentication.k8s.io) and takes its token or certificate. */
function execCredential(exec: ExecConfig, connection: KubeConnection, env: NodeJS.ProcessEnv): Partial<KubeConnection> {
    const apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1";
    const info = { apiVersion, kind: "ExecCredential", spec: { interactive: false, cluster: { server: connection.server } } };
    const result = spawnSync(exec.command, exec.args ?? [], {
        encoding: "utf8",
        timeout: 60_000,
        env: { ...env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])), KUBERNETES_EXEC_INFO: JSON.stringify(info) },
    });
    if (result.status !== 0) {
        throw new KubeApiError(`the kubeconfig's credential plugin ${exec.command} failed (${result.status ?? result.error}): ${(result.stderr ?? "").trim().split("\n").slice(-3).join(" ")}`);
    }
    const status = JSON.parse(result.stdout).status ?? {};
    return { token: status.token, cert: status.clientCertificateData, key: status.clientKeyData };
}

/** An API answer: its status, its JSON body parsed (text for text, undefined for none), the server's Date header. */
export interface KubeAnswer {
    status: number;
    body: any;
    date?: string;
}

/** One API request; answers the status and the parsed JSON body (undefined for an empty one). */
export function kubeRequest(connection: KubeConnection, method: string, apiPath: string, body?: unknown, timeoutMs = 15_000,
    contentType = "application/json"): Promise<KubeAnswer> {
    // The server may carry a path prefix (a proxy in front of the API server).
    const url = new URL(connection.server);
    const query = apiPath.indexOf("?");
    url.pathname = url.pathname.replace(/\/$/, "") + (query < 0 ? apiPath : apiPath.slice(0, query));
    url.search = query < 0 ? "" : apiPath.slice(query);
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
        // Plain http only where the kubeconfig says so (a local API server's insecure port, a test's fake).
        const transport = url.protocol === "http:" ? http : https;
        const request = transport.request(url, {
            method,
            ca: connection.ca,
            cert: connection.cert,
            key: connection.key,
            rejectUnauthorized: !connection.insecure,
            servername: connection.serverName,
            timeout: timeoutMs,
            headers: {
                Accept: "application/json",
                ...(connection.token ? { Authorization: `Bearer ${connection.token}` } : {}),
                ...(payload !== undefined ? { "Content-Type": contentType, "Content-Length": Buffer.byteLength(payload) } : {}),
            },
        }, (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                let parsed: unknown = text;
                try {
                    parsed = text ? JSON.parse(text) : undefined;
                } catch {
                    // pods/log and a few others answer text.
                }
                resolve({ status: response.statusCode ?? 0, body: parsed, date: response.headers.date });
            });
            response.on("error", reject);
        });
        request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        request.on("error", (error) => reject(new KubeApiError(`${method} ${url.pathname} on ${connection.server}: ${error.message}`)));
        request.end(payload);
    });
}

/** The API's own message of a failed request ("namespaces \"ci\" is forbidden: User ..."), else its status. */
export function apiMessage(answer: KubeAnswer): string {
    return (typeof answer.body === "object" && answer.body?.message) || `HTTP ${answer.status} ${typeof answer.body === "string" ? answer.body.trim() : ""}`.trim();
}

/** GETs an object; undefined when it does not exist (404); a KubeApiError for any other failure. */
export async function kubeGet<T = any>(connection: KubeConnection, apiPath: string, timeoutMs?: number): Promise<T | undefined> {
    const answer = await kubeRequest(connection, "GET", apiPath, undefined, timeoutMs);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw new KubeApiError(apiMessage(answer), answer.status, answer.body?.reason);
    return answer.body as T;
}

/** The events about one object, oldest first (what `kubectl describe` lists at its end). */
export async function objectEvents(connection: KubeConnection, namespace: string, kind: string, name: string): Promise<KubeEvent[]> {
    const selector = encodeURIComponent(`involvedObject.kind=${kind},involvedObject.name=${name}`);
    const list = await kubeGet<{ items: KubeEvent[] }>(connection, `/api/v1/namespaces/${namespace}/events?fieldSelector=${selector}`);
    const when = (e: KubeEvent) => Date.parse(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? "") || 0;
    return (list?.items ?? []).sort((a, b) => when(a) - when(b));
}

export interface KubeEvent {
    metadata?: { name?: string };
    type: string;
    reason: string;
    message: string;
    count?: number;
    firstTimestamp?: string;
    lastTimestamp?: string;
    eventTime?: string;
    involvedObject: { kind: string; name: string };
}

/** Events as `kubectl describe` prints them: "Warning  FailedCreate  message (x3)". */
export function describeEvents(events: KubeEvent[]): string {
    return events.map((e) => `  ${e.type}  ${e.reason}  ${e.message.trim()}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ""}`).join("\n");
}
