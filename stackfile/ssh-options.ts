// The ssh options a stack file may give an ssh:// daemon (`sshOpts`). They become arguments of the
// ssh client that preview and up run on this machine (the provider, the Engine API client, the
// socket-group lookup), so they are read here as ssh reads them, and only options that cannot run
// a command, load a library, read or write a file, reach a socket or change the machine dialled are
// taken as written. Options that read a file (an identity, known hosts, a configuration) are taken
// when the operator allowed that path; everything else belongs in the runner's own ssh
// configuration, which is the operator's.

/** Where a problem is: the index of the argument in sshOpts. */
export interface SshOptionProblem {
    index: number;
    message: string;
}

/** The flags without an argument that change nothing but the connection's own behaviour. */
const HARMLESS_FLAGS = new Set(["4", "6", "C", "q", "x", "a", "k", "T"]);
/** Flags of OpenSSH's getopt string that take an argument (the next word, or the rest of this one). */
const FLAGS_WITH_ARGUMENT = new Set([..."bceilmopBDEFIJLOPQRSwW"]);

/** Why a flag is refused, for the flags whose danger is not obvious. */
const REFUSED_FLAGS: Record<string, string> = {
    A: "forwards this machine's ssh agent to the remote machine",
    B: "binds to a network interface of this machine: leave it to the operator's ssh configuration",
    b: "binds to an address of this machine: leave it to the operator's ssh configuration",
    v: "prints this machine's ssh configuration, keys and commands into the log",
    D: "opens a SOCKS listener on this machine",
    E: "writes a log file on this machine",
    f: "leaves ssh running in the background on this machine",
    G: "prints the configuration instead of connecting",
    g: "lets other machines connect to forwarded ports of this machine",
    I: "loads a PKCS#11 library into ssh on this machine",
    J: "connects through other machines (ProxyJump) with this machine's ssh credentials",
    K: "delegates this machine's GSSAPI credentials to the remote machine",
    L: "forwards a port or socket of this machine",
    l: "changes the user ssh logs in as; the user belongs in the daemon URL (ssh://user@host), which the operator allows",
    M: "makes this connection a master for others (use ControlMaster with a ControlPath of the allowed form)",
    N: "runs no remote command, which the daemon connection needs",
    n: "closes the standard input the daemon connection needs",
    O: "sends a command to another connection's master process",
    p: "changes the port ssh dials; the port belongs in the daemon URL (ssh://host:port), which the operator allows",
    P: "selects tagged blocks of the ssh configuration",
    Q: "queries ssh instead of connecting",
    R: "forwards a port or socket of the remote machine to this one",
    S: "names a control socket on this machine (use ControlPath of the allowed form)",
    s: "requests a subsystem instead of the daemon connection",
    t: "forces a terminal on the daemon connection",
    V: "prints the version instead of connecting",
    W: "forwards this machine's connection to a host and port of the file's choosing",
    w: "opens a tunnel device on this machine",
    X: "forwards this machine's X11 display to the remote machine",
    Y: "forwards this machine's X11 display to the remote machine",
    y: "writes to this machine's system log",
    c: "weakens or changes the connection's ciphers: leave it to the operator's ssh configuration",
    m: "changes the connection's MACs: leave it to the operator's ssh configuration",
    e: "sets an escape character, which the daemon connection has no use for",
};

const yesNo = /^(yes|no)$/i;
const count = /^[0-9]{1,6}$/;

