import * as assert from "node:assert/strict";
import * as path from "node:path";
import { EngineClient } from "../../../components/engineApi";
import {
    DECLARED_LABEL, DIND_HOST_ROLE, HOST_LABEL, LEASE_EPOCH_LABEL, LEASE_HOLDER_LABEL, LEASE_MARKER_ROLE, LEASE_STATE_LABEL, LEASE_TTL_LABEL, POOL_LABEL, ROLE_LABEL,
    STACK_LABEL,
} from "../../../components/markers";
import { HOST_SOCKET_DIR, INNER_CLIENT_TLS_DIR } from "../../../components/paths";
import {
    defaultHolder, describeMember, holderText, innerAccess, lease, LeaseRequest, NoFreeHostError, poolDaemon, readPool, release, UnknownPoolError,
} from "../../../driver/leases";
import { FakeDaemon, startFakeDaemon } from "./fakeDaemon";

const STACK = "dind-provisioner/unit";

describe("driver/leases", () => {
    let outer: FakeDaemon;
    let inners: FakeDaemon[];

    /** A pool member on the outer daemon, reached through its own inner daemon's unix socket. */
    async function member(name: string, pool = "ci", extra: Record<string, unknown> = {}) {
        const inner = await startFakeDaemon();
        inners.push(inner);
        outer.add({
            Name: name,
            Labels: { [ROLE_LABEL]: DIND_HOST_ROLE, [STACK_LABEL]: STACK, [POOL_LABEL]: pool, [HOST_LABEL]: name },
            Mounts: [{ Type: "bind", Source: path.dirname(inner.socket), Destination: HOST_SOCKET_DIR }, { Type: "volume", Name: `${name}-docker`, Destination: "/var/lib/docker" }],
            NetworkSettings: { Networks: { bridge: { IPAddress: `172.17.0.${inners.length + 1}` } } },
            ...extra,
        });
        return inner;
    }

    const request = (extra: Partial<LeaseRequest> = {}): LeaseRequest => ({
        engine: new EngineClient({ host: outer.host }, { timeoutMs: 5000 }), stackLabel: STACK, pool: "ci", holder: "job-1", ttlSeconds: 3600, waitSeconds: 0, ...extra,
    });
    const scope = () => ({ engine: new EngineClient({ host: outer.host }), stackLabel: STACK });
    const markers = () => outer.containers.filter((c) => c.Labels[ROLE_LABEL] === LEASE_MARKER_ROLE);
    const latestOf = async (name: string) => (await readPool(scope(), "ci")).members.find((m) => m.name === name)!.latest;

    beforeEach(async () => {
        outer = await startFakeDaemon();
        inners = [];
    });
    afterEach(async () => {
        await outer.close();
        await Promise.all(inners.map((i) => i.close()));
    });

    it("leases a free member by creating its next marker, and hands out how to reach it", async () => {
        const inner = await member("ci-1");
        const grant = await lease(request());
        assert.equal(grant.member.name, "ci-1");
        assert.equal(grant.access.dockerHost, `unix://${inner.socket}`);
        assert.equal(grant.access.publishedPortsAddress, "172.17.0.2");
        assert.equal(grant.access.tls, undefined, "a unix endpoint needs no certificates");
        const [marker] = markers();
        assert.equal(marker.Name, "ci-1.lease-1");
        assert.equal(marker.Id, grant.lease.id);
        assert.equal(marker.State, "created", "never started");
        assert.deepEqual([marker.Labels[LEASE_STATE_LABEL], marker.Labels[LEASE_HOLDER_LABEL], marker.Labels[LEASE_TTL_LABEL], marker.Labels[LEASE_EPOCH_LABEL]],
            ["leased", "job-1", "3600", "1"]);
        assert.deepEqual([marker.Labels[STACK_LABEL], marker.Labels[POOL_LABEL], marker.Labels[HOST_LABEL]], [STACK, "ci", "ci-1"]);
        assert.ok(inner.requests.includes("GET /_ping"), "the member's daemon answered before it was handed out");
    });

    it("never hands one member to two of many concurrent leases; the rest find no free member", async () => {
        for (const n of [1, 2, 3]) await member(`ci-${n}`);
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => lease(request({ holder: `job-${i}` }))));
        const granted = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof lease>>> => r.status === "fulfilled").map((r) => r.value);
        assert.deepEqual(granted.map((g) => g.member.name).sort(), ["ci-1", "ci-2", "ci-3"]);
        for (const r of results) {
            if (r.status !== "rejected") continue;
            assert.ok(r.reason instanceof NoFreeHostError, String(r.reason));
            // A lease that lost its races read the pool again: its error shows every member taken, none free.
            assert.match(r.reason.message, /ci-1 leased by job-\d+ since .*; ci-2 leased by job-\d+ since .*; ci-3 leased by job-\d+ since /);
        }
        // Each member's latest state is the lease its grantee holds.
        for (const g of granted) assert.equal((await latestOf(g.member.name))!.id, g.lease.id);
    });

    it("waits for a member to be released, up to the wait", async () => {
        await member("ci-1");
        const first = await lease(request());
        const waiting = lease(request({ holder: "job-2", waitSeconds: 10 }));
        await new Promise((resolve) => setTimeout(resolve, 300));
        await release({ ...scope(), member: "ci-1", leaseId: first.lease.id, force: false, holder: "job-1" });
        const second = await waiting;
        assert.equal(second.member.name, "ci-1");
        assert.equal(second.lease.holder, "job-2");
    });

    it("says which members hold the pool when none is free, and which pools there are for an unknown one", async () => {
        await member("ci-1");
        await lease(request());
        await assert.rejects(lease(request({ holder: "job-2" })), /no member of pool ci became free within 0 s: ci-1 leased by job-1 since \S+ \(expires \S+\)\. Wait longer/);
        await assert.rejects(lease(request({ pool: "other" })), (error: Error) => error instanceof UnknownPoolError && /has no pool other on unix:.*: its pools there are ci$/.test(error.message));
    });

    it("releases only the caller's lease, resets the member, and leaves one marker: free", async () => {
        const inner = await member("ci-1");
        const granted = await lease(request());
        inner.add({ Name: "job-container", Labels: {} });
        inner.add({ Name: "svc", Labels: { [DECLARED_LABEL]: "true" }, State: "exited" });
        inner.volumes.push({ Name: "job-volume", Labels: {} }, { Name: "data", Labels: { [DECLARED_LABEL]: "true" } });
        inner.networks.push({ Id: "n1", Name: "bridge", Labels: {} }, { Id: "n2", Name: "job-net", Labels: {} });
        await assert.rejects(release({ ...scope(), member: "ci-1", leaseId: "0123456789abcdef", force: false, holder: "job-2" }),
            /ci-1 is leased by job-1 since \S+ \(expires \S+\), not under lease 0123456789ab: nothing was released/);
        await assert.rejects(release({ ...scope(), member: "ci-1", force: false, holder: "job-2" }), /needs its lease id/);
        await assert.rejects(release({ ...scope(), member: "ci-9", leaseId: granted.lease.id, force: false, holder: "job-1" }), /ci-9 is not a member of a pool of stack unit .* \(its pool members there: ci-1\)/);
        const released = await release({ ...scope(), member: "ci-1", leaseId: granted.lease.id.slice(0, 12), force: false, holder: "job-1" });
        assert.deepEqual([released.report.containers, released.report.volumes, released.report.networks, released.late], [1, 1, 1, false]);
        assert.deepEqual(released.report.restarted, ["svc"]);
        assert.deepEqual(inner.containers.map((c) => [c.Name, c.State]), [["svc", "running"]]);
        assert.deepEqual(inner.volumes.map((v) => v.Name), ["data"]);
        assert.deepEqual(inner.networks.map((n) => n.Name), ["bridge"]);
        assert.deepEqual(markers().map((m) => [m.Name, m.Labels[LEASE_STATE_LABEL]]), [["ci-1.lease-3", "free"]], "leased, resetting, then free; the older markers removed");
        await assert.rejects(release({ ...scope(), member: "ci-1", leaseId: granted.lease.id, force: false, holder: "job-1" }), /ci-1 is not leased \(it is free\): nothing was released/);
    });

    it("takes over an expired lease: resets the member first; the late holder's release is refused then", async () => {
        const inner = await member("ci-1");
        const stale = await lease(request({ ttlSeconds: 10 }));
        outer.byName("ci-1.lease-1")!.Created -= 11;
        inner.add({ Name: "left-behind", Labels: {} });
        const taken = await lease(request({ holder: "job-2" }));
        assert.equal(taken.member.name, "ci-1");
        assert.match(taken.notes.join("\n"), /took ci-1 over from job-1, whose leased state expired, and reset it first/);
        assert.deepEqual(inner.containers, [], "reset before it was handed out");
        await assert.rejects(release({ ...scope(), member: "ci-1", leaseId: stale.lease.id, force: false, holder: "job-1" }), /ci-1 is leased by job-2 .*not under lease/);
    });

    it("releases an expired lease nobody took over, saying it was late", async () => {
        await member("ci-1");
        const granted = await lease(request({ ttlSeconds: 10 }));
        outer.byName("ci-1.lease-1")!.Created -= 60;
        assert.equal((await release({ ...scope(), member: "ci-1", leaseId: granted.lease.id, force: false, holder: "job-1" })).late, true);
    });

    it("skips a member whose daemon does not answer (marked unhealthy for a while) and one whose container is down", async () => {
        const silent = await member("ci-1");
        silent.down = true;
        await member("ci-2", "ci", { State: "exited", Status: "Exited (1) 3 seconds ago" });
        await assert.rejects(lease(request()), NoFreeHostError);
        const view = await readPool(scope(), "ci");
        const [one, two] = view.members;
        assert.equal(one.latest?.state, "unhealthy");
        assert.match(describeMember(one, view.now), /^unhealthy, found by lease by job-1: GET \/_ping on unix:.*503 daemon is shutting down since \S+ \(expires \S+\)$/);
        assert.equal(two.latest, undefined, "a member that is down is not tried");
        assert.match(describeMember(two, view.now), /^free \(its DinD container is exited: up replaces it\)$/);
        // Once its time as unhealthy is over, the next lease resets it and tries it again.
        outer.byName("ci-1.lease-2")!.Created -= 61;
        silent.down = false;
        assert.equal((await lease(request({ holder: "job-2" }))).member.name, "ci-1");
    });

    it("reads a TLS member's client certificate from inside its container", async () => {
        const container = outer.add({
            Name: "ci-1", Labels: { [HOST_LABEL]: "ci-1" }, Ports: [{ IP: "127.0.0.1", PrivatePort: 2376, PublicPort: 24501, Type: "tcp" }, { IP: "::1", PrivatePort: 2376, PublicPort: 24501, Type: "tcp" }],
        });
        for (const [file, content] of [["ca.pem", "CA"], ["cert.pem", "CERT"], ["key.pem", "KEY"]]) container.files.set(`${INNER_CLIENT_TLS_DIR}/${file}`, content);
        const summary = (await new EngineClient({ host: outer.host }).listContainers({ all: true }))[0];
        assert.deepEqual(await innerAccess(scope(), summary), { dockerHost: "tcp://127.0.0.1:24501", tls: { ca: "CA", cert: "CERT", key: "KEY" }, publishedPortsAddress: undefined });
        container.files.clear();
        await assert.rejects(innerAccess(scope(), summary), /pool member ci-1 keeps no client TLS files/);
    });

    it("names the holder from the CI system, and keeps it to one short line", () => {
        assert.equal(defaultHolder({ CI_JOB_URL: "https://gitlab.example.com/g/p/-/jobs/7" }), "https://gitlab.example.com/g/p/-/jobs/7");
        assert.equal(defaultHolder({ GITHUB_RUN_ID: "42", GITHUB_REPOSITORY: "o/r", GITHUB_JOB: "build" }), "https://github.com/o/r/actions/runs/42 (build)");
        assert.equal(defaultHolder({ DIND_LEASE_HOLDER: "me", CI_JOB_URL: "x" }), "me");
        assert.equal(holderText("a\nb\u0000c"), "a b c");
        assert.equal(holderText("x".repeat(300)).length, 200);
    });

    it("finds the pools' daemon: --daemon, then what lease printed, then DOCKER_HOST", () => {
        assert.deepEqual(poolDaemon("unix:///a.sock", { DIND_LEASE_DAEMON: "unix:///b.sock" }), { host: "unix:///a.sock" });
        assert.deepEqual(poolDaemon(undefined, { DIND_LEASE_DAEMON: "tcp://o:2376", DIND_LEASE_DAEMON_CERT_PATH: "/o", DOCKER_HOST: "tcp://member:24501", DOCKER_CERT_PATH: "/m" }),
            { host: "tcp://o:2376", certPath: "/o" });
        assert.deepEqual(poolDaemon(undefined, { DOCKER_HOST: "unix:///c.sock" }), { host: "unix:///c.sock" });
    });
});
