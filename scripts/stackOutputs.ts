// What the tools (contexts, status, client-tls) read from a stack's outputs, and the client
// environment they print for a DinD host.
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { isLocalDaemon } from "../components/endpoints";
import type { ClientTls } from "../components/contract";
import type { EngineEndpoint } from "../components/engineApi";

/** One DinD host as program.ts exports it under `hosts`. */
export interface HostOutputs {
    containerId: string;
    dockerHost?: string;
    tcpEndpoint?: string;
    unixEndpoint?: string;
    publishedPortsAddress?: string;
    outerDaemon: EngineEndpoint;
    preloadedImageIds: Record<string, string>;
    nestedContainerIds: Record<string, string>;
}

export interface ClientOutputs {
    containerId: string;
    outerDaemon: EngineEndpoint;
    /** Behind a policy proxy (scope and all); absent in the outputs of stacks up before issue 19. */
    restricted?: boolean;
    /** Where the ports its containers publish are reached from inside the client. */
    publishedPortsAddress?: string;
    /** The client's policy proxy and its builder, when it has them. */
    proxyContainerId?: string;
    builderContainerId?: string;
}

export interface StackOutputs {
    hosts: Record<string, HostOutputs>;
    clients: Record<string, ClientOutputs>;
    /** Per host with a TLS endpoint: secret material, never to be printed. */
    clientTls: Record<string, ClientTls | undefined>;
}

export async function readOutputs(stack: Stack): Promise<StackOutputs> {
    const outputs = await stack.outputs();
    return {
        hosts: outputs.hosts?.value ?? {},
        clients: outputs.clients?.value ?? {},
        clientTls: outputs.clientTls?.value ?? {},
    };
}

/**
 * The environment a docker client or Testcontainers needs for a host, given where its client
 * TLS files are (DOCKER_CERT_PATH), and a note when the published-ports address cannot be
 * reached from this machine.
 */
export function clientEnvironment(host: HostOutputs, certPath: string | undefined): { env: Record<string, string>; notes: string[] } {
    const env: Record<string, string> = {};
    const notes: string[] = [];
    if (host.tcpEndpoint) {
        env.DOCKER_HOST = host.tcpEndpoint;
        if (certPath) {
            env.DOCKER_TLS_VERIFY = "1";
            env.DOCKER_CERT_PATH = certPath;
        }
    } else if (host.unixEndpoint) {
        env.DOCKER_HOST = host.unixEndpoint;
    }
    if (host.publishedPortsAddress) {
        // Tools that dial the ports a container publishes (Testcontainers) would otherwise dial
        // the endpoint's address, where those ports are not.
        env.TESTCONTAINERS_HOST_OVERRIDE = host.publishedPortsAddress;
        if (!isLocalDaemon(host.outerDaemon.host)) {
            notes.push(`nested published ports are at ${host.publishedPortsAddress} on ${host.outerDaemon.host}'s machine: not reachable from here unless routed (run the client there, or publish the ports on the DinD container)`);
        }
    }
    return { env, notes };
}

/** `export K=V` lines (values quoted for sh) and `# note` lines. */
export function shellExports({ env, notes }: { env: Record<string, string>; notes: string[] }): string {
    const quote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
    return [...Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`), ...notes.map((n) => `# ${n}`)].join("\n");
}

/** Parses `[--stack NAME]... [--flag]... [--option VALUE]... [args]` (default stack: local). */
export function parseArgs(argv: string[], flags: string[] = [], options: string[] = []) {
    const stacks: string[] = [];
    const set = new Set<string>();
    const values = new Map<string, string>();
    const args: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--stack" || options.includes(argv[i])) {
            if (!argv[i + 1]) throw new UsageError(`${argv[i]} needs a value`);
            if (argv[i] === "--stack") stacks.push(argv[++i]);
            else values.set(argv[i], argv[++i]);
        } else if (flags.includes(argv[i])) {
            set.add(argv[i]);
        } else if (argv[i].startsWith("--")) {
            throw new UsageError(`unknown option ${argv[i]}`);
        } else {
            args.push(argv[i]);
        }
    }
    return { stacks: stacks.length ? stacks : ["local"], flags: set, values, args };
}

export class UsageError extends Error {}

/** Runs a tool's main: its exit code, `usageExit` on bad usage, 1 on any other error (short message). */
export function runTool(usage: string, main: (argv: string[]) => Promise<number>, usageExit = 2) {
    main(process.argv.slice(2)).then(
        (code) => (process.exitCode = code),
        (error: Error) => {
            if (error instanceof UsageError) {
                // Named as its usage names it: run from a bundle, argv[1] is the bundle's file.
                const tool = /^usage: (\S+)/.exec(usage)?.[1] ?? path.basename(process.argv[1]);
                console.error(`${tool}: ${error.message}\n${usage}`);
                process.exitCode = usageExit;
                return;
            }
            // An engine error carries the whole log: its Diagnostics section says what went wrong.
            const diagnostics = /\nDiagnostics:\n([\s\S]*?)\n\n/.exec(error.message)?.[1];
            console.error(`\n${error.name}: ${diagnostics ?? error.message.split("\n").slice(-3).join("\n")}`);
            process.exitCode = 1;
        },
    );
}
