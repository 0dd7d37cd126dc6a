// `npm run status -- [--stack NAME]...`: a table per stack, as `docker compose ps` prints one:
// each DinD host (container state, health, endpoints, where its nested published ports are
// reached, inner engine version, nested containers, preloaded images) and each DooD client
// (state, where its containers' published ports are reached, and for a restricted client what it
// owns: containers, volumes, networks, images it built, tags it created, its builder).
// It reads the stack's outputs and asks the outer and inner daemons over the Engine API.
// Secrets (clientTls) are used to dial the inner daemon and never printed.
import { EngineEndpoint, engineRequest, readBody } from "../components/engineApi";
import { OWNER_LABEL } from "../components/markers";
import { openStack } from "./pulumi-stack";
import { ClientOutputs, clientEnvironment, HostOutputs, parseArgs, readOutputs, runTool, StackOutputs, UsageError } from "./stackOutputs";

const USAGE = "usage: status.ts [--stack NAME]...   (default stack: local)";
const TIMEOUT_MS = 5000;

/** GET a JSON document from a daemon; an Error (not thrown) when it does not answer. */
async function getJson<T>(endpoint: EngineEndpoint, apiPath: string): Promise<T | Error> {
    try {
        const response = await engineRequest(endpoint, "GET", apiPath, undefined, TIMEOUT_MS);
        const body = await readBody(response);
        if (response.statusCode !== 200) return new Error(`${response.statusCode} ${body.trim()}`);
        return JSON.parse(body) as T;
    } catch (error) {
        return error as Error;
    }
}

interface Inspect {
    State: { Status: string; Health?: { Status: string } };
}
interface Listed {
    Names: string[];
    Image: string;
    State: string;
    Status: string;
    Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
}
interface ImageSummary {
    Id: string;
    RepoTags: string[] | null;
}

/** The outer container's state and health ("-" when it has no health check), or why not known. */
async function outerState(daemon: EngineEndpoint, containerId: string): Promise<[string, string]> {
    const inspect = await getJson<Inspect>(daemon, `/containers/${containerId}/json`);
    if (inspect instanceof Error) return [/^404/.test(inspect.message) ? "missing" : `unknown (${inspect.message})`, "-"];
    return [inspect.State.Status, inspect.State.Health?.Status ?? "-"];
}

function table(rows: string[][], indent = ""): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("   ")).join("\n");
}

function ports(listed: Listed["Ports"]): string {
    return listed.filter((p) => p.PublicPort).map((p) => `${p.IP ?? ""}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`).join(", ") || "-";
}

