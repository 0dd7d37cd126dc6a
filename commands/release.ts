// `npm run release -- [HOST] [--lease ID] [--force] [--stack NAME] [--daemon URL]`: gives a leased
// pool member back (see driver/leases.ts): checks the lease is the caller's, resets the member for
// the next job (every nested container, volume and network its stack did not declare goes; images
// and build cache stay within the pool's budget), and makes it free once its daemon answers.
// HOST, the lease id and the stack default to DIND_LEASE_HOST, DIND_LEASE_ID and DIND_LEASE_STACK,
// as `lease` printed them, and the pools' outer daemon to DIND_LEASE_DAEMON (DOCKER_HOST then names
// the member). Like `lease`, it talks to the pools' outer daemon only.
import { rmSync } from "node:fs";
import { defaultHolder, leaseTlsDir, outerEngine, poolDaemon, release } from "../driver/leases";
import { stackLabelValue } from "../driver/project";
import { CommandLine, parseCommandLine, runCommand, UsageError } from "./cli";

const USAGE = "usage: npm run release -- [HOST] [--lease ID] [--force] [--stack NAME] [--daemon URL] [--json]"
    + "   (default: $DIND_LEASE_HOST, $DIND_LEASE_ID, $DIND_LEASE_STACK or local; daemon: $DIND_LEASE_DAEMON, else $DOCKER_HOST)";

/** The stack: --stack, else the one the lease named, else local. */
function stackOf(line: CommandLine, argv: string[]): string {
    if (!argv.includes("--stack")) return process.env.DIND_LEASE_STACK || "local";
    if (line.stacks.length !== 1) throw new UsageError("one --stack at a time");
    return line.stacks[0];
}

async function main(argv: string[]): Promise<void> {
    const line = parseCommandLine(argv, { flags: ["--force", "--json"], options: ["--lease", "--daemon"] });
    if (line.args.length > 1) throw new UsageError(`unexpected argument ${line.args[1]}`);
    const member = line.args[0] ?? process.env.DIND_LEASE_HOST;
    if (!member) throw new UsageError("which host? give HOST, or set DIND_LEASE_HOST as lease printed it");
    // The lease lease printed goes with the host it printed.
    const leaseId = line.values.get("--lease") ?? (member === process.env.DIND_LEASE_HOST ? process.env.DIND_LEASE_ID : undefined);
    const released = await release({
        engine: outerEngine(poolDaemon(line.values.get("--daemon"))),
        stackLabel: stackLabelValue(stackOf(line, argv)),
        member,
        leaseId,
        force: line.flags.has("--force"),
        holder: defaultHolder(),
    });
    // The TLS files lease wrote for this lease on this machine, if it put them in its default place.
    if (leaseId) rmSync(leaseTlsDir(member, leaseId), { recursive: true, force: true });
    const { report } = released;
    if (line.flags.has("--json")) {
        console.log(JSON.stringify(released, null, 2));
        return;
    }
    const evicted = report.evicted.images + report.evicted.cacheRecords;
    console.log(`released ${released.member} (pool ${released.pool}) in ${released.seconds.toFixed(2)} s${released.late ? "; its lease had expired" : ""}: `
        + `removed ${report.containers} container(s), ${report.volumes} volume(s), ${report.networks} network(s)${report.swarm ? ", left a swarm" : ""}`
        + `${report.restarted.length ? `; started ${report.restarted.join(", ")} again` : ""}`
        + `${evicted ? `; evicted ${report.evicted.images} image(s) and ${report.evicted.cacheRecords} build cache record(s), ${formatBytes(report.evicted.bytes)}` : ""}`
        + `; images and build cache: ${formatBytes(report.storageBytes)}`);
}

function formatBytes(bytes: number): string {
    return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

if (require.main === module) runCommand(USAGE, main);
