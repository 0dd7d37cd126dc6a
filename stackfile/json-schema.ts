// The stack file's JSON Schema, generated from the zod schema (schema.ts stays the only copy of
// the shape), for editors: yaml-language-server reads it through the modeline
//   # yaml-language-server: $schema=../stackfile/stack.schema.json
// Rules zod states as code (Docker's grammars, host safety, cross-field rules) are not in it:
// `npm run validate` checks those.
import { z } from "zod";
import { EXTENSION_KEY, stackFileSchema } from "./schema";

/** Where the generated schema is committed, relative to the repository. */
export const STACK_SCHEMA_FILE = "stackfile/stack.schema.json";

export function stackFileJsonSchema(): Record<string, unknown> {
    const schema = z.toJSONSchema(stackFileSchema, {
        io: "input",
        target: "draft-7",
        unrepresentable: "any",
        override: ({ zodSchema, jsonSchema }) => {
            // What load.ts does before zod sees the file: x- keys are dropped, an empty section is an empty map.
            if (zodSchema !== stackFileSchema) return;
            jsonSchema.patternProperties = { [EXTENSION_KEY.source]: {} };
            for (const section of Object.values(jsonSchema.properties ?? {})) {
                if (typeof section === "object") Object.assign(section, { type: ["object", "null"] });
            }
        },
    }) as Record<string, unknown>;
    return { ...schema, title: "dind-provisioner stack file" };
}
