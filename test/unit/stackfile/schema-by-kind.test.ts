// Every key of the schema, on every kind of daemon: a key the validator accepts there must change
// the resource graph the program registers (under mocks), or be refused with a message at that key.
// A key that is accepted and changes nothing would be silently dropped; the test fails on it. The
// outcome of every key on every kind is also the table "Which keys apply where" of
// docs/security-trust-model.md, which must say exactly what this test finds.
import * as assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { z } from "zod";
import * as pulumi from "@pulumi/pulumi";
import { provisionStack } from "../../../program";
import { validateStackSource } from "../../../stackfile/load";
import { KeyPath } from "../../../stackfile/text";
import { fakeSteps, installMocks } from "../mocks";
import { documentedRow, schemaKeys, tableRows } from "./schema-keys";

const DOC = path.join(__dirname, "..", "..", "..", "docs", "security-trust-model.md");
export const DAEMON_KINDS = ["unix", "tcp", "ssh", "kubernetes"] as const;
type DaemonKind = (typeof DAEMON_KINDS)[number];
type Outcome = "applied" | "refused" | "checked";
type Entry = Record<string, any>;
type Stack = { daemons: Record<string, Entry>; hosts: Record<string, Entry>; clients: Record<string, Entry>; registries: Record<string, Entry>; pools: Record<string, Entry> };

/** A daemon of each kind, and another one of the same kind (for `daemon` keys). */
const DAEMONS: Record<DaemonKind, [Entry, Entry]> = {
    unix: [{ host: "unix:///var/run/docker.sock" }, { host: "unix:///run/walk/other.sock" }],
    tcp: [{ host: "tcp://10.0.0.5:2376", certPath: "/etc/walk/farm" }, { host: "tcp://10.0.0.7:2376", certPath: "/etc/walk/farm" }],
    ssh: [{ host: "ssh://ci@10.0.0.6" }, { host: "ssh://ci@10.0.0.8" }],
    kubernetes: [{ kubernetes: { namespace: "walk" } }, { kubernetes: { namespace: "walk-two" } }],
};

/** The runner's environment: the operator allows every daemon, file and variable the samples use. */
function operatorEnvironment(caDir: string): NodeJS.ProcessEnv {
    return {
        DIND_PROVISIONER_ALLOW_DAEMONS: Object.values(DAEMONS).flat().flatMap((d) => (d.host ? [d.host] : [])).join(" "),
        DIND_PROVISIONER_ALLOW_PATHS: `/etc/walk:${caDir}`,
        DIND_PROVISIONER_ALLOW_ENV: "WALK_TOKEN WALK_TOKEN_2",
        WALK_TOKEN: "walk-token",
        WALK_TOKEN_2: "walk-token-2",
    };
}

/** The object a key belongs to, the smallest valid one of its kind on daemon `d1`. */
function baseStack(section: keyof Stack, kind: DaemonKind): Stack {
    const stack: Stack = { daemons: { d1: structuredClone(DAEMONS[kind][0]) }, hosts: {}, clients: {}, registries: {}, pools: {} };
    const host = kind === "kubernetes" ? { daemon: "d1", tcp: { port: 2376 } } : { daemon: "d1", tcp: { port: 23760, bind: kind === "unix" ? "127.0.0.1" : "0.0.0.0" } };
    if (section === "daemons" || section === "hosts") stack.hosts.h1 = host;
    if (section === "clients") stack.clients.c1 = { daemon: "d1", socketGroup: 998, ...(kind === "tcp" || kind === "ssh" ? { socket: "/var/run/docker.sock" } : {}) };
    // A pool's template is a host spec; its members take consecutive ports from the template's.
    if (section === "pools") stack.pools.p1 = { size: 2, template: kind === "kubernetes" ? host : { ...host, tcp: { ...host.tcp, port: 24760 } } };
    if (section === "registries") {
        stack.registries.r1 = { daemon: "d1", port: 5000 };
        // A file declares a host or a client: this one stays the same in every variant.
        stack.clients.keeper = { daemon: "local", socketGroup: 998, access: "full" };
    }
    return stack;
}

