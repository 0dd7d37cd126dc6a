// What a stack file may make the machine that validates, previews or brings it up (the runner) do.
// The file may come from someone else's merge request; the runner's environment is the operator's.
// So every key that makes the runner connect to a daemon, read a file, run a program or hand over
// one of its environment variables is held to what the operator allowed from outside the file, in
// environment variables the file cannot set (docs/security-trust-model.md has the whole model):
//   DIND_PROVISIONER_ALLOW_DAEMONS  daemon URLs the file may use besides the operator's own local daemon
//   DIND_PROVISIONER_ALLOW_PATHS    files and directories of the runner the file may make it read
//   DIND_PROVISIONER_ALLOW_ENV      environment variables the file may use as secrets ({ env: NAME })
// This is the last stage of validation: it runs before any engine, plugin or ssh client starts.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { defaultOuterDaemon } from "../components/defaults";
import type { CheckFailure } from "./checks";
import { daemonUrlFromDockerHost, parseDaemonUrl } from "./docker-grammar";
import { relation } from "./host-safety";
import { ClientSpec, DaemonSpec, SecretRef, StackFile } from "./schema";
import { sshOptionProblems } from "./ssh-options";
import { formatPath, KeyPath } from "./text";

export const ALLOW_DAEMONS = "DIND_PROVISIONER_ALLOW_DAEMONS";
export const ALLOW_PATHS = "DIND_PROVISIONER_ALLOW_PATHS";
export const ALLOW_ENV = "DIND_PROVISIONER_ALLOW_ENV";

/**
 * Where certificate stores keep public CA certificates: a registry CA file there needs no consent
 * (its content is checked anyway). Directories that also hold keys (/etc/docker/certs.d, /etc/ssl)
 * are not among them.
 */
export const CERTIFICATE_STORES = [
    "/etc/ssl/certs", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates", "/etc/pki/ca-trust/source/anchors", "/etc/pki/tls/certs",
];
/** A CA file larger than this is not a CA file (a distribution's whole bundle is about 220 KB). */
export const MAX_CERTIFICATE_FILE_BYTES = 1024 * 1024;

/** What the operator allowed, read from the runner's environment. */
export interface OperatorConsent {
    /** Identity keys (parseDaemonUrl) of the daemons the file may use. */
    daemons: Set<string>;
    /** Normalized absolute paths: the file may make the runner read each, and what is below it. */
    paths: string[];
    /** Environment variables the file may name as secrets. */
    env: Set<string>;
    /** Entries of the operator's variables that mean nothing (reported, so that a typo is seen). */
    problems: string[];
}

const LIST_SEPARATOR = /[\s,]+/;

/**
 * The operator's consent: the variables above, plus what the operator's environment already names
 * for the same tools (the local daemon of DOCKER_HOST with its DOCKER_CERT_PATH, the kubeconfig files
 * of KUBECONFIG or ~/.kube/config), which the components would use anyway when the file names nothing.
 */
export function operatorConsent(env: NodeJS.ProcessEnv): OperatorConsent {
    const consent: OperatorConsent = { daemons: new Set(), paths: [], env: new Set(), problems: [] };
    const local = daemonUrlFromDockerHost(env.DOCKER_HOST ?? "");
    if ("url" in local) {
        const parsed = parseDaemonUrl(local.url);
        if (!("problem" in parsed)) consent.daemons.add(parsed.key);
        const { certPath } = defaultOuterDaemon({ ...env, DOCKER_HOST: local.url });
        if (certPath) consent.paths.push(path.posix.normalize(certPath));
    }
    for (const entry of words(env[ALLOW_DAEMONS])) {
        const parsed = parseDaemonUrl(entry);
        if ("problem" in parsed) consent.problems.push(`${ALLOW_DAEMONS}: ${JSON.stringify(entry.slice(0, 80))} is not a daemon URL (${parsed.problem})`);
        else consent.daemons.add(parsed.key);
    }
    const home = env.HOME || os.homedir();
    const kubeconfigs = env.KUBECONFIG ? env.KUBECONFIG.split(":").filter(Boolean) : [path.posix.join(home, ".kube", "config")];
    for (const entry of [...kubeconfigs.filter((p) => p.startsWith("/")), ...(env[ALLOW_PATHS] ?? "").split(":").filter(Boolean)]) {
        if (!entry.startsWith("/") || entry.split("/").includes("..")) {
            consent.problems.push(`${ALLOW_PATHS}: ${JSON.stringify(entry.slice(0, 80))} is not an absolute path without '..'`);
        } else {
            consent.paths.push(path.posix.normalize(entry));
        }
    }
    for (const name of words(env[ALLOW_ENV])) {
        if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) consent.env.add(name);
        else consent.problems.push(`${ALLOW_ENV}: ${JSON.stringify(name.slice(0, 80))} is not an environment variable name`);
    }
    return consent;
}

