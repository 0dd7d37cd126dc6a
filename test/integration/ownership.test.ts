// The real lane for ownership: nothing a stack did not create is taken over or deleted, and a plain
// `up` converges after changes made outside Pulumi. Two stacks run the same file (staging copied from
// dev) against the real daemon; users' volumes, containers, networks and directories made by hand;
// a state copied from the other stack; an owner label a DooD client forged through its real policy
// proxy; a host removed, stopped or paused. Commands run as `npm run ...` runs them. Ports 244xx.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { DOOD_OWNER_LABEL, STACK_LABEL } from "../../components/markers";
import { contextName, syncContexts } from "../../driver/contexts";
import { PROJECT_NAME } from "../../driver/stack";
import { stackOutputsOf } from "../../program/outputs";
import { docker, dockerOk, driver, labelled, StackUnderTest, tearDown } from "../support/harness";

const FIXTURES = path.join(__dirname, "fixtures");
const SCRATCH = "/tmp/dind-provisioner-own";
const INNER = { DOCKER_HOST: `unix://${SCRATCH}/own-host/docker.sock` };
const PROXY_SOCKET = `${SCRATCH}/sockets/own-agent/docker.sock`;
const BUSYBOX = "dind-provisioner/busybox:local";
const CLIENT_IMAGE = "own-client:v1";
/** Marks what the suite makes by hand, so that a later run may clear it and no one else's. */
const TEST_LABEL = "dind-provisioner.test=own";
const STACK_A_OBJECTS = ["container own-host", "container own-reg", "container own-agent", "container own-agent-dood-proxy", "container own-agent-buildkit",
    "volume own-host-docker", "volume own-reg-data", "volume own-agent-dood-proxy", "volume own-agent-buildkit", "volume own-agent-buildkit-socket", "network own-reg-net"];

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Id and status of each object, to show that nothing of it changed. */
function snapshot(objects: string[]): Record<string, string> {
    return Object.fromEntries(objects.map((entry) => {
        const [kind, name] = entry.split(" ");
        const format = kind === "container" ? "{{.Id}} {{.State.Status}} {{.RestartCount}}" : kind === "volume" ? "{{.Name}} {{.CreatedAt}}" : "{{.Id}}";
        return [entry, dockerOk([kind, "inspect", "--format", format, name])];
    }));
}

/** A file in a volume, read by a throwaway container. */
function readInVolume(volume: string, file: string): string {
    return dockerOk(["run", "--rm", "--label", TEST_LABEL, "-v", `${volume}:/v:ro`, BUSYBOX, "cat", `/v/${file}`]);
}

/** A volume made by hand, with a file of the user's in it. */
function handMadeVolume(name: string, content: string) {
    dockerOk(["volume", "create", "--label", TEST_LABEL, name]);
    dockerOk(["run", "--rm", "--label", TEST_LABEL, "-v", `${name}:/v`, BUSYBOX, "sh", "-c", `echo ${content} > /v/user-file`]);
}

/** Removes what an earlier run of this suite left: objects of its stacks (own-...) or made by it by hand; refuses anyone else's. */
function clearLeftovers() {
    for (const kind of ["container", "volume", "network"]) {
        const names = dockerOk([kind, "ls", ...(kind === "container" ? ["-a"] : []), "--filter", "name=own-", "--format", kind === "container" ? "{{.Names}}" : "{{.Name}}"])
            .split("\n").filter((name) => name.startsWith("own-"));
        for (const name of names) {
            const labels = JSON.parse(dockerOk([kind, "inspect", "--format", kind === "container" ? "{{json .Config.Labels}}" : "{{json .Labels}}", name])) ?? {};
            const ours = String(labels[STACK_LABEL] ?? "").startsWith(`${PROJECT_NAME}/own-`) || labels["dind-provisioner.test"] === "own" || labels[DOOD_OWNER_LABEL] === "own-agent";
            if (!ours) throw new Error(`a ${kind} named ${name} exists and is not this suite's: remove it or free the name; the suite will not touch it`);
            docker(kind === "container" ? ["rm", "-f", "-v", name] : [kind, "rm", name]);
        }
    }
}

