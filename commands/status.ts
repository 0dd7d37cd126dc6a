// `npm run status -- [--stack NAME]...`: a table per stack, as `docker compose ps` prints one:
// each DinD host (container state, health, endpoints, where its nested published ports are
// reached, inner engine version, nested containers, preloaded images), each pool (every member:
// free, leased by whom since when and until when, resetting, unhealthy, down) and each DooD client
// (state, where its containers' published ports are reached, and for a restricted client what it
// owns: containers, volumes, networks, images it built, tags it created, its builder).
// A host on Kubernetes shows its pod instead of a container: phase, readiness, restarts, node. It
// reads the stack's outputs and asks the outer and inner daemons over the Engine API, and the
// cluster over the Kubernetes API. Secrets (clientTls) are used to dial the inner daemon and never
// printed.
import * as path from "node:path";
import { ContainerSummary, EngineClient, EngineEndpoint } from "../components/engineApi";
import { kubeConnection, kubeGet } from "../components/kubeApi";
import { DOOD_OWNER_LABEL } from "../components/markers";
import { PROXY_STATE_DIR } from "../components/paths";
import { clientEnvironment } from "../driver/clientTls";
import { openStack, readOutputs } from "../driver/stack";
import { availability, hasExpired, readPool } from "../driver/leases";
import { stackLabelValue } from "../driver/project";
import { ClientOutputs, DockerHostOutputs, HostOutputs, isKubernetesHost, KubernetesHostOutputs, PoolOutputs, StackOutputs } from "../program/outputs";
import { expectArguments, parseCommandLine, runCommand } from "./cli";

const USAGE = "usage: npm run status -- [--stack NAME]... [--backend URL] [--work-dir DIR]   (default stack: local)";
const TIMEOUT_MS = 5000;

const engine = (endpoint: EngineEndpoint) => new EngineClient(endpoint, { timeoutMs: TIMEOUT_MS });

/** An answer, or the error that says why there is none (a view shows it instead of failing). */
function settled<T>(promise: Promise<T>): Promise<T | Error> {
    return promise.catch((error: Error) => error);
}

/** A container's state and health ("-" when it has no health check) on its outer daemon, or why not known. */
async function outerState(daemon: EngineEndpoint, containerId: string): Promise<[string, string]> {
    const inspect = await settled(engine(daemon).inspectContainer(containerId));
    if (inspect instanceof Error) return [`unknown (${inspect.message})`, "-"];
    if (!inspect) return ["missing", "-"];
    return [inspect.State.Status, inspect.State.Health?.Status ?? "-"];
}

function table(rows: string[][], indent = ""): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("   ")).join("\n");
}

function ports(listed: ContainerSummary["Ports"]): string {
    return listed.filter((p) => p.PublicPort).map((p) => `${p.IP ?? ""}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`).join(", ") || "-";
}

