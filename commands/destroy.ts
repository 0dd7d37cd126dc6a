// `npm run destroy`: removes everything of the stack but retained volumes, then the stack's docker
// contexts. With a DinD host down whose storage is retained, it refuses unless --drop-nested drops
// that host's nested resources from the state (their data lives on in the volume).
import { runCommand } from "./cli";
import { engineMain, engineUsage } from "./engine";

if (require.main === module) runCommand(engineUsage("destroy", " [--drop-nested]"), engineMain("destroy"));
