import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { withoutReadBack } from "../../../scripts/pulumi-stack";

describe("withoutReadBack", () => {
    /** A Stack of the Automation API over a workspace whose CLI only records the commands it is given. */
    function recordingStack() {
        const commands: string[] = [];
        const workspace = {
            workDir: "/nonexistent",
            envVars: {},
            serializeArgsForOp: async () => [],
            postCommandCallback: async () => undefined,
            stackOutputs: async () => (commands.push("stack output"), {}),
            pulumiCommand: {
                run: async (args: string[]) => {
                    commands.push(args.slice(0, 2).join(" "));
                    // What `stack history --json` would print, should the SDK ask.
                    return { stdout: args[0] === "stack" ? "[]" : "", stderr: "", code: 0 };
                },
            },
        };
        const stack = Object.create(Stack.prototype, { name: { value: "dev" }, workspace: { value: workspace } }) as Stack;
        return { stack, commands };
    }

    it("runs up, refresh and destroy without the read-back the Automation API makes after each", async () => {
        const lean = recordingStack();
        await withoutReadBack(lean.stack).up({ message: "m" });
        await withoutReadBack(lean.stack).refresh();
        await withoutReadBack(lean.stack).destroy();
        assert.deepEqual(lean.commands, ["up --yes", "refresh --skip-preview", "destroy --yes"]);

        // The SDK's own methods, on the same recording CLI, do read back: what the lean ones leave out.
        const full = recordingStack();
        await full.stack.up({ message: "m" });
        await full.stack.refresh();
        await full.stack.destroy();
        assert.deepEqual(full.commands, ["up --yes", "stack output", "stack history", "refresh --skip-preview", "stack history", "destroy --yes", "stack history"]);
    });
});
