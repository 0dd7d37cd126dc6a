import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { machineAddressOf } from "../../../components/endpoints";
import { formatProblem, loadStackFile, validateStackSource } from "../../../stackfile/load";
import { operatorEnv } from "./operator-env";
import { DEFAULT_CLIENT_IMAGE, DEFAULT_DIND_IMAGE, DEFAULT_REGISTRY_IMAGE } from "../../../components/defaults";

const fixtures = path.join(__dirname, "fixtures");
const repo = path.resolve(__dirname, "../../..");
const yamlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

function validate(file: string, env: NodeJS.ProcessEnv = operatorEnv(file)) {
    return validateStackSource(readFileSync(file), path.basename(file), env);
}

/** Only the problems' text: "line:column: path: message". */
const problemsOf = (source: string, env: NodeJS.ProcessEnv = {}) =>
    validateStackSource(source, "f.yaml", env).problems.map(formatProblem);

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
                registryAuth: [],
                registryCAs: {},
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
            const declared = "daemons:\n  local: { host: \"unix:///run/user/1000/docker.sock\" }\nclients:\n  agent: {}\n";
            const allowed = { ...env, DIND_PROVISIONER_ALLOW_DAEMONS: "unix:///run/user/1000/docker.sock" };
            assert.equal(validateStackSource(declared, "f.yaml", allowed).stack!.daemons.local.host, "unix:///run/user/1000/docker.sock");
        });

        it("accepts a secret from a variable that is set, and fills in a registry's defaults", () => {
            const source = "registries:\n  hub-cache: { port: 5000, proxy: { remote: https://registry-1.docker.io } }\n" +
                "hosts:\n  builder:\n    registryAuth: [{ address: registry.internal:5000, username: ci, password: { env: REGISTRY_TOKEN } }]\n";
            const { stack, problems } = validateStackSource(source, "f.yaml", { REGISTRY_TOKEN: "t0ken", DIND_PROVISIONER_ALLOW_ENV: "REGISTRY_TOKEN" });
            assert.deepEqual(problems, []);
            assert.deepEqual(JSON.parse(JSON.stringify(stack!.hosts.builder.registryAuth)), [{ address: "registry.internal:5000", username: "ci", password: { env: "REGISTRY_TOKEN" } }]);
            assert.deepEqual(stack!.registries["hub-cache"], {
                daemon: "local", image: DEFAULT_REGISTRY_IMAGE, port: 5000, bind: "127.0.0.1",
                proxy: { remote: "https://registry-1.docker.io" }, storage: { retain: false }, insecure: false,
            });
        });

        it("never quotes a password written in the file", () => {
            const source = "hosts:\n  builder:\n    registryAuth: [{ address: r:5000, username: ci, password: { env: X, value: hunter2 } }]\n";
            const messages = validateStackSource(source, "f.yaml", {}).problems.map(formatProblem).join("\n");
            assert.match(messages, /registryAuth\[0\]\.password: expected \{ env: NAME \} or \{ secret: KEY \}/);
            assert.doesNotMatch(messages, /hunter2/);
        });

        it("takes DOCKER_HOST the way the docker CLI does: bare host:port, no port (2375), no host, unix:// alone", () => {
            const local = (DOCKER_HOST: string) => validateStackSource("hosts:\n  builder: {}\n", "f.yaml", { DOCKER_HOST }).stack?.daemons.local.host;
            assert.equal(local("tcp://build-01.example.com"), "tcp://build-01.example.com:2375");
            assert.equal(local("build-01.example.com:2376"), "tcp://build-01.example.com:2376");
            assert.equal(local("tcp://:2376"), "tcp://localhost:2376");
            assert.equal(local("tcp://[::1]:2376/"), "tcp://[::1]:2376");
            assert.equal(local("  unix:///run/user/1000/docker.sock "), "unix:///run/user/1000/docker.sock");
            assert.equal(local("unix://"), "unix:///var/run/docker.sock");
            assert.equal(local("ssh://ci@edge-01:2222"), "ssh://ci@edge-01:2222");
        });

        it("refuses a DOCKER_HOST the program cannot use at the first entry using it, naming DOCKER_HOST", () => {
            const source = "daemons:\n  farm: { host: \"ssh://ci@farm-01\" }\nhosts:\n  far: { daemon: farm }\nclients:\n  agent: {}\n";
            for (const [DOCKER_HOST, why] of [
                ["tcp://build-01.example.com:99999", "the port must be a number from 1 to 65535"],
                ["npipe:////./pipe/docker_engine", "uses npipe://, which this program cannot drive"],
                ["fd://3", "uses fd://, which this program cannot drive"],
                ["unix://relative.sock", "the socket path must be absolute"],
                ["tcp://host:2375/v1.40", "is not an address the docker CLI accepts"],
            ]) {
                const problems = problemsOf(source, { DOCKER_HOST, DIND_PROVISIONER_ALLOW_DAEMONS: "ssh://ci@farm-01" });
                assert.equal(problems.length, 1, problems.join("\n"));
                assert.match(problems[0], new RegExp(`^f\\.yaml:6:3: clients\\.agent: DOCKER_HOST=.*${why.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}.*fix DOCKER_HOST or declare daemons\\.local$`));
            }
            // A file that never uses the local daemon does not depend on DOCKER_HOST.
            assert.deepEqual(problemsOf("daemons:\n  farm: { host: \"ssh://ci@farm-01\" }\nhosts:\n  far: { daemon: farm }\n",
                { DOCKER_HOST: "fd://3", DIND_PROVISIONER_ALLOW_DAEMONS: "ssh://ci@farm-01" }), []);
        });

        it("accepts only daemon URLs the URL parser and the components can read", () => {
            for (const host of ["tcp://10.0.0.5:2376", "tcp://[::1]:2376", "tcp://build-01.example.com:2376/", "ssh://ci@edge-01", "ssh://edge-01:2222"]) {
                const { stack, problems } = validateStackSource(`daemons:\n  farm: { host: "${host}", ${host.startsWith("tcp") ? "insecure: true" : "sshOpts: []"} }\nhosts:\n  builder: { daemon: farm }\n`,
                    "f.yaml", { DIND_PROVISIONER_ALLOW_DAEMONS: host });
                assert.deepEqual(problems.map(formatProblem), []);
                assert.doesNotThrow(() => machineAddressOf(stack!.daemons.farm.host!));
            }
        });

        it("accepts a 130-host fleet merging one template, and a 2,000-host file with one small alias", () => {
            const template = "x-dind: &dind\n  image: registry.example.com:5000/ci/dind:27.5.1\n  preload: [busybox:1.36, alpine:3.20]\n" +
                "  env: { A: a, B: b, C: c, D: d, E: e, F: f }\n  storage: { retain: true }\n";
            const fleet = template + "hosts:\n" + Array.from({ length: 130 }, (_, i) => `  build-${i}:\n    <<: *dind\n    tcp: { port: ${20000 + i} }\n`).join("");
            assert.deepEqual(problemsOf(fleet), []);
            const big = "x-env: &env { MODE: ci }\nhosts:\n" + Array.from({ length: 2000 }, (_, i) =>
                `  build-${i}:\n    image: docker:27-dind\n    tcp: { port: ${20000 + i}, bind: 127.0.0.1 }\n    env: ${i === 0 ? "*env" : "{}"}\n`).join("");
            const { stack, problems } = validateStackSource(big, "big.yaml", {});
            assert.deepEqual(problems, []);
            assert.equal(Object.keys(stack!.hosts).length, 2000);
        });

        it("builds maps without prototypes, so no key reaches Object.prototype", () => {
            problemsOf("hosts:\n  b1:\n    env: { __proto__: { polluted: yes } }\n    <<: { __proto__: { polluted: yes } }\n");
            assert.equal(({} as Record<string, unknown>).polluted, undefined);
            // A daemon named like an Object.prototype member is an unknown daemon, not a crash.
            assert.deepEqual(problemsOf("hosts:\n  b1: { daemon: toString, tcp: { port: 1 }, preload: [busybox] }\n"), [
                "f.yaml:2:17: hosts.b1.daemon: unknown daemon \"toString\": expected one of local (declare it under daemons)",
            ]);
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

    describe("npm run validate", function () {
        // The first run builds the bundle; a loaded machine makes that slow.
        this.timeout(120_000);
        const run = (...files: string[]) => spawnSync(process.execPath, [path.join(repo, "commands", "bundled.js"), "--bundle-packages", "commands/validate.ts", ...files], {
            // The CLI reads the implicit local daemon and the operator's consent from its environment: give it none of the caller's.
            cwd: repo, encoding: "utf8", env: { PATH: process.env.PATH, ...operatorEnv(files[files.length - 1] ?? "") },
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

        it("starts from a bundle without the Pulumi SDK, so that start-up stays fast", () => {
            assert.equal(run(path.join(fixtures, "good", "full.yaml")).status, 0);
            const manifest = path.join(repo, "node_modules", ".cache", "dind-provisioner", "commands-validate.manifest.json");
            const inputs: string[] = JSON.parse(readFileSync(manifest, "utf8")).inputs;
            assert.ok(inputs.includes("commands/validate.ts"));
            assert.deepEqual(inputs.filter((input) => input.includes("@pulumi/")), []);
        });

        it("exits 2 without files", () => {
            assert.equal(run().status, 2);
        });

        it("checks every hostile file in a directory: located problems only, never a stack trace, then the summary", () => {
            const hostile = path.join(fixtures, "hostile");
            const files = readdirSync(hostile).filter((f) => /\.ya?ml$/.test(f));
            const result = run(hostile);
            assert.equal(result.status, 1);
            const lines = result.stderr.trim().split("\n");
            assert.equal(lines.pop(), `${files.length} of ${files.length} files invalid`);
            const reported = new Set<string>();
            for (const line of lines) {
                const located = /^(.+?):(\d+):(\d+): (\S.*?): (.+)$/.exec(line);
                assert.ok(located && Number(located[2]) >= 1 && Number(located[3]) >= 1, `not a located problem: ${line.slice(0, 200)}`);
                assert.doesNotMatch(line, /internal error|\bat .+\(.+:\d+:\d+\)/);
                assert.ok(line.length < 600, `a problem line of ${line.length} characters`);
                reported.add(path.basename(located![1]));
            }
            assert.deepEqual([...reported].sort(), files.sort());
        });
    });
});
