import * as assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { STACK_SCHEMA_FILE, stackFileJsonSchema } from "../../../stackfile/json-schema";
import { parseLocatedYaml } from "../../../stackfile/yaml";

const repo = path.resolve(__dirname, "../../..");
const fixtures = path.join(__dirname, "fixtures");
const committed = JSON.parse(readFileSync(path.join(repo, STACK_SCHEMA_FILE), "utf8"));
const validate = new Ajv({ strict: false, allErrors: true }).compile(committed);

/** The file as an editor's YAML reader gives it to the schema: plain data, merge keys applied. */
function data(file: string): unknown {
    const { yaml, problems } = parseLocatedYaml(readFileSync(file, "utf8"), path.basename(file));
    assert.deepEqual(problems, []);
    return JSON.parse(JSON.stringify(yaml!.value));
}

/** Bad fixtures whose fault is one of shape: a type, a missing or unknown key, a pattern, a range. */
const STRUCTURAL = ["docker-limits", "not-a-map", "null-entry", "types", "unclear", "unknown-keys", "values"];

describe("the stack file's JSON Schema", () => {
    it(`is generated from the zod schema: ${STACK_SCHEMA_FILE} is up to date (npm run schema)`, () => {
        assert.deepEqual(committed, JSON.parse(JSON.stringify(stackFileJsonSchema())));
    });

    const good = [
        ...readdirSync(path.join(fixtures, "good")).map((f) => path.join(fixtures, "good", f)),
        ...readdirSync(path.join(repo, "stacks")).map((f) => path.join(repo, "stacks", f)),
        path.join(repo, "bench", "fixtures", "reference.yaml"),
        path.join(repo, "test", "integration", "fixtures", "lifecycle.yaml"),
    ].filter((f) => f.endsWith(".yaml"));
    for (const file of good) {
        it(`accepts ${path.relative(repo, file)}`, () => {
            assert.ok(validate(data(file)), JSON.stringify(validate.errors));
        });
    }

    for (const name of STRUCTURAL) {
        it(`refuses bad/${name}.yaml`, () => {
            assert.equal(validate(data(path.join(fixtures, "bad", `${name}.yaml`))), false);
        });
    }

    it("is named by the modeline of every committed stack and example", () => {
        for (const file of good) {
            const first = readFileSync(file, "utf8").split("\n")[0];
            const target = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)?.[1];
            assert.ok(target, `${file} starts with ${first}`);
            assert.equal(path.resolve(path.dirname(file), target), path.join(repo, STACK_SCHEMA_FILE));
        }
    });
});
