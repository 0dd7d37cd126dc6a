// `npm run up`: makes the environment match the stack file (stacks/NAME.yaml unless --file names
// another), after the driver's checks and recovery (driver/engineRun.ts).
import { runCommand } from "./cli";
import { engineMain, engineUsage } from "./engine";

if (require.main === module) runCommand(engineUsage("up"), engineMain("up"));