/** The -o keywords a file may set, with the values it may give them (ssh reads keywords case-insensitively). */
const HARMLESS_KEYWORDS: Record<string, { values: RegExp; expected: string }> = {
    batchmode: { values: yesNo, expected: "yes or no" },
    connecttimeout: { values: count, expected: "a number of seconds" },
    connectionattempts: { values: count, expected: "a number" },
    serveraliveinterval: { values: count, expected: "a number of seconds" },
    serveralivecountmax: { values: count, expected: "a number" },
    tcpkeepalive: { values: yesNo, expected: "yes or no" },
    compression: { values: yesNo, expected: "yes or no" },
    identitiesonly: { values: yesNo, expected: "yes or no" },
    // Verbose levels print the operator's ssh configuration and keys into the preview's log.
    loglevel: { values: /^(quiet|fatal|error|info)$/i, expected: "QUIET, FATAL, ERROR or INFO (verbose levels would print this machine's ssh configuration into the log)" },
    addressfamily: { values: /^(any|inet|inet6)$/i, expected: "any, inet or inet6" },
    stricthostkeychecking: {
        values: /^(yes|accept-new)$/i,
        expected: "yes or accept-new (turning host key checking off is the operator's to do)",
    },
    controlmaster: { values: /^(yes|no|auto)$/i, expected: "yes, no or auto" },
    controlpersist: { values: /^(yes|no|[0-9]{1,6}[smhdw]?)$/i, expected: "yes, no or a time such as 60 or 10m" },
    controlpath: {
        // %C is a hash of this machine, the remote one, its port and the user: a master is only ever
        // shared by connections to the same place, and the socket stays in the runner's ~/.ssh.
        values: /^(none|~\/\.ssh\/[A-Za-z0-9._-]*%C[A-Za-z0-9._-]*)$/,
        expected: "none or a path in ~/.ssh/ whose name holds %C, such as ~/.ssh/cm-%C (a master shared only by connections to the same machine, port and user)",
    },
    forwardagent: { values: /^no$/i, expected: "no (forwarding this machine's ssh agent is the operator's to allow)" },
    forwardx11: { values: /^no$/i, expected: "no" },
    clearallforwardings: { values: yesNo, expected: "yes or no" },
    preferredauthentications: {
        values: /^(publickey|keyboard-interactive|password|hostbased|gssapi-with-mic)(,(publickey|keyboard-interactive|password|hostbased|gssapi-with-mic))*$/i,
        expected: "a comma-separated list of publickey, keyboard-interactive, password, hostbased, gssapi-with-mic",
    },
    pubkeyauthentication: { values: yesNo, expected: "yes or no" },
    passwordauthentication: { values: yesNo, expected: "yes or no" },
};

/** Keywords whose value is a file ssh reads on this machine: taken when the operator allowed the path. */
const FILE_KEYWORDS: Record<string, string> = {
    identityfile: "an identity (a private key)",
    certificatefile: "a certificate for the identity",
    userknownhostsfile: "the known host keys (ssh also adds keys to it)",
};

/** Why a keyword is refused, for the ones that run, load or reach something on this machine. */
const REFUSED_KEYWORDS: Record<string, string> = {
    proxycommand: "runs a command on this machine",
    proxyjump: "connects through other machines with this machine's ssh credentials",
    proxyusefdpass: "goes with ProxyCommand, which runs a command on this machine",
    localcommand: "runs a command on this machine",
    permitlocalcommand: "lets LocalCommand run a command on this machine",
    knownhostscommand: "runs a command on this machine",
    match: "blocks run commands on this machine (Match exec) and belong in an ssh configuration",
    host: "Host blocks belong in an ssh configuration",
    include: "reads other ssh configuration files, which can run commands",
    pkcs11provider: "loads a library into ssh on this machine",
    securitykeyprovider: "loads a library into ssh on this machine",
    identityagent: "reaches a socket of this machine (an ssh agent of the file's choosing)",
    xauthlocation: "runs a program on this machine",
    localforward: "forwards a port or socket of this machine",
    remoteforward: "forwards a port or socket of the remote machine to this one",
    dynamicforward: "opens a SOCKS listener on this machine",
    gatewayports: "lets other machines connect to forwarded ports of this machine",
    tunnel: "opens a tunnel device on this machine",
    tunneldevice: "opens a tunnel device on this machine",
    sendenv: "sends this machine's environment variables to the remote machine",
    setenv: "sets environment variables of the remote session",
    remotecommand: "replaces the command the daemon connection runs",
    requesttty: "forces a terminal on the daemon connection",
    sessiontype: "replaces the session the daemon connection needs",
    forkafterauthentication: "leaves ssh running in the background on this machine",
    stdinnull: "closes the standard input the daemon connection needs",
    hostname: "changes the machine ssh dials; the machine belongs in the daemon URL, which the operator allows",
    port: "changes the port ssh dials; the port belongs in the daemon URL (ssh://host:port), which the operator allows",
    user: "changes the user ssh logs in as; the user belongs in the daemon URL (ssh://user@host), which the operator allows",
    globalknownhostsfile: "reads a file of this machine",
    revokedhostkeys: "reads a file of this machine",
    gssapidelegatecredentials: "delegates this machine's GSSAPI credentials to the remote machine",
    updatehostkeys: "rewrites the known-hosts file of this machine",
    canonicalizehostname: "changes the machine dialled",
    canonicaldomains: "changes the machine dialled",
};

