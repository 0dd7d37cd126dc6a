// Entry point for `pulumi up`: provisions stacks/<stack>.yaml. An async program (it asks the
// outer engines a question before registering resources); the object it returns holds the
// stack outputs: `hosts`, `clients`, and `clientTls` (per host: the CA, client certificate and
// client key for its TCP endpoint, a secret).
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { provisionStackFile } from "./program";

export = async () => provisionStackFile(path.join(__dirname, "stacks", `${pulumi.getStack()}.yaml`));