/** One Engine API request through the DooD client's policy proxy, as the client would make it. */
function throughProxy(method: string, requestPath: string, body: object): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
        const request = http.request({ socketPath: PROXY_SOCKET, method, path: requestPath, headers: { "Content-Type": "application/json" } }, (response) => {
            let text = "";
            response.on("data", (chunk) => (text += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
        });
        request.on("error", reject);
        request.end(JSON.stringify(body));
    });
}

/** The nested container runs on the host's inner daemon, and the preloaded image is there. */
function assertNestedRuns() {
    assert.equal(dockerOk(["inspect", "--format", "{{.State.Running}}", "own-web"], INNER), "true");
    assert.equal(docker(["image", "inspect", BUSYBOX], INNER).status, 0);
}

/** Copies one stack's state file into another's backend, as a user copying state between stacks would (the URNs renamed). */
function copyState(from: StackUnderTest, to: StackUnderTest) {
    const source = from.stateFiles().find((f) => f.endsWith(`/stacks/${PROJECT_NAME}/${from.stack.name}.json`))!;
    const target = path.join(to.dir, "state", ".pulumi", "stacks", PROJECT_NAME, `${to.stack.name}.json`);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, readFileSync(source, "utf8").replaceAll(`urn:pulumi:${from.stack.name}::`, `urn:pulumi:${to.stack.name}::`)
        .replaceAll(`${PROJECT_NAME}-${from.stack.name}`, `${PROJECT_NAME}-${to.stack.name}`));
    rmSync(`${target}.bak`, { force: true });
}

