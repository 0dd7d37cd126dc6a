// The driver's look at the state's objects before the engine runs: whose they are on the daemon now,
// what it leaves alone, and what it converges; against a stand-in Engine API.
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { DOOD_OWNER_LABEL, STACK_LABEL } from "../../../components/markers";
import { guardState, markRetained, observe, planOwnership, stateObjects } from "../../../driver/ownership";
import { Deployment, StateResource } from "../../../driver/state";
import { validateStackSource } from "../../../stackfile/load";
import { FakeEngine, startFakeEngine } from "../components/fakeEngine";

const OWNER = "dind-provisioner/dev";
const OTHER = { [STACK_LABEL]: "dind-provisioner/staging" };
const OURS = { [STACK_LABEL]: OWNER };
const urn = (type: string, name: string) => `urn:pulumi:dev::dind-provisioner::${type}::${name}`;

/**
 * A deployment as the engine keeps it: a DinD host with a nested container on its inner daemon, a
 * registry, and a volume taken over by hand, on one outer daemon at `socket`.
 */
function deployment(socket: string): Deployment {
    const outer = urn("pulumi:providers:docker", "daemon-local");
    const inner = urn("pulumi:providers:docker", "builder-inner");
    const host = urn("dind:index:DindHost", "builder");
    const registry = urn("dind:index:DindRegistry", "cache");
    const on = (provider: string) => `${provider}::provider-id`;
    const resources: StateResource[] = [
        { urn: urn("pulumi:pulumi:Stack", "dind-provisioner-dev"), type: "pulumi:pulumi:Stack" },
        { urn: outer, type: "pulumi:providers:docker", id: "provider-id", inputs: { host: `unix://${socket}` } },
        { urn: host, type: "dind:index:DindHost" },
        { urn: urn("docker:index/volume:Volume", "builder-storage"), type: "docker:index/volume:Volume", id: "builder-docker", parent: host, provider: on(outer), inputs: { name: "builder-docker" } },
        { urn: urn("docker:index/container:Container", "builder-container"), type: "docker:index/container:Container", id: "c-builder", parent: host, provider: on(outer), inputs: { name: "builder" } },
        // The inner provider's host is a secret: ciphertext in the state.
        { urn: inner, type: "pulumi:providers:docker", id: "provider-id", parent: host, inputs: { host: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "x" } } },
        { urn: urn("dind:index:DindWorkloads", "builder-workloads"), type: "dind:index:DindWorkloads", parent: host },
        { urn: urn("docker:index/container:Container", "builder-workloads-container-web"), type: "docker:index/container:Container", id: "c-web",
            parent: urn("dind:index:DindWorkloads", "builder-workloads"), provider: on(inner), inputs: { name: "web" } },
        { urn: registry, type: "dind:index:DindRegistry" },
        { urn: urn("docker:index/network:Network", "cache-network"), type: "docker:index/network:Network", id: "n-cache", parent: registry, provider: on(outer), inputs: { name: "cache-net" } },
        { urn: urn("docker:index/container:Container", "cache-container"), type: "docker:index/container:Container", id: "c-cache", parent: registry, provider: on(outer), inputs: { name: "cache" } },
        { urn: urn("docker:index/volume:Volume", "cache-storage"), type: "docker:index/volume:Volume", id: "old-cache", parent: registry, provider: on(outer), inputs: { name: "old-cache" } },
    ];
    return { resources };
}

const container = (id: string, name: string, state: string, labels: Record<string, string>) => ({ Id: id, Names: [`/${name}`], Image: "i", State: state, Status: "", Labels: labels, Ports: [] });

