// `npm run status -- [--stack NAME]...`: a table per stack, as `docker compose ps` prints one:
// each DinD host (container state, health, endpoints, where its nested published ports are
// reached, inner engine version, nested containers, preloaded images) and each DooD client.
// A host on Kubernetes shows its pod instead of a container: phase, readiness, node. It reads the
// stack's outputs and asks the outer and inner daemons over the Engine API, and the cluster over
// the Kubernetes API. Secrets (clientTls) are used to dial the inner daemon and never printed.
import { EngineEndpoint, engineRequest, readBody } from "../components/engineApi";
import { kubeConnection, kubeGet } from "../components/kubeApi";
import { openStack } from "./pulumi-stack";
import { clientEnvironment, HostOutputs, parseArgs, readOutputs, runTool, StackOutputs, UsageError } from "./stackOutputs";

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

/** The inner daemon's version, nested containers and preloaded images: the same for a host on Docker or Kubernetes. */
async function innerDaemon(name: string, host: HostOutputs, stackOutputs: StackOutputs) {
    const endpoint = host.dockerHost;
    const inner: EngineEndpoint | undefined = endpoint ? { host: endpoint, ...(host.tcpEndpoint ? stackOutputs.clientTls[name] : {}) } : undefined;
    const version = inner ? await getJson<{ Version: string }>(inner, "/version") : new Error("no endpoint");
    const lines: string[] = [];
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
    return { engine: version instanceof Error ? `unreachable (${version.message})` : version.Version, lines };
}

async function hostSection(name: string, host: HostOutputs, stackOutputs: StackOutputs): Promise<string> {
    if (host.cluster) return podSection(name, host, stackOutputs);
    const [state, health] = await outerState(host.outerDaemon!, host.containerId!);
    const { engine, lines } = await innerDaemon(name, host, stackOutputs);
    return [table([
        ["HOST", "STATE", "HEALTH", "ENDPOINTS", "PUBLISHED PORTS AT", "ENGINE"],
        [name, state, health, [host.tcpEndpoint, host.unixEndpoint].filter(Boolean).join(" ") || "-", host.publishedPortsAddress ?? "-", engine],
    ]), ...lines].join("\n");
}

interface Pod {
    spec: { nodeName?: string };
    status: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; restartCount: number; state?: { waiting?: { reason?: string } } }[] };
}

/** A host on Kubernetes: its pod's phase (or why it waits), readiness and node, then the inner daemon. */
async function podSection(name: string, host: HostOutputs, stackOutputs: StackOutputs): Promise<string> {
    const cluster = host.cluster!;
    const podName = `${host.statefulSet}-0`;
    let phase: string, ready = "-", node = "-", restarts = "-";
    try {
        const pod = await kubeGet<Pod>(kubeConnection({ kubeconfig: cluster.kubeconfig, context: cluster.context }), `/api/v1/namespaces/${cluster.namespace}/pods/${podName}`, TIMEOUT_MS);
        const dind = pod?.status.containerStatuses?.find((c) => c.name === "dind");
        phase = pod ? `${pod.status.phase ?? "Pending"}${dind?.state?.waiting?.reason ? ` (${dind.state.waiting.reason})` : ""}` : "missing";
        ready = pod ? (pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? "ready" : "not ready") : "-";
        node = pod?.spec.nodeName ?? "-";
        restarts = dind ? String(dind.restartCount) : "-";
    } catch (error) {
        phase = `unknown (${(error as Error).message})`;
    }
    const { engine, lines } = await innerDaemon(name, host, stackOutputs);
    return [table([
        ["HOST", "POD", "PHASE", "READY", "RESTARTS", "NODE", "ENDPOINT", "ENGINE"],
        [name, `${cluster.namespace}/${podName}`, phase, ready, restarts, node, host.tcpEndpoint ?? "-", engine],
    ]), ...lines].join("\n");
}

/** The status of one stack's hosts and clients as text. */
export async function stackStatus(stackName: string, outputs: StackOutputs): Promise<string> {
    const sections = [`STACK ${stackName}`];
    for (const [name, host] of Object.entries(outputs.hosts)) sections.push(await hostSection(name, host, outputs));
    const clients = Object.entries(outputs.clients);
    if (clients.length) {
        const rows = [["CLIENT", "STATE", "DAEMON"]];
        for (const [name, client] of clients) rows.push([name, (await outerState(client.outerDaemon, client.containerId))[0], client.outerDaemon.host]);
        sections.push(table(rows));
    }
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
