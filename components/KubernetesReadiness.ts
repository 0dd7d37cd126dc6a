// The start-up step of a DinD host on Kubernetes: waits until the StatefulSet's pod of the current
// revision is Ready (its probe asks the inner daemon) and the inner daemon answers through the
// Service from this machine. Like DindReadiness it runs in the program's own process during an
// update, and it reads what the cluster says while it waits, so a pod that cannot start fails the
// update with the cluster's own reason within seconds, not at a timeout: the StatefulSet
// controller's refusal (admission), an image that cannot be pulled, a claim that cannot be
// provisioned, a pod that cannot be scheduled, a sandbox that cannot be made, a daemon that exits
// (with its last log lines). A preview waits for nothing.
import * as pulumi from "@pulumi/pulumi";
import { stepFailed } from "./stepResults";
import { EngineClient, EngineEndpoint } from "./engineApi";
import { KUBERNETES_READINESS_TYPE } from "./markers";
import { apiMessage, describeEvents, KubeAccess, kubeConnection, KubeConnection, KubeEvent, kubeGet, kubeRequest, objectEvents } from "./kubeApi";

/** How often the pod is looked at while it starts. */
const WATCH_MS = 1000;
/** How often the inner daemon is pinged once the pod is Ready (kube-proxy may still be programming the Service). */
const PING_MS = 250;
const PING_TIMEOUT_MS = 2000;
/** A pod the scheduler cannot place for this long has failed (placing one with a claim takes a few seconds). */
const UNSCHEDULABLE_GRACE_MS = 20_000;
/** Warning events repeated this often mean the kubelet keeps failing (sandbox, mounts). */
const REPEATED_WARNING = 3;
/** Events older than the wait (by the API server's clock) by more than this belong to an earlier run. */
const EVENT_SKEW_MS = 10_000;
/** The API server stamps an update to the second: an update this close before the wait began is the wait's own. */
const UPDATE_STAMP_MS = 2000;
/** How many log lines a daemon that exited quotes. */
const FAILURE_LOG_LINES = 20;

/** Waiting reasons the kubelet reports for a container that will not start as things are. */
const FATAL_WAITING = new Set(["ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CrashLoopBackOff"]);
const REPEATED_WARNINGS = new Set(["FailedCreatePodSandBox", "FailedMount", "FailedAttachVolume", "FailedScheduling"]);

export interface KubernetesReadinessInputs {
    /** The DinD host's name, for messages. */
    host: string;
    access: KubeAccess;
    namespace: string;
    statefulSet: string;
    /** The StatefulSet's generation after this update: the controller must have seen it. */
    generation: number;
    /** The claim on /var/lib/docker, whose provisioning failures are reported. */
    claim: string;
    /** The inner daemon through the Service, with the client's TLS material. */
    inner: EngineEndpoint;
    timeoutSeconds: number;
}

export interface KubernetesReadinessState {
    /** The node the pod runs on. */
    node: string;
    /** The pod's address (reached from the cluster's nodes and pods). */
    podIP: string;
}

interface Pod {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status: {
        phase?: string;
        reason?: string;
        message?: string;
        podIP?: string;
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
        containerStatuses?: {
            name: string;
            ready: boolean;
            restartCount: number;
            state?: { waiting?: { reason?: string; message?: string }; terminated?: { exitCode: number; reason?: string } };
            lastState?: { terminated?: { exitCode: number; reason?: string; finishedAt?: string } };
        }[];
    };
}

interface StatefulSet {
    metadata: { generation?: number; managedFields?: { time?: string }[] };
    status?: { observedGeneration?: number; updateRevision?: string };
}

