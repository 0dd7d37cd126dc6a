// `npm run lease -- POOL [--stack NAME] [--ttl 1h] [--wait 10m] [--holder TEXT] [--tls-dir DIR] [--json] [--daemon URL]`:
// leases one member of a pool for a CI job (see driver/leases.ts), waiting for one to be free, and
// prints what the job needs, as KEY=value lines (a dotenv file; `set -a; . ./lease.env`) or JSON:
// the lease's id (for `release`), DOCKER_HOST, the TLS files it writes (DOCKER_CERT_PATH), where
// nested published ports are (TESTCONTAINERS_HOST_OVERRIDE), and the pool's build-cache registry.
// It talks to the pools' outer daemon only (--daemon, else $DIND_LEASE_DAEMON, else $DOCKER_HOST as the docker CLI reads it):
// no engine, no stack state, no secrets of the stack; it loads no package, so that it starts fast.
import * as path from "node:path";
import type { EngineEndpoint } from "../components/engineApi";
import { CACHE_REGISTRY_LABEL, POOL_LABEL } from "../components/markers";
import { clientEnvironment, writeClientTls } from "../driver/clientTls";
import {
    DEFAULT_LEASE_TTL_SECONDS, DEFAULT_LEASE_WAIT_SECONDS, defaultHolder, Grant, lease, leaseTlsDir, MAX_LEASE_TTL_SECONDS, MIN_LEASE_TTL_SECONDS, outerEngine, poolDaemon,
    poolDaemonEnvironment,
} from "../driver/leases";
import { stackLabelValue } from "../driver/project";
import { expectArguments, parseCommandLine, runCommand, secondsOption, UsageError } from "./cli";

const USAGE = "usage: npm run lease -- POOL [--stack NAME] [--ttl DURATION] [--wait DURATION] [--holder TEXT] [--tls-dir DIR] [--json] [--daemon URL]"
    + "   (default stack: local; ttl 1h; wait 10m; daemon: $DIND_LEASE_DAEMON, else $DOCKER_HOST)";

/** What a job's environment gets from a lease. */
function leaseEnvironment(grant: Grant, outer: EngineEndpoint, stackName: string, tlsDir: string | undefined): { env: Record<string, string>; notes: string[] } {
    const { member, lease: marker, access } = grant;
    const container = member.container;
    const { env, notes } = clientEnvironment({
        containerId: container.Id,
        dockerHost: access.dockerHost,
        tcpEndpoint: access.dockerHost.startsWith("tcp://") ? access.dockerHost : undefined,
        unixEndpoint: access.dockerHost.startsWith("unix://") ? access.dockerHost : undefined,
        publishedPortsAddress: access.publishedPortsAddress,
        outerDaemon: outer,
        preloadedImageIds: {},
        nestedContainerIds: {},
    }, access.tls && tlsDir);
    const cacheRegistry = container.Labels?.[CACHE_REGISTRY_LABEL];
    return {
        env: {
            DIND_LEASE_ID: marker.id,
            DIND_LEASE_HOST: member.name,
            DIND_LEASE_POOL: container.Labels?.[POOL_LABEL] ?? "",
            DIND_LEASE_STACK: stackName,
            DIND_LEASE_EXPIRES: new Date(grant.expires * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
            // Release needs the pools' daemon once DOCKER_HOST names the member.
            ...poolDaemonEnvironment(outer),
            ...env,
            ...(cacheRegistry ? { DIND_CACHE_REGISTRY: cacheRegistry } : {}),
        },
        notes: [...grant.notes, ...notes],
    };
}

async function main(argv: string[]): Promise<void> {
    const line = parseCommandLine(argv, { flags: ["--json"], options: ["--ttl", "--wait", "--holder", "--tls-dir", "--daemon"] });
    expectArguments(line, 1);
    if (line.stacks.length !== 1) throw new UsageError("one --stack at a time");
    const [pool] = line.args;
    const stackName = line.stacks[0];
    const outer = poolDaemon(line.values.get("--daemon"));
    const grant = await lease({
        engine: outerEngine(outer),
        stackLabel: stackLabelValue(stackName),
        pool,
        holder: line.values.get("--holder") ?? defaultHolder(),
        ttlSeconds: secondsOption(line, "--ttl", DEFAULT_LEASE_TTL_SECONDS, MIN_LEASE_TTL_SECONDS, MAX_LEASE_TTL_SECONDS),
        waitSeconds: secondsOption(line, "--wait", DEFAULT_LEASE_WAIT_SECONDS, 0, 24 * 3600),
    });
    const given = line.values.get("--tls-dir");
    const tlsDir = grant.access.tls ? writeClientTls(path.resolve(given ?? leaseTlsDir(grant.member.name, grant.lease.id)), grant.access.tls) : undefined;
    const { env, notes } = leaseEnvironment(grant, outer, stackName, tlsDir);
    for (const note of notes) console.error(`lease: ${note}`);
    if (line.flags.has("--json")) console.log(JSON.stringify({ ...env, notes }, null, 2));
    else console.log(Object.entries(env).map(([key, value]) => `${key}=${value}`).join("\n"));
}

if (require.main === module) runCommand(USAGE, main);
