// The start-up step of a registry of the stack: done once its /v2/ answers. Like a DinD host's
// readiness (DindReadiness), it runs in the program's own process while the engine runs an update,
// and it watches the registry's container on the outer daemon: a container that exits fails the
// update at once, and one whose /v2/ does not answer within the timeout (a pull-through cache whose
// remote is unreachable does not listen until its first request there gives up) fails it then,
// naming the registry and quoting its own log. DinD hosts that mirror the registry join its network
// only once it is ready, so they never start against a registry that is not there.
import * as http from "node:http";
import * as https from "node:https";
import * as pulumi from "@pulumi/pulumi";
import { containerLogTail, FAILURE_LOG_LINES, lastExit } from "./DindReadiness";
import { ContainerInspect, EngineClient, EngineEndpoint } from "./engineApi";
import { UserError } from "./errors";
import { REGISTRY_READINESS_TYPE } from "./markers";
import { stepFailed } from "./stepResults";

/** How often /v2/ is asked while the registry starts, and how long one answer may take. */
const PROBE_MS = 100;
const PROBE_TIMEOUT_MS = 2000;
/** How often the container is looked at (for an exit, or its log when /v2/ cannot be reached from here). */
const WATCH_MS = 250;
/** What distribution logs once it listens: the signal when its published port cannot be reached from here. */
const LISTENING = /listening on /;

export interface RegistryReadinessInputs {
    /** The registry's name, for messages. */
    registry: string;
    /** The outer daemon its container runs on. */
    outer: EngineEndpoint;
    containerId: string;
    timeoutSeconds: number;
    /**
     * Its /v2/ as reached from here (https with the stack's CA, or http). Undefined when its port is
     * not reachable from this machine (a loopback bind on a remote daemon): then its log says when it listens.
     */
    probe?: { url: string; ca?: string };
    /** A pull-through cache's remote registry, which the message names. */
    remote?: string;
}

/** GET url: resolves with the HTTP status, or rejects when nothing answers. */
function httpStatus(url: string, ca: string | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
        const transport = url.startsWith("https:") ? https : http;
        const request = transport.get(url, { ca, timeout: PROBE_TIMEOUT_MS }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
        });
        request.on("timeout", () => request.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
        request.on("error", reject);
    });
}

/** Why the registry's container is not coming up, or undefined while it may. */
export function registryStartFailure(info: Pick<ContainerInspect, "State" | "RestartCount">, restartsBefore: number): string | undefined {
    const state = info.State;
    if (["exited", "dead", "created"].includes(state.Status)) {
        return `its container ${state.Status === "created" ? "is not running" : "exited"} (exit code ${state.ExitCode}${state.Error ? `, ${state.Error}` : ""})`;
    }
    const restarts = info.RestartCount - restartsBefore;
    if (restarts > 0) return `its container exited and its restart policy started it again (${restarts} restart${restarts === 1 ? "" : "s"})`;
    return undefined;
}

/** Waits until the registry's /v2/ answers (any HTTP answer: a registry with a password says 401), or fails with its log. */
export async function awaitRegistry(inputs: RegistryReadinessInputs): Promise<void> {
    const outer = new EngineClient(inputs.outer, { timeoutMs: 10_000 });
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    let restartsBefore: number | undefined;
    let watchAt = 0;
    let lastProbe = "not asked yet";
    for (;;) {
        if (inputs.probe) {
            const status = await httpStatus(inputs.probe.url, inputs.probe.ca).then((s) => s, (error: Error) => error.message);
            if (typeof status === "number" && status < 500) return;
            lastProbe = typeof status === "number" ? `HTTP ${status}` : status;
        }
        if (Date.now() >= watchAt) {
            const info = await outer.inspectContainer(inputs.containerId);
            if (!info) throw new UserError(`registry ${inputs.registry} did not start: its container ${inputs.containerId} is gone from ${inputs.outer.host}`);
            restartsBefore ??= info.RestartCount;
            const failure = registryStartFailure(info, restartsBefore);
            const log = !failure && !inputs.probe ? await containerLogTail(inputs.outer, inputs.containerId, 200) : "";
            if (!failure && !inputs.probe && LISTENING.test(log)) return;
            const timedOut = Date.now() > deadline
                ? `its /v2/ did not answer within ${inputs.timeoutSeconds} s${inputs.probe ? ` (${inputs.probe.url}: ${lastProbe})` : " (its log never said it listens)"}`
                : undefined;
            if (failure || timedOut) {
                const tail = await containerLogTail(inputs.outer, inputs.containerId, FAILURE_LOG_LINES, failure ? lastExit(info.State) : undefined)
                    .catch((error: Error) => `(cannot read it: ${error.message})`);
                const hint = inputs.remote ? ` It is a pull-through cache of ${inputs.remote}, and such a cache does not listen until its first request `
                    + `there ends: check that ${inputs.remote} answers from its container.` : "";
                throw new UserError(`registry ${inputs.registry} is not ready: ${failure ?? timedOut}.${hint} `
                    + `Last lines of its log (docker logs ${inputs.registry}):\n${tail || "(empty)"}`);
            }
            watchAt = Date.now() + WATCH_MS;
        }
        await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
    }
}

/** What the readiness step does on the daemons; the unit suite replaces it with a fake. */
export interface RegistryReadinessCheck {
    awaitRegistry(inputs: RegistryReadinessInputs): Promise<void>;
}

/** The readiness check over the Engine API and HTTP. */
export const engineRegistryReadiness: RegistryReadinessCheck = { awaitRegistry };

export interface RegistryReadinessArgs {
    /** The registry's name, used in messages (required). @example "hub-cache" */
    registry: string;
    /** The outer daemon its container runs on (required). @example { host: "unix:///var/run/docker.sock" } */
    outer: EngineEndpoint;
    /** The registry's container (required). @example registry.container.id */
    containerId: pulumi.Input<string>;
    /** Seconds to wait for /v2/ (required; DindRegistry passes its readinessTimeout, 20 by default). @example 60 */
    timeoutSeconds: number;
    /** /v2/ as reached from here, with the CA to trust. @default none: its log says when it listens @example { url: "https://127.0.0.1:5000/v2/", ca: registry.caCert } */
    probe?: pulumi.Input<{ url: string; ca?: string } | undefined>;
    /** A pull-through cache's remote registry, named when it fails. @default none @example "https://registry-1.docker.io" */
    remote?: string;
    /** What the step does on the daemons. @default engineRegistryReadiness @example a fake, in unit tests */
    check?: RegistryReadinessCheck;
}

/** Done once the registry's /v2/ answers: `containerId` resolves then, so what is derived from it waits. */
export class RegistryReadiness extends pulumi.ComponentResource {
    /** The registry container's id, known once its /v2/ answers. */
    readonly containerId: pulumi.Output<string>;

    constructor(name: string, args: RegistryReadinessArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(REGISTRY_READINESS_TYPE, name, {}, opts);
        const check = args.check ?? engineRegistryReadiness;
        const resource = this;
        this.containerId = pulumi.all([args.containerId, args.probe]).apply(async ([containerId, probe]) => {
            // A preview waits for nothing.
            if (!pulumi.runtime.isDryRun()) {
                await check.awaitRegistry({
                    registry: args.registry, outer: args.outer, containerId, timeoutSeconds: args.timeoutSeconds, probe, remote: args.remote,
                })
                    .catch((error: Error) => stepFailed(resource, error));
            }
            return containerId;
        });
        this.registerOutputs({ containerId: this.containerId });
    }
}
