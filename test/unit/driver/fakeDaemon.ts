// A stand-in for a Docker daemon's Engine API on a unix socket, with the semantics the pools rely
// on: containers created by name atomically (409 for a name taken), listed with label filters,
// inspected and removed by id or name; archives of their files; and, for an inner daemon,
// networks, volumes, images, build cache, a swarm, and their removal. One process's requests
// interleave at its awaits, so concurrent leases in one test race for real on the create. The
// real daemon is exercised by the integration suite.
import { mkdtempSync } from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { tarFiles, tarOf } from "../../../driver/tar";

export interface FakeContainer {
    Id: string;
    Name: string;
    Image: string;
    ImageID: string;
    Labels: Record<string, string>;
    State: string;
    Status: string;
    /** Seconds since the epoch. */
    Created: number;
    Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
    Mounts: { Type: string; Name?: string; Source?: string; Destination: string }[];
    NetworkSettings: { Networks: Record<string, { IPAddress?: string }> };
    /** Its filesystem, for the archive endpoints: absolute path -> content. */
    files: Map<string, string>;
    Health?: string;
}

export interface FakeDaemon {
    socket: string;
    host: string;
    containers: FakeContainer[];
    networks: { Id: string; Name: string; Labels: Record<string, string> }[];
    volumes: { Name: string; Labels: Record<string, string> }[];
    images: { Id: string; Size: number; SharedSize: number; RepoTags: string[] }[];
    buildCache: { ID: string; Size: number; Shared: boolean; InUse: boolean; LastUsedAt: string }[];
    swarm: boolean;
    /** "METHOD /path" of every request, in order. */
    requests: string[];
    /** When set, answers every request with 503 (a daemon that is there but cannot serve). */
    down: boolean;
    add(container: Partial<FakeContainer> & { Name: string }): FakeContainer;
    byName(name: string): FakeContainer | undefined;
    close(): Promise<void>;
}

let counter = 0;
const newId = () => `${(++counter).toString(16).padStart(8, "0")}${"0".repeat(56)}`;

function matchesFilters(c: FakeContainer, filters: Record<string, string[]>): boolean {
    return (filters.label ?? []).every((f) => {
        const [key, value] = f.split("=", 2);
        return value === undefined ? key in c.Labels : c.Labels[key] === value;
    }) && (filters.network ?? []).every((n) => n in c.NetworkSettings.Networks);
}

function summary(c: FakeContainer) {
    const { files: _files, Health, Name, ...rest } = c;
    return { ...rest, Names: [`/${Name}`], Status: Health ? `${c.Status} (${Health})` : c.Status };
}

