import * as assert from "node:assert/strict";
import { awaitDindPod, KubernetesReadinessInputs } from "../../../components/KubernetesReadiness";
import { FakeEngine, startFakeEngine } from "./fakeEngine";
import { FakeKubeApi, startFakeKubeApi } from "./fakeKubeApi";

const NOW = Date.parse("2026-12-04T10:00:30Z");
const at = (seconds: number) => new Date(NOW + seconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
const SETS = "/apis/apps/v1/namespaces/ci/statefulsets/builder";
const POD = "/api/v1/namespaces/ci/pods/builder-0";
const EVENTS = "/api/v1/namespaces/ci/events";

function statefulSet(updated = at(-2)) {
    return { metadata: { generation: 2, managedFields: [{ time: updated }] }, status: { observedGeneration: 2, updateRevision: "builder-r2" } };
}

function pod(dind: Record<string, unknown>, extra: { conditions?: object[]; revision?: string; phase?: string } = {}) {
    return {
        metadata: { name: "builder-0", labels: { "controller-revision-hash": extra.revision ?? "builder-r2" } },
        spec: { nodeName: "node-2" },
        status: { phase: extra.phase ?? "Running", podIP: "10.244.2.7", conditions: extra.conditions ?? [], containerStatuses: [{ name: "dind", ready: false, restartCount: 0, ...dind }] },
    };
}

function event(kind: string, reason: string, message: string, seconds: number, type = "Warning", count = 1) {
    return { type, reason, message, count, lastTimestamp: at(seconds), involvedObject: { kind, name: kind === "StatefulSet" ? "builder" : kind === "Pod" ? "builder-0" : "builder-docker" } };
}

/** Answers the events of the object the field selector names. */
function eventsOf(api: FakeKubeApi, events: (ReturnType<typeof event> & { metadata?: { name: string } })[]) {
    api.routes.set(`GET ${EVENTS}`, ({ path }) => {
        const selector = decodeURIComponent(path.split("fieldSelector=")[1] ?? "");
        return { status: 200, body: { items: events.filter((e) => selector.includes(`involvedObject.kind=${e.involvedObject.kind},`)) } };
    });
}

describe("KubernetesReadiness", () => {
    let api: FakeKubeApi;
    let engine: FakeEngine;
    let inputs: KubernetesReadinessInputs;
    beforeEach(async () => {
        api = await startFakeKubeApi();
        api.date = new Date(NOW).toUTCString();
        engine = await startFakeEngine();
        api.routes.set("GET /version", { status: 200, body: {} });
        api.routes.set(`GET ${SETS}`, { status: 200, body: statefulSet() });
        eventsOf(api, []);
        inputs = {
            host: "builder", access: { kubeconfig: api.kubeconfig() }, namespace: "ci", statefulSet: "builder", generation: 2, claim: "builder-docker",
            inner: { host: `unix://${engine.socket}` }, timeoutSeconds: 30,
        };
    });
    afterEach(async () => {
        await api.close();
        await engine.close();
    });

    it("is done once the current revision's pod is Ready and its inner daemon answers from here", async () => {
        let looks = 0;
        api.routes.set(`GET ${POD}`, () => {
            looks++;
            // The previous revision's pod first, then the new one starting, then ready.
            if (looks === 1) return { status: 200, body: pod({ ready: true }, { revision: "builder-r1", conditions: [{ type: "Ready", status: "True" }] }) };
            return { status: 200, body: pod({ ready: looks > 2 }) };
        });
        engine.failingPings = 2;
        assert.deepEqual(await awaitDindPod(inputs), { node: "node-2", podIP: "10.244.2.7" });
        assert.equal(engine.pings, 3, "pinged until the daemon answered");
        assert.ok(!api.requests.some((r) => r.startsWith("DELETE")), "a ready pod of the previous revision is the controller's to replace");
    });

    it("deletes a pod of the previous revision that is not ready, which a StatefulSet never replaces by itself", async () => {
        let deleted = false;
        api.routes.set(`DELETE ${POD}`, () => {
            deleted = true;
            return { status: 200, body: {} };
        });
        api.routes.set(`GET ${POD}`, () => ({
            status: 200,
            body: deleted ? pod({ ready: true }) : pod({ state: { waiting: { reason: "ImagePullBackOff" } } }, { revision: "builder-r1" }),
        }));
        assert.equal((await awaitDindPod(inputs)).node, "node-2");
        assert.equal(api.requests.filter((r) => r.startsWith("DELETE")).length, 1);
    });

    it("waits for the controller to see the update", async () => {
        let looks = 0;
        api.routes.set(`GET ${SETS}`, () => ({ status: 200, body: { ...statefulSet(), status: { observedGeneration: ++looks > 1 ? 2 : 1, updateRevision: "builder-r2" } } }));
        api.routes.set(`GET ${POD}`, { status: 200, body: pod({ ready: true }) });
        await awaitDindPod(inputs);
        assert.ok(looks >= 2);
    });

    it("fails at once with the StatefulSet controller's refusal (admission), not at the timeout", async () => {
        const refusal = 'create Pod builder-0 in StatefulSet builder failed error: pods "builder-0" is forbidden: violates PodSecurity "baseline:latest": privileged';
        // One refusal of an earlier run (before the update and the wait), one of this update.
        eventsOf(api, [event("StatefulSet", "FailedCreate", "an old refusal", -60), event("StatefulSet", "FailedCreate", refusal, -1, "Warning", 3)]);
        const started = Date.now();
        await assert.rejects(awaitDindPod(inputs), (error: Error) => {
            assert.match(error.message, /^DinD host builder did not start: the StatefulSet controller cannot create its pod builder-0: create Pod builder-0 .* violates PodSecurity/);
            assert.match(error.message, /Events \(kubectl -n ci describe pod builder-0\):\n {2}Warning {2}FailedCreate {2}create Pod .*\(x3\)$/);
            assert.ok(!error.message.includes("an old refusal"));
            return true;
        });
        assert.ok(Date.now() - started < 5000);
    });

    it("ignores refusals older than the update and the wait: a fixed cause, then the pod", async () => {
        let looks = 0;
        api.routes.set(`GET ${SETS}`, { status: 200, body: statefulSet(at(-120)) });
        eventsOf(api, [event("StatefulSet", "FailedCreate", "refused before the fix", -30)]);
        api.routes.set(`GET ${POD}`, () => (++looks > 1 ? { status: 200, body: pod({ ready: true }) } : { status: 404 }));
        assert.equal((await awaitDindPod(inputs)).node, "node-2");
    });

    it("ignores the run before's refusals, repeated until just before this wait, once their cause is lifted", async () => {
        // The failed run updated the StatefulSet 20 s ago; the controller kept retrying until 3 s ago.
        let looks = 0;
        api.routes.set(`GET ${SETS}`, { status: 200, body: statefulSet(at(-20)) });
        eventsOf(api, [{ ...event("StatefulSet", "FailedCreate", "privileged containers are not allowed here", -3, "Warning", 9), metadata: { name: "builder.1" } }]);
        api.routes.set(`GET ${POD}`, () => (++looks > 2 ? { status: 200, body: pod({ ready: true }) } : { status: 404 }));
        assert.equal((await awaitDindPod(inputs)).node, "node-2");
    });

    it("fails with a refusal the controller repeats during this wait, though the update was the run before's", async () => {
        let looks = 0;
        api.routes.set(`GET ${SETS}`, { status: 200, body: statefulSet(at(-20)) });
        api.routes.set(`GET ${EVENTS}`, () => ({
            status: 200,
            body: { items: [{ ...event("StatefulSet", "FailedCreate", "privileged containers are not allowed here", 0, "Warning", ++looks > 2 ? 10 : 9), metadata: { name: "builder.1" } }] },
        }));
        await assert.rejects(awaitDindPod(inputs), /the StatefulSet controller cannot create its pod builder-0: privileged containers are not allowed here/);
    });

    it("fails with the kubelet's reason when the image cannot be pulled", async () => {
        api.routes.set(`GET ${POD}`, { status: 200, body: pod({ state: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "ci/dind:missing"' } } }) });
        eventsOf(api, [event("Pod", "Failed", 'Failed to pull image "ci/dind:missing": not found', 0, "Warning", 2)]);
        await assert.rejects(awaitDindPod(inputs), /DinD host builder did not start: its dind container cannot start: ImagePullBackOff: Back-off pulling image "ci\/dind:missing"\. Events .*\n {2}Warning {2}Failed {2}Failed to pull image "ci\/dind:missing": not found \(x2\)/);
    });

    it("fails with the daemon's last log lines when it exits and the kubelet restarts it", async () => {
        let looks = 0;
        api.routes.set(`GET ${POD}`, () => ({ status: 200, body: pod(++looks === 1 ? {} : { restartCount: 1, lastState: { terminated: { exitCode: 1, reason: "Error" } } }) }));
        api.routes.set(`GET ${POD}/log?container=dind&tailLines=20&previous=true`, { status: 200, body: "starting dockerd\nfailed to start daemon: error initializing graphdriver\n" });
        await assert.rejects(awaitDindPod(inputs), (error: Error) => {
            assert.equal(error.message, "DinD host builder did not start: its dind container exited (exit code 1, Error) and the kubelet started it again: the inner daemon stopped. " +
                "Last lines of its log (kubectl -n ci logs builder-0 -c dind --previous):\nstarting dockerd\nfailed to start daemon: error initializing graphdriver");
            return true;
        });
    });

    it("fails with the claim's provisioning failure when the pod cannot be scheduled for it", async () => {
        api.routes.set(`GET ${POD}`, {
            status: 200,
            body: pod({}, { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims." }] }),
        });
        eventsOf(api, [event("PersistentVolumeClaim", "ProvisioningFailed", 'storageclass.storage.k8s.io "fast" not found', 0)]);
        await assert.rejects(awaitDindPod(inputs), /its claim builder-docker cannot be provisioned: storageclass.storage.k8s.io "fast" not found/);
    });

    it("fails at the timeout saying what it waited for, with the events", async () => {
        api.routes.set(`GET ${POD}`, { status: 200, body: pod({ ready: true }) });
        engine.failingPings = 1_000_000;
        eventsOf(api, [event("Pod", "Started", "Started container dind", -1, "Normal")]);
        await assert.rejects(awaitDindPod({ ...inputs, timeoutSeconds: 1 }),
            new RegExp(`^Error: DinD host builder did not start within 1 s: pod builder-0 is Ready on node-2, but its inner daemon does not answer at unix://${engine.socket} from here: GET /_ping on unix://${engine.socket}: HTTP 503 starting\\. Events .*\\n {2}Normal {2}Started {2}Started container dind$`));
    });
});
