// Runs the Pulumi CLI itself (not the Automation API) in a scratch Pulumi project, as a user would:
// `cd` into the project, `pulumi login file://...`, `pulumi stack init`, `pulumi up --yes`, ...
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { REPO_ROOT } from "../../driver/stack";
import type { CommandResult } from "./harness";

export const PASSPHRASE = "integration-tests";

export class ScratchProject {
    /** The project directory: Pulumi.yaml, the program, node_modules (a link to the repository's). */
    readonly project: string;
    private readonly env: NodeJS.ProcessEnv;

    /**
     * A project in a fresh directory under the system temp dir (`prefix` names it), with its own
     * PULUMI_HOME (so `pulumi login` leaves the machine's login alone; the installed plugins are
     * linked in) and a file backend beside it. `files` are copied from the repository.
     */
    constructor(prefix: string, files: string[], pulumiYaml: Record<string, unknown>) {
        const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
        this.project = path.join(dir, "project");
        mkdirSync(this.project);
        for (const file of files) cpSync(path.join(REPO_ROOT, file), path.join(this.project, file), { recursive: true });
        symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(this.project, "node_modules"));
        writeFileSync(path.join(this.project, "Pulumi.yaml"), stringify(pulumiYaml));
        const home = path.join(dir, "pulumi-home");
        mkdirSync(home);
        symlinkSync(path.join(process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"), "plugins"), path.join(home, "plugins"));
        mkdirSync(path.join(dir, "state"));
        const { PULUMI_BACKEND_URL: _ignored, ...inherited } = process.env;
        this.env = { ...inherited, PULUMI_HOME: home, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, PULUMI_SKIP_UPDATE_CHECK: "true" };
        this.ok(["login", `file://${this.backendDir}`]);
    }

    get dir(): string {
        return path.dirname(this.project);
    }

    get backendDir(): string {
        return path.join(this.dir, "state");
    }

    /** The repository's Pulumi.yaml without its backend (the scratch project logs in to its own). */
    static repositoryProject(): Record<string, unknown> {
        const { backend: _backend, ...project } = parse(readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8"));
        return project;
    }

    /** Runs `pulumi ARGS` in the project directory. */
    pulumi(args: string[]): CommandResult {
        const result = spawnSync("pulumi", [...args, "--color=never"], {
            cwd: this.project, env: this.env, encoding: "utf8", timeout: 10 * 60_000, maxBuffer: 64 * 1024 * 1024,
        });
        return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? String(result.error ?? "") };
    }

    /** Runs `pulumi ARGS` and fails with its output unless it exits 0. */
    ok(args: string[]): string {
        const result = this.pulumi(args);
        if (result.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
        return result.stdout;
    }

    dispose() {
        rmSync(this.dir, { recursive: true, force: true });
    }
}
