// The examples in docs/: the stack files validate, and both CI pipelines run the same commands
// in the same jobs (the real lane runs those commands: test/integration/tools.test.ts).
import * as assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { loadStackFile } from "../../stackfile/load";
import { pipelineCommands, PIPELINES } from "../support/pipelines";

const STACKS = path.join(__dirname, "..", "..", "docs", "examples", "stacks");

describe("docs/examples", () => {
    it("has stack files for two environments, and they validate", () => {
        const files = readdirSync(STACKS).filter((f) => f.endsWith(".yaml")).sort();
        assert.deepEqual(files, ["production.yaml", "staging.yaml"]);
        // The consent the pipelines' comments tell the operator to give (docs/examples/ci), and nothing of the caller's.
        const operator = {
            DIND_PROVISIONER_ALLOW_DAEMONS: "tcp://10.20.0.5:2376 tcp://10.20.1.11:2376 tcp://10.20.1.12:2376",
            DIND_PROVISIONER_ALLOW_PATHS: "/etc/dind-provisioner",
        };
        for (const pipeline of Object.values(PIPELINES)) {
            for (const [name, value] of Object.entries(operator)) assert.ok(readFileSync(pipeline, "utf8").includes(value.split(" ")[0]) && readFileSync(pipeline, "utf8").includes(name), `${pipeline} tells ${name}`);
        }
        for (const file of files) {
            const stack = loadStackFile(path.join(STACKS, file), operator);
            assert.ok(Object.keys(stack.hosts).length > 0, file);
        }
    });

    it("GitHub Actions and GitLab CI: validate and preview on a merge request, up on main, drift on a schedule", () => {
        const expected = {
            preview: ["npm ci", "npm run validate -- stacks/*.yaml", 'npm run preview -- --stack "$STACK"'],
            up: ["npm ci", 'npm run up -- --stack "$STACK"'],
            drift: ["npm ci", 'npm run drift -- --stack "$STACK"'],
        };
        assert.deepEqual(pipelineCommands(PIPELINES.github), expected);
        assert.deepEqual(pipelineCommands(PIPELINES.gitlab), expected);
    });
});