async function hostSection(name: string, host: HostOutputs, stackOutputs: StackOutputs): Promise<string> {
    const [state, health] = await outerState(host.outerDaemon, host.containerId);
    const endpoint = host.dockerHost;
    const inner: EngineEndpoint | undefined = endpoint ? { host: endpoint, ...(host.tcpEndpoint ? stackOutputs.clientTls[name] : {}) } : undefined;
    const version = inner ? await getJson<{ Version: string }>(inner, "/version") : new Error("no endpoint");
    const lines = [table([
        ["HOST", "STATE", "HEALTH", "ENDPOINTS", "PUBLISHED PORTS AT", "ENGINE"],
        [name, state, health, [host.tcpEndpoint, host.unixEndpoint].filter(Boolean).join(" ") || "-",
            host.publishedPortsAddress ?? "-", version instanceof Error ? `unreachable (${version.message})` : version.Version],
    ])];
    if (inner && !(version instanceof Error)) {
        const images = await getJson<ImageSummary[]>(inner, "/images/json");
        const tags = new Map(images instanceof Error ? [] : images.map((i) => [i.Id, i.RepoTags?.[0] ?? i.Id]));
        const containers = await getJson<Listed[]>(inner, "/containers/json?all=1");
        if (!(containers instanceof Error) && containers.length) {
            // Containers created from an image id list the id: name the image by its tag.
            lines.push(table([["NESTED CONTAINER", "IMAGE", "STATE", "STATUS", "PORTS"],
                ...containers.map((c) => [c.Names[0].replace(/^\//, ""), tags.get(c.Image) ?? c.Image, c.State, c.Status, ports(c.Ports)])], "  "));
        }
        const present = new Set(tags.keys());
        const preloaded = Object.entries(host.preloadedImageIds ?? {});
        if (preloaded.length) {
            lines.push(table([["PRELOADED IMAGE", "ID", "ON INNER DAEMON"],
                ...preloaded.map(([image, id]) => [image, id.slice(0, 19), present.has(id) ? "yes" : "no"])], "  "));
        }
    }
    const { env, notes } = clientEnvironment(host, host.tcpEndpoint && stackOutputs.clientTls[name] ? "<dir of: npm run client-tls -- HOST DIR>" : undefined);
    lines.push(`  environment: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
    lines.push(...notes.map((n) => `  note: ${n}`));
    return lines.join("\n");
}

/** The image tags a restricted client created, as its proxy records them (read from the proxy's container). */
async function recordedTags(daemon: EngineEndpoint, proxyContainerId: string): Promise<string[] | Error> {
    try {
        const response = await engineRequest(daemon, "GET", `/containers/${proxyContainerId}/archive?path=/var/lib/dood-proxy/tags.json`, undefined, TIMEOUT_MS);
        const chunks: Buffer[] = [];
        for await (const chunk of response) chunks.push(chunk as Buffer);
        if (response.statusCode === 404) return [];
        if (response.statusCode !== 200) return new Error(`${response.statusCode}`);
        // A tar archive of one file: a 512-byte header (the size in octal at 124), then the file.
        const tar = Buffer.concat(chunks);
        const size = parseInt(tar.subarray(124, 136).toString().replace(/\0.*$/, "").trim(), 8);
        return Object.keys(JSON.parse(tar.subarray(512, 512 + size).toString("utf8"))).sort();
    } catch (error) {
        return error as Error;
    }
}

/** What a restricted client owns on its daemon: the rows of the OWNS table. */
async function ownedRows(name: string, client: ClientOutputs): Promise<string[][]> {
    const daemon = client.outerDaemon;
    const label = encodeURIComponent(JSON.stringify({ label: [`${OWNER_LABEL}=${name}`] }));
    const rows: string[][] = [];
    const containers = await getJson<Listed[]>(daemon, `/containers/json?all=1&filters=${label}`);
    if (containers instanceof Error) return [["?", `unreachable (${containers.message})`, ""]];
    rows.push(...containers.map((c) => ["container", c.Names[0].replace(/^\//, ""), `${c.State}, ${c.Status}${c.Ports.some((p) => p.PublicPort) ? `, ${ports(c.Ports)}` : ""}`]));
    const volumes = await getJson<{ Volumes: { Name: string; Labels: Record<string, string> | null }[] | null }>(daemon, "/volumes");
    if (!(volumes instanceof Error)) {
        rows.push(...(volumes.Volumes ?? []).filter((v) => v.Labels?.[OWNER_LABEL] === name || v.Name.startsWith(`${name}.`)).map((v) => ["volume", v.Name, ""]));
    }
    const networks = await getJson<{ Name: string }[]>(daemon, `/networks?filters=${label}`);
    if (!(networks instanceof Error)) rows.push(...networks.map((n) => ["network", n.Name, ""]));
    const images = await getJson<ImageSummary[]>(daemon, `/images/json?filters=${label}`);
    if (!(images instanceof Error)) {
        rows.push(...images.map((i) => ["image", (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>").join(", ") || "<untagged>", `built by it, ${i.Id.slice(0, 19)}`]));
    }
    const tags = client.proxyContainerId ? await recordedTags(daemon, client.proxyContainerId) : [];
    rows.push(...(tags instanceof Error ? [["tag", "?", `cannot read the proxy's records (${tags.message})`]] : tags.map((t) => ["tag", t, "created by it"])));
    if (client.builderContainerId) {
        const [state] = await outerState(daemon, client.builderContainerId);
        rows.push(["builder", `${name}-buildkit`, `${state}; its build cache and cache mounts are its own`]);
    }
    return rows;
}

async function clientSection(name: string, client: ClientOutputs): Promise<string> {
    const lines = [table([
        ["CLIENT", "STATE", "DAEMON", "PUBLISHED PORTS AT"],
        [name, (await outerState(client.outerDaemon, client.containerId))[0], client.outerDaemon.host, client.publishedPortsAddress || "-"],
    ])];
    if (client.restricted) {
        const owned = await ownedRows(name, client);
        lines.push(owned.length ? table([["OWNS", "NAME", "DETAIL"], ...owned], "  ") : "  owns nothing yet");
    }
    if (client.publishedPortsAddress) lines.push(`  environment (inside the client): TESTCONTAINERS_HOST_OVERRIDE=${client.publishedPortsAddress}`);
    return lines.join("\n");
}

/** The status of one stack's hosts and clients as text. */
export async function stackStatus(stackName: string, outputs: StackOutputs): Promise<string> {
    const sections = [`STACK ${stackName}`];
    for (const [name, host] of Object.entries(outputs.hosts)) sections.push(await hostSection(name, host, outputs));
    for (const [name, client] of Object.entries(outputs.clients)) sections.push(await clientSection(name, client));
    if (sections.length === 1) sections.push("(no hosts or clients: not up yet?)");
    return sections.join("\n\n");
}

async function main(argv: string[]): Promise<number> {
    const { stacks, args } = parseArgs(argv);
    if (args.length) throw new UsageError(`unexpected argument ${args[0]}`);
    for (const stackName of stacks) {
        console.log(await stackStatus(stackName, await readOutputs(await openStack({ stackName }))));
        console.log();
    }
    return 0;
}

if (require.main === module) runTool(USAGE, main);