function words(value: string | undefined): string[] {
    return (value ?? "").split(LIST_SEPARATOR).filter(Boolean);
}

/** Why the runner may not read `file` for the stack file; undefined when the operator allowed it. */
export function pathConsentProblem(file: string, what: string, consent: OperatorConsent, alsoAllowed: string[] = []): string | undefined {
    if (!file.startsWith("/") || /[\s"'\\$%~]/.test(file) || file.split("/").includes("..")) {
        return `reads ${what} on this machine: expected an absolute path without '..', spaces, quotes, ~, $ or %-tokens, got ${JSON.stringify(file.slice(0, 80))}`;
    }
    if ([...consent.paths, ...alsoAllowed].some((allowed) => relation(file, allowed) === "same" || relation(file, allowed) === "inside")) return undefined;
    return `reads ${what} at ${file} on this machine, which the operator has not allowed: the operator allows it in ${ALLOW_PATHS} ` +
        "(files and directories, ':'-separated, set on the runner: the file cannot set it)";
}

/**
 * The trust stage: every key that makes the runner dial, read, run or hand over something, held to
 * the operator's consent. `fileDaemons` are the daemons the file declares (the implicit local daemon
 * is the operator's own).
 */
export function trustChecks(stack: StackFile, fileDaemons: string[], env: NodeJS.ProcessEnv): CheckFailure[] {
    const failures: CheckFailure[] = [];
    const fail = (failPath: KeyPath, message: string) => failures.push({ path: failPath, message });
    const consent = operatorConsent(env);
    for (const problem of consent.problems) fail([], `${problem}: the operator's setting is wrong (it is not part of this file)`);

    for (const name of fileDaemons) {
        if (!Object.hasOwn(stack.daemons, name)) continue;
        checkDaemonConsent(stack.daemons[name], ["daemons", name], consent, fail);
    }
    for (const [name, client] of Object.entries(stack.clients)) {
        const daemon = Object.hasOwn(stack.daemons, client.daemon) ? stack.daemons[client.daemon] : undefined;
        checkClientSocketConsent(client, daemon, ["clients", name], consent, fail);
    }
    for (const [name, host] of Object.entries(stack.hosts)) {
        for (const [registry, file] of Object.entries(host.registryCAs)) {
            const problem = pathConsentProblem(file, "a registry's CA certificate", consent, CERTIFICATE_STORES);
            if (problem) fail(["hosts", name, "registryCAs", registry], `${problem}; a CA file in a system certificate store (such as ${CERTIFICATE_STORES[0]}) needs none`);
        }
        host.registryAuth.forEach((auth, i) => checkSecret(auth.password, ["hosts", name, "registryAuth", i, "password"], consent, env, fail));
    }
    for (const [name, registry] of Object.entries(stack.registries)) {
        checkSecret(registry.proxy?.password, ["registries", name, "proxy", "password"], consent, env, fail);
    }
    return failures;
}

function checkDaemonConsent(daemon: DaemonSpec, at: KeyPath, consent: OperatorConsent, fail: (path: KeyPath, message: string) => void) {
    if (daemon.kubernetes?.kubeconfig) {
        const problem = pathConsentProblem(daemon.kubernetes.kubeconfig, "a kubeconfig (which can run programs on this machine: exec credential plugins, auth providers)", consent);
        if (problem) fail([...at, "kubernetes", "kubeconfig"], problem);
    }
    // A daemon that is a cluster and also names a host is refused as such; its host is never used.
    if (daemon.host === undefined || daemon.kubernetes) return;
    const parsed = parseDaemonUrl(daemon.host);
    if ("problem" in parsed) return;
    if (!consent.daemons.has(parsed.key)) {
        const how = parsed.scheme === "unix" ? `reach the socket ${parsed.socketPath} of this machine`
            : parsed.scheme === "ssh" ? "run ssh on this machine, with its keys and configuration, to reach it"
            : "connect to it from this machine";
        fail([...at, "host"], `daemon ${daemon.host} is not one the operator allowed: preview and up would ${how}. The operator allows it in ` +
            `${ALLOW_DAEMONS} (daemon URLs, set on the runner: the file cannot set it); without it a file may use only the runner's own ` +
            "Docker daemon (DOCKER_HOST, else unix:///var/run/docker.sock)");
    }
    if (daemon.certPath) {
        const problem = pathConsentProblem(daemon.certPath, "the TLS client key and certificates (ca.pem, cert.pem, key.pem)", consent);
        if (problem) fail([...at, "certPath"], problem);
    }
    for (const { index, message } of sshOptionProblems(daemon.sshOpts ?? [], (file, what) => pathConsentProblem(file, what, consent))) {
        fail([...at, "sshOpts", index], message);
    }
}

/**
 * A client's `socket` on a unix:// daemon is that daemon's socket, or another socket of this machine
 * the operator allows as a daemon (a DinD host's inner socket, say): `up` mounts it into the client
 * (or its policy proxy), and preview reads its group here, so it is the operator's to allow like any
 * daemon the file names.
 */
function checkClientSocketConsent(client: ClientSpec, daemon: DaemonSpec | undefined, at: KeyPath, consent: OperatorConsent,
    fail: (path: KeyPath, message: string) => void) {
    if (!client.socket || daemon?.host === undefined || daemon.kubernetes) return;
    const own = parseDaemonUrl(daemon.host);
    if ("problem" in own || own.scheme !== "unix") return;
    const asked = parseDaemonUrl(`unix://${client.socket}`);
    if (!("problem" in asked) && (asked.key === own.key || consent.daemons.has(asked.key))) return;
    fail([...at, "socket"], `${client.socket} is not the socket of daemon "${client.daemon}" (${own.socketPath}): the client would be handed ` +
        `another socket of this machine, which the operator has not allowed. Leave socket out, or the operator allows that socket in ` +
        `${ALLOW_DAEMONS} as unix://${client.socket} (daemon URLs, set on the runner: the file cannot set it)`);
}

/**
 * A secret by reference: `{ env: NAME }` takes one of the runner's environment variables into the stack
 * (and, at up, into a container or to a registry), so the operator says which ones may be taken. The
 * consent is checked before the variable is looked at, so a file cannot even learn which are set.
 */
function checkSecret(ref: SecretRef | undefined, at: KeyPath, consent: OperatorConsent, env: NodeJS.ProcessEnv, fail: (path: KeyPath, message: string) => void) {
    if (!ref || !("env" in ref)) return;
    if (!consent.env.has(ref.env)) {
        fail(at, `takes the runner's environment variable ${ref.env}, which the operator has not allowed as a secret: the operator allows it ` +
            `in ${ALLOW_ENV} (variable names, set on the runner: the file cannot set it)`);
    } else if (env[ref.env] === undefined) {
        fail(at, `environment variable ${ref.env} is not set (it holds this secret)`);
    }
}

/**
 * A registry's CA file, read for upload into a DinD host: only its certificates, re-encoded, so that
 * nothing else the file holds (a key, a token, any text) can leave this machine. Refuses anything that
 * is not a regular file of at most 1 MB holding PEM certificates and no private key. `where` names the
 * key in messages.
 */
export function readCertificateFile(file: string, where: KeyPath): { pem: string } | { problem: string } {
    const refuse = (why: string) => ({ problem: `${formatPath(where)}: ${file} ${why}` });
    let fd: number | undefined;
    let text: string;
    try {
        // Non-blocking, so that a FIFO or a device is seen for what it is instead of waited on.
        fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
        const stat = fstatSync(fd);
        if (!stat.isFile()) return refuse("is not a regular file: expected a PEM file of CA certificates");
        if (stat.size > MAX_CERTIFICATE_FILE_BYTES) return refuse(`is ${stat.size} bytes long: a CA file is at most ${MAX_CERTIFICATE_FILE_BYTES} bytes`);
        const buffer = Buffer.alloc(stat.size);
        const read = readSync(fd, buffer, 0, stat.size, 0);
        text = buffer.subarray(0, read).toString("latin1");
    } catch (error) {
        return refuse(`cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    } finally {
        if (fd !== undefined) closeSync(fd);
    }
    if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) return refuse("holds a private key: a CA file holds certificates only, and no key may leave this machine");
    const blocks = text.match(/-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) return refuse("holds no PEM certificate (-----BEGIN CERTIFICATE-----): expected a PEM file of CA certificates");
    const certificates: string[] = [];
    for (const block of blocks) {
        try {
            certificates.push(new X509Certificate(block).toString());
        } catch {
            return refuse("holds a PEM block that is not an X.509 certificate");
        }
    }
    return { pem: certificates.join("") };
}
