// Entry point for `pulumi up`: provisions stacks/<stack>.yaml.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { provisionStackFile } from "./program";

const outputs = provisionStackFile(path.join(__dirname, "stacks", `${pulumi.getStack()}.yaml`));

export const hosts = outputs.hosts;
export const clients = outputs.clients;
/** Per host: the CA, client certificate and client key for its TCP endpoint (a secret). */
export const clientTls = outputs.clientTls;