/**
 * How a key is set to a value other than its default: `prepare` puts in what the key needs beside it
 * (in both the baseline and the variant), `set` sets the key. `entry` is the host, client, registry or
 * daemon the key belongs to.
 */
interface Sample {
    prepare?: (entry: Entry, stack: Stack, kind: DaemonKind) => void;
    set: (entry: Entry, stack: Stack, kind: DaemonKind) => void;
}

const otherDaemon: Sample["prepare"] = (_entry, stack, kind) => {
    stack.daemons.d2 = structuredClone(DAEMONS[kind][1]);
};
const web = (entry: Entry) => {
    entry.workloads = { networks: ["walk-net"], volumes: ["walk-a", "walk-b"], containers: { web: { image: "busybox:1.36" } } };
    return entry.workloads.containers.web;
};
const nested = (entry: Entry) => entry.workloads.containers.web;
const registryAuth = (entry: Entry) => {
    entry.registryAuth = [{ address: "registry.example.com:5000", username: "ci", password: { env: "WALK_TOKEN" } }];
};
const kubernetesOf = (entry: Entry) => (entry.kubernetes ??= { namespace: "walk" });
/** A pull-through cache of another registry than Docker Hub, on a Docker daemon the host's may reach it on. */
const otherRegistryCache: Sample["prepare"] = (entry, stack, kind) => {
    stack.registries.gc = { daemon: kind === "kubernetes" ? "local" : entry.daemon, port: 5002, proxy: { remote: "https://ghcr.io" } };
};