function isReady(pod: Pod): boolean {
    return pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** One event object: the API server counts its repeats on it. */
function eventKey(event: KubeEvent): string {
    return event.metadata?.name ?? `${event.reason}/${event.message}`;
}

/** What one look at the cluster found: ready, still starting (with what it is doing), or failed. */
type Look = { ready: Pod } | { starting: string } | { failed: string; events?: KubeEvent[]; log?: string };

class Watch {
    private readonly pod: string;
    private readonly started: Promise<number>;
    private readonly since: Promise<number>;
    /** The StatefulSet's events when the wait began, by name, with their counts. */
    private readonly setEventsBefore: Promise<Map<string, number>>;
    private restartsBefore?: number;
    private unschedulableSince?: number;
    private deletedBroken = false;

    constructor(private readonly connection: KubeConnection, private readonly inputs: KubernetesReadinessInputs) {
        this.pod = `${inputs.statefulSet}-0`;
        this.started = this.serverTime();
        this.since = this.started.then((now) => now - EVENT_SKEW_MS);
        this.setEventsBefore = objectEvents(connection, inputs.namespace, "StatefulSet", inputs.statefulSet)
            .then((events) => new Map(events.map((e) => [eventKey(e), e.count ?? 1])), () => new Map());
    }

    private path(kind: string, name: string, group = "api/v1") {
        return `/${group}/namespaces/${encodeURIComponent(this.inputs.namespace)}/${kind}/${encodeURIComponent(name)}`;
    }

    /** The API server's clock (its Date header), so that event times compare with the cluster's. */
    private async serverTime(): Promise<number> {
        const answer = await kubeRequest(this.connection, "GET", "/version");
        return answer.date ? Date.parse(answer.date) : Date.now();
    }

    /**
     * Events about an object of this wait: since shortly before it began (by the server's clock),
     * and not before `updated` (the update that started it), so an earlier run's are not this one's.
     */
    private async recentEvents(kind: string, name: string, updated = 0): Promise<KubeEvent[]> {
        const since = Math.max(await this.since, updated);
        return (await objectEvents(this.connection, this.inputs.namespace, kind, name))
            .filter((e) => Date.parse(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? "") >= since);
    }

    /**
     * The StatefulSet controller's events of this wait. It retries a refused pod in the background
     * between runs, so an event stamped after the update is this wait's only when the update is
     * (this run changed the StatefulSet); otherwise only an event new or repeated since the wait
     * began is: after a cause is lifted, the refusals of the run before are not this one's.
     */
    private async refusals(set: StatefulSet): Promise<KubeEvent[]> {
        const updated = Math.max(0, ...(set.metadata.managedFields ?? []).map((f) => Date.parse(f.time ?? "") || 0));
        const ownUpdate = updated >= await this.started - UPDATE_STAMP_MS;
        const before = await this.setEventsBefore;
        return (await this.recentEvents("StatefulSet", this.inputs.statefulSet, ownUpdate ? updated - 1000 : 0))
            .filter((e) => ownUpdate || (e.count ?? 1) > (before.get(eventKey(e)) ?? 0));
    }

    async look(): Promise<Look> {
        const set = await kubeGet<StatefulSet>(this.connection, this.path("statefulsets", this.inputs.statefulSet, "apis/apps/v1"));
        if (!set) return { failed: `its StatefulSet ${this.inputs.statefulSet} does not exist (deleted behind Pulumi's back? run refresh, then up)` };
        if ((set.status?.observedGeneration ?? 0) < this.inputs.generation) return { starting: "the StatefulSet controller has not seen the update yet" };
        const pod = await kubeGet<Pod>(this.connection, this.path("pods", this.pod));
        const current = pod && !pod.metadata.deletionTimestamp && pod.metadata.labels?.["controller-revision-hash"] === set.status?.updateRevision;
        if (pod && !current && !pod.metadata.deletionTimestamp && !isReady(pod)) return this.replaceBroken();
        if (!pod || !current) {
            const refused = (await this.refusals(set)).filter((e) => e.reason === "FailedCreate");
            if (refused.length > 0) return { failed: `the StatefulSet controller cannot create its pod ${this.pod}: ${refused[refused.length - 1].message}`, events: refused };
            return { starting: pod ? `pod ${this.pod} of the previous revision is being replaced` : `pod ${this.pod} is not created yet` };
        }
        return this.lookAtPod(pod);
    }

    /**
     * A StatefulSet never replaces a pod of an earlier revision that is not Ready (its rolling update
     * waits for it to become Ready first, which a pod that cannot pull its image or whose daemon
     * exits never does): the fixed spec would never run. The broken pod serves nothing, so it goes,
     * and the controller creates it again at the current revision.
     */
    private async replaceBroken(): Promise<Look> {
        const what = `pod ${this.pod} of the previous revision is not ready, and a StatefulSet does not replace such a pod by itself`;
        if (this.deletedBroken) return { starting: `${what}: deleted it, the StatefulSet controller creates it again` };
        const answer = await kubeRequest(this.connection, "DELETE", this.path("pods", this.pod));
        if (answer.status === 200 || answer.status === 202 || answer.status === 404) {
            this.deletedBroken = true;
            return { starting: `${what}: deleted it, the StatefulSet controller creates it again` };
        }
        return { starting: `${what}, and it cannot be deleted from here (${apiMessage(answer)}): kubectl -n ${this.inputs.namespace} delete pod ${this.pod}` };
    }

    private async lookAtPod(pod: Pod): Promise<Look> {
        const status = pod.status;
        const dind = status.containerStatuses?.find((c) => c.name === "dind");
        const scheduled = status.conditions?.find((c) => c.type === "PodScheduled");
        const events = () => this.recentEvents("Pod", this.pod);
        if (status.phase === "Failed") return { failed: `pod ${this.pod} failed (${status.reason ?? "no reason"}: ${status.message ?? ""})`, events: await events() };
        if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
            const claimEvents = (await this.recentEvents("PersistentVolumeClaim", this.inputs.claim)).filter((e) => e.type === "Warning");
            const provisioning = claimEvents.filter((e) => e.reason === "ProvisioningFailed");
            if (provisioning.length > 0) {
                return { failed: `its claim ${this.inputs.claim} cannot be provisioned: ${provisioning[provisioning.length - 1].message}`, events: claimEvents };
            }
            this.unschedulableSince ??= Date.now();
            if (Date.now() - this.unschedulableSince > UNSCHEDULABLE_GRACE_MS) {
                return { failed: `pod ${this.pod} cannot be scheduled: ${scheduled.message}`, events: [...claimEvents, ...await events()] };
            }
            return { starting: `pod ${this.pod} is not scheduled yet: ${scheduled.message}` };
        }
        this.unschedulableSince = undefined;
        if (dind) {
            this.restartsBefore ??= dind.restartCount;
            const waiting = dind.state?.waiting;
            if (dind.restartCount > this.restartsBefore || waiting?.reason === "CrashLoopBackOff") {
                const last = dind.lastState?.terminated;
                return {
                    failed: `its dind container exited${last ? ` (exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ""})` : ""} and the kubelet started it again: the inner daemon stopped`,
                    log: await this.logTail(true),
                };
            }
            if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
                return { failed: `its dind container cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`, events: await events() };
            }
            if (dind.ready) return { ready: pod };
        }
        const repeated = (await events()).filter((e) => e.type === "Warning" && REPEATED_WARNINGS.has(e.reason) && (e.count ?? 1) >= REPEATED_WARNING);
        if (repeated.length > 0) return { failed: `pod ${this.pod} keeps failing: ${repeated[repeated.length - 1].reason}: ${repeated[repeated.length - 1].message}`, events: repeated };
        return { starting: `pod ${this.pod} is ${status.phase ?? "Pending"} on ${pod.spec.nodeName ?? "no node yet"}${dind?.state?.waiting?.reason ? ` (${dind.state.waiting.reason})` : ""}` };
    }

    /** The dind container's last log lines (of its previous run when it restarted). */
    async logTail(previous: boolean): Promise<string> {
        const answer = await kubeRequest(this.connection, "GET",
            `${this.path("pods", this.pod)}/log?container=dind&tailLines=${FAILURE_LOG_LINES}${previous ? "&previous=true" : ""}`).catch((error: Error) => ({ status: 0, body: error.message }));
        return typeof answer.body === "string" ? answer.body.trimEnd() : `(cannot read it: ${answer.body?.message ?? answer.status})`;
    }

    /** Everything the cluster says about the pod, for a failure that is not one of the known ones. */
    async describe(): Promise<KubeEvent[]> {
        const all = await Promise.all([
            this.recentEvents("StatefulSet", this.inputs.statefulSet), this.recentEvents("PersistentVolumeClaim", this.inputs.claim), this.recentEvents("Pod", this.pod),
        ]);
        return all.flat();
    }
}