/** The inner daemon's nested containers and the preloaded images, as indented tables. */
async function innerSection(inner: EngineEndpoint, host: HostOutputs): Promise<string[]> {
    const lines: string[] = [];
    const images = await settled(engine(inner).listImages());
    const tags = new Map(images instanceof Error ? [] : images.map((i) => [i.Id, i.RepoTags?.[0] ?? i.Id]));
    const containers = await settled(engine(inner).listContainers({ all: true }));
    if (!(containers instanceof Error) && containers.length) {
        // Containers created from an image id list the id: name the image by its tag.
        lines.push(table([["NESTED CONTAINER", "IMAGE", "STATE", "STATUS", "PORTS"],
            ...containers.map((c) => [c.Names[0].replace(/^\//, ""), tags.get(c.Image) ?? c.Image, c.State, c.Status, ports(c.Ports)])], "  "));
    }
    const preloaded = Object.entries(host.preloadedImageIds ?? {});
    if (preloaded.length) {
        lines.push(table([["PRELOADED IMAGE", "ID", "ON INNER DAEMON"],
            ...preloaded.map(([image, id]) => [image, id.slice(0, 19), tags.has(id) ? "yes" : "no"])], "  "));
    }
    return lines;
}

interface Pod {
    spec: { nodeName?: string };
    status: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; restartCount: number; state?: { waiting?: { reason?: string } } }[] };
}

/** A Kubernetes host's pod, asked of its cluster: phase (or why it waits), readiness, restarts of dockerd, node. */
async function podState(host: KubernetesHostOutputs): Promise<[string, string, string, string]> {
    const { cluster } = host;
    const pod = await settled(kubeGet<Pod>(kubeConnection({ kubeconfig: cluster.kubeconfig, context: cluster.context }),
        `/api/v1/namespaces/${cluster.namespace}/pods/${host.statefulSet}-0`, TIMEOUT_MS));
    if (pod instanceof Error) return [`unknown (${pod.message})`, "-", "-", "-"];
    if (!pod) return ["missing", "-", "-", "-"];
    const dind = pod.status.containerStatuses?.find((c) => c.name === "dind");
    return [
        `${pod.status.phase ?? "Pending"}${dind?.state?.waiting?.reason ? ` (${dind.state.waiting.reason})` : ""}`,
        pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? "ready" : "not ready",
        dind ? String(dind.restartCount) : "-",
        pod.spec.nodeName ?? "-",
    ];
}

/** A host's first row: its container on a Docker daemon, or its pod on a cluster. */
async function hostRow(name: string, host: HostOutputs, engineVersion: string): Promise<string[][]> {
    if (isKubernetesHost(host)) {
        return [["HOST", "POD", "PHASE", "READY", "RESTARTS", "NODE", "ENDPOINT", "ENGINE"],
            [name, `${host.cluster.namespace}/${host.statefulSet}-0`, ...await podState(host), host.tcpEndpoint, engineVersion]];
    }
    const docker: DockerHostOutputs = host;
    const [state, health] = await outerState(docker.outerDaemon, docker.containerId);
    const endpoints = [docker.tcpEndpoint, docker.unixEndpoint].filter(Boolean).join(" ") || "-";
    return [["HOST", "STATE", "HEALTH", "ENDPOINTS", "PUBLISHED PORTS AT", "ENGINE"], [name, state, health, endpoints, docker.publishedPortsAddress ?? "-", engineVersion]];
}

/** One host's rows. */
async function hostSection(name: string, host: HostOutputs, stackOutputs: StackOutputs): Promise<string> {
    const tls = host.tcpEndpoint ? stackOutputs.clientTls[name] : undefined;
    const inner: EngineEndpoint | undefined = host.dockerHost ? { host: host.dockerHost, ...tls } : undefined;
    const version = inner ? await settled(engine(inner).version()) : new Error("no endpoint");
    const lines = [table(await hostRow(name, host, version instanceof Error ? `unreachable (${version.message})` : version.Version))];
    if (inner && !(version instanceof Error)) lines.push(...await innerSection(inner, host));
    const { env, notes } = clientEnvironment(host, tls ? "<dir of: npm run client-tls -- HOST DIR>" : undefined);
    lines.push(`  environment: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
    lines.push(...notes.map((n) => `  note: ${n}`));
    return lines.join("\n");
}

/** When, in seconds since the epoch, as a UTC time to the second. */
const when = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");

/** A pool's members and their leases, as the pool's outer daemon holds them now. */
async function poolSection(stackName: string, name: string, pool: PoolOutputs): Promise<string> {
    const header = `POOL ${name}: ${pool.members.length} member(s) on ${pool.outerDaemon.host}${pool.cacheRegistry ? `; build cache at ${pool.cacheRegistry}` : ""}`;
    const view = await settled(readPool({ engine: engine(pool.outerDaemon), stackLabel: stackLabelValue(stackName) }, name));
    if (view instanceof Error) return `${header}
  unknown (${view.message})`;
    const rows = [["MEMBER", "STATE", "HOLDER", "SINCE", "UNTIL", "CONTAINER"]];
    for (const member of view.members) {
        const latest = member.latest;
        const stands = availability(member, view.now);
        const state = stands === "expired" || (stands === "down" && latest && latest.state !== "free") ? `${latest!.state}${hasExpired(latest!, view.now) ? " (expired)" : ""}` : stands;
        const held = latest && latest.state !== "free";
        rows.push([member.name, state, held ? latest.holder : "-", held ? when(latest.since) : "-", held ? when(latest.since + latest.ttl) : "-", member.container.Status]);
    }
    const missing = pool.members.filter((m) => !view.members.some((v) => v.name === m));
    return [header, table(rows, "  "), ...(missing.length ? [`  not on the daemon: ${missing.join(", ")} (up creates them again)`] : [])].join("\n");
}

/** The image tags a restricted client created, as its proxy records them (read from the proxy's container). */
async function recordedTags(daemon: EngineEndpoint, proxyContainerId: string): Promise<string[]> {
    const records = await engine(daemon).readFile(proxyContainerId, `${PROXY_STATE_DIR}/tags.json`);
    return records ? Object.keys(JSON.parse(records.toString("utf8"))).sort() : [];
}

/** What a restricted client owns on its daemon: the rows of its OWNS table. */
async function ownedRows(name: string, client: ClientOutputs): Promise<string[][]> {
    const daemon = engine(client.outerDaemon);
    const filters = { label: [`${DOOD_OWNER_LABEL}=${name}`] };
    const containers = await settled(daemon.listContainers({ all: true, filters }));
    if (containers instanceof Error) return [["?", `unreachable (${containers.message})`, ""]];
    const rows = containers.map((c) => ["container", c.Names[0].replace(/^\//, ""), `${c.State}, ${c.Status}${c.Ports.some((p) => p.PublicPort) ? `, ${ports(c.Ports)}` : ""}`]);
    const volumes = await settled(daemon.listVolumes());
    if (!(volumes instanceof Error)) {
        // Labelled, or made implicitly for one of its containers under its prefix.
        rows.push(...volumes.filter((v) => v.Labels?.[DOOD_OWNER_LABEL] === name || v.Name.startsWith(`${name}.`)).map((v) => ["volume", v.Name, ""]));
    }
    const networks = await settled(daemon.listNetworks({ filters }));
    if (!(networks instanceof Error)) rows.push(...networks.map((n) => ["network", n.Name, ""]));
    const images = await settled(daemon.listImages(filters));
    if (!(images instanceof Error)) {
        rows.push(...images.map((i) => ["image", (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>").join(", ") || "<untagged>", `built by it, ${i.Id.slice(0, 19)}`]));
    }
    if (client.proxyContainerId) {
        const tags = await settled(recordedTags(client.outerDaemon, client.proxyContainerId));
        rows.push(...(tags instanceof Error ? [["tag", "?", `cannot read the proxy's records (${tags.message})`]] : tags.map((t) => ["tag", t, "created by it"])));
    }
    if (client.builderContainerId) {
        const [state] = await outerState(client.outerDaemon, client.builderContainerId);
        rows.push(["builder", `${name}-buildkit`, `${state}; its build cache and cache mounts are its own`]);
    }
    return rows;
}

/** One client's rows. */
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

/** The status of one stack's hosts, pools and clients as text. */
export async function stackStatus(stackName: string, outputs: StackOutputs): Promise<string> {
    const sections = [`STACK ${stackName}`];
    // Pool members are shown with their pool, not one by one.
    const members = new Set(Object.values(outputs.pools ?? {}).flatMap((p) => p.members));
    for (const [name, host] of Object.entries(outputs.hosts)) if (!members.has(name)) sections.push(await hostSection(name, host, outputs));
    for (const [name, pool] of Object.entries(outputs.pools ?? {})) sections.push(await poolSection(stackName, name, pool));
    for (const [name, client] of Object.entries(outputs.clients)) sections.push(await clientSection(name, client));
    if (sections.length === 1) sections.push("(no hosts, pools or clients: not up yet?)");
    return sections.join("\n\n");
}

async function main(argv: string[]): Promise<void> {
    const line = parseCommandLine(argv, { options: ["--backend", "--work-dir"] });
    expectArguments(line, 0);
    const workDir = line.values.get("--work-dir");
    for (const stackName of line.stacks) {
        const stack = await openStack({ stackName, backendUrl: line.values.get("--backend"), workDir: workDir && path.resolve(workDir) });
        console.log(await stackStatus(stackName, await readOutputs(stack)));
        console.log();
    }
}

if (require.main === module) runCommand(USAGE, main);