/** A value for every key of the schema but the daemon.json options (sampled by type below). */
function samples(caFile: string): Record<string, Sample> {
    return {
        "daemons.<name>.host": { set: (e, _s, kind) => (e.host = DAEMONS[kind === "kubernetes" ? "tcp" : kind][1].host) },
        "daemons.<name>.kubernetes.context": { set: (e) => (kubernetesOf(e).context = "walk-context") },
        "daemons.<name>.kubernetes.kubeconfig": { set: (e) => (kubernetesOf(e).kubeconfig = "/etc/walk/kubeconfig") },
        "daemons.<name>.kubernetes.namespace": { set: (e) => (kubernetesOf(e).namespace = "walk-other") },
        "daemons.<name>.kubernetes.skipAwait": { set: (e) => (kubernetesOf(e).skipAwait = true) },
        "daemons.<name>.kubernetes.service": { set: (e) => (kubernetesOf(e).service = "ClusterIP") },
        "daemons.<name>.kubernetes.nodeAddress": { set: (e) => (kubernetesOf(e).nodeAddress = "walk-lb.example.com") },
        "daemons.<name>.kubernetes.spread": { set: (e) => (kubernetesOf(e).spread = true) },
        "daemons.<name>.certPath": { set: (e) => (e.certPath = "/etc/walk/other") },
        // A waiver: accepted only instead of certPath.
        "daemons.<name>.insecure": { prepare: (e) => delete e.certPath, set: (e) => (e.insecure = true) },
        "daemons.<name>.sshOpts": { set: (e) => (e.sshOpts = ["-o", "ConnectTimeout=5"]) },

        "hosts.<name>.daemon": { prepare: otherDaemon, set: (e) => (e.daemon = "d2") },
        "hosts.<name>.image": { set: (e) => (e.image = "registry.example.com/walk/dind:1") },
        "hosts.<name>.storage.volume": { set: (e) => (e.storage = { volume: "walk-storage" }) },
        "hosts.<name>.storage.retain": { set: (e) => (e.storage = { retain: true }) },
        "hosts.<name>.storage.adopt": { set: (e) => (e.storage = { adopt: "keep" }) },
        "hosts.<name>.storage.size": { set: (e) => (e.storage = { size: "30Gi" }) },
        "hosts.<name>.storage.class": { set: (e) => (e.storage = { class: "walk-class" }) },
        "hosts.<name>.tcp.port": { set: (e) => (e.tcp.port += 1) },
        "hosts.<name>.tcp.bind": { set: (e) => (e.tcp.bind = e.tcp.bind === "0.0.0.0" ? "127.0.0.1" : "0.0.0.0") },
        "hosts.<name>.tcp.tls": { set: (e) => Object.assign(e.tcp, { tls: false, insecure: true }) },
        "hosts.<name>.tcp.insecure": { set: (e) => Object.assign(e.tcp, { tls: false, insecure: true }) },
        "hosts.<name>.tcp.sans": { set: (e) => (e.tcp.sans = ["walk.example.com"]) },
        "hosts.<name>.unix.hostDir": { set: (e) => (e.unix = { hostDir: "/srv/walk/dind" }) },
        "hosts.<name>.preload": { set: (e) => (e.preload = ["busybox:1.36"]) },
        "hosts.<name>.env": { set: (e) => (e.env = { WALK: "1" }) },
        "hosts.<name>.workloads.networks": { set: (e) => (e.workloads = { networks: ["walk-net"] }) },
        "hosts.<name>.workloads.volumes": { set: (e) => (e.workloads = { volumes: ["walk-data"] }) },
        "hosts.<name>.workloads.containers.<name>.image": { prepare: web, set: (e) => (nested(e).image = "busybox:1.37") },
        "hosts.<name>.workloads.containers.<name>.command": { prepare: web, set: (e) => (nested(e).command = ["sleep", "1"]) },
        "hosts.<name>.workloads.containers.<name>.env": { prepare: web, set: (e) => (nested(e).env = { WALK: "1" }) },
        "hosts.<name>.workloads.containers.<name>.ports[].internal": {
            prepare: (e) => (web(e).ports = [{ internal: 80, external: 8080 }]), set: (e) => (nested(e).ports[0].internal = 81),
        },
        "hosts.<name>.workloads.containers.<name>.ports[].external": {
            prepare: (e) => (web(e).ports = [{ internal: 80, external: 8080 }]), set: (e) => (nested(e).ports[0].external = 8081),
        },
        "hosts.<name>.workloads.containers.<name>.ports[].protocol": {
            prepare: (e) => (web(e).ports = [{ internal: 80, external: 8080 }]), set: (e) => (nested(e).ports[0].protocol = "udp"),
        },
        "hosts.<name>.workloads.containers.<name>.networks": { prepare: web, set: (e) => (nested(e).networks = ["walk-net"]) },
        "hosts.<name>.workloads.containers.<name>.volumes[].volume": {
            prepare: (e) => (web(e).volumes = [{ volume: "walk-a", path: "/data" }]), set: (e) => (nested(e).volumes[0].volume = "walk-b"),
        },
        "hosts.<name>.workloads.containers.<name>.volumes[].path": {
            prepare: (e) => (web(e).volumes = [{ volume: "walk-a", path: "/data" }]), set: (e) => (nested(e).volumes[0].path = "/other"),
        },
        "hosts.<name>.workloads.containers.<name>.volumes[].readOnly": {
            prepare: (e) => (web(e).volumes = [{ volume: "walk-a", path: "/data" }]), set: (e) => (nested(e).volumes[0].readOnly = true),
        },
        "hosts.<name>.workloads.containers.<name>.restart": { prepare: web, set: (e) => (nested(e).restart = "no") },
        "hosts.<name>.registryAuth[].address": { prepare: registryAuth, set: (e) => (e.registryAuth[0].address = "other.example.com:5000") },
        "hosts.<name>.registryAuth[].username": { prepare: registryAuth, set: (e) => (e.registryAuth[0].username = "walker") },
        "hosts.<name>.registryAuth[].password": { prepare: registryAuth, set: (e) => (e.registryAuth[0].password = { env: "WALK_TOKEN_2" }) },
        "hosts.<name>.registryCAs": { set: (e) => (e.registryCAs = { "registry.example.com:5000": caFile }) },
        "hosts.<name>.resources.cpus": { set: (e) => (e.resources = { cpus: 1.5 }) },
        "hosts.<name>.resources.memory": { set: (e) => (e.resources = { memory: "1g" }) },
        "hosts.<name>.resources.pids": { set: (e) => (e.resources = { pids: 100 }) },
        "hosts.<name>.runtime": { set: (e) => (e.runtime = "sysbox-runc") },
        "hosts.<name>.registryCaches": { prepare: otherRegistryCache, set: (e) => (e.registryCaches = ["gc"]) },

        "pools.<name>.size": { set: (e) => (e.size = 3) },
        "pools.<name>.cache.keep": { set: (e) => (e.cache = { keep: "2GB" }) },
        "pools.<name>.cache.registry": {
            prepare: (e, stack) => (stack.registries.build = { daemon: e.template.daemon, port: 5003 }), set: (e) => (e.cache = { registry: "build" }),
        },

        "clients.<name>.daemon": { prepare: otherDaemon, set: (e) => (e.daemon = "d2") },
        "clients.<name>.image": { set: (e) => (e.image = "docker:27-cli") },
        "clients.<name>.command": { set: (e) => (e.command = ["sleep", "1"]) },
        // On a unix:// daemon the socket is the daemon's: another spelling of it.
        "clients.<name>.socket": { set: (e, _s, kind) => (e.socket = kind === "unix" ? "/run/docker.sock" : "/run/walk/docker.sock") },
        "clients.<name>.socketGroup": { set: (e) => (e.socketGroup = 999) },
        "clients.<name>.workspace": { set: (e) => (e.workspace = "/srv/walk/workspace") },
        "clients.<name>.user": { set: (e) => (e.user = "1000:1000") },
        "clients.<name>.env": { set: (e) => (e.env = { WALK: "1" }) },
        "clients.<name>.access": { set: (e) => (e.access = "full") },
        "clients.<name>.access.privileged": { set: (e) => (e.access = { privileged: true }) },
        "clients.<name>.access.hostNamespaces": { set: (e) => (e.access = { hostNamespaces: true }) },
        "clients.<name>.access.binds": { set: (e) => (e.access = { binds: ["/srv/walk/cache"] }) },
        "clients.<name>.access.scope": { set: (e) => (e.access = { scope: "all" }) },
        "clients.<name>.access.socketDir": { set: (e) => (e.access = { socketDir: "/srv/walk/socket" }) },
        "clients.<name>.builder": { set: (e) => (e.builder = false) },
        "clients.<name>.builder.image": { set: (e) => (e.builder = { image: "registry.example.com/walk/buildkit:1" }) },
        // A registry of the stack on the client's own daemon.
        "clients.<name>.builder.registries": {
            prepare: (e, stack) => (stack.registries.walkcache = { daemon: e.daemon, port: 5099 }), set: (e) => (e.builder = { registries: ["walkcache"] }),
        },

        "registries.<name>.daemon": { prepare: otherDaemon, set: (e) => (e.daemon = "d2") },
        "registries.<name>.image": { set: (e) => (e.image = "registry.example.com/walk/registry:2") },
        "registries.<name>.port": { set: (e) => (e.port = 5001) },
        "registries.<name>.bind": { set: (e) => (e.bind = "0.0.0.0") },
        "registries.<name>.proxy.remote": { set: (e) => (e.proxy = { remote: "https://registry-1.docker.io" }) },
        "registries.<name>.proxy.username": { prepare: (e) => (e.proxy = { remote: "https://registry-1.docker.io" }), set: (e) => (e.proxy.username = "ci") },
        "registries.<name>.proxy.password": {
            prepare: (e) => (e.proxy = { remote: "https://registry-1.docker.io" }), set: (e) => (e.proxy.password = { env: "WALK_TOKEN" }),
        },
        // An assertion: a cache of another remote may be a host's mirror only with it.
        "registries.<name>.proxy.hubMirror": {
            prepare: (e, stack) => {
                e.proxy = { remote: "https://mirror.example.com" };
                stack.hosts.mirrored = { daemon: e.daemon, dockerd: { "registry-mirrors": ["r1"] } };
            },
            set: (e) => (e.proxy.hubMirror = true),
        },
        "registries.<name>.storage.volume": { set: (e) => (e.storage = { volume: "walk-data" }) },
        "registries.<name>.storage.retain": { set: (e) => (e.storage = { retain: true }) },
        "registries.<name>.storage.adopt": { set: (e) => (e.storage = { adopt: "keep" }) },
        "registries.<name>.storage.size": { set: (e) => (e.storage = { size: "30Gi" }) },
        "registries.<name>.storage.class": { set: (e) => (e.storage = { class: "walk-class" }) },
        "registries.<name>.insecure": { set: (e) => (e.insecure = true) },
        "registries.<name>.readinessTimeout": { set: (e) => (e.readinessTimeout = 45) },
    };
}

