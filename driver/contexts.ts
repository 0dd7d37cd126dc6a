// Docker contexts for a stack's DinD hosts: one context `<stack>-<host>` per host with an
// endpoint, so that `docker --context <stack>-<host> ps` reaches its inner daemon. The client TLS
// material goes into the docker CLI's context store (the CLI copies it there); the context's
// description marks it as this tool's, and only contexts so marked are updated or removed.
// `npm run contexts` makes them; `npm run destroy` removes them after the stack's resources.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ClientTls } from "../components/contract";
import { UserError } from "../components/errors";
import { CERT_PATH_FILES } from "../components/paths";
import { isKubernetesHost, KubernetesHostOutputs, StackOutputs } from "../program/outputs";
import { writeClientTls } from "./clientTls";
import { PROJECT_NAME } from "./stack";

export function contextName(stackName: string, host: string): string {
    return `${stackName}-${host}`;
}

/** The start of the description of every context this tool makes for a stack. */
function marker(stackName: string): string {
    return `dind-provisioner ${PROJECT_NAME}/${stackName}:`;
}

/** Where a host's nested published ports are, in words, for a context's description and the command's output. */
export function publishedPorts(address: string | undefined): string | undefined {
    return address && `nested published ports at ${address} (TESTCONTAINERS_HOST_OVERRIDE)`;
}

/** Where a Kubernetes host's nested published ports are: a port of its Service each. */
function kubernetesPorts(host: KubernetesHostOutputs): string {
    const ports = Object.entries(host.publishedPorts ?? {});
    return ports.length ? `nested published ports through its Service: ${ports.map(([port, at]) => `${port} at ${at}`).join(", ")}` : "no nested published ports";
}

/** The context a host gets. */
export interface ContextPlan {
    host: string;
    name: string;
    endpoint: string;
    /** Client TLS material for a TCP endpoint with mutual TLS. */
    tls?: ClientTls;
    description: string;
}

/** The contexts a stack's hosts get: one per host that has an endpoint (Docker or Kubernetes). */
export function contextPlans(stackName: string, outputs: StackOutputs): ContextPlan[] {
    return Object.entries(outputs.hosts).flatMap(([host, spec]): ContextPlan[] => {
        const endpoint = spec.tcpEndpoint ?? (isKubernetesHost(spec) ? undefined : spec.unixEndpoint);
        if (!endpoint) return [];
        const where = isKubernetesHost(spec) ? kubernetesPorts(spec) : publishedPorts(spec.publishedPortsAddress) ?? "no published-ports address";
        return [{
            host,
            name: contextName(stackName, host),
            endpoint,
            tls: spec.tcpEndpoint ? outputs.clientTls[host] : undefined,
            description: `${marker(stackName)} host ${host}; ${where}`,
        }];
    });
}

interface ContextEntry {
    Name: string;
    Description: string;
}

/** Runs the docker CLI (its context store is $DOCKER_CONFIG's), failing with its stderr. */
function dockerCli(args: string[]): string {
    const result = spawnSync("docker", args, { encoding: "utf8" });
    if (result.status !== 0) throw new UserError(`docker ${args.join(" ")}: ${(result.stderr || String(result.error)).trim()}`);
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
    for (const plan of contextPlans(stackName, outputs)) {
        const description = existing.get(plan.name);
        if (description !== undefined && !description.startsWith(marker(stackName))) {
            throw new UserError(`a docker context named ${plan.name} exists and is not this tool's (description "${description}"): remove or rename it`);
        }
        // The CLI copies the files into its store; they stay on disk here only for that moment.
        const scratch = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-context-"));
        try {
            let docker = `host=${plan.endpoint}`;
            if (plan.tls) {
                const dir = writeClientTls(path.join(scratch, "tls"), plan.tls);
                docker += `,ca=${dir}/${CERT_PATH_FILES.ca},cert=${dir}/${CERT_PATH_FILES.cert},key=${dir}/${CERT_PATH_FILES.key}`;
            }
            dockerCli(["context", description === undefined ? "create" : "update", plan.name, "--description", plan.description, "--docker", docker]);
        } finally {
            rmSync(scratch, { recursive: true, force: true });
        }
        made[plan.host] = plan.name;
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
