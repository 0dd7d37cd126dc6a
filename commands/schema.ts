// `npm run schema`: writes the stack file's JSON Schema, generated from the zod schema, to
// stackfile/stack.schema.json (a unit test fails while the committed file differs).
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { STACK_SCHEMA_FILE, stackFileJsonSchema } from "../stackfile/json-schema";
import { expectArguments, parseCommandLine, runCommand } from "./cli";

const USAGE = "usage: npm run schema";

async function main(argv: string[]): Promise<void> {
    expectArguments(parseCommandLine(argv), 0);
    writeFileSync(path.join(__dirname, "..", STACK_SCHEMA_FILE), `${JSON.stringify(stackFileJsonSchema(), null, 2)}\n`);
    console.log(`wrote ${STACK_SCHEMA_FILE}`);
}

if (require.main === module) runCommand(USAGE, main);
