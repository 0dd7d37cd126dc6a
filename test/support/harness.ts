// Throwaway stacks driven through the Automation API against the real Docker daemon, the driver
// run as the npm scripts run it, and the docker CLI helpers around them: shared by the real lane
// (test/integration) and the benchmarks (bench/).
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { STACK_LABEL } from "../../components/markers";
import { openStack, PROJECT_NAME, REPO_ROOT, useV8StackTraces } from "../../driver/stack";

export { STACK_LABEL };

const PASSPHRASE = "integration-tests";

export interface CommandResult {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs the docker CLI; `env` selects a daemon (DOCKER_HOST, DOCKER_CERT_PATH, ...). */
export function docker(args: string[], env: Record<string, string> = {}, input?: string | Buffer): CommandResult {
    const result = spawnSync("docker", args, { encoding: "utf8", env: { ...process.env, ...env }, input, timeout: 120_000 });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? String(result.error ?? "") };
}

/** Runs the docker CLI and returns its trimmed output, failing with its stderr otherwise. */
export function dockerOk(args: string[], env: Record<string, string> = {}): string {
    const result = docker(args, env);
    if (result.status !== 0) throw new Error(`docker ${args.join(" ")} failed (${result.status}): ${result.stderr.trim()}`);
    return result.stdout.trim();
}

/** A stack on a temporary file backend, its program reading a private copy of a stack file. */
export class StackUnderTest {
    readonly stackFile: string;
    private constructor(readonly stack: Stack, readonly dir: string, stackFile: string) {
        this.stackFile = stackFile;
    }

    /** The backend URL and work directory the driver needs to open the same stack from the command line. */
    get backendUrl(): string {
        return `file://${path.join(this.dir, "state")}`;
    }

    get workDir(): string {
        return path.join(this.dir, "project");
    }

    /** Command-line flags selecting this stack for the commands (up, destroy, ...). */
    get driverFlags(): string[] {
        return ["--stack", this.stack.name, "--file", this.stackFile, "--backend", this.backendUrl, "--work-dir", this.workDir];
    }

    /**
     * Its program runs in this process, which therefore gets V8's stack traces (see useV8StackTraces).
     * `providers` maps a resource plugin's name to the directory its engine runs the plugin from
     * (the project file's `plugins.providers`, which comes before every installed plugin).
     */
    static async create(fixture: string, stackName: string, { providers = {} }: { providers?: Record<string, string> } = {}): Promise<StackUnderTest> {
        useV8StackTraces();
        const dir = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-itest-"));
        const stackFile = path.join(dir, "stack.yaml");
        writeFileSync(stackFile, readFileSync(fixture));
        const workDir = path.join(dir, "project");
        mkdirSync(workDir);
        writeFileSync(path.join(workDir, "Pulumi.yaml"), projectFile(providers));
        mkdirSync(path.join(dir, "state"));
        const stack = await openStack({
            stackName,
            stackFile,
            workDir,
            backendUrl: `file://${path.join(dir, "state")}`,
            env: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
        });
        return new StackUnderTest(stack, dir, stackFile);
    }

    /** The state files as the backend keeps them on disk (secrets encrypted). */
    stateFiles(): string[] {
        const files: string[] = [];
        const walk = (dir: string) => {
            for (const entry of readdirSync(dir, { withFileTypes: true })) {
                const full = path.join(dir, entry.name);
                if (entry.isDirectory()) walk(full);
                else if (entry.name.endsWith(".json")) files.push(full);
            }
        };
        walk(path.join(this.dir, "state"));
        return files;
    }

    editStackFile(edit: (text: string) => string) {
        writeFileSync(this.stackFile, edit(readFileSync(this.stackFile, "utf8")));
    }

    /** Removes the stack and its temporary directory; the caller destroys resources first. */
    async dispose() {
        await this.stack.workspace.removeStack(this.stack.name, { force: true }).catch(() => undefined);
        rmSync(this.dir, { recursive: true, force: true });
    }

    get label(): string {
        return `${STACK_LABEL}=${PROJECT_NAME}/${this.stack.name}`;
    }
}

