// `npm run client-tls -- HOST DIR [--stack NAME]`: writes a DinD host's client TLS material to DIR
// (ca.pem, cert.pem, key.pem, as DOCKER_CERT_PATH holds them) and prints the environment that
// reaches the host: `eval "$(npm run -s client-tls -- builder ~/.docker/builder)"`.
import * as path from "node:path";
import { UserError } from "../components/errors";
import { clientEnvironment, shellExports, writeClientTls } from "../driver/clientTls";
import { openStack, readOutputs } from "../driver/stack";
import { expectArguments, parseCommandLine, runCommand, STACK_OPTIONS, stackOptionsOf } from "./cli";

const USAGE = "usage: npm run client-tls -- HOST DIR [--stack NAME] [--backend URL] [--work-dir DIR]   (default stack: local)";

async function main(argv: string[]): Promise<void> {
    const line = parseCommandLine(argv, { options: STACK_OPTIONS });
    expectArguments(line, 2);
    const [host, dir] = line.args;
    const options = stackOptionsOf(line);
    const outputs = await readOutputs(await openStack(options));
    const tls = Object.hasOwn(outputs.clientTls, host) ? outputs.clientTls[host] : undefined;
    if (!tls) throw new UserError(`stack ${options.stackName} has no TLS endpoint for host "${host}" (hosts: ${Object.keys(outputs.hosts).join(", ")})`);
    console.log(shellExports(clientEnvironment(outputs.hosts[host], writeClientTls(path.resolve(dir), tls))));
}

if (require.main === module) runCommand(USAGE, main);