/** Values for daemon.json options that a plain value of their type would not satisfy. */
const DOCKERD_VALUES: Record<string, unknown> = {
    mtu: 1400,
    "registry-mirrors": ["https://mirror.example.com"],
    "insecure-registries": ["registry.internal:5000"],
    "default-address-pools": [{ base: "10.199.0.0/16", size: 24 }],
    dns: ["10.0.0.53"],
    "dns-search": ["ci.example.com"],
    labels: ["walk=1"],
};

/** A value of a daemon.json option's type: its value table's, else the first choice of an enum, else one per type. */
function dockerdSample(option: string, schema: z.ZodType): Sample {
    const value = Object.hasOwn(DOCKERD_VALUES, option) ? DOCKERD_VALUES[option]
        : schema instanceof z.ZodEnum ? schema.options[0]
        : schema instanceof z.ZodBoolean ? true
        : schema instanceof z.ZodNumber ? 3
        : schema instanceof z.ZodArray ? ["walk"]
        : schema instanceof z.ZodRecord ? { walk: "1" }
        : "walk";
    return { set: (e) => (e.dockerd = { [option]: value }) };
}

/** What a registration asks of the engine besides its inputs: retainOnDelete, deletedWith, ignoreChanges and the like. */
const OPTIONS = ["parent", "protect", "deletebeforereplace", "ignorechangesList", "replaceonchangesList", "customtimeouts", "retainondelete",
    "deletedwith", "additionalsecretoutputsList", "aliasesList"] as const;