const OTHERS = "the operator can, in the runner's ssh configuration or in a -F file listed in DIND_PROVISIONER_ALLOW_PATHS";

/**
 * What is wrong with `sshOpts`, argument by argument. `pathAllowed(path)` says whether the operator
 * allowed this machine to read a file (an empty answer: allowed; otherwise why not).
 */
export function sshOptionProblems(options: string[], pathProblem: (path: string, what: string) => string | undefined): SshOptionProblem[] {
    const problems: SshOptionProblem[] = [];
    const fail = (index: number, message: string) => problems.push({ index, message });
    for (let i = 0; i < options.length; i++) {
        const arg = options[i];
        if (!arg.startsWith("-") || arg === "-" || arg === "--") {
            fail(i, `${JSON.stringify(arg.slice(0, 60))} is not an ssh option: ssh would take it for the machine to log in to or the command to run ` +
                "(the daemon URL says where to connect)");
            continue;
        }
        for (let j = 1; j < arg.length; j++) {
            const flag = arg[j];
            if (HARMLESS_FLAGS.has(flag)) continue;
            if (!FLAGS_WITH_ARGUMENT.has(flag)) {
                fail(i, `-${flag} ${REFUSED_FLAGS[flag] ?? "is not an ssh option"}: a stack file may not set it (${OTHERS})`);
                break;
            }
            const inline = arg.slice(j + 1);
            const valueIndex = inline ? i : i + 1;
            const value = inline || options[i + 1];
            if (!inline) i++;
            if (value === undefined) {
                fail(valueIndex - 1, `-${flag} needs a value`);
                break;
            }
            if (flag === "o") {
                const message = keywordProblem(value, pathProblem);
                if (message) fail(valueIndex, message);
            } else if (flag === "i") {
                const message = pathProblem(value, "an identity (a private key)");
                if (message) fail(valueIndex, `-i ${message}`);
            } else if (flag === "F") {
                const message = pathProblem(value, "an ssh configuration (which can run commands: ProxyCommand, Match exec ...)");
                if (message) fail(valueIndex, `-F ${message}`);
            } else {
                fail(valueIndex - (inline ? 0 : 1), `-${flag} ${REFUSED_FLAGS[flag]}: a stack file may not set it (${OTHERS})`);
            }
            break;
        }
    }
    return problems;
}

/** One -o option, `Keyword=value` or `Keyword value`. */
function keywordProblem(option: string, pathProblem: (path: string, what: string) => string | undefined): string | undefined {
    const match = /^\s*([A-Za-z0-9]+)(?:\s*=\s*|\s+)(.*)$/s.exec(option);
    if (!match) return `expected an ssh option as Keyword=value, got ${JSON.stringify(option.slice(0, 60))}`;
    const [, keyword, value] = match;
    const key = keyword.toLowerCase();
    const harmless = HARMLESS_KEYWORDS[key];
    if (harmless) {
        return harmless.values.test(value) ? undefined : `${keyword} takes ${harmless.expected} here, got ${JSON.stringify(value.slice(0, 60))}`;
    }
    if (Object.hasOwn(FILE_KEYWORDS, key)) {
        const message = pathProblem(value, FILE_KEYWORDS[key]);
        return message && `${keyword} ${message}`;
    }
    if (!Object.hasOwn(REFUSED_KEYWORDS, key)) {
        return `${keyword} is not among the ssh options a stack file may set (docs/security-trust-model.md lists them): ${OTHERS}`;
    }
    return `${keyword} ${REFUSED_KEYWORDS[key]}: a stack file may not set it (${OTHERS})`;
}
