// The start-up step of a DinD host: waits until its inner daemon answers, watching the DinD
// container on the outer daemon. The container exits when dockerd exits, so a daemon that
// refuses its settings is noticed within a second or two (not at the readiness timeout), and
// the error quotes the last lines of the container's log: the daemon's own complaint.
import * as pulumi from "@pulumi/pulumi";
import { EngineEndpoint, engineRequest, readBody } from "./engineApi";

/** How many log lines a start-up failure quotes. */
export const FAILURE_LOG_LINES = 20;
/** How often the container is looked at while the inner daemon starts. */
const POLL_MS = 250;

export interface ReadinessInputs {
    /** The DinD host's name, for messages. */
    host: string;
    /** The outer daemon, where the DinD container runs. */
    outer: EngineEndpoint;
    containerId: string;
    timeoutSeconds: number;
    /** Limit on processes in the DinD container, applied here (the Docker provider has no such argument). */
    pidsLimit?: number;
    /** The inner daemon: when given, the MTU its default bridge uses is read back. */
    inner?: EngineEndpoint;
}

export interface ReadinessState extends ReadinessInputs {
    /** The inner default bridge's MTU (0 when no inner endpoint was given). */
    mtu: number;
}

// The functions below also run inside Pulumi's dynamic-provider process (serialized with the
// provider), so everything they use is required at call time or serialized with them.

interface ContainerState {
    Status: string;
    Running: boolean;
    Restarting: boolean;
    ExitCode: number;
    Error?: string;
    /** When the last run ended (RFC 3339; year 1 while the first run goes on). */
    FinishedAt?: string;
    Health?: { Status: string };
}

async function inspectContainer(outer: EngineEndpoint, id: string): Promise<{ State: ContainerState; RestartCount: number }> {
    const response = await engineRequest(outer, "GET", `/containers/${encodeURIComponent(id)}/json`, undefined, 10_000);
    const body = await readBody(response);
    if (response.statusCode !== 200) throw new Error(`inspecting container ${id}: HTTP ${response.statusCode} ${body.trim()}`);
    return JSON.parse(body);
}

/**
 * The last lines of a container's log, up to `until` ("seconds.nanoseconds") when given: the
 * restart policy starts the daemon again at once, and its complaint is at the end of the run that
 * failed, not of the one that follows. The stream is multiplexed (8-byte frame headers) without a TTY.
 */
export async function containerLogTail(outer: EngineEndpoint, id: string, lines: number, until?: string): Promise<string> {
    // Docker applies `tail` before `until`, so with `until` the whole log is read and cut here.
    const query = until === undefined ? `tail=${lines}` : `until=${until}`;
    const response = await engineRequest(outer, "GET", `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&${query}`, undefined, 10_000);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return demultiplex(Buffer.concat(chunks)).trimEnd().split("\n").slice(-lines).join("\n");
}

/** When the container's last run ended, as "seconds.nanoseconds" since the epoch; undefined while its first run goes on. */
export function lastExit(state: ContainerState): string | undefined {
    const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(state.FinishedAt ?? "");
    const seconds = match ? Date.parse(`${match[1]}${match[3]}`) / 1000 : NaN;
    if (Number.isNaN(seconds) || seconds <= 0) return undefined;
    return `${seconds}.${(match![2] ?? "").padEnd(9, "0").slice(0, 9)}`;
}

export function demultiplex(raw: Buffer): string {
    const multiplexed = raw.length >= 8 && raw[0] <= 2 && raw[1] === 0 && raw[2] === 0 && raw[3] === 0;
    if (!multiplexed) return raw.toString("utf8");
    const parts: Buffer[] = [];
    for (let offset = 0; offset + 8 <= raw.length;) {
        const size = raw.readUInt32BE(offset + 4);
        parts.push(raw.subarray(offset + 8, offset + 8 + size));
        offset += 8 + size;
    }
    return Buffer.concat(parts).toString("utf8");
}

/** Why the inner daemon is not coming up, or undefined while it still may. */
export function startFailure(info: { State: ContainerState; RestartCount: number }): string | undefined {
    const state = info.State;
    if (["exited", "dead"].includes(state.Status)) {
        return `its DinD container exited (exit code ${state.ExitCode}${state.Error ? `, ${state.Error}` : ""}): the inner daemon stopped`;
    }
    if (state.Restarting || info.RestartCount > 0) {
        return `its DinD container exited and its restart policy started it again (${info.RestartCount} restart${info.RestartCount === 1 ? "" : "s"}): the inner daemon stopped`;
    }
    if (state.Health?.Status === "unhealthy") return "its DinD container is unhealthy: the inner daemon does not answer";
    return undefined;
}

