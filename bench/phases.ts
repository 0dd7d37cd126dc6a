// Where the time of a cold `up` and of a no-op `preview` goes, read off the engine's event stream,
// and the fleet stacks.
import { EngineEvent } from "@pulumi/pulumi/automation";
import { DIND_HOST_TYPE, DIND_READINESS_TYPE, DIND_WORKLOADS_TYPE, DOCKER_CONTAINER_TYPE, IMAGE_PRELOAD_TYPE, isComponentType } from "../components/markers";

export const PHASES = ["engineAndProgramStart", "imagesAndCertificates", "dindReadiness", "preload", "nestedCreation", "finish"] as const;
export type Phase = (typeof PHASES)[number];

export const PHASE_LABELS: Record<Phase, string> = {
    engineAndProgramStart: "engine and program start (CLI, program run, plugin load)",
    imagesAndCertificates: "image lookup, volume, certificates",
    dindReadiness: "DinD readiness wait (create, start, first /_ping answer)",
    preload: "preload",
    nestedCreation: "nested creation (network, containers)",
    finish: "finish (state save, CLI exit)",
};

export const PREVIEW_PHASES = ["engineStart", "programAndPlugin", "resourceDiffs", "finish"] as const;
export type PreviewPhase = (typeof PREVIEW_PHASES)[number];

export const PREVIEW_PHASE_LABELS: Record<PreviewPhase, string> = {
    engineStart: "CLI and engine start (state, secrets, until the stack's step)",
    programAndPlugin: "program start and the first provider (until the first resource's step)",
    resourceDiffs: "resource steps (checks and diffs along the dependencies, plugin starts)",
    finish: "finish (summary, CLI exit)",
};

interface Step { pre?: number; done?: number }

/** The type part of a URN: "parent$child" types joined by $. */
const typeOf = (urn: string) => urn.split("::")[2] ?? "";

/** Whether a URN is a resource nested in a DinD host (created through its inner daemon's provider). */
export const isNested = (urn: string | undefined): boolean => urn !== undefined && typeOf(urn).includes(`${DIND_WORKLOADS_TYPE}$`);

/** Every step's pre event and outputs event (the last of each), by URN. */
function stepsOf(events: { at: number; event: EngineEvent }[]): Map<string, Step> {
    const steps = new Map<string, Step>();
    for (const { at, event } of events) {
        const pre = event.resourcePreEvent?.metadata;
        const done = event.resOutputsEvent?.metadata;
        if (pre) steps.set(pre.urn, { ...steps.get(pre.urn), pre: at });
        if (done) steps.set(done.urn, { ...steps.get(done.urn), done: at });
    }
    return steps;
}

/**
 * Splits a cold up of one DinD host into phases along its critical path: start, what the DinD
 * container waits for, the container until healthy, the preload, the nested resources, the end.
 */
export function phaseDurations(events: { at: number; event: EngineEvent }[], total: number): Record<Phase, number> {
    const steps = stepsOf(events);
    const matching = (test: (type: string) => boolean) => [...steps.entries()].filter(([urn]) => test(typeOf(urn))).map(([, s]) => s);
    const first = (list: Step[], key: keyof Step) => Math.min(...list.map((s) => s[key] ?? Infinity));
    const last = (list: Step[], key: keyof Step) => Math.max(...list.map((s) => s[key] ?? -Infinity));

    const custom = matching((t) => !t.endsWith("pulumi:pulumi:Stack") && !isComponentType(t.split("$").pop()!));
    const dind = matching((t) => t.endsWith(`${DIND_HOST_TYPE}$${DOCKER_CONTAINER_TYPE}`));
    // The host is ready when its readiness step is done (the container's create ends when it starts).
    const ready = matching((t) => t.endsWith(DIND_READINESS_TYPE));
    const preload = matching((t) => t.endsWith(IMAGE_PRELOAD_TYPE));
    const nested = [...steps.entries()].filter(([urn]) => isNested(urn)).map(([, s]) => s);
    const start = first(custom, "pre");
    const phases: Record<Phase, number> = {
        engineAndProgramStart: start,
        imagesAndCertificates: first(dind, "pre") - start,
        dindReadiness: last(ready, "done") - first(dind, "pre"),
        preload: last(preload, "done") - last(ready, "done"),
        nestedCreation: last(nested, "done") - last(preload, "done"),
        finish: total - last(nested, "done"),
    };
    for (const phase of PHASES) if (!Number.isFinite(phases[phase])) throw new Error(`phase ${phase} not found in the event stream`);
    return phases;
}

/**
 * Splits a no-op preview into phases: the CLI and engine until the stack's own step, the program
 * until the first resource's step (it waits for the first provider's plugin), the resource steps
 * (each a check and a diff, in dependency order, other plugins starting on the way), the end.
 */
export function previewPhaseDurations(events: { at: number; event: EngineEvent }[], total: number): Record<PreviewPhase, number> {
    const steps = [...stepsOf(events).entries()];
    const stack = steps.filter(([urn]) => typeOf(urn).endsWith("pulumi:pulumi:Stack")).map(([, s]) => s.pre ?? Infinity);
    const resources = steps.filter(([urn]) => !typeOf(urn).endsWith("pulumi:pulumi:Stack"));
    const stackStep = Math.min(...stack);
    const firstResource = Math.min(...resources.map(([, s]) => s.pre ?? Infinity));
    const lastDone = Math.max(...steps.map(([, s]) => s.done ?? -Infinity));
    const phases: Record<PreviewPhase, number> = {
        engineStart: stackStep,
        programAndPlugin: firstResource - stackStep,
        resourceDiffs: lastDone - firstResource,
        finish: total - lastDone,
    };
    for (const phase of PREVIEW_PHASES) if (!Number.isFinite(phases[phase])) throw new Error(`preview phase ${phase} not found in the event stream`);
    return phases;
}

/** A stack file with N DinD hosts, each with mutual TLS, a preloaded image and three nested web servers; host I is PREFIX-fleet-I on FIRSTPORT + I - 1. */
export function fleetStackFile(hosts: number, prefix = "bench", firstPort = 23811): string {
    const lines = ["hosts:"];
    for (let i = 1; i <= hosts; i++) {
        lines.push(
            `  ${prefix}-fleet-${i}:`,
            "    image: dind-provisioner/dind:local",
            `    tcp: { port: ${firstPort + i - 1} }`,
            "    preload: [dind-provisioner/busybox:local]",
            "    workloads:",
            "      networks: [app]",
            "      containers:",
        );
        for (let web = 1; web <= 3; web++) {
            lines.push(`        web-${web}: { image: dind-provisioner/busybox:local, networks: [app], ports: [{ internal: 8080, external: ${8080 + web} }], ` +
                `command: [sh, -c, "echo web-${web} > /index.html && exec httpd -f -p 8080 -h /"] }`);
        }
    }
    return `${lines.join("\n")}\n`;
}
