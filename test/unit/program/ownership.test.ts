// The program's ownership check: which objects a stack file makes under fixed names, and when an
// object a daemon already holds under one of them stops the run, with what message.
import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ContainerSummary } from "../../../components/engineApi";
import { DOOD_OWNER_LABEL, STACK_LABEL } from "../../../components/markers";
import { checkOwnership, containersMounting, DaemonObjects, declaredObjects, OwnershipError } from "../../../program/ownership";
import { validateStackSource } from "../../../stackfile/load";

const OWNER = "dind-provisioner/dev";
const LOCAL = { local: "unix:///var/run/docker.sock" };

/** The operator allows the one remote daemon the samples name. */
function stackFrom(source: string) {
    const result = validateStackSource(source, "inline.yaml", { DIND_PROVISIONER_ALLOW_DAEMONS: "ssh://ci@far" });
    assert.deepEqual(result.problems, []);
    return result.stack!;
}

const container = (name: string, labels: Record<string, string> | null, binds: string[] = []): ContainerSummary => ({
    Id: `${name}-id`, Names: [`/${name}`], Image: "img", State: "running", Status: "Up", Labels: labels ?? undefined, Ports: [],
    Mounts: binds.map((source) => ({ Type: "bind", Source: source, Destination: "/run/dood" })),
});
const none = (): DaemonObjects => ({ containers: [], volumes: [], networks: [] });

/** The problems checkOwnership reports, or [] when it lets the run go on. */
function problems(source: string, live: DaemonObjects, hosts: Record<string, string> = LOCAL): string[] {
    try {
        checkOwnership(declaredObjects(stackFrom(source)), Object.fromEntries(Object.keys(hosts).map((daemon) => [daemon, live])), hosts, OWNER);
        return [];
    } catch (error) {
        assert.ok(error instanceof OwnershipError, String(error));
        assert.match(error.message, /^stack dind-provisioner\/dev uses names that objects it did not create already have, so nothing was changed:\n/);
        return error.problems;
    }
}

const HOST = "hosts:\n  builder: { storage: { volume: evs-userdata-docker } }\n";

