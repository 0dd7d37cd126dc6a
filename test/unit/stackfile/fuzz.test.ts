// Mutated stack files, seeded and bounded: whatever the bytes, the loader answers with a stack or
// with located problems, never with an exception.
import * as assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { machineAddressOf } from "../../../components/endpoints";
import { validateStackSource } from "../../../stackfile/load";

const CASES = 1500;
const SEED = 0x5eed7;

/** mulberry32: a small deterministic generator, so every run tests the same files. */
function random(seed: number) {
    let state = seed >>> 0;
    const next = () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(items: T[]) => items[Math.floor(next() * items.length)] };
}

const SNIPPETS = [
    "!vault secret/x", "!!binary aGVsbG8=", "!!set { a }", "*nope", "&a", "*a", "<<: 5", "<<: *a", "<<: [*a, 1]", "<<: {}",
    "? [a, b]\n: c", ".nan", ".inf", "-.inf", "0x1F", "1e400", "0o17", "~", "\"\\0\"", "\"\\x01\"", "\"\\u202e\"",
    "__proto__: { polluted: true }", "constructor: {}", "prototype: 1", "1: a", "\"1\": b", "true: x",
    "[".repeat(60) + "]".repeat(60), "k".repeat(3000) + ": 1", "\t", "\ufeff", "---", "%YAML 1.1\n---", ": :", "tсp: {}",
    "ｔｃｐ: {}", "hostDir: /", "hostDir: /var//run/", "bind: \"fe80::1%eth0\"", "bind: localhost", "host: \"tcp://h:99999\"",
    "host: \"tcp://h\"", "host: \"unix://rel\"", "image: \"A@sha256:xyz\"", "image: \"a@sha512:00\"", "user: 1000",
    "socketGroup: 4294967295", "path: /", "volume: " + "v".repeat(300), "preload: [a, a]", "networks: [bridge]",
    "\u0007", "\r\n", "'", "\"", "{", "}", "[", "]", ",", "- ", ": ", "&x { a: *x }", "x: &y [*y]",
];

const sources = [
    ...readdirSync(path.join(__dirname, "fixtures", "good")).filter((f) => f.endsWith(".yaml")).map((f) => path.join(__dirname, "fixtures", "good", f)),
    ...readdirSync(path.join(__dirname, "..", "..", "..", "stacks")).filter((f) => f.endsWith(".yaml")).map((f) => path.join(__dirname, "..", "..", "..", "stacks", f)),
].map((file) => readFileSync(file));

function mutate(rng: ReturnType<typeof random>, input: Buffer): Buffer {
    let bytes = Buffer.from(input);
    for (let round = 1 + rng.int(3); round > 0; round--) {
        const at = rng.int(bytes.length + 1);
        switch (rng.int(5)) {
            case 0: // flip a byte
                if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = rng.int(256);
                break;
            case 1: // truncate
                bytes = bytes.subarray(0, at);
                break;
            case 2: { // insert a snippet at the start of a line, indented like it
                const lineStart = bytes.lastIndexOf(0x0a, at - 1) + 1;
                const indent = /^ */.exec(bytes.subarray(lineStart).toString("latin1"))![0];
                bytes = Buffer.concat([bytes.subarray(0, lineStart), Buffer.from(`${indent}${rng.pick(SNIPPETS)}\n`), bytes.subarray(lineStart)]);
                break;
            }
            case 3: // insert a snippet anywhere
                bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(rng.pick(SNIPPETS)), bytes.subarray(at)]);
                break;
            default: { // replace a value after a colon
                const text = bytes.toString("latin1");
                const colon = text.indexOf(": ", at);
                if (colon < 0) break;
                const end = text.indexOf("\n", colon);
                bytes = Buffer.concat([bytes.subarray(0, colon + 2), Buffer.from(rng.pick(SNIPPETS)), bytes.subarray(end < 0 ? bytes.length : end)]);
            }
        }
    }
    return bytes;
}

describe("stack file validation under mutation", () => {
    it(`answers ${CASES} mutated files with a stack or located problems, never an exception`, function () {
        this.timeout(120_000);
        const rng = random(SEED);
        const envs = [{}, { DOCKER_HOST: "tcp://build-01:99999" }, { DOCKER_HOST: "tcp://build-01" }, { DOCKER_HOST: "fd://3" }];
        let valid = 0;
        for (let i = 0; i < CASES; i++) {
            const input = mutate(rng, rng.pick(sources));
            const file = `case-${i}.yaml`;
            const result = validateStackSource(input, file, rng.pick(envs));
            const where = `${file} (${JSON.stringify(input.toString("latin1").slice(0, 300))})`;
            if (result.stack) {
                valid++;
                assert.deepEqual(result.problems, [], where);
                for (const daemon of Object.values(result.stack.daemons)) assert.doesNotThrow(() => machineAddressOf(daemon.host), where);
                continue;
            }
            assert.ok(result.problems.length > 0, where);
            for (const problem of result.problems) {
                assert.equal(problem.file, file, where);
                assert.ok(Number.isInteger(problem.line) && problem.line >= 1, `line ${problem.line}: ${where}`);
                assert.ok(Number.isInteger(problem.column) && problem.column >= 1, `column ${problem.column}: ${where}`);
                assert.ok(Array.isArray(problem.path), where);
                assert.ok(typeof problem.message === "string" && problem.message.length > 0 && problem.message.length < 1000, where);
                assert.doesNotMatch(problem.message, /internal error/, `${problem.message}: ${where}`);
            }
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        // Mutations mostly break files, but not all of them: the valid path is exercised too.
        assert.ok(valid > 0 && valid < CASES, `${valid} of ${CASES} mutated files were valid`);
    });
});
