import * as assert from "node:assert/strict";
import { EngineApiError } from "../../../components/engineApi";
import { UserError } from "../../../components/errors";
import { expectArguments, parseCommandLine, reportOf, STACK_OPTIONS, stackOptionsOf, UsageError } from "../../../commands/cli";
import { CancelledError } from "../../../driver/engineRun";
import { StackFileError } from "../../../stackfile/load";

describe("commands/cli", () => {
    it("parses stacks, flags and options; refuses unknown options and options without a value", () => {
        assert.deepEqual(parseCommandLine([]).stacks, ["local"]);
        const parsed = parseCommandLine(["--stack", "a", "--remove", "--file", "f.yaml", "--stack", "b", "x"], { flags: ["--remove"], options: ["--file"] });
        assert.deepEqual(parsed.stacks, ["a", "b"]);
        assert.ok(parsed.flags.has("--remove"));
        assert.equal(parsed.values.get("--file"), "f.yaml");
        assert.deepEqual(parsed.args, ["x"]);
        assert.throws(() => parseCommandLine(["--colour"]), UsageError);
        assert.throws(() => parseCommandLine(["--stack"]), /--stack needs a value/);
        assert.throws(() => parseCommandLine(["--file", "--stack", "a"], { options: ["--file"] }), /--file needs a value/);
    });

    it("selects one stack with its file, backend and work directory, paths made absolute", () => {
        const line = parseCommandLine(["--stack", "ci", "--file", "/s/ci.yaml", "--backend", "file:///b", "--work-dir", "w"], { options: STACK_OPTIONS });
        assert.deepEqual(stackOptionsOf(line), { stackName: "ci", stackFile: "/s/ci.yaml", backendUrl: "file:///b", workDir: `${process.cwd()}/w` });
        assert.deepEqual(stackOptionsOf(parseCommandLine([])), { stackName: "local", stackFile: undefined, backendUrl: undefined, workDir: undefined });
        assert.throws(() => stackOptionsOf(parseCommandLine(["--stack", "a", "--stack", "b"])), /one --stack at a time/);
    });

    it("counts positional arguments", () => {
        assert.doesNotThrow(() => expectArguments(parseCommandLine(["h", "d"]), 2));
        assert.throws(() => expectArguments(parseCommandLine(["h", "d", "x"]), 2), /unexpected argument x/);
        assert.throws(() => expectArguments(parseCommandLine(["h"]), 2), /expected 2 arguments/);
    });

    it("reports bad usage with the usage line and the usage exit code", () => {
        assert.deepEqual(reportOf(new UsageError("unknown option --colour"), "usage: npm run drift -- [--stack NAME]", 1),
            { text: "drift: unknown option --colour\nusage: npm run drift -- [--stack NAME]", exitCode: 1 });
    });

    it("reports every error a user should read as its message alone, without a stack trace", () => {
        const errors: UserError[] = [
            new UserError("set PULUMI_CONFIG_PASSPHRASE"),
            new EngineApiError("unix:///var/run/docker.sock", "GET /_ping", undefined, "connect ENOENT /var/run/docker.sock"),
            new StackFileError([{ file: "s.yaml", line: 1, column: 1, path: [], message: "empty" }]),
        ];
        for (const error of errors) {
            const { text, exitCode } = reportOf(error, "usage: npm run up", 2);
            assert.equal(text, `\nerror: ${error.message}`);
            assert.doesNotMatch(text, /\n\s+at /);
            assert.equal(exitCode, 1);
        }
        assert.equal(new EngineApiError("tcp://10.0.0.5:2376", "GET /version", 500, "boom").message, "GET /version on tcp://10.0.0.5:2376: HTTP 500 boom");
    });

    it("ends a run a signal cancelled with 143 (SIGTERM) or 130 (SIGINT)", () => {
        assert.equal(reportOf(new CancelledError("SIGTERM"), "usage: npm run up", 2).exitCode, 143);
        assert.equal(reportOf(new CancelledError("SIGINT"), "usage: npm run up", 2).exitCode, 130);
    });

    it("reports anything else, a bug, with its stack trace", () => {
        const { text, exitCode } = reportOf(new TypeError("x is undefined"), "usage: npm run up", 2);
        assert.match(text, /^\nTypeError: x is undefined\n\s+at /);
        assert.equal(exitCode, 1);
    });
});