/** Waits until the host's pod is Ready and its inner daemon answers here, or fails with the cluster's reason. */
export async function awaitDindPod(inputs: KubernetesReadinessInputs): Promise<KubernetesReadinessState> {
    const connection = kubeConnection(inputs.access);
    const watch = new Watch(connection, inputs);
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    const kubectl = `kubectl -n ${inputs.namespace} describe pod ${inputs.statefulSet}-0`;
    let doing = "";
    for (;;) {
        const look = await watch.look();
        if ("failed" in look) {
            const detail = look.log !== undefined ? `Last lines of its log (kubectl -n ${inputs.namespace} logs ${inputs.statefulSet}-0 -c dind --previous):\n${look.log}`
                : look.events?.length ? `Events (${kubectl}):\n${describeEvents(look.events)}` : "";
            throw new Error(`DinD host ${inputs.host} did not start: ${look.failed}.${detail ? ` ${detail}` : ""}`);
        }
        if ("ready" in look) {
            const failure = await new EngineClient(inputs.inner, { timeoutMs: PING_TIMEOUT_MS }).ping().then(() => undefined, (error: Error) => error.message);
            if (failure === undefined) return { node: look.ready.spec.nodeName ?? "", podIP: look.ready.status.podIP ?? "" };
            doing = `pod ${inputs.statefulSet}-0 is Ready on ${look.ready.spec.nodeName}, but its inner daemon does not answer at ${inputs.inner.host} from here: ${failure}`;
        } else {
            doing = look.starting;
        }
        if (Date.now() > deadline) {
            const events = await watch.describe();
            throw new Error(`DinD host ${inputs.host} did not start within ${inputs.timeoutSeconds} s: ${doing}.${events.length ? ` Events (${kubectl}):\n${describeEvents(events)}` : ""}`);
        }
        await new Promise((resolve) => setTimeout(resolve, "ready" in look ? PING_MS : WATCH_MS));
    }
}

