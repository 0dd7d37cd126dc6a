// A small client for the Docker Engine API over unix://, tcp:// (with TLS) or ssh:// (through
// `docker system dial-stdio` on the remote machine, as the docker CLI and provider do), used by
// the readiness and preload steps, by the driver's checks and to learn an engine's API version.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { Socket } from "node:net";
import * as nodePath from "node:path";
import { Duplex, Writable } from "node:stream";
import type { IncomingMessage } from "node:http";
import { machineAddressOf, socketPathOf } from "./endpoints";

/** How this machine reaches a Docker daemon's Engine API. */
export interface EngineEndpoint {
    /** unix:///path/to/docker.sock, tcp://host:port or ssh://[user@]host[:port]. */
    host: string;
    /** A directory holding ca.pem, cert.pem and key.pem for TLS. */
    certPath?: string;
    /** PEM CA certificate, client certificate and client key for mutual TLS. */
    ca?: string;
    cert?: string;
    key?: string;
    /** ssh:// only: extra arguments for the ssh client. @example ["-i", "/home/ci/.ssh/farm"] */
    sshOpts?: string[];
}

/** Sends one Engine API request; `body` is streamed when given. */
export function engineRequest(endpoint: EngineEndpoint, method: string, path: string, body?: NodeJS.ReadableStream, timeoutMs?: number,
    contentType = "application/x-tar"): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
        let ssh: { stream: NodeJS.ReadWriteStream; said: () => Promise<string> } | undefined;
        let options: https.RequestOptions;
        let transport: typeof http | typeof https = http;
        const socketPath = socketPathOf(endpoint.host);
        if (socketPath) {
            options = { socketPath };
        } else if (endpoint.host.startsWith("tcp://")) {
            options = { host: machineAddressOf(endpoint.host), port: Number(new URL(endpoint.host).port) };
            const read = (file: string) => fs.readFileSync(nodePath.join(endpoint.certPath!, file), "utf8");
            const tls = endpoint.certPath ? { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") } : endpoint;
            if (tls.ca || tls.cert || tls.key) {
                transport = https;
                options = { ...options, ca: tls.ca, cert: tls.cert, key: tls.key };
            }
        } else if (endpoint.host.startsWith("ssh://")) {
            options = { host: "docker", createConnection: () => (ssh = dialStdio(endpoint.host, endpoint.sshOpts ?? [])).stream as Socket };
        } else {
            reject(new Error(`cannot reach ${endpoint.host} over the Engine API: expected unix://, tcp:// or ssh://`));
            return;
        }
        const request = transport.request({ ...options, method, path, headers: body ? { "Content-Type": contentType } : {}, timeout: timeoutMs }, resolve);
        // The idle timer can fire before pending I/O is handled when this process was busy (ts-node
        // compiling the program under `pulumi up`): give up only if a turn of I/O moves nothing.
        const progress = () => (request.socket?.bytesRead ?? 0) + (request.socket?.bytesWritten ?? 0);
        request.on("timeout", () => {
            const before = progress();
            setImmediate(() => {
                if (progress() === before) request.destroy(new Error(`no answer within ${timeoutMs} ms`));
            });
        });
        // The ssh stream has no idle timer of its own: over ssh, the answer must come within timeoutMs.
        const sshTimer = ssh && timeoutMs !== undefined ? setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs) : undefined;
        request.on("response", () => clearTimeout(sshTimer));
        request.on("error", async (error) => {
            clearTimeout(sshTimer);
            // Over ssh, what the client printed (a refused key, an unknown host) says more than the broken stream.
            const said = ssh ? await ssh.said() : "";
            reject(new Error(`${method} ${path} on ${endpoint.host}: ${error.message}${said ? ` (ssh: ${said})` : ""}`));
        });
        if (body) {
            body.on("error", (error) => request.destroy(error));
            body.pipe(request);
        } else {
            request.end();
        }
    });
}

/** The ssh client's argv that runs `remote` (words for the remote shell) on an ssh:// daemon's machine. */
export function sshCommand(host: string, sshOpts: string[], remote: string[]): string[] {
    const url = new URL(host);
    return ["ssh", ...sshOpts, ...(url.username ? ["-l", decodeURIComponent(url.username)] : []), ...(url.port ? ["-p", url.port] : []),
        "--", url.hostname.replace(/^\[(.*)\]$/, "$1"), ...remote];
}

/**
 * A stream to the daemon's socket on another machine (`ssh ... docker system dial-stdio`), and
 * what the ssh client printed on stderr once it has exited (at most 2 s after it is asked).
 */
function dialStdio(host: string, sshOpts: string[]): { stream: NodeJS.ReadWriteStream; said: () => Promise<string> } {
    const [command, ...args] = sshCommand(host, sshOpts, ["docker", "system", "dial-stdio"]);
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    // The request's end must not reach the remote as end of input: the daemon would take the
    // half-closed connection for a client gone, and cut a streamed answer (an image being saved).
    const input = new Writable({ write: (chunk, encoding, done) => child.stdin.write(chunk, encoding, done), final: (done) => done() });
    const stream = Duplex.from({ readable: child.stdout, writable: input });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
    child.on("error", (error) => stream.destroy(error));
    stream.on("close", () => child.kill());
    const said = async () => {
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
        return stderr.trim();
    };
    // http.ClientRequest treats its connection as a net.Socket.
    return { stream: Object.assign(stream, { setTimeout: () => stream, setNoDelay: () => stream, setKeepAlive: () => stream }), said };
}

export async function readBody(response: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
}

/** Why a daemon does not answer /_ping within `timeoutMs`, or undefined when it does. */
export async function pingFailure(endpoint: EngineEndpoint, timeoutMs: number): Promise<string | undefined> {
    try {
        const response = await engineRequest(endpoint, "GET", "/_ping", undefined, timeoutMs);
        const body = await readBody(response);
        return response.statusCode === 200 ? undefined : `HTTP ${response.statusCode} ${body.trim()}`;
    } catch (error) {
        return (error as Error).message;
    }
}

const VERSION_TIMEOUT_MS = 10_000;

/**
 * The daemon's Engine API version ("1.41"), or undefined when it does not answer within 10 s.
 * Generous: a loaded daemon was measured taking 4-6 s, and a wrong answer picks a health check
 * that an old engine refuses; a daemon that is not there fails at once.
 */
export async function engineApiVersion(endpoint: EngineEndpoint): Promise<string | undefined> {
    try {
        const response = await engineRequest(endpoint, "GET", "/version", undefined, VERSION_TIMEOUT_MS);
        const body = await readBody(response);
        return response.statusCode === 200 ? (JSON.parse(body).ApiVersion as string) : undefined;
    } catch {
        return undefined;
    }
}

/** True when `version` ("1.44") is at least `minimum`. */
export function apiAtLeast(version: string, minimum: string): boolean {
    const [major, minor] = version.split(".").map(Number);
    const [wantMajor, wantMinor] = minimum.split(".").map(Number);
    return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}
