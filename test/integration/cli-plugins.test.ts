// The docker CLI plugins of the offline dind image (toolchain/steps/docker-cli-plugins.sh, built
// into it by images.sh) in a real stack: inside a DinD host, `docker buildx build` and `docker
// build` run BuildKit in the inner dockerd, FROM the preloaded image with no registry, and a
// RUN --mount=type=cache keeps its files from one build to the next; a DooD client of the same
// image has both plugins.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../driver/stack";
import { clearLeftovers, docker, labelled, StackUnderTest, tearDown } from "../support/harness";

const FIXTURE = path.join(__dirname, "fixtures", "cli-plugins.yaml");
const HOST = "plugins-dind";
const CLIENT = "plugins-agent";
const CONTEXT = "/tmp/plugins-context";

/** The version toolchain/modules/docker-<name>/go.mod pins for `module`: what the built plugin must report. */
function pinned(name: string, module: string): string {
    const gomod = readFileSync(path.join(REPO_ROOT, "toolchain", "modules", `docker-${name}`, "go.mod"), "utf8");
    const version = new RegExp(`^\\s*${module.replace(/[./]/g, "\\$&")} (v\\S+)`, "m").exec(gomod)?.[1];
    assert.ok(version, `toolchain/modules/docker-${name}/go.mod pins no ${module}`);
    return version;
}
const BUILDX = pinned("buildx", "github.com/docker/buildx");
const COMPOSE = pinned("compose", "github.com/docker/compose/v2");

/** Runs a shell script in a container of the stack; its output, stdout then stderr (where builds report). */
function inContainer(container: string, script: string): string {
    const result = docker(["exec", container, "sh", "-c", script]);
    assert.equal(result.status, 0, `${container}: ${script}\n${result.stderr}${result.stdout}`);
    return result.stdout + result.stderr;
}

describe("real lane: the docker CLI plugins of the offline images", function () {
    this.timeout(10 * 60_000);
    let sut: StackUnderTest | undefined;

    before(async () => {
        clearLeftovers([HOST, CLIENT, `${CLIENT}-dood-proxy`], ["plugins-dind-docker"], "plugins-");
        sut = await StackUnderTest.create(FIXTURE, `plugins-${process.pid}`);
        const up = await sut.stack.up();
        assert.equal(up.summary.result, "succeeded");
    });

    after(() => tearDown(sut));

    it("the DinD host's docker CLI lists both plugins at the versions tools/ pins", () => {
        assert.match(inContainer(HOST, "docker buildx version"), new RegExp(`^github\\.com/docker/buildx ${BUILDX} `));
        assert.equal(inContainer(HOST, "docker compose version").trim(), `Docker Compose version ${COMPOSE}`);
        assert.equal(inContainer(HOST, "docker info --format '{{range .ClientInfo.Plugins}}{{.Name}} {{.Version}};{{end}}'").trim(),
            `buildx ${BUILDX};compose ${COMPOSE};`);
        // The default builder: the inner dockerd's own BuildKit, through the docker driver.
        assert.match(inContainer(HOST, "docker buildx inspect"), /Driver:\s+docker\n[\s\S]*Status:\s+running/);
    });

    it("buildx build: BuildKit in the inner dockerd, FROM the preloaded image, a cache mount kept between builds", () => {
        inContainer(HOST, `mkdir -p ${CONTEXT} && printf '%s\\n' \
            'FROM dind-provisioner/busybox:local' \
            'ARG RUN_ID' \
            'RUN --mount=type=cache,id=plugins-runs,target=/cache echo "$RUN_ID" >> /cache/runs && cp /cache/runs /runs' \
            'CMD ["cat", "/runs"]' > ${CONTEXT}/Dockerfile`);
        inContainer(HOST, `docker buildx build --progress=plain --build-arg RUN_ID=first --load -t plugins-cache:1 ${CONTEXT}`);
        assert.equal(inContainer(HOST, "docker run --rm plugins-cache:1").trim(), "first");
        // The classic builder refuses RUN --mount; with buildx there, `docker build` is BuildKit's too.
        inContainer(HOST, `DOCKER_BUILDKIT=1 docker build --progress=plain --build-arg RUN_ID=second -t plugins-cache:2 ${CONTEXT}`);
        assert.equal(inContainer(HOST, "docker run --rm plugins-cache:2").trim(), "first\nsecond", "the cache mount kept the first build's file");
        // FROM came from the daemon's image store: BuildKit asked no registry (with --pull it logs
        // "trying next host ... registry-1.docker.io", and fails here, where none is reachable).
        const daemonLog = docker(["logs", HOST]);
        assert.match(daemonLog.stderr, /API listen on/, "the inner dockerd logs here");
        assert.doesNotMatch(daemonLog.stdout + daemonLog.stderr, /registry-1\.docker\.io/);
    });

    it("docker build, BuildKit by default: the same step again is cached", () => {
        const rebuilt = inContainer(HOST, `docker build --progress=plain --build-arg RUN_ID=second -t plugins-cache:3 ${CONTEXT}`);
        assert.match(rebuilt, /#\d+ \[[^\]]*2\/2\] RUN --mount=type=cache[^\n]*\n#\d+ CACHED/);
        assert.equal(inContainer(HOST, "docker run --rm plugins-cache:3").trim(), "first\nsecond");
    });

    it("the DooD client of the same image has both plugins", () => {
        assert.match(inContainer(CLIENT, "docker buildx version"), new RegExp(`^github\\.com/docker/buildx ${BUILDX} `));
        assert.equal(inContainer(CLIENT, "docker compose version").trim(), `Docker Compose version ${COMPOSE}`);
    });

    it("destroy leaves nothing of the stack", async () => {
        await sut!.stack.destroy();
        assert.deepEqual(labelled(sut!.label), []);
    });
});