/** The project file of a StackUnderTest: the project, and the provider plugins it runs from a directory of their own. */
export function projectFile(providers: Record<string, string>): string {
    const entries = Object.entries(providers).map(([name, dir]) => `    - name: ${name}\n      path: ${JSON.stringify(dir)}\n`);
    return `name: ${PROJECT_NAME}\nruntime: nodejs\n${entries.length ? `plugins:\n  providers:\n${entries.join("")}` : ""}`;
}

/** Outer containers, volumes and networks carrying a stack's label, as "kind name" lines. */
export function labelled(label: string): string[] {
    const list = (kind: string, format: string) => dockerOk([kind, "ls", ...(kind === "container" ? ["-a"] : []), "--filter", `label=${label}`, "--format", format])
        .split("\n").filter(Boolean).map((name) => `${kind} ${name}`);
    return [...list("container", "{{.Names}}"), ...list("volume", "{{.Name}}"), ...list("network", "{{.Name}}")];
}

/** Removes what a stack left behind (only things carrying its label). */
export function removeLabelled(label: string) {
    for (const entry of labelled(label)) {
        const [kind, name] = entry.split(" ");
        docker(kind === "container" ? ["rm", "-f", "-v", name] : [kind, "rm", name]);
    }
}
/** A command (up, destroy, ...) run as `npm run <command>` runs it: a process of its own, in a process group of its own. */
export class DriverRun {
    readonly child: ChildProcess;
    output = "";
    readonly started = Date.now();
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number }>;

    constructor(command: string, args: string[]) {
        this.child = spawn(process.execPath, [path.join(REPO_ROOT, "commands", "bundled.js"), `commands/${command}.ts`, ...args], {
            cwd: REPO_ROOT,
            detached: true,
            env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const collect = (chunk: Buffer) => (this.output += chunk.toString("utf8"));
        this.child.stdout!.on("data", collect);
        this.child.stderr!.on("data", collect);
        this.exited = new Promise((resolve) => this.child.on("close", (code, signal) => resolve({ code, signal, seconds: (Date.now() - this.started) / 1000 })));
    }

    /** Waits until the output matches, failing after `timeoutMs` or when the run ends first. */
    async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<void> {
        let ended = false;
        void this.exited.then(() => (ended = true));
        const deadline = Date.now() + timeoutMs;
        while (!pattern.test(this.output)) {
            if (ended || Date.now() > deadline) throw new Error(`driver output never matched ${pattern}${ended ? " (it ended)" : ""}:\n${this.output.slice(-3000)}`);
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
    }

    /** Signals the whole process group, as a CI runner or Ctrl-C does. */
    killGroup(signal: NodeJS.Signals) {
        process.kill(-this.child.pid!, signal);
    }
}

/** Runs the driver to its end; fails with its output unless it exits with `expectCode`. */
export async function driver(command: string, args: string[], expectCode = 0): Promise<{ output: string; seconds: number }> {
    const run = new DriverRun(command, args);
    const { code, seconds } = await run.exited;
    if (code !== expectCode) throw new Error(`driver ${command} exited ${code}, expected ${expectCode}:\n${run.output.slice(-4000)}`);
    return { output: run.output, seconds };
}

/** Refuses to start next to a same-named container or volume of someone else; removes the suite's own leftovers. */
export function clearLeftovers(containers: string[], volumes: string[], stackPrefix: string) {
    for (const [kind, names] of [["container", containers], ["volume", volumes]] as const) {
        for (const name of names) {
            const result = docker([kind, "inspect", "--format", `{{index .${kind === "volume" ? "Labels" : "Config.Labels"} "${STACK_LABEL}"}}`, name]);
            if (result.status !== 0) continue;
            const label = result.stdout.trim();
            if (!label.startsWith(`${PROJECT_NAME}/${stackPrefix}`)) {
                throw new Error(`a ${kind} named ${name} exists and is not this suite's (label "${label}"): remove it or free the name; the suite will not touch it`);
            }
            docker(kind === "container" ? ["rm", "-f", "-v", name] : ["volume", "rm", name]);
        }
    }
}

/** After a suite, even a failed one: destroy, remove whatever still carries the stack's label, drop the stack. */
export async function tearDown(sut: StackUnderTest | undefined) {
    if (!sut) return;
    await sut.stack.destroy().catch((error: Error) => console.error(`destroy during cleanup failed: ${error.message}`));
    removeLabelled(sut.label);
    await sut.dispose();
}
