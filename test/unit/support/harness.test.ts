import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { projectFile } from "../../support/harness";
import { PROJECT_NAME } from "../../../driver/stack";

describe("test/support/harness", () => {
    it("writes the project file of a throwaway stack, without plugins by default", () => {
        assert.deepEqual(parse(projectFile({})), { name: PROJECT_NAME, runtime: "nodejs" });
    });

    it("names a directory per provider plugin, whatever its path holds", () => {
        const dir = "/tmp/dind bench: 'x'/plugins/patched";
        assert.deepEqual(parse(projectFile({ docker: dir, tls: "/opt/tls" })), {
            name: PROJECT_NAME,
            runtime: "nodejs",
            plugins: { providers: [{ name: "docker", path: dir }, { name: "tls", path: "/opt/tls" }] },
        });
    });
});