/** What the readiness step does on the cluster; the unit suite replaces it with a fake. */
export interface KubernetesReadinessCheck {
    awaitDindPod(inputs: KubernetesReadinessInputs): Promise<KubernetesReadinessState>;
}

/** The readiness check over the Kubernetes API and the Engine API. */
export const kubernetesReadinessCheck: KubernetesReadinessCheck = { awaitDindPod };

export interface KubernetesReadinessArgs {
    /** The DinD host's name, used in messages (required). @example "builder" */
    host: string;
    /** The cluster, as the Kubernetes provider reaches it (required). @example { kubeconfig: "/home/ci/.kube/config", context: "ci" } */
    access: KubeAccess;
    /** The namespace (required). @example "ci" */
    namespace: pulumi.Input<string>;
    /** The StatefulSet's name (required). @example host.statefulSet.metadata.name */
    statefulSet: pulumi.Input<string>;
    /** The StatefulSet's generation after the update (required). @example host.statefulSet.metadata.generation */
    generation: pulumi.Input<number>;
    /** The claim's name (required). @example host.claim.metadata.name */
    claim: pulumi.Input<string>;
    /** The inner daemon through the Service (required; a secret: it holds the client key). @example { host: "tcp://10.0.0.5:31376", ca, cert, key } */
    inner: pulumi.Input<EngineEndpoint>;
    /** Seconds to wait (required). @example 300 */
    timeoutSeconds: number;
    /** What the step does on the cluster. @default kubernetesReadinessCheck @example a fake, in unit tests */
    check?: KubernetesReadinessCheck;
}

/**
 * Done once the DinD host's pod is Ready and its inner daemon answers from here: `endpoint`
 * resolves then, so the inner provider (configured with it) and everything nested waits.
 */
export class KubernetesReadiness extends pulumi.ComponentResource {
    /** The inner daemon's endpoint, known once it answers (in a preview: at once). */
    readonly endpoint: pulumi.Output<string>;
    /** The node the pod runs on (unknown in a preview). */
    readonly node: pulumi.Output<string>;

    constructor(name: string, args: KubernetesReadinessArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(KUBERNETES_READINESS_TYPE, name, {}, opts);
        const check = args.check ?? kubernetesReadinessCheck;
        const resource = this;
        const state = pulumi.all([args.namespace, args.statefulSet, args.generation, args.claim, args.inner])
            .apply(async ([namespace, statefulSet, generation, claim, inner]): Promise<KubernetesReadinessState | undefined> => {
                if (pulumi.runtime.isDryRun()) return undefined;
                return check.awaitDindPod({ host: args.host, access: args.access, namespace, statefulSet, generation, claim, inner, timeoutSeconds: args.timeoutSeconds })
                    .catch((error: Error) => stepFailed(resource, error));
            });
        // The endpoint (not secret, though the inner endpoint it was read from holds a key) keeps the StatefulSet as a dependency.
        this.endpoint = pulumi.unsecret(pulumi.all([args.inner, state]).apply(([inner]) => inner.host));
        this.node = pulumi.unsecret(state.apply((s) => (s ? s.node : (pulumi.unknown as unknown as string))));
        this.registerOutputs({ endpoint: this.endpoint, node: this.node });
    }
}