async function innerBridgeMtu(inner: EngineEndpoint): Promise<number> {
    const response = await engineRequest(inner, "GET", "/networks/bridge", undefined, 10_000);
    const body = await readBody(response);
    if (response.statusCode !== 200) throw new Error(`inspecting the inner bridge network: HTTP ${response.statusCode} ${body.trim()}`);
    return Number(JSON.parse(body).Options?.["com.docker.network.driver.mtu"] ?? 1500);
}

/** Applies the pids limit, then waits for a healthy container or fails fast with its log. */
export async function awaitInnerDaemon(inputs: ReadinessInputs): Promise<ReadinessState> {
    const { outer, containerId } = inputs;
    if (inputs.pidsLimit !== undefined) {
        const response = await engineRequest(outer, "POST", `/containers/${encodeURIComponent(containerId)}/update`,
            require("node:stream").Readable.from([JSON.stringify({ PidsLimit: inputs.pidsLimit })]), 10_000, "application/json");
        const body = await readBody(response);
        if (response.statusCode !== 200) throw new Error(`setting the pids limit of ${inputs.host}: HTTP ${response.statusCode} ${body.trim()}`);
    }
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    for (;;) {
        const info = await inspectContainer(outer, containerId);
        if (info.State.Health?.Status === "healthy") break;
        const failure = startFailure(info) ?? (Date.now() > deadline ? `its inner daemon did not answer within ${inputs.timeoutSeconds} s` : undefined);
        if (failure) {
            const log = await containerLogTail(outer, containerId, FAILURE_LOG_LINES, lastExit(info.State)).catch((error) => `(cannot read it: ${error.message})`);
            throw new Error(`DinD host ${inputs.host} did not start: ${failure}. Last lines of its log (docker logs ${inputs.host}):\n${log}`);
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return { ...inputs, mtu: inputs.inner ? await innerBridgeMtu(inputs.inner) : 0 };
}

export const readinessProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ReadinessInputs) {
        return { id: inputs.host, outs: await awaitInnerDaemon(inputs) };
    },
    async diff(_id: string, olds: ReadinessState, news: ReadinessInputs) {
        // A new container (or limit) is waited for again: an update, so a replaced host counts once.
        return { changes: olds.containerId !== news.containerId || olds.pidsLimit !== news.pidsLimit || Boolean(olds.inner) !== Boolean(news.inner) };
    },
    async update(_id: string, _olds: ReadinessState, news: ReadinessInputs) {
        return { outs: await awaitInnerDaemon(news) };
    },
    async read(id: string, props: ReadinessState) {
        return { id, props };
    },
};

export interface DindReadinessArgs {
    /** The DinD host's name, used in messages (required). @example "builder" */
    host: pulumi.Input<string>;
    /** The outer daemon (unix:// or tcp://), where the DinD container runs (required). @example { host: "unix:///var/run/docker.sock" } */
    outer: pulumi.Input<EngineEndpoint>;
    /** The DinD container: a new one is waited for again (required). @example host.container.id */
    containerId: pulumi.Input<string>;
    /** Seconds to wait for the inner daemon to answer (required; DindHost passes its readinessTimeout, 120 by default). @example 300 */
    timeoutSeconds: pulumi.Input<number>;
    /** Processes allowed in the DinD container. @default unlimited @example 4096 */
    pidsLimit?: pulumi.Input<number>;
    /** The inner daemon's endpoint, to read back its bridge MTU. @default none (mtu output 0) @example host.innerEndpoint */
    inner?: pulumi.Input<EngineEndpoint>;
}

/** Done once the DinD host's inner daemon answers; `mtu` is its default bridge's MTU. */
export class DindReadiness extends pulumi.dynamic.Resource {
    declare readonly containerId: pulumi.Output<string>;
    declare readonly mtu: pulumi.Output<number>;

    constructor(name: string, args: DindReadinessArgs, opts?: pulumi.CustomResourceOptions) {
        super(readinessProvider, name, { ...args, mtu: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["inner"] }), "dind", "DindReadiness");
    }
}