/**
 * The program's effect for a validated stack, under mocks: every registration's type, name, provider,
 * inputs and resource options, and what its update-time steps (readiness, preload) were asked.
 */
async function resourceGraph(stack: ReturnType<typeof validateStackSource>["stack"]): Promise<string[]> {
    const mocks = installMocks();
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: { toObject(): Record<string, unknown> }, callback: unknown): unknown };
    const options: string[] = [];
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        const asked = req.toObject();
        options.push(JSON.stringify([asked.type, asked.name, sorted(Object.fromEntries(OPTIONS.map((o) => [o, asked[o]])))]));
        return register(req, callback);
    };
    const steps = fakeSteps();
    // A cluster's node address is what clusterFacts learns from the API server at run time.
    const clusters = Object.fromEntries(Object.keys(stack!.daemons).filter((name) => stack!.daemons[name].kubernetes).map((name) => [name, { nodeAddress: "10.0.0.21" }]));
    const outputs = provisionStack(stack!, {}, steps, clusters);
    await new Promise<void>((resolve) => (pulumi.output(outputs) as pulumi.Output<unknown>).apply(() => resolve()));
    // Registrations that follow an update-time step (the inner provider) come a moment later.
    for (let stable = 0, seen = -1; stable < 3; stable = seen === mocks.resources.length ? stable + 1 : 0) {
        seen = mocks.resources.length;
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return [...mocks.resources.map((r) => JSON.stringify([r.type, r.name, r.provider, sorted(r.inputs)])), ...options,
        JSON.stringify(sorted(steps.calls))].sort();
}

