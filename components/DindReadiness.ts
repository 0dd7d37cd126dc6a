// The start-up step of a DinD host: waits until its inner daemon answers. It runs in the
// program's own process while the engine runs an update (no plugin to start): with an endpoint it
// asks the inner daemon's /_ping every few tens of milliseconds, and it watches the DinD container
// on the outer daemon, which exits when dockerd exits, so a daemon that refuses its settings is
// noticed within a second (not at the readiness timeout) and the error quotes the container's log.
// Once the host is up, an update pays one ping; a preview waits for nothing and writes nothing.
import * as pulumi from "@pulumi/pulumi";
import { MTU_OPTION } from "./dockerd";
import { ContainerInspect, EngineClient, EngineEndpoint } from "./engineApi";
import { UserError } from "./errors";
import { DIND_READINESS_TYPE } from "./markers";
import { stepFailed, withoutDependencies } from "./stepResults";

/** How many log lines a start-up failure quotes. */
export const FAILURE_LOG_LINES = 20;
/** How often the inner daemon's /_ping is asked while it starts: a ping is a few ms on loopback. */
const PING_MS = 25;
/** How often the container is looked at (for an exit, or its health without an endpoint). */
const WATCH_MS = 250;
/** How long one ping may take: dockerd accepts connections before it serves them. */
const PING_TIMEOUT_MS = 1000;
/** How long any other call may take. */
const CALL_TIMEOUT_MS = 10_000;

export interface ReadinessInputs {
    /** The DinD host's name, for messages. */
    host: string;
    /** The outer daemon, where the DinD container runs. */
    outer: EngineEndpoint;
    containerId: string;
    timeoutSeconds: number;
    /** Limit on processes in the DinD container, applied here (the Docker provider has no such argument). */
    pidsLimit?: number;
    /** The inner daemon: when given, ready means its /_ping answers; without it, the container's health check says. */
    inner?: EngineEndpoint;
    /** Read back the MTU of the inner default bridge (needs `inner`). */
    readMtu?: boolean;
}

export interface ReadinessState {
    /** The inner default bridge's MTU (0 when it was not read). */
    mtu: number;
}

type ContainerState = ContainerInspect["State"];

/** A client for a daemon the readiness step asks, with its time limit for one call. */
function client(endpoint: EngineEndpoint, timeoutMs = CALL_TIMEOUT_MS): EngineClient {
    return new EngineClient(endpoint, { timeoutMs });
}

/**
 * The last lines of a container's log, up to `until` ("seconds.nanoseconds") when given: the
 * restart policy starts the daemon again at once, and its complaint is at the end of the run that
 * failed, not of the one that follows.
 */
export async function containerLogTail(outer: EngineEndpoint, id: string, lines: number, until?: string): Promise<string> {
    // Docker applies `tail` before `until`, so with `until` the whole log is read and cut here.
    const log = await client(outer).containerLogs(id, until === undefined ? { tail: lines } : { until });
    return log.trimEnd().split("\n").slice(-lines).join("\n");
}

/** When the container's last run ended, as "seconds.nanoseconds" since the epoch; undefined while its first run goes on. */
export function lastExit(state: ContainerState): string | undefined {
    const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(state.FinishedAt ?? "");
    const seconds = match ? Date.parse(`${match[1]}${match[3]}`) / 1000 : NaN;
    if (Number.isNaN(seconds) || seconds <= 0) return undefined;
    return `${seconds}.${(match![2] ?? "").padEnd(9, "0").slice(0, 9)}`;
}

/**
 * Why the inner daemon is not coming up, or undefined while it still may. Restarts count from
 * `restartsBefore`, the count when the wait began: an older restart (a daemon killed and brought
 * back by the restart policy) is not this start's failure. The health check counts only where it
 * is the readiness signal (`byHealth`): where readiness pings the daemon, the ping decides.
 */
export function startFailure(info: Pick<ContainerInspect, "State" | "RestartCount">, restartsBefore = 0, byHealth = true): string | undefined {
    const state = info.State;
    if (["exited", "dead", "created"].includes(state.Status)) {
        return `its DinD container ${state.Status === "created" ? "is not running" : "exited"} (exit code ${state.ExitCode}${state.Error ? `, ${state.Error}` : ""}): the inner daemon stopped`;
    }
    const restarts = info.RestartCount - restartsBefore;
    if (restarts > 0) {
        return `its DinD container exited and its restart policy started it again (${restarts} restart${restarts === 1 ? "" : "s"}): the inner daemon stopped`;
    }
    if (byHealth && state.Health?.Status === "unhealthy") return "its DinD container is unhealthy: the inner daemon does not answer";
    return undefined;
}

/** The MTU of the inner daemon's default bridge. */
export async function innerBridgeMtu(inner: EngineEndpoint): Promise<number> {
    const bridge = await client(inner).inspectNetwork("bridge");
    return Number(bridge.Options?.[MTU_OPTION] ?? 1500);
}

