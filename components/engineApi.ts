// The one client for the Docker Engine API, over unix://, tcp:// (with TLS) or ssh:// (through
// `docker system dial-stdio` on the remote machine, as the docker CLI and provider do). The
// readiness and preload steps, the program (an engine's API version), the driver's preflight and
// recovery, and `status` all go through EngineClient; a call that fails is an EngineApiError naming
// the daemon and the call. A new Engine API call is a method here, not a request written elsewhere.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { Socket } from "node:net";
import * as nodePath from "node:path";
import { Duplex, Readable, Writable } from "node:stream";
import type { IncomingMessage } from "node:http";
import { machineAddressOf, socketPathOf } from "./endpoints";
import { UserError } from "./errors";
import { CERT_PATH_FILES } from "./paths";

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

/** An Engine API call that failed: the daemon did not answer, or answered with an error. */
export class EngineApiError extends UserError {
    /**
     * @param daemon the daemon's URL
     * @param call what was asked, e.g. "GET /containers/builder/json"
     * @param status the HTTP status of the daemon's answer; undefined when it did not answer
     * @param detail the daemon's error message, or why the connection failed
     */
    constructor(readonly daemon: string, readonly call: string, readonly status: number | undefined, readonly detail: string) {
        super(`${call} on ${daemon}: ${status === undefined ? detail : `HTTP ${status} ${detail}`}`);
    }
}

/** One request to a daemon. */
export interface EngineRequest {
    method: string;
    path: string;
    /** Streamed to the daemon when given. */
    body?: NodeJS.ReadableStream;
    /** @default "application/x-tar" */
    contentType?: string;
    /** Fail when nothing moves for this long (over ssh: when no answer starts within it). @default none */
    timeoutMs?: number;
}