function sorted(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(sorted);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sorted((value as Record<string, unknown>)[key])]));
}

const sectionOf = (key: string) => key.split(".")[0] as keyof Stack;
const TEMPLATE = "pools.<name>.template.";
/** A pool template's key is sampled as the host key of the same name, set on the template. */
const hostKeyOf = (key: string) => (key.startsWith(TEMPLATE) ? `hosts.<name>.${key.slice(TEMPLATE.length)}` : key);
const entryOf = (stack: Stack, key: string): Entry => {
    const section = sectionOf(key);
    return section === "daemons" ? stack.daemons.d1 : section === "hosts" ? stack.hosts.h1 : section === "clients" ? stack.clients.c1
        : section === "pools" ? (key.startsWith(TEMPLATE) ? stack.pools.p1.template : stack.pools.p1) : stack.registries.r1;
};
/** The key's path in the stack built for it (`<name>` is the entry's name, `[]` the first item). */
const concretePath = (key: string, section: keyof Stack): KeyPath => key.split(".").flatMap((part, i) => {
    if (i === 1) return [{ daemons: "d1", hosts: "h1", clients: "c1", registries: "r1", pools: "p1" }[section]];
    if (part === "<name>") return ["web"];
    return part.endsWith("[]") ? [part.slice(0, -2), 0] : [part];
});

export interface KeyOutcome { key: string; kind: DaemonKind; outcome: Outcome | "dropped"; detail: string }

/**
 * Sets every key on every kind and reports what the validator and the program did with it.
 * `provision` is the program's step from a validated stack to its resource graph (the test of this
 * test passes one that drops a key).
 */
export async function walkKeys(caFile: string, env: NodeJS.ProcessEnv, keys = schemaKeys(),
    graph: typeof resourceGraph = resourceGraph): Promise<KeyOutcome[]> {
    const table = samples(caFile);
    const outcomes: KeyOutcome[] = [];
    const baselines = new Map<string, { accepted: boolean; graph?: string[] }>();
    for (const { path: key, schema } of keys) {
        const hostKey = hostKeyOf(key);
        const option = hostKey.startsWith("hosts.<name>.dockerd.") ? hostKey.slice("hosts.<name>.dockerd.".length) : undefined;
        const sample = option ? dockerdSample(option, schema) : table[hostKey];
        if (!sample) throw new Error(`no sample value for ${key}: add one to samples() in ${__filename}`);
        const section = sectionOf(key);
        for (const kind of DAEMON_KINDS) {
            const baseline = baseStack(section, kind);
            sample.prepare?.(entryOf(baseline, key), baseline, kind);
            const variant = structuredClone(baseline);
            sample.set(entryOf(variant, key), variant, kind);

            const checked = validateStackSource(JSON.stringify(variant), "walk.yaml", env);
            if (!checked.stack) {
                // At the key, or at a key of its entry that it conflicts with (kubernetes beside host).
                const entry = concretePath(key, section).slice(0, 2);
                const located = checked.problems.some((p) => p.path.length >= 2 && entry.every((s, i) => s === p.path[i]));
                outcomes.push({ key, kind, outcome: "refused", detail: `${located ? "" : "NOT AT THE KEY: "}${checked.problems.map((p) => p.message).join(" | ")}` });
                continue;
            }
            const baselineKey = JSON.stringify(baseline);
            let before = baselines.get(baselineKey);
            if (!before) {
                const parsed = validateStackSource(baselineKey, "walk.yaml", env);
                before = { accepted: parsed.stack !== undefined, graph: parsed.stack && (await graph(parsed.stack)) };
                baselines.set(baselineKey, before);
            }
            if (!before.accepted) {
                outcomes.push({ key, kind, outcome: "checked", detail: "accepted only with it" });
                continue;
            }
            const after = await graph(checked.stack);
            const changed = JSON.stringify(after) !== JSON.stringify(before.graph);
            outcomes.push({ key, kind, outcome: changed ? "applied" : "dropped", detail: changed ? "" : "accepted, and the resource graph is the same without it" });
        }
    }
    return outcomes;
}

