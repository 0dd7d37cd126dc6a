// `npm run schema`: writes the stack file's JSON Schema, generated from the zod schema, to
// stackfile/stack.schema.json (a unit test fails while the committed file differs).
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { STACK_SCHEMA_FILE, stackFileJsonSchema } from "../stackfile/json-schema";

const target = path.join(__dirname, "..", STACK_SCHEMA_FILE);
writeFileSync(target, `${JSON.stringify(stackFileJsonSchema(), null, 2)}\n`);
console.log(`wrote ${STACK_SCHEMA_FILE}`);
