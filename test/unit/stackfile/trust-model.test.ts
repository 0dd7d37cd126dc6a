// docs/security-trust-model.md classifies every key of the schema: what it reaches (the runner, an
// outer machine, an outer or inner daemon) and what holds it. A key added to the schema without a
// row there, or a row for a key that does not exist, fails here.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { ALLOW_DAEMONS, ALLOW_ENV, ALLOW_PATHS } from "../../../stackfile/trust";
import { documentedRow, schemaKeys, tableRows } from "./schema-keys";

const DOC = readFileSync(path.join(__dirname, "..", "..", "..", "docs", "security-trust-model.md"), "utf8");
const CLASSES = [
    "runner: connects", "runner: reads a file", "runner: runs a program", "runner: environment", "outer machine: host path",
    "outer daemon", "inner daemon", "network at up", "validation only",
];

describe("the trust model (docs/security-trust-model.md)", () => {
    const rows = tableRows(DOC, "## Every key, classified");

    it("classifies every key of the schema, and only keys of the schema", () => {
        const keys = [...new Set(schemaKeys().map((k) => documentedRow(k.path)))];
        assert.deepEqual(keys.filter((key) => !rows.has(key)), [], "keys without a row");
        assert.deepEqual([...rows.keys()].filter((row) => !keys.includes(row)), [], "rows without a key");
    });

    it("puts every key in the classes the page defines, and says what holds it", () => {
        for (const [key, [classes, heldBy]] of rows) {
            for (const name of classes.split(", ")) assert.ok(CLASSES.includes(name), `${key}: unknown class "${name}"`);
            assert.ok(heldBy !== undefined && heldBy !== "", `${key}: what holds it`);
        }
        // Every key that reaches the runner names what holds it there.
        for (const [key, [classes, heldBy]] of rows) {
            if (classes.includes("runner:")) assert.match(heldBy, /DIND_PROVISIONER_ALLOW_|allowlist|kubeconfig the operator allowed/, key);
        }
    });

    it("names the operator's variables as the validator reads them", () => {
        for (const name of [ALLOW_DAEMONS, ALLOW_PATHS, ALLOW_ENV]) assert.ok(DOC.includes(`| \`${name}\` |`), name);
    });
});