describe("driver/ownership", () => {
    let engine: FakeEngine;
    beforeEach(async () => {
        engine = await startFakeEngine();
        // The host's container is another stack's (a state copied from it); the registry's is this stack's but stopped, its network gone.
        engine.listed = [container("c-builder", "builder", "running", OTHER), container("c-cache", "cache", "exited", OURS)];
        engine.volumes = [{ Name: "builder-docker", Labels: OURS }, { Name: "old-cache", Labels: null }];
    });
    afterEach(() => engine.close());

    it("looks up only outer objects, one list per kind for the whole state", async () => {
        const objects = stateObjects(deployment(engine.socket));
        assert.deepEqual(objects.map((o) => `${o.kind} ${o.name}`), ["volume builder-docker", "container builder", "network cache-net", "container cache", "volume old-cache"],
            "not the nested container, whose provider is the inner daemon's");
        const observed = await observe(objects);
        assert.deepEqual(observed.map((o) => `${o.name} ${o.condition}`), ["builder-docker running", "builder running", "cache-net gone", "cache stopped", "old-cache running"]);
        assert.equal(engine.listFilters.length, 1);
        assert.deepEqual(JSON.parse(engine.listFilters[0]), { id: ["c-builder", "c-cache"] });
        assert.deepEqual(engine.objectFilters.map((f) => JSON.parse(f)), [{ name: ["^builder-docker$", "^old-cache$"] }, { id: ["n-cache"] }]);
    });

    it("never dials an inner daemon: objects made through a DinD host's provider (on Docker or Kubernetes) are not outer objects, even with a plain host in the state", async () => {
        // A port nothing listens on: a host removed outside Pulumi, whose inner daemon refuses the connection.
        const closed = await new Promise<number>((resolve) => {
            const server = net.createServer().listen(0, "127.0.0.1", () => {
                const { port } = server.address() as net.AddressInfo;
                server.close(() => resolve(port));
            });
        });
        const state = deployment(engine.socket);
        const resources = state.resources!;
        // As the engine keeps them: the DinD host's inner provider's host is its endpoint in plain text.
        const inner = resources.find((r) => r.urn === urn("pulumi:providers:docker", "builder-inner"))!;
        inner.inputs = { host: `tcp://127.0.0.1:${closed}` };
        const farm = urn("dind:index:KubernetesDindHost", "farm");
        const farmInner = urn("pulumi:providers:docker", "farm-inner");
        resources.push(
            { urn: farm, type: "dind:index:KubernetesDindHost" },
            { urn: farmInner, type: "pulumi:providers:docker", id: "provider-id", parent: farm, inputs: { host: `tcp://127.0.0.1:${closed}` } },
            { urn: urn("docker:index/volume:Volume", "farm-workloads-volume-data"), type: "docker:index/volume:Volume", id: "data", parent: farm,
                provider: `${farmInner}::provider-id`, inputs: { name: "data" } },
        );
        assert.deepEqual(stateObjects(state).map((o) => `${o.kind} ${o.name}`), ["volume builder-docker", "container builder", "network cache-net", "container cache", "volume old-cache"]);
        const guard = await guardState("destroy", state, OWNER, undefined);
        assert.ok(guard.retain.includes(urn("docker:index/container:Container", "builder-workloads-container-web")), "what runs on another owner's host is still kept from the engine");
    });

    it("sorts them: another owner's (with what runs on its DinD host's inner daemon), adopted, gone, stopped, paused", async () => {
        const state = deployment(engine.socket);
        engine.listed.push(container("c-paused", "paused", "paused", OURS));
        const observed = await observe(stateObjects(state));
        const plan = planOwnership(observed, state.resources!, OWNER, new Map());
        assert.deepEqual(plan.foreign.map(({ object, inside }) => [object.name, inside]), [
            ["builder", [urn("docker:index/container:Container", "builder-workloads-container-web")]],
            ["old-cache", []],
        ]);
        assert.deepEqual(plan.gone.map((o) => o.name), ["cache-net"]);
        assert.deepEqual(plan.stopped.map((o) => o.name), ["cache"]);
        const adopted = planOwnership(observed, state.resources!, OWNER, new Map([[`unix://${engine.socket}\u0000old-cache`, "delete" as const]]));
        assert.deepEqual(adopted.adopted.map(({ object, adopt }) => [object.name, adopt]), [["old-cache", "delete"]]);
        assert.deepEqual(adopted.foreign.map(({ object }) => object.name), ["builder"]);
        // A DooD client's object is the client's, whatever stack it claims.
        engine.volumes[0] = { Name: "builder-docker", Labels: { ...OURS, [DOOD_OWNER_LABEL]: "agent" } };
        const claimed = planOwnership(await observe(stateObjects(state)), state.resources!, OWNER, new Map());
        assert.ok(claimed.foreign.some(({ object }) => object.name === "builder-docker"));
    });

    it("keeps another owner's restricted client's scope from the engine: its delete would empty that client", async () => {
        const state = deployment(engine.socket);
        const client = urn("dind:index:DoodClient", "agent");
        const scope = urn("pulumi-nodejs:dynamic:Resource", "agent-scope");
        const outer = `${urn("pulumi:providers:docker", "daemon-local")}::provider-id`;
        state.resources!.push(
            { urn: client, type: "dind:index:DoodClient" },
            { urn: urn("docker:index/container:Container", "agent-container"), type: "docker:index/container:Container", id: "c-agent", parent: client, provider: outer, inputs: { name: "agent" } },
            { urn: scope, type: "pulumi-nodejs:dynamic:Resource", id: "agent", parent: client },
        );
        engine.listed.push(container("c-agent", "agent", "running", OTHER));
        const plan = planOwnership(await observe(stateObjects(state)), state.resources!, OWNER, new Map());
        assert.deepEqual(plan.foreign.find(({ object }) => object.name === "agent")?.inside, [scope]);
        const destroy = await guardState("destroy", state, OWNER, undefined);
        assert.ok(destroy.retain.includes(scope));
        assert.ok(destroy.notes.some((n) => /^container agent \(DooD client agent\) .* belongs to stack dind-provisioner\/staging, .*: destroy leaves it and the objects it made \(its scope\) where it is/.test(n)),
            destroy.notes.join("\n"));
        engine.listed[engine.listed.length - 1] = container("c-agent", "agent", "running", OURS);
        assert.ok(!(await guardState("destroy", state, OWNER, undefined)).retain.includes(scope), "this stack's own client's scope goes with it");
    });

    it("preview changes nothing and says what up and destroy will do", async () => {
        const guard = await guardState("preview", deployment(engine.socket), OWNER, undefined);
        assert.deepEqual(engine.actions, []);
        assert.equal(guard.notes.length, 4);
        assert.match(guard.notes[0], new RegExp(`^container builder \\(DinD host builder\\) on unix://${engine.socket} is in this stack's state but belongs to stack dind-provisioner/staging, `
            + "not to stack dind-provisioner/dev \\(a state copied from another stack, or stale\\): up and destroy will leave it and the 1 resource\\(s\\) on its inner daemon where it is "
            + "and drop it from this stack's state; nothing of it is deleted or replaced$"));
        assert.match(guard.notes[1], /^volume old-cache \(registry cache\) .* belongs to nobody \(made by hand/);
        assert.match(guard.notes[2], /^container cache \(registry cache\) .* was stopped outside Pulumi: up will start it$/);
        assert.match(guard.notes[3], /^network cache-net \(registry cache\) .* was removed outside Pulumi: up will create it again$/);
        assert.deepEqual(guard.gone, [urn("docker:index/network:Network", "cache-network")]);
    });

    it("up starts and unpauses this stack's containers and refreshes what is gone; destroy only unpauses; both keep the engine off another owner's", async () => {
        engine.listed.push(container("c-paused", "paused", "paused", OURS));
        const state = deployment(engine.socket);
        state.resources!.push({ ...state.resources!.find((r) => r.id === "c-cache")!, urn: urn("docker:index/container:Container", "paused-container"), id: "c-paused", inputs: { name: "paused" } });
        const up = await guardState("up", state, OWNER, undefined);
        assert.deepEqual(engine.actions, ["unpause c-paused", "start c-cache"]);
        assert.ok(up.notes.includes(`container cache (registry cache) on unix://${engine.socket} was stopped outside Pulumi: started it`), up.notes.join("\n"));
        assert.deepEqual(up.retain, [
            urn("docker:index/container:Container", "builder-container"), urn("docker:index/container:Container", "builder-workloads-container-web"),
            urn("docker:index/volume:Volume", "cache-storage"),
        ]);
        engine.actions.length = 0;
        const destroy = await guardState("destroy", state, OWNER, undefined);
        assert.deepEqual(engine.actions, ["unpause c-paused"]);
        assert.deepEqual(destroy.gone, []);
        assert.deepEqual(destroy.retain, up.retain);
    });

    it("lets destroy delete another owner's volume only where the stack file says adopt: delete, and says so", async () => {
        const state = deployment(engine.socket);
        const stackFile = (adopt: string) => validateStackSource(`daemons:\n  local: { host: "unix://${engine.socket}" }\n`
            + `registries:\n  cache: { port: 5000, storage: { volume: old-cache, adopt: ${adopt} } }\nclients:\n  root: { socketGroup: 998, access: full }\n`, "s.yaml",
            { DIND_PROVISIONER_ALLOW_DAEMONS: `unix://${engine.socket}` }).stack!;
        const deleting = await guardState("destroy", state, OWNER, stackFile("delete"));
        assert.ok(!deleting.retain.includes(urn("docker:index/volume:Volume", "cache-storage")));
        assert.ok(deleting.notes.some((n) => /^volume old-cache .* belongs to nobody .*; the stack file takes it over with adopt: delete, so destroy deletes it with its data$/.test(n)), deleting.notes.join("\n"));
        const keeping = await guardState("destroy", state, OWNER, stackFile("keep"));
        assert.ok(keeping.retain.includes(urn("docker:index/volume:Volume", "cache-storage")));
    });

    it("marks resources retainOnDelete, so that the engine forgets them instead of deleting them", () => {
        const state = deployment("/x.sock");
        const marked = markRetained(state, [urn("docker:index/container:Container", "builder-container")]);
        assert.deepEqual(marked.resources!.filter((r) => r.retainOnDelete).map((r) => r.urn), [urn("docker:index/container:Container", "builder-container")]);
        assert.equal(state.resources!.some((r) => r.retainOnDelete), false, "the deployment given is not changed");
    });

    it("fails naming the daemon when it cannot tell whose the state's objects are: nothing is deleted unchecked", async () => {
        await assert.rejects(guardState("destroy", deployment("/nonexistent/docker.sock"), OWNER, undefined),
            /cannot check who owns the objects this stack's state names on unix:\/\/\/nonexistent\/docker\.sock, so nothing was changed: .*ENOENT/);
    });
});
