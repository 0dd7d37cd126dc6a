// `npm run preview`: shows what `up` would change, with the diff, and changes nothing.
import { runCommand } from "./cli";
import { engineMain, engineUsage } from "./engine";

if (require.main === module) runCommand(engineUsage("preview"), engineMain("preview"));
