import * as assert from "node:assert/strict";
import { formatDrift } from "../../../commands/drift";

describe("commands/drift", () => {
    it("says so when nothing drifted", () => {
        assert.equal(formatDrift("prod", { drifted: false, differences: [], summaries: { refresh: { same: 4 }, preview: { same: 4 } } }),
            "stack prod: no drift (the environment matches the stack file)");
    });

    it("lists what changed behind Pulumi's back and what up would do, with the changed keys", () => {
        const urn = "urn:pulumi:prod::dind-provisioner::dind:index:DindHost$docker:index/container:Container::web";
        assert.equal(formatDrift("prod", {
            drifted: true,
            differences: [
                { phase: "refresh", op: "deleted outside Pulumi", urn, keys: [] },
                { phase: "preview", op: "replace", urn, keys: ["command"] },
            ],
            summaries: { refresh: { delete: 1, same: 3 }, preview: { create: 1, same: 3 } },
        }), [
            "stack prod: DRIFT",
            "  environment: deleted outside Pulumi docker:index/container:Container web",
            "  up would: replace docker:index/container:Container web [command]",
            '  refresh: {"delete":1,"same":3}; preview: {"create":1,"same":3}',
        ].join("\n"));
    });
});