describe("every key of the schema on every kind of daemon", function () {
    // Some 600 validations and 400 programs under mocks.
    this.timeout(300_000);
    let dir: string;
    let caFile: string;
    let outcomes: KeyOutcome[];
    const saved = { WALK_TOKEN: process.env.WALK_TOKEN, WALK_TOKEN_2: process.env.WALK_TOKEN_2 };

    // The SDK takes a stack trace for every resource; ts-node's source-mapped formatting of them made
    // the walk several times slower (see useV8StackTraces in scripts/pulumi-stack.ts). Restored after.
    const formatter = (Error as { prepareStackTrace?: unknown }).prepareStackTrace;

    before(async () => {
        delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
        dir = mkdtempSync(path.join(os.tmpdir(), "walk-"));
        caFile = path.join(dir, "ca.pem");
        copyFileSync(path.join(__dirname, "..", "fixtures", "certificates", "registry-ca.pem"), caFile);
        const env = operatorEnvironment(dir);
        // The program reads { env: NAME } secrets from its own process.
        Object.assign(process.env, { WALK_TOKEN: env.WALK_TOKEN, WALK_TOKEN_2: env.WALK_TOKEN_2 });
        outcomes = await walkKeys(caFile, env);
    });

    after(() => {
        (Error as { prepareStackTrace?: unknown }).prepareStackTrace = formatter;
        for (const [name, value] of Object.entries(saved)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
        }
        rmSync(dir, { recursive: true, force: true });
    });

    it("applies or refuses every key on every kind: none is accepted and dropped", () => {
        const dropped = outcomes.filter((o) => o.outcome === "dropped").map((o) => `${o.key} on ${o.kind}: ${o.detail}`);
        assert.deepEqual(dropped, []);
    });

    it("refuses a key where it does not apply with a problem located at that key", () => {
        const misplaced = outcomes.filter((o) => o.outcome === "refused" && o.detail.startsWith("NOT AT THE KEY")).map((o) => `${o.key} on ${o.kind}: ${o.detail}`);
        assert.deepEqual(misplaced, []);
    });

    it("is what docs/security-trust-model.md says under \"Which keys apply where\"", () => {
        const found = new Map<string, string[]>();
        for (const o of outcomes) {
            const row = documentedRow(o.key);
            const cells = found.get(row) ?? DAEMON_KINDS.map(() => "");
            const column = DAEMON_KINDS.indexOf(o.kind);
            // One row stands for all daemon.json options: they must all agree.
            cells[column] = cells[column] === "" || cells[column] === o.outcome ? o.outcome : `${cells[column]}/${o.outcome}`;
            found.set(row, cells);
        }
        const documented = tableRows(readFileSync(DOC, "utf8"), "## Which keys apply where");
        const differences = [...new Set([...found.keys(), ...documented.keys()])].flatMap((row) => {
            const want = documented.get(row)?.map((cell) => cell.split(" ")[0]);
            const got = found.get(row);
            return JSON.stringify(want) === JSON.stringify(got) ? [] : [`${row}: the docs say ${want?.join(", ") ?? "nothing"}, the test finds ${got?.join(", ") ?? "no such key"}`];
        });
        assert.deepEqual(differences, []);
    });

    it("can fail: a program that drops a key is caught", async () => {
        const env = operatorEnvironment(dir);
        const dropRuntime = async (stack: Parameters<typeof resourceGraph>[0]) => {
            for (const host of Object.values(stack!.hosts)) delete host.runtime;
            return resourceGraph(stack);
        };
        const runtime = schemaKeys().filter((k) => k.path === "hosts.<name>.runtime");
        const found = await walkKeys(caFile, env, runtime, dropRuntime);
        assert.deepEqual(found.map((o) => [o.kind, o.outcome]), [["unix", "dropped"], ["tcp", "dropped"], ["ssh", "dropped"], ["kubernetes", "dropped"]]);
    });
});