describe("program/ownership", () => {
    it("lists every object a stack file makes under a fixed name on a Docker daemon, defaults included", () => {
        const stack = stackFrom("daemons:\n  farm: { kubernetes: { namespace: ci } }\n"
            + "hosts:\n  builder: { unix: { hostDir: /srv/dind/builder } }\n  pod: { daemon: farm }\n"
            + "registries:\n  cache: { port: 5000, storage: { adopt: keep } }\n"
            + "clients:\n  agent: { socketGroup: 998 }\n  root: { socketGroup: 998, access: full }\n");
        assert.deepEqual(declaredObjects(stack).map((o) => `${o.kind} ${o.name}${o.adopt ? ` adopt=${o.adopt} at ${o.adoptKey}` : ""}`), [
            "container cache", "volume cache-data adopt=keep at registries.cache.storage.adopt", "network cache-net",
            "container builder", "volume builder-docker", "directory /srv/dind/builder",
            "container agent", "container agent-dood-proxy", "volume agent-dood-proxy", "directory /run/dind-provisioner/dood/agent",
            "container agent-buildkit", "volume agent-buildkit", "volume agent-buildkit-socket",
            "container root",
        ], "a Kubernetes host makes nothing on a Docker daemon; a client with access: full has no proxy and no builder");
    });

    it("lets a stack use free names and its own objects (a volume its earlier destroy retained is reused)", () => {
        assert.deepEqual(problems(HOST, none()), []);
        assert.deepEqual(problems(HOST, { ...none(), volumes: [{ Name: "evs-userdata-docker", Labels: { [STACK_LABEL]: OWNER } }] }), []);
        assert.deepEqual(problems(HOST, { ...none(), containers: [container("builder", { [STACK_LABEL]: OWNER })] }), []);
    });

    it("refuses a volume made by hand, naming it, its owner and both ways out; adopt takes it on purpose", () => {
        const handMade = { ...none(), volumes: [{ Name: "evs-userdata-docker", Labels: null }] };
        assert.deepEqual(problems(HOST, handMade), [
            `volume evs-userdata-docker (the storage volume of DinD host builder) on daemon "local" exists and belongs to nobody (made by hand: it has no ${STACK_LABEL} label): `
            + "set hosts.builder.storage.volume to another name, or take it over on purpose with hosts.builder.storage.adopt: keep (destroy leaves it and its data) "
            + "or hosts.builder.storage.adopt: delete (destroy deletes it with its data)",
        ]);
        for (const adopt of ["keep", "delete"]) {
            assert.deepEqual(problems(HOST.replace("volume: evs-userdata-docker", `volume: evs-userdata-docker, adopt: ${adopt}`), handMade), []);
        }
    });

    it("checks each pool member's container, volume and socket directory, and offers no adopt for a member's volume", () => {
        const pool = "pools:\n  ci: { size: 2, template: { unix: { hostDir: /srv/dind/ci } } }\n";
        assert.deepEqual(declaredObjects(stackFrom(pool)).map((o) => `${o.kind} ${o.name}`), [
            "container ci-1", "volume ci-1-docker", "directory /srv/dind/ci/ci-1", "container ci-2", "volume ci-2-docker", "directory /srv/dind/ci/ci-2",
        ]);
        assert.deepEqual(problems(pool, { ...none(), volumes: [{ Name: "ci-2-docker", Labels: { [STACK_LABEL]: "dind-provisioner/staging" } }] }), [
            `volume ci-2-docker (the storage volume of pool ci's member ci-2) on daemon "local" exists and belongs to stack dind-provisioner/staging: `
            + "rename the pool (pools.ci) or destroy it in stack dind-provisioner/staging",
        ]);
    });

    it("refuses another stack's container, volume and network all at once, and says which stack to destroy them in", () => {
        const theirs = { [STACK_LABEL]: "dind-provisioner/staging" };
        const found = problems("registries:\n  cache: { port: 5000 }\nclients:\n  root: { socketGroup: 998, access: full }\n", {
            containers: [container("cache", theirs)], volumes: [{ Name: "cache-data", Labels: theirs }], networks: [{ Id: "n1", Name: "cache-net", Labels: theirs }],
        });
        assert.equal(found.length, 3);
        assert.match(found[0], /^container cache \(the container of registry cache\) on daemon "local" exists and belongs to stack dind-provisioner\/staging: Docker cannot hand a container over; rename the registry \(registries\.cache\) or destroy it in stack dind-provisioner\/staging$/);
        assert.match(found[1], /^volume cache-data .* belongs to stack dind-provisioner\/staging: set registries\.cache\.storage\.volume to another name, or take it over on purpose/);
        assert.match(found[2], /^network cache-net \(the network of registry cache\) .* belongs to stack dind-provisioner\/staging: rename the registry \(registries\.cache\) or destroy it in stack/);
    });

    it("refuses a restricted client's builder and proxy state names another owner's objects have (none to adopt); builder: false makes none", () => {
        const source = "clients:\n  agent: { socketGroup: 998 }\n";
        const theirs = { [STACK_LABEL]: "dind-provisioner/staging" };
        const found = problems(source, {
            containers: [container("agent-buildkit", theirs)], volumes: [{ Name: "agent-buildkit-socket", Labels: null }, { Name: "agent-dood-proxy", Labels: theirs }], networks: [],
        });
        assert.deepEqual(found, [
            "volume agent-dood-proxy (the state volume of DooD client agent's policy proxy) on daemon \"local\" exists and belongs to stack dind-provisioner/staging: "
            + "rename the client (clients.agent) or destroy it in stack dind-provisioner/staging",
            "container agent-buildkit (the builder of DooD client agent) on daemon \"local\" exists and belongs to stack dind-provisioner/staging: "
            + "Docker cannot hand a container over; rename the client (clients.agent) or set clients.agent.builder: false or destroy it in stack dind-provisioner/staging",
            `volume agent-buildkit-socket (the socket volume of DooD client agent's builder) on daemon "local" exists and belongs to nobody (made by hand: it has no ${STACK_LABEL} label): `
            + "rename the client (clients.agent) or set clients.agent.builder: false",
        ]);
        assert.deepEqual(declaredObjects(stackFrom("clients:\n  agent: { socketGroup: 998, builder: false }\n")).map((o) => o.name),
            ["agent", "agent-dood-proxy", "agent-dood-proxy", "/run/dind-provisioner/dood/agent"]);
    });

    it("refuses a volume a DooD client made claiming to be this stack's: its policy proxy's label says whose it is", () => {
        const forged = { ...none(), volumes: [{ Name: "evs-userdata-docker", Labels: { [STACK_LABEL]: OWNER, [DOOD_OWNER_LABEL]: "agent" } }] };
        assert.match(problems(HOST, forged)[0], /exists and belongs to DooD client agent \(which labelled it as stack dind-provisioner\/dev's\)/);
    });

    it("refuses a socket directory another owner's container mounts, under any spelling of its path", () => {
        const source = "clients:\n  agent: { socketGroup: 998, access: { socketDir: /run/ci/agent } }\n";
        const theirs = container("other-proxy", { [STACK_LABEL]: "dind-provisioner/staging" }, ["/var/run/ci/agent/"]);
        assert.deepEqual(problems(source, { ...none(), containers: [theirs] }, { local: "tcp://10.0.0.5:2376" }), [
            "directory /run/ci/agent (the socket directory of DooD client agent's policy proxy) on daemon \"local\" is mounted by container other-proxy of "
            + "stack dind-provisioner/staging: set clients.agent.access.socketDir to a directory of its own (two containers serving one directory replace each other's socket)",
        ]);
        const mine = container("agent-dood-proxy", { [STACK_LABEL]: OWNER }, ["/run/ci/agent"]);
        assert.deepEqual(problems(source, { ...none(), containers: [mine] }, { local: "tcp://10.0.0.5:2376" }), []);
        assert.deepEqual(containersMounting("/var/run/ci/agent", [theirs, mine]).map((c) => c.Names[0]), ["/other-proxy", "/agent-dood-proxy"]);
    });

    it("refuses a directory on this machine that holds anything but what the project's containers leave and no container of this stack uses; never reads a remote one", () => {
        const root = mkdtempSync(path.join(os.tmpdir(), "ownership-"));
        try {
            const dir = path.join(root, "builder");
            const source = `hosts:\n  builder: { unix: { hostDir: ${dir} } }\n`;
            assert.deepEqual(problems(source, none()), [], "a directory that does not exist yet");
            mkdirSync(dir);
            writeFileSync(path.join(dir, "docker.sock"), "");
            writeFileSync(path.join(dir, "buildkit.sock"), "");
            mkdirSync(path.join(dir, "buildx"));
            assert.deepEqual(problems(source, none()), [], "only the sockets and buildx configuration a container of the stack (a policy proxy) left");
            writeFileSync(path.join(dir, "notes.txt"), "mine");
            writeFileSync(path.join(dir, ".hidden"), "mine");
            const found = problems(source, none());
            assert.equal(found.length, 1);
            assert.equal(found[0], `directory ${dir} (the socket directory of DinD host builder) on daemon "local" exists with 2 entries besides the sockets and buildx configuration this project's containers leave, `
                + `and no container of this stack uses it (made by hand?): set hosts.builder.unix.hostDir to a directory of its own, or empty it if nobody needs what is in it`);
            assert.doesNotMatch(found[0], /notes\.txt/, "a stack file may be someone else's: names in the directory are not read out");
            assert.deepEqual(problems(source, { ...none(), containers: [container("builder", { [STACK_LABEL]: OWNER }, [dir])] }), [], "the stack's own host uses it");
            assert.deepEqual(problems(source.replace("builder: {", "builder: { daemon: far,").replace("hosts:", "daemons:\n  far: { host: \"ssh://ci@far\" }\nhosts:"),
                none(), { far: "ssh://ci@far" }), [], "a directory of another machine is not looked at here");
        } finally {
            rmSync(root, { recursive: true, force: true });
        }
    });
});