/** Applies the pids limit, then waits for the inner daemon to answer, or fails fast with the container's log. */
export async function awaitInnerDaemon(inputs: ReadinessInputs): Promise<ReadinessState> {
    const { outer, containerId, inner } = inputs;
    if (inputs.pidsLimit !== undefined) await client(outer).updateContainer(containerId, { PidsLimit: inputs.pidsLimit });
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    let restartsBefore: number | undefined;
    let watchAt = 0;
    for (;;) {
        if (inner && (await client(inner, PING_TIMEOUT_MS).ping().then(() => true, () => false))) break;
        if (Date.now() >= watchAt) {
            const info = await client(outer).inspectContainer(containerId);
            if (!info) throw new UserError(`DinD host ${inputs.host} did not start: its DinD container ${containerId} is gone from ${outer.host}`);
            if (!inner && info.State.Health?.Status === "healthy") break;
            restartsBefore ??= info.RestartCount;
            const failure = startFailure(info, restartsBefore, !inner) ?? (Date.now() > deadline ? `its inner daemon did not answer within ${inputs.timeoutSeconds} s` : undefined);
            if (failure) {
                const log = await containerLogTail(outer, containerId, FAILURE_LOG_LINES, lastExit(info.State)).catch((error) => `(cannot read it: ${error.message})`);
                throw new UserError(`DinD host ${inputs.host} did not start: ${failure}. Last lines of its log (docker logs ${inputs.host}):\n${log}`);
            }
            watchAt = Date.now() + WATCH_MS;
        }
        await new Promise((resolve) => setTimeout(resolve, inner ? PING_MS : WATCH_MS));
    }
    return { mtu: inner && inputs.readMtu ? await innerBridgeMtu(inner) : 0 };
}

/** What the readiness step does on the daemons; the unit suite replaces it with a fake. */
export interface ReadinessCheck {
    /** Waits for the inner daemon (during an update). */
    awaitInnerDaemon(inputs: ReadinessInputs): Promise<ReadinessState>;
    /** Reads the inner bridge's MTU once, without waiting (during a preview). */
    innerBridgeMtu(inner: EngineEndpoint): Promise<number>;
}

/** The readiness check over the Engine API. */
export const engineReadinessCheck: ReadinessCheck = { awaitInnerDaemon, innerBridgeMtu };

export interface DindReadinessArgs {
    /** The DinD host's name, used in messages (required). @example "builder" */
    host: string;
    /** The outer daemon (unix:// or tcp://), where the DinD container runs (required). @example { host: "unix:///var/run/docker.sock" } */
    outer: EngineEndpoint;
    /** The DinD container (required). @example host.container.id */
    containerId: pulumi.Input<string>;
    /** Seconds to wait for the inner daemon to answer (required; DindHost passes its readinessTimeout, 120 by default). @example 300 */
    timeoutSeconds: number;
    /** Processes allowed in the DinD container. @default unlimited @example 4096 */
    pidsLimit?: number;
    /**
     * The inner daemon's endpoint: readiness is its /_ping answering. Without it, the container's health check decides.
     * @default none
     * @example host.innerEndpoint
     */
    inner?: pulumi.Input<EngineEndpoint>;
    /** Read back the MTU of the inner default bridge (dockerd's `mtu: auto`; needs `inner`). @default false @example true */
    readMtu?: boolean;
    /** What the step does on the daemons. @default engineReadinessCheck (the Engine API) @example a fake, in unit tests */
    check?: ReadinessCheck;
}

/**
 * Done once the DinD host's inner daemon answers: `containerId` resolves then, so whatever is
 * derived from it (the inner provider) waits; `mtu` is the inner default bridge's MTU.
 */
export class DindReadiness extends pulumi.ComponentResource {
    /** The DinD container's id, known once its inner daemon answers. */
    readonly containerId: pulumi.Output<string>;
    /** The inner default bridge's MTU (0 unless `readMtu`). */
    readonly mtu: pulumi.Output<number>;

    constructor(name: string, args: DindReadinessArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(DIND_READINESS_TYPE, name, {}, opts);
        const check = args.check ?? engineReadinessCheck;
        const resource = this;
        const state = pulumi.all([args.containerId, args.inner]).apply(async ([containerId, inner]): Promise<ReadinessState> => {
            if (!pulumi.runtime.isDryRun()) {
                return check.awaitInnerDaemon({
                    host: args.host, outer: args.outer, containerId, timeoutSeconds: args.timeoutSeconds, pidsLimit: args.pidsLimit, inner, readMtu: args.readMtu,
                }).catch((error: Error) => stepFailed(resource, error));
            }
            // A preview waits for nothing; it reads the MTU back when the daemon answers, else leaves it unknown.
            if (!args.readMtu || !inner) return { mtu: 0 };
            return check.innerBridgeMtu(inner).then((mtu) => ({ mtu }), () => pulumi.unknown as unknown as ReadinessState);
        });
        // Neither is secret, though the endpoint they were read with holds a key. The id keeps the container as
        // a dependency (the inner provider's host); the MTU, which nested networks take, does not.
        this.containerId = pulumi.unsecret(pulumi.all([args.containerId, state]).apply(([containerId]) => containerId));
        this.mtu = withoutDependencies(pulumi.unsecret(state.apply((s) => s.mtu)));
        this.registerOutputs({ containerId: this.containerId, mtu: this.mtu });
    }
}
