// `npm run refresh`: reads the environment back into the stack's state; the resources inside a DinD
// host that is down are skipped (their inner daemon cannot answer).
import { runCommand } from "./cli";
import { engineMain, engineUsage } from "./engine";

if (require.main === module) runCommand(engineUsage("refresh"), engineMain("refresh"));
