import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { provisionStack, provisionStackFile } from "../../program";
import { validateStackSource } from "../../stackfile/load";
import { startFakeEngine } from "./components/fakeEngine";
import { CERTIFICATES, CONTAINER, DOCKER_PROVIDER, installMocks, isSecret, NETWORK, PRELOAD, REMOTE_IMAGE, valueOf, VOLUME } from "./mocks";

const fixtures = path.join(__dirname, "stackfile", "fixtures");

function stackFrom(source: string) {
    const result = validateStackSource(source, "inline.yaml", {});
    assert.deepEqual(result.problems, []);
    return result.stack!;
}

/** Resolves once every registration the program started has reached the mocks. */
async function settled(outputs: ReturnType<typeof provisionStack>) {
    await valueOf(pulumi.output(outputs) as pulumi.Output<unknown>);
}

describe("program", () => {
    it("provisions a host with its workloads and a client from one stack file", async () => {
        const mocks = installMocks();
        // A daemon socket that does not exist: the unit lane talks to no engine.
        const source = readFixture("good/full.yaml")
            .replace("workspace: /srv/ci", "workspace: /srv/ci\n    socketGroup: 998")
            .replace("local: { host: unix:///var/run/docker.sock }", "local: { host: unix:///nonexistent/docker.sock }");
        const outputs = provisionStack(stackFrom(source));
        await settled(outputs);
        const count = (type: string) => mocks.byType(type).length;
        assert.equal(count(CONTAINER), 3, "DinD, nested web, DooD agent");
        assert.equal(count(VOLUME), 2, "storage and nested data");
        assert.equal(count(NETWORK), 1);
        assert.equal(count(CERTIFICATES), 1);
        assert.equal(count(PRELOAD), 1);
        assert.equal(count(REMOTE_IMAGE), 2, "the DinD and client images on the outer daemon");
        assert.deepEqual(mocks.byType(DOCKER_PROVIDER).map((p) => p.name).sort(), ["builder-inner", "daemon-local"]);
        assert.equal(mocks.one(DOCKER_PROVIDER, "daemon-local").inputs.host, "unix:///nonexistent/docker.sock");
        const privileged = mocks.byType(CONTAINER).filter((c) => c.inputs.privileged === true).map((c) => c.name);
        assert.deepEqual(privileged, ["builder-container"], "privileged only where DinD needs it");
        const dind = mocks.one(CONTAINER, "builder-container").inputs;
        assert.deepEqual(dind.labels.find((l: { label: string }) => l.label === "dind-provisioner.stack"), { label: "dind-provisioner.stack", value: "dind-provisioner/unit" });
        assert.equal(await valueOf(outputs.hosts.builder.dockerHost), "tcp://127.0.0.1:23760");
        assert.deepEqual(await valueOf(outputs.hosts.builder.nestedContainerIds), { web: "builder-workloads-container-web-id" });
        assert.equal(await valueOf(outputs.clients.agent.containerId), "agent-container-id");
        assert.equal(await isSecret(outputs.clientTls), true);
        assert.equal(await isSecret(outputs.hosts.builder.dockerHost), false);
    });

    it("asks each outer engine for its API version once, and picks every host's health-check schedule from it", async () => {
        const engine = await startFakeEngine({}, "1.41");
        try {
            const mocks = installMocks();
            await settled(provisionStack(stackFrom(`daemons:\n  local: { host: "unix://${engine.socket}" }\nhosts:\n  one: {}\n  two: {}\n`)));
            assert.deepEqual(mocks.byType(CONTAINER).map((c) => [c.name, c.inputs.healthcheck.interval, c.inputs.healthcheck.startInterval]),
                [["one-container", "1s", undefined], ["two-container", "1s", undefined]], "an engine before Docker 25 has one interval only");
            assert.equal(engine.versionRequests, 1);
        } finally {
            await engine.close();
        }
    });

    it("reads the socket's group when the daemon is on this machine", async () => {
        const mocks = installMocks();
        const socket = path.join(mkdtempSync(path.join(os.tmpdir(), "sock-")), "docker.sock");
        writeFileSync(socket, "");
        const outputs = provisionStack(stackFrom(`clients:\n  agent: { socket: ${socket} }\n`));
        await settled(outputs);
        assert.deepEqual(mocks.one(CONTAINER).inputs.groupAdds, [String(statSync(socket).gid)]);
        assert.throws(() => provisionStack(stackFrom("clients:\n  agent: { socket: /nonexistent/docker.sock }\n")),
            /clients\.agent\.socket: cannot read the group of \/nonexistent\/docker\.sock/);
    });

    it("provisions nothing from an invalid file and names every problem", () => {
        const mocks = installMocks();
        assert.throws(() => provisionStackFile(path.join(fixtures, "bad", "uniqueness.yaml"), {}), (error: Error) => {
            assert.ok(error instanceof pulumi.RunError);
            assert.match(error.message, /^5 problems in stack file:\n/);
            assert.match(error.message, /uniqueness\.yaml:11:18: hosts\.tester\.tcp\.port: host port 23760 on daemon "local" is already taken by hosts\.builder\.tcp\.port/);
            return true;
        });
        assert.throws(() => provisionStackFile(path.join(fixtures, "bad", "empty.yaml"), {}), /the file is empty/);
        assert.equal(mocks.resources.length, 0);
    });
});

function readFixture(name: string): string {
    return readFileSync(path.join(fixtures, name), "utf8");
}
