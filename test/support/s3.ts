// A real S3 server for the tests (versitygw on 127.0.0.1, files in a temporary directory) and a
// minimal S3 client (AWS Signature V4) to create a bucket and list its objects.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../driver/stack";

export const REGION = "us-east-1";

export class S3Server {
    private constructor(private readonly process: ChildProcess, readonly dir: string, readonly endpoint: string,
        readonly accessKey: string, readonly secretKey: string) {}

    /** Builds (cached) and starts versitygw with a posix root in a fresh temporary directory. */
    static async start(port: number): Promise<S3Server> {
        const binary = execFileSync("bash", [path.join(REPO_ROOT, "toolchain", "steps", "versitygw.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
        const dir = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-tools-s3-"));
        const accessKey = "toolsaccess";
        const secretKey = `tools-secret-${process.pid}`;
        mkdirSync(path.join(dir, "root"));
        mkdirSync(path.join(dir, "meta"));
        // Metadata in a sidecar directory: the posix backend's extended attributes need not be supported here.
        const child = spawn(binary, ["--access", accessKey, "--secret", secretKey, "--region", REGION, "--port", `127.0.0.1:${port}`,
            "posix", "--sidecar", path.join(dir, "meta"), path.join(dir, "root")], { stdio: ["ignore", "ignore", "inherit"] });
        const server = new S3Server(child, dir, `http://127.0.0.1:${port}`, accessKey, secretKey);
        for (let i = 0; ; i++) {
            try {
                await server.request("GET", "/");
                return server;
            } catch (error) {
                if (i === 50 || child.exitCode !== null) {
                    server.stop();
                    throw new Error(`versitygw did not answer on port ${port}: ${(error as Error).message}`);
                }
                await new Promise((resolve) => setTimeout(resolve, 200));
            }
        }
    }

    /** The Pulumi backend URL of a bucket on this server. */
    backendUrl(bucket: string): string {
        return `s3://${bucket}?endpoint=${this.endpoint}&s3ForcePathStyle=true&region=${REGION}`;
    }

    /** AWS credentials for a client of this server. */
    get credentials(): Record<string, string> {
        return { AWS_ACCESS_KEY_ID: this.accessKey, AWS_SECRET_ACCESS_KEY: this.secretKey, AWS_REGION: REGION };
    }

    async createBucket(bucket: string) {
        await this.request("PUT", `/${bucket}`);
    }

    /** Keys of the objects in a bucket (ListObjectsV2, first page). */
    async listObjects(bucket: string, prefix = ""): Promise<string[]> {
        const body = await this.request("GET", `/${bucket}`, { "list-type": "2", prefix });
        return [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    }

    /** A request signed with AWS Signature Version 4; resolves to the body, rejects on a non-2xx status. */
    async request(method: string, uriPath: string, query: Record<string, string> = {}): Promise<string> {
        const url = new URL(uriPath, this.endpoint);
        const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
        const day = now.slice(0, 8);
        const payloadHash = createHash("sha256").update("").digest("hex");
        const canonicalQuery = Object.keys(query).sort().map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(query[k])}`).join("&");
        const headers: Record<string, string> = { host: url.host, "x-amz-content-sha256": payloadHash, "x-amz-date": now };
        const signed = Object.keys(headers).sort();
        const canonicalHeaders = signed.map((h) => `${h}:${headers[h]}\n`).join("");
        const canonical = [method, url.pathname, canonicalQuery, canonicalHeaders, signed.join(";"), payloadHash].join("\n");
        const scope = `${day}/${REGION}/s3/aws4_request`;
        const toSign = ["AWS4-HMAC-SHA256", now, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
        const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
        const key = hmac(hmac(hmac(hmac(`AWS4${this.secretKey}`, day), REGION), "s3"), "aws4_request");
        const signature = createHmac("sha256", key).update(toSign).digest("hex");
        const response = await fetch(`${url.origin}${url.pathname}${canonicalQuery ? `?${canonicalQuery}` : ""}`, {
            method,
            headers: { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${this.accessKey}/${scope}, SignedHeaders=${signed.join(";")}, Signature=${signature}` },
            signal: AbortSignal.timeout(5000),
        });
        const body = await response.text();
        if (!response.ok) throw new Error(`${method} ${uriPath}: ${response.status} ${body}`);
        return body;
    }

    stop() {
        this.process.kill();
        rmSync(this.dir, { recursive: true, force: true });
    }
}