async function body(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

export async function startFakeDaemon(): Promise<FakeDaemon> {
    const socket = path.join(mkdtempSync(path.join(os.tmpdir(), "fake-daemon-")), "docker.sock");
    const daemon: FakeDaemon = {
        socket, host: `unix://${socket}`, containers: [], networks: [], volumes: [], images: [], buildCache: [], swarm: false, requests: [], down: false,
        add(container) {
            const made: FakeContainer = {
                Id: newId(), Image: "dind:local", ImageID: "sha256:dind", Labels: {}, State: "running", Status: "Up 1 minute",
                Created: Math.floor(Date.now() / 1000), Ports: [], Mounts: [], NetworkSettings: { Networks: {} }, files: new Map(), ...container,
            };
            daemon.containers.push(made);
            return made;
        },
        byName: (name) => daemon.containers.find((c) => c.Name === name),
        close: async () => undefined,
    };
    const find = (ref: string) => daemon.containers.find((c) => c.Id === ref || c.Name === ref || (ref.length >= 12 && c.Id.startsWith(ref)));
    const json = (res: http.ServerResponse, status: number, value: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(value));
    const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const url = new URL(req.url!, "http://daemon");
        const route = `${req.method} ${url.pathname}`;
        daemon.requests.push(route);
        const data = await body(req);
        if (daemon.down) return json(res, 503, { message: "daemon is shutting down" });
        const container = /^\/containers\/([^/]+)(?:\/(json|archive|start))?$/.exec(url.pathname);
        if (route === "GET /_ping") return res.writeHead(200).end("OK");
        if (route === "GET /containers/json") {
            const filters = JSON.parse(url.searchParams.get("filters") ?? "{}");
            return json(res, 200, daemon.containers.filter((c) => matchesFilters(c, filters)).map(summary));
        }
        if (route === "POST /containers/create") {
            const name = url.searchParams.get("name")!;
            if (daemon.byName(name)) return json(res, 409, { message: `Conflict. The container name "/${name}" is already in use` });
            const config = JSON.parse(data.toString("utf8"));
            const made = daemon.add({ Name: name, Image: config.Image, ImageID: config.Image, Labels: config.Labels ?? {}, State: "created", Status: "Created" });
            return json(res, 201, { Id: made.Id });
        }
        if (container && req.method === "DELETE") {
            const found = find(container[1]);
            if (!found) return json(res, 404, { message: `No such container: ${container[1]}` });
            daemon.containers.splice(daemon.containers.indexOf(found), 1);
            return res.writeHead(204).end();
        }
        if (container && container[2] === "json") {
            const found = find(container[1]);
            if (!found) return json(res, 404, { message: `No such container: ${container[1]}` });
            return json(res, 200, {
                Id: found.Id, Name: `/${found.Name}`, RestartCount: 0, Config: { Labels: found.Labels },
                State: { Status: found.State, Running: found.State === "running", Restarting: false, ExitCode: 0, ...(found.Health ? { Health: { Status: found.Health } } : {}) },
            });
        }
        if (container && container[2] === "start") {
            const found = find(container[1]);
            if (!found) return json(res, 404, { message: "No such container" });
            found.State = "running";
            return res.writeHead(204).end();
        }
        if (container && container[2] === "archive") {
            const found = find(container[1]);
            const at = url.searchParams.get("path")!;
            if (!found) return json(res, 404, { message: "No such container" });
            if (req.method === "PUT") {
                for (const [name, content] of tarFiles(data)) found.files.set(`${at}/${name}`, content.toString("utf8"));
                return res.writeHead(200).end();
            }
            const base = path.posix.basename(at);
            const entries = [...found.files].filter(([file]) => file === at || file.startsWith(`${at}/`))
                .map(([file, content]) => [`${base}${file.slice(at.length)}`, content] as [string, string]);
            if (entries.length === 0) return json(res, 404, { message: `Could not find the file ${at} in container` });
            return res.writeHead(200, { "Content-Type": "application/x-tar" }).end(tarOf(Object.fromEntries(entries)));
        }
        if (route === "POST /swarm/leave") {
            if (!daemon.swarm) return json(res, 503, { message: "This node is not part of a swarm" });
            daemon.swarm = false;
            return res.writeHead(200).end();
        }
        if (route === "GET /networks") return json(res, 200, daemon.networks);
        const network = /^\/networks\/([^/]+)$/.exec(url.pathname);
        if (network && req.method === "DELETE") {
            daemon.networks = daemon.networks.filter((n) => n.Id !== network[1]);
            return res.writeHead(204).end();
        }
        if (route === "GET /volumes") {
            const filters: Record<string, string[]> = JSON.parse(url.searchParams.get("filters") ?? "{}");
            const labelled = (v: { Labels: Record<string, string> }) => (filters.label ?? []).every((f) => {
                const [key, value] = f.split("=", 2);
                return value === undefined ? key in v.Labels : v.Labels[key] === value;
            });
            return json(res, 200, { Volumes: daemon.volumes.filter((v) => labelled(v) && (filters.name ?? []).every((n) => v.Name.includes(n))) });
        }
        const volume = /^\/volumes\/([^/]+)$/.exec(url.pathname);
        if (volume && req.method === "DELETE") {
            daemon.volumes = daemon.volumes.filter((v) => v.Name !== decodeURIComponent(volume[1]));
            return res.writeHead(204).end();
        }
        if (route === "GET /system/df") {
            const inUse = new Set(daemon.containers.map((c) => c.ImageID));
            return json(res, 200, {
                LayersSize: daemon.images.reduce((sum, i) => sum + i.Size - i.SharedSize, 0) + Math.max(0, ...daemon.images.map((i) => i.SharedSize)),
                Images: daemon.images.map((i) => ({ ...i, Containers: inUse.has(i.Id) ? 1 : 0 })),
                BuildCache: daemon.buildCache,
            });
        }
        const image = /^\/images\/([^/]+)$/.exec(url.pathname);
        if (image && req.method === "DELETE") {
            daemon.images = daemon.images.filter((i) => i.Id !== decodeURIComponent(image[1]));
            return json(res, 200, []);
        }
        if (route === "POST /build/prune") {
            const ids: string[] = JSON.parse(url.searchParams.get("filters") ?? "{}").id ?? [];
            const freed = daemon.buildCache.filter((b) => ids.includes(b.ID)).reduce((sum, b) => sum + b.Size, 0);
            daemon.buildCache = daemon.buildCache.filter((b) => !ids.includes(b.ID));
            return json(res, 200, { SpaceReclaimed: freed });
        }
        return json(res, 404, { message: `fake daemon: no route ${route}` });
    };
    const server = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    daemon.close = () => new Promise((resolve) => server.close(() => resolve()));
    return daemon;
}
