// A small client for the Docker Engine API over unix:// or tcp:// (with TLS), used by the
// preload's dynamic provider and by DindHost to learn the outer engine's API version.
import type { IncomingMessage } from "node:http";
import { machineAddressOf, socketPathOf } from "./endpoints";

/** How this machine reaches a Docker daemon's Engine API. */
export interface EngineEndpoint {
    /** unix:///path/to/docker.sock or tcp://host:port. */
    host: string;
    /** A directory holding ca.pem, cert.pem and key.pem for TLS. */
    certPath?: string;
    /** PEM CA certificate, client certificate and client key for mutual TLS. */
    ca?: string;
    cert?: string;
    key?: string;
}

// These functions also run inside Pulumi's dynamic-provider process (serialized with a
// provider), so they load their modules with require at call time.

/** Sends one Engine API request; `body` is streamed when given. */
export function engineRequest(endpoint: EngineEndpoint, method: string, path: string, body?: NodeJS.ReadableStream, timeoutMs?: number,
    contentType = "application/x-tar"): Promise<IncomingMessage> {
    const http: typeof import("node:http") = require("node:http");
    const https: typeof import("node:https") = require("node:https");
    const fs: typeof import("node:fs") = require("node:fs");
    const nodePath: typeof import("node:path") = require("node:path");
    return new Promise((resolve, reject) => {
        let options: import("node:https").RequestOptions;
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
        } else {
            reject(new Error(`cannot reach ${endpoint.host} over the Engine API: expected unix:// or tcp://`));
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
        request.on("error", (error) => reject(new Error(`${method} ${path} on ${endpoint.host}: ${error.message}`)));
        if (body) {
            body.on("error", (error) => request.destroy(error));
            body.pipe(request);
        } else {
            request.end();
        }
    });
}

export async function readBody(response: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
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
