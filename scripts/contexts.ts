// `npm run contexts -- [--stack NAME] [--remove]`: one docker context `<stack>-<host>` per DinD
// host of a stack, so that `docker --context <stack>-<host> ps` reaches its inner daemon. The
// client TLS material goes into the docker CLI's context store (the CLI copies it there); the
// context's description marks it as this tool's, and only contexts so marked are updated or
// removed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openStack, PROJECT_NAME, writeClientTls } from "./pulumi-stack";
import { clientEnvironment, HostOutputs, parseArgs, readOutputs, runTool, StackOutputs, UsageError } from "./stackOutputs";

const USAGE = "usage: contexts.ts [--stack NAME] [--remove]   (default stack: local)";

export function contextName(stackName: string, host: string): string {
    return `${stackName}-${host}`;
}

/** The start of the description of every context this tool makes for a stack. */
function marker(stackName: string): string {
    return `dind-provisioner ${PROJECT_NAME}/${stackName}:`;
}

function publishedPorts(address: string | undefined): string | undefined {
    return address && `nested published ports at ${address} (TESTCONTAINERS_HOST_OVERRIDE)`;
}

/** Where a host's nested published ports are: one address on Docker, a port of its Service each on Kubernetes. */
function portsDescription(host: HostOutputs): string {
    if (host.cluster) {
        const ports = Object.entries(host.publishedPorts ?? {});
        return ports.length ? `nested published ports through its Service: ${ports.map(([port, at]) => `${port} at ${at}`).join(", ")}` : "no nested published ports";
    }
    return publishedPorts(host.publishedPortsAddress) ?? "no published-ports address";
}

interface ContextEntry {
    Name: string;
    Description: string;
}

/** Runs the docker CLI (its context store is $DOCKER_CONFIG's), failing with its stderr. */
function dockerCli(args: string[]): string {
    const result = spawnSync("docker", args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`docker ${args.join(" ")}: ${(result.stderr || String(result.error)).trim()}`);
    return result.stdout;
}

function listContexts(): ContextEntry[] {
    return dockerCli(["context", "ls", "--format", "{{json .}}"]).split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

/** The contexts this tool made for a stack. */
export function stackContexts(stackName: string): string[] {
    return listContexts().filter((c) => c.Description.startsWith(marker(stackName))).map((c) => c.Name);
}

/** Creates or updates a context per host; removes this stack's contexts of hosts that are gone. Returns host -> context name. */
export function syncContexts(stackName: string, outputs: StackOutputs): Record<string, string> {
    const existing = new Map(listContexts().map((c) => [c.Name, c.Description]));
    const made: Record<string, string> = {};
    for (const [host, spec] of Object.entries(outputs.hosts)) {
        const endpoint = spec.tcpEndpoint ?? spec.unixEndpoint;
        if (!endpoint) continue;
        const name = contextName(stackName, host);
        const description = existing.get(name);
        if (description !== undefined && !description.startsWith(marker(stackName))) {
            throw new Error(`a docker context named ${name} exists and is not this tool's (description "${description}"): remove or rename it`);
        }
        const tls = spec.tcpEndpoint ? outputs.clientTls[host] : undefined;
        // The CLI copies the files into its store; they stay on disk here only for that moment.
        const scratch = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-context-"));
        try {
            let docker = `host=${endpoint}`;
            if (tls) {
                const dir = writeClientTls(path.join(scratch, "tls"), tls);
                docker += `,ca=${dir}/ca.pem,cert=${dir}/cert.pem,key=${dir}/key.pem`;
            }
            dockerCli(["context", description === undefined ? "create" : "update", name,
                "--description", `${marker(stackName)} host ${host}; ${portsDescription(spec)}`, "--docker", docker]);
        } finally {
            rmSync(scratch, { recursive: true, force: true });
        }
        made[host] = name;
    }
    for (const stale of stackContexts(stackName).filter((name) => !Object.values(made).includes(name))) removeContext(stale);
    return made;
}

function removeContext(name: string) {
    dockerCli(["context", "rm", "--force", name]);
}

/** Removes every context this tool made for a stack; returns their names. */
export function removeStackContexts(stackName: string): string[] {
    const names = stackContexts(stackName);
    names.forEach(removeContext);
    return names;
}

/** For destroy: removes the stack's contexts, or says how when the docker CLI cannot. */
export function removeContextsAfterDestroy(stackName: string) {
    try {
        const removed = removeStackContexts(stackName);
        if (removed.length) console.log(`removed docker contexts: ${removed.join(", ")}`);
    } catch (error) {
        console.error(`the docker contexts of stack ${stackName} may be stale (${(error as Error).message}): run npm run contexts -- --stack ${stackName} --remove`);
    }
}

async function main(argv: string[]): Promise<number> {
    const { stacks, flags, args } = parseArgs(argv, ["--remove"]);
    if (args.length) throw new UsageError(`unexpected argument ${args[0]}`);
    for (const stackName of stacks) {
        if (flags.has("--remove")) {
            const removed = removeStackContexts(stackName);
            console.log(removed.length ? `removed: ${removed.join(", ")}` : `stack ${stackName} has no contexts`);
            continue;
        }
        const outputs = await readOutputs(await openStack({ stackName }));
        for (const [host, name] of Object.entries(syncContexts(stackName, outputs))) {
            const { env, notes } = clientEnvironment(outputs.hosts[host], undefined);
            const ports = publishedPorts(env.TESTCONTAINERS_HOST_OVERRIDE);
            console.log(`${name}: docker --context ${name} ps${ports ? `; ${ports}` : ""}${notes.map((n) => `\n  note: ${n}`).join("")}`);
        }
    }
    return 0;
}

if (require.main === module) runTool(USAGE, main);
