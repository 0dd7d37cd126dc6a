// The npm package: `npm pack` makes compiled JavaScript with declarations, and a user's own
// program that installs the tarball imports the components by the package's name.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const FIXTURE = path.join(__dirname, "fixtures", "scratch-program");
const MODULES = path.join(REPO_ROOT, "node_modules");

/** Runs a command, failing with its output; npm's own update and audit checks are off (no network). */
function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
    try {
        return execFileSync(command, args, {
            cwd, encoding: "utf8", stdio: "pipe",
            env: { ...process.env, npm_config_update_notifier: "false", npm_config_audit: "false", npm_config_fund: "false", ...env },
        });
    } catch (error) {
        const e = error as { stdout?: string; stderr?: string; message: string };
        throw new Error(`${command} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
}

describe("npm package", function () {
    // Compiling the package and type-checking the scratch program take several seconds each.
    this.timeout(240_000);
    let dir: string;
    let tarball: string;
    let files: string[];

    before(() => {
        dir = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-pack-"));
        const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", dir], REPO_ROOT));
        tarball = path.join(dir, packed[0].filename);
        files = packed[0].files.map((f: { path: string }) => f.path);

        // The scratch program: its own package.json naming the tarball. The peers (@pulumi/*) are
        // the program's to provide: here they come from the project's node_modules through
        // NODE_PATH (and `paths` for tsc); the package's own dependencies are already in the
        // program's node_modules, so npm installs offline without asking a registry.
        const program = path.join(dir, "program");
        mkdirSync(path.join(program, "node_modules"), { recursive: true });
        for (const dependency of ["yaml", "zod"]) cpSync(path.join(MODULES, dependency), path.join(program, "node_modules", dependency), { recursive: true });
        writeFileSync(path.join(program, "package.json"), JSON.stringify({ name: "scratch", private: true, dependencies: { "dind-provisioner": `file:${tarball}` } }));
        run("npm", ["install", "--offline", "--ignore-scripts", "--legacy-peer-deps", "--no-package-lock"], program);
        cpSync(FIXTURE, program, { recursive: true });
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    it("holds compiled JavaScript with declarations, and no sources, tests or tools", () => {
        const documents = ["package.json", "README.md", "CHANGELOG.md", "LICENSE"];
        for (const entry of ["dist/components/index.js", "dist/components/index.d.ts", "dist/components/DindHost.d.ts", "dist/stackfile/load.js",
            "dist/program/index.js", "dist/program/outputs.d.ts", ...documents]) {
            assert.ok(files.includes(entry), `${entry} is missing from the package`);
        }
        const unexpected = files.filter((f) => !/^dist\/.*\.(js|d\.ts|js\.map)$/.test(f) && !documents.includes(f));
        assert.deepEqual(unexpected, []);
        assert.deepEqual(files.filter((f) => /(^|\/)(test|commands|driver|toolchain|bench|dood-proxy)\//.test(f)), []);
    });

    it("can be published: not private, a semantic version, and a CHANGELOG entry for that version", () => {
        const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
        assert.equal(manifest.private, undefined);
        assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
        assert.match(path.basename(tarball), new RegExp(`^dind-provisioner-${manifest.version.replace(/\./g, "\\.")}\\.tgz$`));
        assert.match(readFileSync(path.join(REPO_ROOT, "CHANGELOG.md"), "utf8"), new RegExp(`^## ${manifest.version.replace(/\./g, "\\.")} `, "m"));
    });

    it("is imported by name from a program that installs the tarball, and builds the resource graph under mocks", () => {
        const out = run("node", ["program.js"], path.join(dir, "program"), { NODE_PATH: MODULES });
        const { tcpEndpoint, registered } = JSON.parse(out.trim().split("\n").pop()!);
        const names = (type: string) => registered.filter((r: { type: string }) => r.type === type).map((r: { name: string }) => r.name).sort();
        assert.equal(tcpEndpoint, "tcp://127.0.0.1:23760");
        assert.deepEqual(names("dind:index:DindHost"), ["builder"]);
        assert.deepEqual(names("dind:index:DindWorkloads"), ["builder-apps"]);
        assert.deepEqual(names("dind:index:DoodClient"), ["agent"]);
        assert.deepEqual(names("docker:index/container:Container"), ["agent-container", "builder-apps-container-web", "builder-container"]);
        assert.deepEqual(names("dind:index:ImagePreload"), ["builder-preload-busybox:local"]);
        // The nested container goes to the inner daemon's provider; the DinD container to the outer one.
        const providerOf = (name: string) => registered.find((r: { name: string }) => r.name === name).provider;
        assert.equal(providerOf("builder-apps-container-web"), "builder-inner");
        assert.equal(providerOf("builder-container"), "outer");
    });

    it("type-checks a TypeScript program against the package's declarations", () => {
        const program = path.join(dir, "program");
        writeFileSync(path.join(program, "tsconfig.json"), JSON.stringify({
            compilerOptions: {
                strict: true, noEmit: true, module: "node16", moduleResolution: "node16", target: "ES2022", skipLibCheck: true, types: [],
                baseUrl: ".", paths: { "@pulumi/*": [`${MODULES}/@pulumi/*`] },
            },
            files: ["program.ts"],
        }));
        run(process.execPath, [path.join(MODULES, "typescript", "bin", "tsc"), "-p", "."], program);
    });
});
