import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { upWithoutReadBack } from "../../../scripts/pulumi-stack";

describe("upWithoutReadBack", () => {
    /** A Stack of the Automation API over a workspace whose CLI only records the commands it is given. */
    function recordingStack() {
        const commands: string[][] = [];
        const workspace = {
            workDir: "/nonexistent",
            envVars: {},
            serializeArgsForOp: async () => [],
            postCommandCallback: async () => undefined,
            stackOutputs: async () => (commands.push(["stack", "output"]), {}),
            pulumiCommand: {
                run: async (args: string[]) => {
                    commands.push(args);
                    // What `stack history --json` would print, should the SDK ask.
                    return { stdout: args[0] === "stack" ? "[]" : "", stderr: "", code: 0 };
                },
            },
        };
        const stack = Object.create(Stack.prototype, { name: { value: "dev" }, workspace: { value: workspace } }) as Stack;
        return { stack, commands };
    }

    it("runs the update and none of the read-back the Automation API's up makes after it", async () => {
        const lean = recordingStack();
        await upWithoutReadBack(lean.stack, { message: "m" });
        assert.deepEqual(lean.commands.map((args) => args.slice(0, 2)), [["up", "--yes"]]);
        assert.ok(lean.commands[0].includes("--skip-preview") && lean.commands[0].includes("--message"));

        // The SDK's own up, on the same recording CLI, does read back: what the lean one leaves out.
        const full = recordingStack();
        await full.stack.up({ message: "m" });
        assert.deepEqual(full.commands.slice(1).map((args) => args.slice(0, 2)), [["stack", "output"], ["stack", "history"]]);
    });
});
