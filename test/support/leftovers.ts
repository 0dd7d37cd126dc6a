// The real lane's leftover check, as mocha root hooks (`--require test/support/leftovers.ts`): a
// container, volume or network the suite made that still exists when the suite ends fails the run,
// unnamed volumes included (Docker gives a container one per VOLUME its image declares where
// nothing is mounted, and keeps it when the container is removed without -v). Docker's events say
// what was made while the suite ran; it keeps only its last 256, so they are watched as they come.
//
// The suite's objects are those of its stacks (named <prefix>-<pid of this process>, or one of
// FIXED_STACKS), those its tests make by hand (label dind-provisioner.test), those a DooD client
// of its stacks makes through its policy proxy (told by the client's name on the stacks' proxy
// containers), and the unnamed volumes their containers mounted. The machine is shared: anything
// else made meanwhile (another run's DooD clients' objects too) is not the suite's and is not reported.
import { ChildProcess, spawn } from "node:child_process";
import { CLIENT_LABEL, DOOD_OWNER_LABEL, STACK_LABEL, TEST_LABEL } from "../../components/markers";
import { PROJECT_NAME } from "../../driver/stack";
import { docker } from "./harness";

/** Stacks of the suite that do not end with the pid of the process running it. */
const FIXED_STACKS = ["reg-config", "reg-bad", "lh-cli", "lh-policy"];

interface DockerEvent {
    Type: "container" | "volume" | "network";
    Action: string;
    Actor: { ID: string; Attributes: Record<string, string> };
}

/** True for labels of an object one of the suite's stacks made, or one of its tests by hand. */
function isTheStacks(labels: Record<string, string> | null | undefined): boolean {
    if (!labels) return false;
    const stack = labels[STACK_LABEL]?.startsWith(`${PROJECT_NAME}/`) ? labels[STACK_LABEL].slice(PROJECT_NAME.length + 1) : undefined;
    return (stack !== undefined && (stack.endsWith(`-${process.pid}`) || FIXED_STACKS.includes(stack))) || TEST_LABEL in labels;
}

/** True for labels of an object the suite made: its stacks', its tests', or one a DooD client of its stacks (`clients`) made. */
function isTheSuites(labels: Record<string, string> | null | undefined, clients: Set<string>): boolean {
    return isTheStacks(labels) || (labels?.[DOOD_OWNER_LABEL] !== undefined && clients.has(labels[DOOD_OWNER_LABEL]));
}

let watcher: ChildProcess | undefined;
const events: DockerEvent[] = [];

/** The labels an object has now; undefined when it is gone. */
function labelsNow(kind: "container" | "volume" | "network", id: string): Record<string, string> | null | undefined {
    const result = docker([kind, "inspect", "--format", kind === "container" ? "{{json .Config.Labels}}" : "{{json .Labels}}", id]);
    return result.status === 0 ? JSON.parse(result.stdout) : undefined;
}

/** What the suite made that is still there, one line each. */
export function leftovers(seen: DockerEvent[]): string[] {
    const created = (type: DockerEvent["Type"]) => [...new Set(seen.filter((e) => e.Type === type && e.Action === "create").map((e) => e.Actor.ID))];
    // A container event carries the container's labels among its attributes; a policy proxy's names its client.
    const containerCreates = seen.filter((e) => e.Type === "container" && e.Action === "create");
    const clients = new Set(containerCreates.filter((e) => isTheStacks(e.Actor.Attributes) && e.Actor.Attributes[CLIENT_LABEL] !== undefined)
        .map((e) => e.Actor.Attributes[CLIENT_LABEL]));
    const suiteContainers = new Set(containerCreates.filter((e) => isTheSuites(e.Actor.Attributes, clients)).map((e) => e.Actor.ID));
    const mountedBySuite = new Set(seen.filter((e) => e.Type === "volume" && e.Action === "mount" && suiteContainers.has(e.Actor.Attributes.container)).map((e) => e.Actor.ID));
    const left: string[] = [];
    for (const id of suiteContainers) {
        if (labelsNow("container", id) !== undefined) left.push(`container ${docker(["inspect", "--format", "{{.Name}}", id]).stdout.trim().replace(/^\//, "")} (${id.slice(0, 12)})`);
    }
    for (const name of created("volume")) {
        const labels = labelsNow("volume", name);
        if (labels === undefined) continue;
        if (isTheSuites(labels, clients)) left.push(`volume ${name}`);
        else if (mountedBySuite.has(name) && /^[0-9a-f]{64}$/.test(name)) left.push(`unnamed volume ${name} (a container of the suite's mounted it)`);
    }
    for (const id of created("network")) {
        if (isTheSuites(labelsNow("network", id), clients)) left.push(`network ${docker(["network", "inspect", "--format", "{{.Name}}", id]).stdout.trim()}`);
    }
    return left;
}

export const mochaHooks = {
    beforeAll(this: Mocha.Context, done: Mocha.Done) {
        watcher = spawn("docker", ["events", "--format", "{{json .}}", "--filter", "type=container", "--filter", "type=volume", "--filter", "type=network",
            "--filter", "event=create", "--filter", "event=mount"], { stdio: ["ignore", "pipe", "inherit"] });
        let buffer = "";
        watcher.stdout!.on("data", (chunk: Buffer) => {
            buffer += chunk.toString("utf8");
            const lines = buffer.split("\n");
            buffer = lines.pop()!;
            for (const line of lines.filter(Boolean)) events.push(JSON.parse(line));
        });
        // `docker events` prints nothing until an event comes: give it a moment to subscribe.
        setTimeout(done, 500);
    },
    afterAll(this: Mocha.Context) {
        watcher?.kill();
        const left = leftovers(events);
        if (left.length > 0) throw new Error(`the suite left these behind (remove them, and fix what made them):\n  ${left.join("\n  ")}`);
    },
};
