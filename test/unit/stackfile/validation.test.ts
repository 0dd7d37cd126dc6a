import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { formatProblem, loadStackFile, validateStackSource } from "../../../stackfile/load";
import { DEFAULT_CLIENT_IMAGE, DEFAULT_DIND_IMAGE } from "../../../components/defaults";

const fixtures = path.join(__dirname, "fixtures");
const repo = path.resolve(__dirname, "../../..");
const yamlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

function validate(file: string, env: NodeJS.ProcessEnv = {}) {
    return validateStackSource(readFileSync(file, "utf8"), path.basename(file), env);
}

describe("stack file validation", () => {
    describe("good files", () => {
        for (const name of yamlFiles(path.join(fixtures, "good"))) {
            it(`accepts ${name}`, () => {
                const result = validate(path.join(fixtures, "good", name));
                assert.deepEqual(result.problems.map(formatProblem), []);
                assert.ok(result.stack);
            });
        }

        for (const name of yamlFiles(path.join(repo, "stacks"))) {
            it(`accepts the committed stack ${name}`, () => {
                assert.ok(loadStackFile(path.join(repo, "stacks", name), {}));
            });
        }

        it("fills in the documented defaults", () => {
            const { stack } = validateStackSource("hosts:\n  builder:\n    tcp: { port: 23760 }\nclients:\n  agent: {}\n", "defaults.yaml", {});
            assert.deepEqual(stack!.daemons, { local: { host: "unix:///var/run/docker.sock", insecure: false } });
            assert.deepEqual(stack!.hosts.builder, {
                daemon: "local",
                image: DEFAULT_DIND_IMAGE,
                storage: { retain: false },
                tcp: { port: 23760, bind: "127.0.0.1", tls: true, insecure: false, sans: [] },
                preload: [],
                env: {},
            });
            assert.deepEqual(stack!.clients.agent, {
                daemon: "local", image: DEFAULT_CLIENT_IMAGE, env: {},
                access: { privileged: false, hostNamespaces: false, binds: ["workspace"], scope: "own" },
            });
        });

        it("takes the local daemon from DOCKER_HOST, unless the file declares it", () => {
            const source = "clients:\n  agent: { socket: /var/run/docker.sock }\n";
            const env = { DOCKER_HOST: "tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/home/ci/.docker/lab" };
            assert.deepEqual(validateStackSource(source, "f.yaml", env).stack!.daemons.local,
                { host: "tcp://127.0.0.1:2376", certPath: "/home/ci/.docker/lab", insecure: false });
            // Without DOCKER_TLS_VERIFY the docker CLI talks plain TCP; so does the implicit local daemon.
            assert.deepEqual(validateStackSource(source, "f.yaml", { DOCKER_HOST: "tcp://127.0.0.1:2375" }).stack!.daemons.local,
                { host: "tcp://127.0.0.1:2375", insecure: true });
            const declared = `daemons:\n  local: { host: "unix:///run/user/1000/docker.sock" }\n${source}`;
            assert.equal(validateStackSource(declared, "f.yaml", env).stack!.daemons.local.host, "unix:///run/user/1000/docker.sock");
        });

        it("ignores x- keys and applies merge keys", () => {
            const { stack } = validate(path.join(fixtures, "good", "anchors.yaml"));
            assert.equal(Object.keys(stack!.hosts).join(), "build-1,build-2");
            assert.equal(stack!.hosts["build-2"].image, "registry.example.com:5000/ci/dind:27.5.1");
            assert.deepEqual(stack!.hosts["build-2"].tcp, { bind: "0.0.0.0", sans: ["ci.example.com", "10.1.2.3"], port: 23762, tls: true, insecure: false });
            assert.equal(stack!.hosts["build-2"].storage.retain, true);
        });
    });

    describe("bad files: every problem, with file, line, column, key path and expectation", () => {
        for (const name of yamlFiles(path.join(fixtures, "bad"))) {
            it(`refuses ${name}`, () => {
                const result = validate(path.join(fixtures, "bad", name));
                const expected = readFileSync(path.join(fixtures, "bad", name.replace(/\.yaml$/, ".errors")), "utf8").trim().split("\n");
                assert.equal(result.stack, undefined);
                assert.deepEqual(result.problems.map(formatProblem), expected);
            });
        }

        it("locates a problem inside a value that came from a merge key at the anchor it came from", () => {
            const source = "x-base: &base\n  tcp: { port: 99999 }\nhosts:\n  builder:\n    <<: *base\n";
            assert.deepEqual(validateStackSource(source, "m.yaml", {}).problems.map(formatProblem), [
                "m.yaml:2:16: hosts.builder.tcp.port: expected a port number (an integer 1-65535), got number 99999",
            ]);
        });

        it("reports an unreadable file as a problem of that file", () => {
            assert.throws(() => loadStackFile("/nonexistent/stack.yaml", {}), /\/nonexistent\/stack\.yaml:1:1: \(top level\): cannot read the file: ENOENT/);
        });
    });

    describe("npm run validate", () => {
        const run = (...files: string[]) => spawnSync(process.execPath, ["-r", "ts-node/register", path.join(repo, "stackfile/cli.ts"), ...files], {
            // The CLI reads the implicit local daemon from its environment: give it none of the caller's.
            cwd: repo, encoding: "utf8", env: { PATH: process.env.PATH, TS_NODE_TRANSPILE_ONLY: "true" },
        });

        it("exits 0 when every file is valid", () => {
            const result = run(path.join(fixtures, "good", "full.yaml"), path.join(fixtures, "good", "client-only.yaml"));
            assert.equal(result.status, 0, result.stderr);
            assert.match(result.stdout, /full\.yaml: valid \(1 hosts, 1 clients\)/);
        });

        it("exits 1 and prints every problem when any file is invalid", () => {
            const bad = path.join(fixtures, "bad", "tls.yaml");
            const result = run(path.join(fixtures, "good", "full.yaml"), bad);
            assert.equal(result.status, 1);
            const expected = readFileSync(path.join(fixtures, "bad", "tls.errors"), "utf8").trim().split("\n").map((line) => `${path.dirname(bad)}/${line}`);
            assert.deepEqual(result.stderr.trim().split("\n"), [...expected, "1 of 2 files invalid"]);
        });

        it("exits 2 without files", () => {
            assert.equal(run().status, 2);
        });
    });
});
