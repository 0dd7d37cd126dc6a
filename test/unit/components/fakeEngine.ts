// A stand-in for the Docker Engine API's ping, image, version, container and network endpoints, on a
// unix socket, for unit tests of the preload's and the readiness step's HTTP exchanges and of the
// program's version lookup. The real daemon is exercised by the integration suite.
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { mkdtempSync } from "node:fs";

export interface FakeEngine {
    socket: string;
    images: Map<string, string>;
    loads: number;
    /** How many times /version was asked. */
    versionRequests: number;
    /** When set, /images/load answers HTTP 200 with this error in its JSON stream, as dockerd does. */
    loadError?: string;
    /** Container id -> the states successive inspects return (the last one repeats), and its log. */
    containers: Map<string, { states: object[]; log: string; updates: object[]; logQueries?: string[] }>;
    /** What GET /containers/json lists (filters are recorded, not applied). */
    listed: object[];
    /** The `filters` query of each GET /containers/json. */
    listFilters: string[];
    /** Containers removed by DELETE /containers/{id}, with the query. */
    removed: string[];
    /** Options of the bridge network. */
    bridgeOptions: Record<string, string>;
    /** How many /_ping requests answer 503 (a daemon still starting) before one answers OK. */
    failingPings: number;
    /** How many times /_ping was asked. */
    pings: number;
    /** tcp://127.0.0.1:PORT, when started with `tcp` (plain HTTP, as a daemon without TLS). */
    tcpUrl?: string;
    close(): Promise<void>;
}

/** Frames text as dockerd's multiplexed log stream does (stderr, 8-byte header). */
function multiplexed(text: string): Buffer {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = 2;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
}

export async function startFakeEngine(images: Record<string, string> = {}, apiVersion = "1.41", { tcp = false } = {}): Promise<FakeEngine> {
    const socket = path.join(mkdtempSync(path.join(os.tmpdir(), "fake-engine-")), "docker.sock");
    const engine: FakeEngine = {
        socket, images: new Map(Object.entries(images)), loads: 0, versionRequests: 0, containers: new Map(), listed: [], listFilters: [], removed: [], bridgeOptions: {},
        failingPings: 0, pings: 0, close: async () => undefined,
    };
    const handler: http.RequestListener = (req, res) => {
        const url = new URL(req.url!, "http://engine");
        const inspect = /^\/images\/(.+)\/json$/.exec(url.pathname);
        const container = /^\/containers\/([^/]+)\/(json|logs|update)$/.exec(url.pathname);
        const fake = container && engine.containers.get(container[1]);
        if (req.method === "GET" && url.pathname === "/_ping") {
            engine.pings++;
            res.writeHead(engine.pings > engine.failingPings ? 200 : 503).end(engine.pings > engine.failingPings ? "OK" : "starting");
        } else if (req.method === "GET" && url.pathname === "/containers/json") {
            engine.listFilters.push(url.searchParams.get("filters") ?? "");
            res.writeHead(200).end(JSON.stringify(engine.listed));
        } else if (req.method === "DELETE" && /^\/containers\/[^/]+$/.test(url.pathname)) {
            engine.removed.push(`${url.pathname.split("/").pop()}${url.search}`);
            res.writeHead(204).end();
        } else if (req.method === "GET" && url.pathname === "/version") {
            engine.versionRequests++;
            res.writeHead(200).end(JSON.stringify({ Version: "26.1.5", ApiVersion: apiVersion }));
        } else if (req.method === "GET" && url.pathname === "/images/json") {
            res.writeHead(200).end(JSON.stringify([...engine.images].map(([name, id]) => ({ Id: id, RepoTags: [name] }))));
        } else if (req.method === "GET" && inspect) {
            const id = engine.images.get(decodeURIComponent(inspect[1]));
            res.writeHead(id ? 200 : 404).end(JSON.stringify(id ? { Id: id } : { message: "No such image" }));
        } else if (container && !fake) {
            res.writeHead(404).end(JSON.stringify({ message: `No such container: ${container[1]}` }));
        } else if (fake && container![2] === "json") {
            res.writeHead(200).end(JSON.stringify(fake.states.length > 1 ? fake.states.shift() : fake.states[0]));
        } else if (fake && container![2] === "logs") {
            fake.logQueries?.push(url.search);
            const tail = Number(url.searchParams.get("tail") ?? Infinity);
            res.writeHead(200).end(multiplexed(`${fake.log.trimEnd().split("\n").slice(-tail).join("\n")}\n`));
        } else if (fake && container![2] === "update") {
            let body = "";
            req.on("data", (chunk) => (body += chunk));
            req.on("end", () => {
                fake.updates.push(JSON.parse(body));
                res.writeHead(200).end(JSON.stringify({ Warnings: [] }));
            });
        } else if (req.method === "GET" && url.pathname === "/networks/bridge") {
            res.writeHead(200).end(JSON.stringify({ Name: "bridge", Options: engine.bridgeOptions }));
        } else if (req.method === "GET" && url.pathname === "/images/get") {
            const name = url.searchParams.get("names")!;
            // Stands in for the tar archive: enough for the fake load to know what it holds.
            res.writeHead(200).end(JSON.stringify({ name, id: engine.images.get(name) }));
        } else if (req.method === "POST" && url.pathname === "/images/load") {
            let body = "";
            req.on("data", (chunk) => (body += chunk));
            req.on("end", () => {
                engine.loads++;
                if (engine.loadError) {
                    res.writeHead(200).end(`${JSON.stringify({ errorDetail: { message: engine.loadError }, error: engine.loadError })}\n`);
                    return;
                }
                const archive = JSON.parse(body);
                engine.images.set(archive.name, archive.id);
                res.writeHead(200).end(`${JSON.stringify({ stream: `Loaded image: ${archive.name}\n` })}\n`);
            });
        } else {
            res.writeHead(404).end(JSON.stringify({ message: `unexpected ${req.method} ${req.url}` }));
        }
    };
    const servers = [http.createServer(handler)];
    await new Promise<void>((resolve) => servers[0].listen(socket, resolve));
    if (tcp) {
        servers.push(http.createServer(handler));
        await new Promise<void>((resolve) => servers[1].listen(0, "127.0.0.1", resolve));
        engine.tcpUrl = `tcp://127.0.0.1:${(servers[1].address() as { port: number }).port}`;
    }
    engine.close = async () => {
        await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    };
    return engine;
}
