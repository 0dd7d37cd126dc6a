import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { asDriverRuns, ENGINE_PARALLELISM } from "../../../driver/stack";

describe("asDriverRuns", () => {
    /** A Stack of the Automation API over a workspace whose CLI only records the commands it is given. */
    function recordingStack() {
        const commands: string[] = [];
        const parallelism: string[] = [];
        const workspace = {
            workDir: "/nonexistent",
            envVars: {},
            serializeArgsForOp: async () => [],
            postCommandCallback: async () => undefined,
            stackOutputs: async () => (commands.push("stack output"), {}),
            pulumiCommand: {
                run: async (args: string[]) => {
                    commands.push(args.slice(0, 2).join(" "));
                    if (args.includes("--parallel")) parallelism.push(`${args[0]} ${args[args.indexOf("--parallel") + 1]}`);
                    // What `stack history --json` would print, should the SDK ask.
                    return { stdout: args[0] === "stack" ? "[]" : "", stderr: "", code: 0 };
                },
            },
        };
        const stack = Object.create(Stack.prototype, { name: { value: "dev" }, workspace: { value: workspace } }) as Stack;
        return { stack, commands, parallelism };
    }

    it("runs up, refresh and destroy with the driver's parallelism and without the read-back the Automation API makes after each", async () => {
        const lean = recordingStack();
        await asDriverRuns(lean.stack).up({ message: "m" });
        await asDriverRuns(lean.stack).refresh();
        await asDriverRuns(lean.stack).destroy();
        assert.deepEqual(lean.commands, ["up --yes", "refresh --skip-preview", "destroy --yes"]);
        assert.deepEqual(lean.parallelism, ["up", "refresh", "destroy"].map((command) => `${command} ${ENGINE_PARALLELISM}`));

        // The SDK's own methods, on the same recording CLI, do read back: what the lean ones leave out.
        const full = recordingStack();
        await full.stack.up({ message: "m" });
        await full.stack.refresh();
        await full.stack.destroy();
        assert.deepEqual(full.commands, ["up --yes", "stack output", "stack history", "refresh --skip-preview", "stack history", "destroy --yes", "stack history"]);
    });
});
