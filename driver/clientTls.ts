// How a docker client (or Testcontainers) reaches a DinD host from this machine: the client TLS
// files where the docker CLI reads them, and the environment to export. `client-tls`, `status`
// and `contexts` use it, and so do the real lane's tests.
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ClientTls } from "../components/contract";
import { isLocalDaemon } from "../components/endpoints";
import { CERT_PATH_FILES } from "../components/paths";
import { HostOutputs, isKubernetesHost } from "../program/outputs";

/** Writes a host's client TLS material as the docker CLI expects it in DOCKER_CERT_PATH. */
export function writeClientTls(dir: string, tls: ClientTls): string {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, CERT_PATH_FILES.ca), tls.ca);
    writeFileSync(path.join(dir, CERT_PATH_FILES.cert), tls.cert);
    writeFileSync(path.join(dir, CERT_PATH_FILES.key), tls.key, { mode: 0o600 });
    return dir;
}

/** The endpoint a client dials, with what it needs to know about it. */
export interface ClientEnvironment {
    env: Record<string, string>;
    /** What the user should know about reaching the host from here. */
    notes: string[];
}

/**
 * The environment a docker client or Testcontainers needs for a host, given where its client
 * TLS files are (DOCKER_CERT_PATH), and notes on what this machine cannot reach.
 */
export function clientEnvironment(host: HostOutputs, certPath: string | undefined): ClientEnvironment {
    const env: Record<string, string> = {};
    const notes: string[] = [];
    const endpoint = host.tcpEndpoint ?? (isKubernetesHost(host) ? undefined : host.unixEndpoint);
    if (endpoint) env.DOCKER_HOST = endpoint;
    if (host.tcpEndpoint && certPath) {
        env.DOCKER_TLS_VERIFY = "1";
        env.DOCKER_CERT_PATH = certPath;
    }
    if (isKubernetesHost(host)) {
        // Through the host's Service each nested port has a port of its own (a NodePort), not the one it
        // publishes: a tool that dials the published port at one address (Testcontainers) would miss it.
        const ports = Object.entries(host.publishedPorts ?? {});
        if (ports.length) notes.push(`nested published ports are reached through the host's Service: ${ports.map(([port, at]) => `${port} at ${at}`).join(", ")}`);
    } else if (host.publishedPortsAddress) {
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
export function shellExports({ env, notes }: ClientEnvironment): string {
    const quote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
    return [...Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`), ...notes.map((n) => `# ${n}`)].join("\n");
}