/** Sends one Engine API request and resolves with the daemon's answer, whatever its status. */
export function engineRequest(endpoint: EngineEndpoint, { method, path, body, contentType = "application/x-tar", timeoutMs }: EngineRequest): Promise<IncomingMessage> {
    const failed = (detail: string) => new EngineApiError(endpoint.host, `${method} ${path}`, undefined, detail);
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
            const tls = endpoint.certPath ? { ca: read(CERT_PATH_FILES.ca), cert: read(CERT_PATH_FILES.cert), key: read(CERT_PATH_FILES.key) } : endpoint;
            if (tls.ca || tls.cert || tls.key) {
                transport = https;
                options = { ...options, ca: tls.ca, cert: tls.cert, key: tls.key };
            }
        } else if (endpoint.host.startsWith("ssh://")) {
            options = { host: "docker", createConnection: () => (ssh = dialStdio(endpoint.host, endpoint.sshOpts ?? [])).stream as Socket };
        } else {
            reject(failed("cannot reach it over the Engine API: expected unix://, tcp:// or ssh://"));
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
            reject(failed(`${error.message}${said ? ` (ssh: ${said})` : ""}`));
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

async function readAll(response: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

/** Docker's own words for an error answer (`{"message": ...}`), else the body as it is. */
function errorDetail(body: string): string {
    try {
        const message = JSON.parse(body)?.message;
        if (typeof message === "string") return message;
    } catch {
        // Not JSON: a proxy's or an old daemon's plain text.
    }
    return body.trim();
}

/** A name as a list filter that matches it alone: Docker's name filters are regular expressions (a container's name starts with "/"). */
export function exactNameFilter(name: string, kind: "container" | "volume" | "network"): string {
    return `^${kind === "container" ? "/" : ""}${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
}

/** `?filters=...` for a list call, or nothing. */
function filterQuery(filters: Record<string, string[]> | undefined): string {
    return filters ? `?filters=${encodeURIComponent(JSON.stringify(filters))}` : "";
}

/** Frames of a container's log stream (8-byte headers, stdout and stderr) joined; a TTY's log is plain. */
export function demultiplex(raw: Buffer): string {
    const multiplexed = raw.length >= 8 && raw[0] <= 2 && raw[1] === 0 && raw[2] === 0 && raw[3] === 0;
    if (!multiplexed) return raw.toString("utf8");
    const parts: Buffer[] = [];
    for (let offset = 0; offset + 8 <= raw.length;) {
        const size = raw.readUInt32BE(offset + 4);
        parts.push(raw.subarray(offset + 8, offset + 8 + size));
        offset += 8 + size;
    }
    return Buffer.concat(parts).toString("utf8");
}

/** What `GET /containers/{id}/json` answers (the parts the project reads). */
export interface ContainerInspect {
    Id: string;
    /** "/name". */
    Name?: string;
    /** When it was created (RFC 3339, the daemon's clock). */
    Created?: string;
    Config?: { Labels?: Record<string, string> | null };
    RestartCount: number;
    State: {
        Status: string;
        Running: boolean;
        Restarting: boolean;
        ExitCode: number;
        Error?: string;
        /** When the last run ended (RFC 3339; year 1 while the first run goes on). */
        FinishedAt?: string;
        Health?: { Status: string };
    };
}

/** One container of `GET /containers/json`. */
export interface ContainerSummary {
    Id: string;
    Names: string[];
    Image: string;
    /** The id of the image it was created from. */
    ImageID?: string;
    /** When it was created: seconds since the epoch, the daemon's clock. */
    Created?: number;
    /** created, running, paused, restarting, removing, exited or dead. */
    State: string;
    /** "Up 3 minutes (healthy)" and the like. */
    Status: string;
    Labels?: Record<string, string>;
    Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
    /** Bind mounts (`Source` is the path on the daemon's machine) and volumes (`Name`). */
    Mounts?: { Type: string; Name?: string; Source?: string; Destination: string }[];
    NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** An image on a daemon: its id there, and a digest of what it holds (see EngineClient.imageIdentity). */
export interface ImageIdentity {
    id: string;
    /** Undefined when the daemon does not say (then only the id tells images apart). */
    content?: string;
}

/** Whether two daemons' images are the same image. */
export function sameImage(a: ImageIdentity, b: ImageIdentity): boolean {
    return a.id === b.id || (a.content !== undefined && a.content === b.content);
}

/** One image of `GET /images/json`. */
export interface ImageSummary {
    Id: string;
    RepoTags: string[] | null;
}

/** What `POST /containers/create` takes (the parts the project sets). */
export interface ContainerCreate {
    Image: string;
    Labels?: Record<string, string>;
    Entrypoint?: string[];
    Cmd?: string[];
    Env?: string[];
    NetworkDisabled?: boolean;
    HostConfig?: { Tmpfs?: Record<string, string>; NetworkMode?: string; Binds?: string[]; ReadonlyRootfs?: boolean; CapDrop?: string[]; SecurityOpt?: string[] };
}

/** One volume of `GET /volumes`. */
export interface VolumeSummary {
    Name: string;
    Labels?: Record<string, string> | null;
}

/** One network of `GET /networks`. */
export interface NetworkSummary {
    Id: string;
    Name: string;
    Driver?: string;
    Scope?: string;
    Labels?: Record<string, string> | null;
    Containers?: Record<string, unknown> | null;
}

/** What `GET /system/df` answers (the parts the project reads). */
export interface DiskUsage {
    /** Bytes of every image layer, each once. */
    LayersSize: number;
    Images: { Id: string; Size: number; SharedSize: number; Containers: number; RepoTags?: string[] | null }[];
    BuildCache?: { ID: string; Size: number; Shared: boolean; InUse: boolean; LastUsedAt?: string | null; CreatedAt?: string }[] | null;
}

/** What `GET /version` answers (the parts the project reads). */
export interface EngineVersion {
    Version: string;
    ApiVersion: string;
}

export interface EngineClientOptions {
    /** How long a call may wait for the daemon (see EngineRequest.timeoutMs). @default none */
    timeoutMs?: number;
}

/** A typed client for one daemon: each method is one Engine API call; a failure is an EngineApiError. */
export class EngineClient {
    constructor(readonly endpoint: EngineEndpoint, private readonly options: EngineClientOptions = {}) {}

    /** Sends a request and reads the whole answer; `accept` lists the statuses that are not errors. */
    private async call(method: string, path: string, accept: number[] = [200], extra: Partial<EngineRequest> = {}): Promise<{ status: number; body: Buffer }> {
        const response = await engineRequest(this.endpoint, { method, path, timeoutMs: this.options.timeoutMs, ...extra });
        const body = await readAll(response);
        const status = response.statusCode ?? 0;
        if (!accept.includes(status)) throw new EngineApiError(this.endpoint.host, `${method} ${path}`, status, errorDetail(body.toString("utf8")));
        return { status, body };
    }

    private async json<T>(path: string): Promise<T> {
        return JSON.parse((await this.call("GET", path)).body.toString("utf8")) as T;
    }

    /** Resolves once the daemon answers /_ping with OK. */
    async ping(): Promise<void> {
        await this.call("GET", "/_ping");
    }

    async version(): Promise<EngineVersion> {
        return this.json("/version");
    }

    /** The container, or undefined when the daemon has none by that id or name. */
    async inspectContainer(id: string): Promise<ContainerInspect | undefined> {
        const { status, body } = await this.call("GET", `/containers/${encodeURIComponent(id)}/json`, [200, 404]);
        return status === 404 ? undefined : JSON.parse(body.toString("utf8"));
    }

    /** A container's log as text: the last `tail` lines, or everything up to `until` ("seconds.nanoseconds"). */
    async containerLogs(id: string, { tail, until }: { tail?: number; until?: string }): Promise<string> {
        const query = [tail !== undefined && `tail=${tail}`, until !== undefined && `until=${until}`].filter(Boolean).join("&");
        const { body } = await this.call("GET", `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1${query ? `&${query}` : ""}`);
        return demultiplex(body);
    }

    /** Changes a running container's resources (`docker update`). */
    async updateContainer(id: string, update: { PidsLimit?: number }): Promise<void> {
        await this.call("POST", `/containers/${encodeURIComponent(id)}/update`, [200],
            { body: Readable.from([JSON.stringify(update)]), contentType: "application/json" });
    }

    /** Containers (all of them with `all`), filtered as `docker ps --filter` does. */
    async listContainers({ all = false, filters }: { all?: boolean; filters?: Record<string, string[]> } = {}): Promise<ContainerSummary[]> {
        const query = [all && "all=1", filters && `filters=${encodeURIComponent(JSON.stringify(filters))}`].filter(Boolean).join("&");
        return this.json(`/containers/json${query ? `?${query}` : ""}`);
    }

    /** Volumes, filtered as `docker volume ls --filter` does (a `name` filter matches parts of names). */
    async listVolumes({ filters }: { filters?: Record<string, string[]> } = {}): Promise<VolumeSummary[]> {
        const answer = await this.json<{ Volumes: VolumeSummary[] | null }>(`/volumes${filterQuery(filters)}`);
        return answer.Volumes ?? [];
    }

    /** Networks, filtered as `docker network ls --filter` does (`name` and `id` filters match parts). */
    async listNetworks({ filters }: { filters?: Record<string, string[]> } = {}): Promise<NetworkSummary[]> {
        return this.json(`/networks${filterQuery(filters)}`);
    }

    /**
     * Removes a container (`docker rm`, with `-f` and `-v` when asked). With `ifExists`, a container
     * that is gone, or that another caller is removing at this moment, is not an error: the answer
     * says whether this call removed it.
     */
    async removeContainer(id: string, { force = false, volumes = false, ifExists = false } = {}): Promise<boolean> {
        const { status } = await this.call("DELETE", `/containers/${encodeURIComponent(id)}?force=${force ? 1 : 0}&v=${volumes ? 1 : 0}`,
            ifExists ? [200, 204, 404, 409] : [200, 204]);
        return status < 300;
    }

    /**
     * Creates a container under `name` (never starting it), atomically: the daemon refuses a name
     * that is taken (HTTP 409), and then the answer is undefined. Otherwise, the new container's id.
     */
    async createContainer(name: string, config: ContainerCreate): Promise<string | undefined> {
        const { status, body } = await this.call("POST", `/containers/create?name=${encodeURIComponent(name)}`, [201, 409],
            { body: Readable.from([JSON.stringify(config)]), contentType: "application/json" });
        return status === 409 ? undefined : (JSON.parse(body.toString("utf8")).Id as string);
    }

    /** Starts a stopped container (`docker start`); one that already runs is left as it is. */
    async startContainer(id: string): Promise<void> {
        await this.call("POST", `/containers/${encodeURIComponent(id)}/start`, [204, 304]);
    }

    /** Resumes a paused container (`docker unpause`). */
    async unpauseContainer(id: string): Promise<void> {
        await this.call("POST", `/containers/${encodeURIComponent(id)}/unpause`, [204]);
    }

    /** A file or directory of a container's filesystem as a tar archive (`docker cp CONTAINER:PATH -`). */
    async getArchive(id: string, path: string): Promise<Buffer> {
        return (await this.call("GET", `/containers/${encodeURIComponent(id)}/archive?path=${encodeURIComponent(path)}`)).body;
    }

    /** Extracts a tar archive into a directory of a container's filesystem (`docker cp - CONTAINER:DIR`). */
    async putArchive(id: string, dir: string, tar: Buffer): Promise<void> {
        await this.call("PUT", `/containers/${encodeURIComponent(id)}/archive?path=${encodeURIComponent(dir)}`, [200], { body: Readable.from([tar]) });
    }

    /** Removes a volume; one that is gone is not an error. */
    async removeVolume(name: string): Promise<void> {
        await this.call("DELETE", `/volumes/${encodeURIComponent(name)}`, [204, 404]);
    }

    /** Removes a network; one that is gone is not an error. */
    async removeNetwork(id: string): Promise<void> {
        await this.call("DELETE", `/networks/${encodeURIComponent(id)}`, [204, 404]);
    }

    /** Disconnects a container from a network, even a stopped one (`docker network disconnect -f`). */
    async disconnectNetwork(network: string, container: string): Promise<void> {
        await this.call("POST", `/networks/${encodeURIComponent(network)}/disconnect`, [200, 404],
            { body: Readable.from([JSON.stringify({ Container: container, Force: true })]), contentType: "application/json" });
    }

    /** Leaves a swarm, if the daemon is in one (`docker swarm leave --force`); whether it was. */
    async leaveSwarm(): Promise<boolean> {
        const { status } = await this.call("POST", "/swarm/leave?force=1", [200, 503]);
        return status === 200;
    }

    /** The space images, containers, volumes and the build cache take (`docker system df -v`). */
    async diskUsage(): Promise<DiskUsage> {
        return this.json("/system/df");
    }

    /** Removes an image by id, whatever tags it has (`docker rmi -f`); one that is gone is not an error. */
    async removeImage(id: string): Promise<void> {
        await this.call("DELETE", `/images/${encodeURIComponent(id)}?force=1`, [200, 404, 409]);
    }

    /** Removes these build cache records (`docker builder prune --filter id=...`): the bytes freed. */
    async pruneBuildCache(ids: string[]): Promise<number> {
        if (ids.length === 0) return 0;
        const filters = encodeURIComponent(JSON.stringify({ id: ids }));
        return (JSON.parse((await this.call("POST", `/build/prune?filters=${filters}`)).body.toString("utf8")).SpaceReclaimed as number) ?? 0;
    }

    /** The daemon's clock, from its answer's Date header (whole seconds): milliseconds since the epoch. */
    async clock(): Promise<number> {
        const response = await engineRequest(this.endpoint, { method: "GET", path: "/_ping", timeoutMs: this.options.timeoutMs });
        await readAll(response);
        const date = Date.parse(String(response.headers.date ?? ""));
        if (response.statusCode !== 200 || Number.isNaN(date)) {
            throw new EngineApiError(this.endpoint.host, "GET /_ping", response.statusCode, "no Date header in the answer: cannot read the daemon's clock");
        }
        return date;
    }

    /** The image's id, or undefined when the daemon does not have it. */
    async inspectImage(image: string): Promise<string | undefined> {
        return (await this.imageIdentity(image))?.id;
    }

    /**
     * The image's id and what it holds, or undefined when the daemon does not have it. The id of
     * one image differs between image stores (the config's digest in dockerd's own, the manifest's
     * in the containerd image store); `content` does not: it digests the layers and the config's
     * creation time, command and environment, so two daemons can tell they hold the same image.
     */
    async imageIdentity(image: string): Promise<ImageIdentity | undefined> {
        const { status, body } = await this.call("GET", `/images/${image.split("/").map(encodeURIComponent).join("/")}/json`, [200, 404]);
        if (status === 404) return undefined;
        const inspected = JSON.parse(body.toString("utf8"));
        const layers = inspected.RootFS?.Layers;
        if (!Array.isArray(layers)) return { id: inspected.Id };
        const config = inspected.Config ?? {};
        const fingerprint = [inspected.Created, layers, config.Cmd, config.Entrypoint, config.Env, config.Labels, config.WorkingDir, config.User]
            .map((part) => (part === null || (Array.isArray(part) && part.length === 0) || part === "" ? undefined : part));
        return { id: inspected.Id, content: createHash("sha256").update(JSON.stringify(fingerprint)).digest("hex") };
    }

    /** Images, filtered as `docker images --filter` does. */
    async listImages(filters?: Record<string, string[]>): Promise<ImageSummary[]> {
        return this.json(`/images/json${filterQuery(filters)}`);
    }

    /** Waits for a container to stop; its exit code. */
    async waitContainer(id: string): Promise<number> {
        return JSON.parse((await this.call("POST", `/containers/${encodeURIComponent(id)}/wait`)).body.toString("utf8")).StatusCode as number;
    }

    /** One file of a container, read from the tar archive the daemon answers with (`docker cp`); undefined when it is not there. */
    async readFile(id: string, file: string): Promise<Buffer | undefined> {
        const { status, body } = await this.call("GET", `/containers/${encodeURIComponent(id)}/archive?path=${encodeURIComponent(file)}`, [200, 404]);
        if (status === 404) return undefined;
        // A tar archive of one file: a 512-byte header (the size in octal at 124), then the file.
        const size = parseInt(body.subarray(124, 136).toString("latin1").replace(/\0.*$/s, "").trim(), 8);
        return body.subarray(512, 512 + size);
    }

    /** The image as a tar stream (`docker save`); read it to the end. */
    async saveImage(image: string): Promise<IncomingMessage> {
        const path = `/images/get?names=${encodeURIComponent(image)}`;
        const response = await engineRequest(this.endpoint, { method: "GET", path, timeoutMs: this.options.timeoutMs });
        if (response.statusCode !== 200) {
            throw new EngineApiError(this.endpoint.host, `GET ${path}`, response.statusCode, errorDetail((await readAll(response)).toString("utf8")));
        }
        return response;
    }

    /** Loads images from a tar stream (`docker load`); `image` names what it holds, for messages. */
    async loadImage(tar: NodeJS.ReadableStream, image: string): Promise<void> {
        const call = `POST /images/load (${image})`;
        const response = await engineRequest(this.endpoint, { method: "POST", path: "/images/load?quiet=1", body: tar, timeoutMs: this.options.timeoutMs });
        const body = (await readAll(response)).toString("utf8");
        if (response.statusCode !== 200) throw new EngineApiError(this.endpoint.host, call, response.statusCode, errorDetail(body));
        // The answer is a JSON stream; a failure mid-way arrives as an "error" message with HTTP 200.
        const failure = body.split("\n").filter(Boolean).map((line) => JSON.parse(line)).find((message) => message.error);
        if (failure) throw new EngineApiError(this.endpoint.host, call, undefined, failure.error);
    }

    /** A network's driver options (`com.docker.network.driver.mtu`, ...). */
    async inspectNetwork(name: string): Promise<{ Name: string; Options?: Record<string, string> }> {
        return this.json(`/networks/${encodeURIComponent(name)}`);
    }
}

const VERSION_TIMEOUT_MS = 10_000;

/**
 * The daemon's Engine API version ("1.41"), or undefined when it does not answer within 10 s.
 * Generous: a loaded daemon was measured taking 4-6 s, and a wrong answer picks a health check
 * that an old engine refuses; a daemon that is not there fails at once.
 */
export async function engineApiVersion(endpoint: EngineEndpoint): Promise<string | undefined> {
    return new EngineClient(endpoint, { timeoutMs: VERSION_TIMEOUT_MS }).version().then((version) => version.ApiVersion, () => undefined);
}

/** True when `version` ("1.44") is at least `minimum`. */
export function apiAtLeast(version: string, minimum: string): boolean {
    const [major, minor] = version.split(".").map(Number);
    const [wantMajor, wantMinor] = minimum.split(".").map(Number);
    return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}
