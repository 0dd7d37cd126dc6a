// A stand-in for the Docker Engine API's image and version endpoints, on a unix socket, for unit
// tests of the preload's HTTP exchange and of the program's version lookup. The real daemon is exercised by the integration suite.
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
    close(): Promise<void>;
}

export async function startFakeEngine(images: Record<string, string> = {}, apiVersion = "1.41"): Promise<FakeEngine> {
    const socket = path.join(mkdtempSync(path.join(os.tmpdir(), "fake-engine-")), "docker.sock");
    const engine: FakeEngine = { socket, images: new Map(Object.entries(images)), loads: 0, versionRequests: 0, close: async () => undefined };
    const server = http.createServer((req, res) => {
        const url = new URL(req.url!, "http://engine");
        const inspect = /^\/images\/(.+)\/json$/.exec(url.pathname);
        if (req.method === "GET" && url.pathname === "/version") {
            engine.versionRequests++;
            res.writeHead(200).end(JSON.stringify({ ApiVersion: apiVersion }));
        } else if (req.method === "GET" && inspect) {
            const id = engine.images.get(decodeURIComponent(inspect[1]));
            res.writeHead(id ? 200 : 404).end(JSON.stringify(id ? { Id: id } : { message: "No such image" }));
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
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    engine.close = () => new Promise((resolve) => server.close(() => resolve()));
    return engine;
}