describe("real lane: ownership of outer objects, and up after changes outside Pulumi", function () {
    this.timeout(20 * 60_000);
    let a: StackUnderTest;
    let b: StackUnderTest;
    const extra: StackUnderTest[] = [];
    const stack = async (fixture: string, name: string) => {
        const made = await StackUnderTest.create(fixture, `${name}-${process.pid}`);
        extra.push(made);
        return made;
    };

    before(async () => {
        clearLeftovers();
        rmSync(SCRATCH, { recursive: true, force: true });
        dockerOk(["tag", BUSYBOX, CLIENT_IMAGE]);
        a = await StackUnderTest.create(path.join(FIXTURES, "ownership.yaml"), `own-a-${process.pid}`);
        b = await StackUnderTest.create(path.join(FIXTURES, "ownership.yaml"), `own-b-${process.pid}`);
        await driver("up", a.driverFlags);
        assertNestedRuns();
    });

    after(async () => {
        for (const made of [b, ...extra]) await tearDown(made);
        await tearDown(a);
        clearLeftovers();
        docker(["rmi", CLIENT_IMAGE]);
        rmSync(SCRATCH, { recursive: true, force: true });
    });

    it("1. a second stack with the same file: preview and up fail before changing anything, naming every object, its owner and what to do", async () => {
        const before = snapshot(STACK_A_OBJECTS);
        const owner = `stack ${PROJECT_NAME}/${a.stack.name}`;
        for (const command of ["preview", "up"]) {
            const { output } = await driver(command, b.driverFlags, 1);
            assert.match(output, new RegExp(`error: stack ${PROJECT_NAME}/${b.stack.name} uses names that objects it did not create already have, so nothing was changed`));
            for (const [kind, name, what] of [
                ["container", "own-host", "the container of DinD host own-host"], ["volume", "own-host-docker", "the storage volume of DinD host own-host"],
                ["container", "own-reg", "the container of registry own-reg"], ["volume", "own-reg-data", "the storage volume of registry own-reg"],
                ["network", "own-reg-net", "the network of registry own-reg"], ["container", "own-agent", "the container of DooD client own-agent"],
                ["container", "own-agent-dood-proxy", "the policy proxy of DooD client own-agent"],
                ["volume", "own-agent-dood-proxy", "the state volume of DooD client own-agent's policy proxy"],
                ["container", "own-agent-buildkit", "the builder of DooD client own-agent"], ["volume", "own-agent-buildkit", "the state volume of DooD client own-agent's builder"],
                ["volume", "own-agent-buildkit-socket", "the socket volume of DooD client own-agent's builder"],
            ]) {
                assert.match(output, new RegExp(`- ${kind} ${escape(name)} \\(${escape(what)}\\) on daemon "local" exists and belongs to ${escape(owner)}: `), `${command}: ${kind} ${name}`);
            }
            assert.match(output, new RegExp(`- directory ${SCRATCH}/own-host \\(the socket directory of DinD host own-host\\) on daemon "local" is mounted by container own-host of ${escape(owner)}: set hosts\\.own-host\\.unix\\.hostDir to a directory of its own`));
            assert.match(output, new RegExp(`- directory ${SCRATCH}/sockets/own-agent .* is mounted by container own-agent(-dood-proxy)? of ${escape(owner)}: set clients\\.own-agent\\.access\\.socketDir`));
            assert.match(output, /take it over on purpose with hosts\.own-host\.storage\.adopt: keep \(destroy leaves it and its data\) or hosts\.own-host\.storage\.adopt: delete/);
        }
        assert.deepEqual(labelled(b.label), [], "the second stack made nothing");
        assert.deepEqual(snapshot(STACK_A_OBJECTS), before, "nothing of the first stack changed");
        assertNestedRuns();
    });

    it("2. a state file copied from the other stack: destroy leaves all of that stack's objects, what runs in its host and what its client made, and says so", async () => {
        // Something the first stack's client made through its proxy: emptying that client's scope would remove it.
        const made = await throughProxy("POST", "/v1.41/volumes/create", { Name: "own-scope" });
        assert.equal(made.status, 201, made.text);
        const before = snapshot([...STACK_A_OBJECTS, "volume own-agent.own-scope"]);
        copyState(a, b);
        const destroy = await driver("destroy", b.driverFlags);
        for (const entry of STACK_A_OBJECTS) {
            const [kind, name] = entry.split(" ");
            assert.match(destroy.output, new RegExp(`\\[driver\\] ${kind} ${escape(name)} \\(.*\\) on unix://\\S+ is in this stack's state but belongs to stack ${PROJECT_NAME}/${a.stack.name}, `
                + `not to stack ${PROJECT_NAME}/${b.stack.name} \\(a state copied from another stack, or stale\\): destroy leaves it`), entry);
        }
        assert.match(destroy.output, /container own-host \(DinD host own-host\) .*: destroy leaves it and the 1 resource\(s\) on its inner daemon where it is/);
        assert.match(destroy.output, /container own-agent \(DooD client own-agent\) .*: destroy leaves it and the objects it made \(its scope\) where it is/);
        assert.deepEqual(snapshot([...STACK_A_OBJECTS, "volume own-agent.own-scope"]), before, "nothing of the first stack, or of its client's, was deleted, stopped or replaced");
        dockerOk(["volume", "rm", "own-agent.own-scope"]);
        assertNestedRuns();
        assert.deepEqual(((await b.stack.exportStack()).deployment.resources ?? []).filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack"), []);
    });

    it("3. a volume made by hand with a user's files: refused; adopt: keep takes it and destroy leaves it with the files; adopt: delete lets destroy delete it", async () => {
        handMadeVolume("own-user-docker", "precious");
        const user = await stack(path.join(FIXTURES, "ownership-user.yaml"), "own-u");
        for (const command of ["preview", "up"]) {
            const { output } = await driver(command, user.driverFlags, 1);
            assert.match(output, new RegExp(`- volume own-user-docker \\(the storage volume of DinD host own-user\\) on daemon "local" exists and belongs to nobody \\(made by hand: it has no ${escape(STACK_LABEL)} label\\): `
                + "set hosts\\.own-user\\.storage\\.volume to another name, or take it over on purpose with hosts\\.own-user\\.storage\\.adopt: keep"));
        }
        assert.equal(docker(["inspect", "own-user"]).status, 1, "no DinD host was created");
        user.editStackFile((text) => text.replace("image: dind-provisioner/dind:local", "image: dind-provisioner/dind:local\n    storage: { adopt: keep }"));
        await driver("up", user.driverFlags);
        assert.equal(dockerOk(["inspect", "--format", "{{.State.Running}}", "own-user"]), "true");
        assert.equal(readInVolume("own-user-docker", "user-file"), "precious");
        const kept = await driver("destroy", user.driverFlags);
        assert.match(kept.output, /volume own-user-docker \(DinD host own-user\) .* belongs to nobody .*; the stack file takes it over with adopt: keep, so destroy leaves it and its data/);
        assert.equal(docker(["inspect", "own-user"]).status, 1, "the host is gone");
        assert.equal(readInVolume("own-user-docker", "user-file"), "precious", "the user's volume survived, with the files");

        user.editStackFile((text) => text.replace("adopt: keep", "adopt: delete"));
        await driver("up", user.driverFlags);
        const deleted = await driver("destroy", user.driverFlags);
        assert.match(deleted.output, /the stack file takes it over with adopt: delete, so destroy deletes it with its data/);
        assert.equal(docker(["volume", "inspect", "own-user-docker"]).status, 1, "adopt: delete said destroy may delete it");
    });

    it("4. a retained volume: its own stack takes it back after destroy; another stack is refused it; made again by hand (its label gone), its own stack is refused it too", async () => {
        const keep = await stack(path.join(FIXTURES, "ownership-keep.yaml"), "own-k");
        await driver("up", keep.driverFlags);
        dockerOk(["run", "--rm", "--label", TEST_LABEL, "-v", "own-keep-docker:/v", BUSYBOX, "touch", "/v/kept-marker"]);
        await driver("destroy", keep.driverFlags);
        assert.deepEqual(labelled(keep.label), ["volume own-keep-docker"]);
        await driver("up", keep.driverFlags);
        assert.equal(dockerOk(["run", "--rm", "--label", TEST_LABEL, "-v", "own-keep-docker:/v:ro", BUSYBOX, "ls", "/v/kept-marker"]), "/v/kept-marker", "the same volume, taken back");
        await driver("destroy", keep.driverFlags);

        const other = await stack(path.join(FIXTURES, "ownership-keep.yaml"), "own-k2");
        const refused = await driver("up", other.driverFlags, 1);
        assert.match(refused.output, new RegExp(`- volume own-keep-docker .* exists and belongs to stack ${PROJECT_NAME}/${keep.stack.name}: `));
        assert.deepEqual(labelled(other.label), []);

        // The label removed: Docker cannot change one, so the volume was made again by hand under the same name while the stack was up.
        await driver("up", keep.driverFlags);
        dockerOk(["rm", "-f", "own-keep"]);
        dockerOk(["volume", "rm", "own-keep-docker"]);
        handMadeVolume("own-keep-docker", "made-again");
        const up = await driver("up", keep.driverFlags, 1);
        assert.match(up.output, /\[driver\] volume own-keep-docker \(DinD host own-keep\) .* is in this stack's state but belongs to nobody \(made by hand/);
        assert.match(up.output, /- volume own-keep-docker .* exists and belongs to nobody \(made by hand/);
        const destroy = await driver("destroy", keep.driverFlags);
        assert.match(destroy.output, /volume own-keep-docker .*: destroy leaves it where it is/);
        assert.equal(readInVolume("own-keep-docker", "user-file"), "made-again");
        dockerOk(["volume", "rm", "own-keep-docker"]);
    });

    it("5. an owner label forged by a DooD client through its real policy proxy does not make its volume the stack's", async () => {
        // The client asks its proxy for a volume named as a DinD host's storage, claiming it for another stack.
        const planted = await stack(path.join(FIXTURES, "ownership-planted.yaml"), "own-p");
        const created = await throughProxy("POST", "/v1.41/volumes/create",
            { Name: "own-planted-docker", Labels: { [STACK_LABEL]: `${PROJECT_NAME}/${planted.stack.name}` } });
        assert.equal(created.status, 201, created.text);
        const labels = JSON.parse(dockerOk(["volume", "inspect", "--format", "{{json .Labels}}", "own-agent.own-planted-docker"]));
        assert.deepEqual([labels[STACK_LABEL], labels[DOOD_OWNER_LABEL]], [`${PROJECT_NAME}/${planted.stack.name}`, "own-agent"], "the proxy named and labelled it the client's");
        const refused = await driver("up", planted.driverFlags, 1);
        assert.match(refused.output, new RegExp(`- volume own-agent\\.own-planted-docker \\(the storage volume of DinD host own-agent\\.own-planted\\) on daemon "local" exists `
            + `and belongs to DooD client own-agent \\(which labelled it as stack ${PROJECT_NAME}/${planted.stack.name}'s\\)`));
        assert.equal(docker(["inspect", "own-agent.own-planted"]).status, 1, "no DinD host runs on the client's volume");
        dockerOk(["volume", "rm", "own-agent.own-planted-docker"]);
    });

    it("6. a container, a network and a directory made by hand under a stack's names are refused, and left as they are", async () => {
        dockerOk(["run", "-d", "--name", "own-hm", "--label", TEST_LABEL, BUSYBOX, "sleep", "600"]);
        dockerOk(["network", "create", "--label", TEST_LABEL, "own-hm-reg-net"]);
        mkdirSync(`${SCRATCH}/hand-made`, { recursive: true });
        writeFileSync(`${SCRATCH}/hand-made/notes.txt`, "mine");
        const handMade = await stack(path.join(FIXTURES, "ownership-hand-made.yaml"), "own-hm");
        const before = snapshot(["container own-hm", "network own-hm-reg-net"]);
        const { output } = await driver("up", handMade.driverFlags, 1);
        assert.match(output, /- container own-hm \(the container of DinD host own-hm\) on daemon "local" exists and belongs to nobody \(made by hand: .*\): Docker cannot hand a container over; rename the host \(hosts\.own-hm\)/);
        assert.match(output, /- network own-hm-reg-net \(the network of registry own-hm-reg\) on daemon "local" exists and belongs to nobody \(made by hand: .*\): rename the registry \(registries\.own-hm-reg\)/);
        assert.match(output, new RegExp(`- directory ${SCRATCH}/hand-made \\(the socket directory of DinD host own-hm\\) on daemon "local" exists with 1 entry besides the sockets and buildx configuration this project's containers leave, and no container of this stack uses it \\(made by hand\\?\\)`));
        assert.deepEqual(snapshot(["container own-hm", "network own-hm-reg-net"]), before);
        assert.equal(readFileSync(`${SCRATCH}/hand-made/notes.txt`, "utf8"), "mine");
        assert.deepEqual(labelled(handMade.label), []);
        dockerOk(["rm", "-f", "-v", "own-hm"]);
        dockerOk(["network", "rm", "own-hm-reg-net"]);
    });

    it("7. a host removed, stopped or paused outside Pulumi: preview says what up will do, a plain up converges and says what it found", async () => {
        const check = async (change: () => void, found: RegExp, did: RegExp) => {
            change();
            const preview = await driver("preview", a.driverFlags);
            assert.match(preview.output, found);
            const up = await driver("up", a.driverFlags);
            assert.match(up.output, did);
            assert.equal(dockerOk(["inspect", "--format", "{{.State.Status}}", "own-host"]), "running");
            assertNestedRuns();
            return up.seconds;
        };
        await check(() => dockerOk(["rm", "-f", "own-host"]),
            /\[driver\] container own-host \(DinD host own-host\) on \S+ was removed outside Pulumi: up will create it again[\s\S]*own-host-container[\s\S]*replace/,
            /\[driver\] container own-host \(DinD host own-host\) on \S+ was removed outside Pulumi: refreshing it, so that up creates it again/);
        assert.doesNotMatch((await driver("up", a.driverFlags)).output, /\[driver\]/, "and the next up finds nothing to say");
        await check(() => dockerOk(["stop", "own-host"]), /was stopped outside Pulumi: up will start it/, /container own-host \(DinD host own-host\) on \S+ was stopped outside Pulumi: started it/);
        await check(() => dockerOk(["pause", "own-host"]), /was paused outside Pulumi: up will unpause it/, /container own-host \(DinD host own-host\) on \S+ was paused outside Pulumi: unpaused it/);

        // A registry removed, a client stopped and its proxy paused, all at once.
        dockerOk(["rm", "-f", "own-reg"]);
        dockerOk(["stop", "own-agent"]);
        dockerOk(["pause", "own-agent-dood-proxy"]);
        const up = await driver("up", a.driverFlags);
        assert.match(up.output, /container own-reg \(registry own-reg\) on \S+ was removed outside Pulumi: refreshing it/);
        assert.match(up.output, /container own-agent \(DooD client own-agent\) on \S+ was stopped outside Pulumi: started it/);
        assert.match(up.output, /container own-agent-dood-proxy \(DooD policy proxy own-agent-dood-proxy\) on \S+ was paused outside Pulumi: unpaused it/);
        for (const name of ["own-reg", "own-agent", "own-agent-dood-proxy"]) assert.equal(dockerOk(["inspect", "--format", "{{.State.Status}}", name]), "running", name);
    });

    it("8. a tag that comes to name another image: preview shows the client replaced, up rolls the new image out", async () => {
        const old = dockerOk(["image", "inspect", "--format", "{{.Id}}", CLIENT_IMAGE]);
        const build = spawnSync("docker", ["build", "-q", "--label", TEST_LABEL, "--label", "own.generation=2", "-t", CLIENT_IMAGE, "-"],
            { input: `FROM ${BUSYBOX}\n`, encoding: "utf8" });
        assert.equal(build.status, 0, build.stderr);
        const rebuilt = dockerOk(["image", "inspect", "--format", "{{.Id}}", CLIENT_IMAGE]);
        assert.notEqual(rebuilt, old);
        const preview = await driver("preview", a.driverFlags);
        assert.match(preview.output, new RegExp(`\\(replace\\)[\\s\\S]*::own-agent-container\\][\\s\\S]*image\\s*: "${old}" => "${rebuilt}"`));
        await driver("up", a.driverFlags);
        assert.equal(dockerOk(["inspect", "--format", "{{.Image}}", "own-agent"]), rebuilt);
    });

    it("9. a docker context of another stack under a host's context name is left alone; destroy with the host paused removes only the stack's own", async () => {
        const saved = process.env.DOCKER_CONFIG;
        process.env.DOCKER_CONFIG = mkdtempSync(path.join(os.tmpdir(), "own-docker-config-"));
        const context = contextName(a.stack.name, "own-host");
        try {
            const other = `dind-provisioner ${PROJECT_NAME}/${b.stack.name}-own: host host; no published-ports address`;
            dockerOk(["context", "create", context, "--description", other, "--docker", "host=tcp://127.0.0.1:1"]);
            const outputs = stackOutputsOf(await a.stack.outputs());
            assert.throws(() => syncContexts(a.stack.name, outputs),
                new RegExp(`a docker context named ${context} exists and belongs to stack ${PROJECT_NAME}/${b.stack.name}-own, so it was left as it is: rename host own-host`));

            dockerOk(["pause", "own-host"]);
            const destroy = await driver("destroy", a.driverFlags);
            assert.match(destroy.output, /container own-host \(DinD host own-host\) on \S+ was paused outside Pulumi: unpaused it/);
            assert.deepEqual(labelled(a.label), []);
            // The CLI's template sees the store's own Metadata type at .Metadata: read the JSON instead.
            assert.equal(JSON.parse(dockerOk(["context", "inspect", context]))[0].Metadata.Description, other, "the other stack's context is still there, unchanged");
        } finally {
            rmSync(process.env.DOCKER_CONFIG, { recursive: true, force: true });
            if (saved === undefined) delete process.env.DOCKER_CONFIG;
            else process.env.DOCKER_CONFIG = saved;
        }
    });
});
