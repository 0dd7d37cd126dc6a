// The docker CLI plugins of the offline dind image (toolchain/steps/docker-cli-plugins.sh, built
// into it by images.sh) in a real stack: inside a DinD host, and in a client of the same image
// (the offline client image) with the host's raw socket, `docker buildx build` and `docker build`
// run BuildKit in the inner dockerd, FROM the preloaded image with no registry, a RUN
// --mount=type=cache keeps its files from one build to the next, and `docker compose up --build`
// / `down -v` run a two-service project; a restricted DooD client of the same image has both plugins.
import * as assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../driver/stack";
import { allowForSuite } from "../support/consent";
import { clearLeftovers, docker, labelled, StackUnderTest, tearDown } from "../support/harness";

const FIXTURE = path.join(__dirname, "fixtures", "cli-plugins.yaml");
const CLIENT_FIXTURE = path.join(__dirname, "fixtures", "cli-plugins-client.yaml");
const HOST = "plugins-dind";
const CLIENT = "plugins-agent";
const BUILDER = "plugins-builder";
const BUSYBOX = "dind-provisioner/busybox:local";
/** The host's unix endpoint and the restricted client's proxy socket directory, made by the daemon's binds. */
const SCRATCH = "/tmp/dind-provisioner-plugins";

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

/** Writes files into a directory of a container: name -> lines. */
function writeFiles(container: string, dir: string, files: Record<string, string[]>) {
    const quote = (line: string) => `'${line.replace(/'/g, "'\\''")}'`;
    inContainer(container, [`mkdir -p ${dir}`, ...Object.entries(files).map(([name, lines]) => `printf '%s\\n' ${lines.map(quote).join(" ")} > ${dir}/${name}`)].join(" && "));
}

/** A Dockerfile whose RUN appends RUN_ID to a file kept in the cache mount `cacheId`, and copies it into the image. */
function cacheMountDockerfile(cacheId: string): string[] {
    return [
        `FROM ${BUSYBOX}`,
        "ARG RUN_ID",
        `RUN --mount=type=cache,id=${cacheId},target=/cache echo "$RUN_ID" >> /cache/runs && cp /cache/runs /runs`,
        'CMD ["cat", "/runs"]',
    ];
}

/** The plugins' versions in `container`'s docker CLI: the ones toolchain/modules/ pins. */
function assertPluginVersions(container: string) {
    assert.match(inContainer(container, "docker buildx version"), new RegExp(`^github\\.com/docker/buildx ${BUILDX} `));
    assert.equal(inContainer(container, "docker compose version").trim(), `Docker Compose version ${COMPOSE}`);
}

/** The plugins as the CLI reports them next to the daemon's facts (`docker info`). */
function assertPluginsListed(container: string) {
    assert.equal(inContainer(container, "docker info --format '{{range .ClientInfo.Plugins}}{{.Name}} {{.Version}};{{end}}'").trim(),
        `buildx ${BUILDX};compose ${COMPOSE};`);
}

/**
 * BuildKit builds from `container` (against the DinD host's inner dockerd): buildx build, then
 * docker build, whose RUN sees the first build's file in the cache mount, then the same build
 * again, whose steps are cached.
 */
function assertCacheMountBuilds(container: string, context: string, tag: string) {
    writeFiles(container, context, { Dockerfile: cacheMountDockerfile(`${tag}-runs`) });
    inContainer(container, `docker buildx build --progress=plain --build-arg RUN_ID=first --load -t ${tag}:1 ${context}`);
    assert.equal(inContainer(container, `docker run --rm ${tag}:1`).trim(), "first");
    // The classic builder refuses RUN --mount; with buildx there, `docker build` is BuildKit's by default.
    inContainer(container, `docker build --progress=plain --build-arg RUN_ID=second -t ${tag}:2 ${context}`);
    assert.equal(inContainer(container, `docker run --rm ${tag}:2`).trim(), "first\nsecond", "the cache mount kept the first build's file");
    const rebuilt = inContainer(container, `docker build --progress=plain --build-arg RUN_ID=second -t ${tag}:3 ${context}`);
    assert.match(rebuilt, /#\d+ \[[^\]]*2\/2\] RUN --mount=type=cache[^\n]*\n#\d+ CACHED/);
    assert.equal(inContainer(container, `docker run --rm ${tag}:3`).trim(), "first\nsecond");
}

/**
 * `docker compose up -d --build --wait` of a two-service project from `container`: a web service
 * built with a cache mount, a named volume, a published port and a healthcheck; a probe that
 * depends on it being healthy and fetches its page by service name. Then ps, logs, `down -v`,
 * after which nothing of the project is left on the daemon.
 */
function assertComposeRoundTrip(container: string, dir: string, project: string, port: number) {
    writeFiles(container, dir, {
        Dockerfile: cacheMountDockerfile(`${project}-runs`),
        "compose.yaml": [
            "services:",
            "  web:",
            "    build: { context: ., args: { RUN_ID: built-by-compose } }",
            `    image: ${project}-web:1`,
            '    command: [sh, -c, "cp /runs /site/index.html && exec httpd -f -p 8080 -h /site"]',
            "    volumes: [site:/site]",
            `    ports: ["${port}:8080"]`,
            '    healthcheck: { test: [CMD, wget, -qO-, "http://127.0.0.1:8080/"], interval: 1s, retries: 30 }',
            "  probe:",
            `    image: ${BUSYBOX}`,
            '    command: [sh, -c, "wget -qO- http://web:8080/ && exec sleep 3600"]',
            "    depends_on: { web: { condition: service_healthy } }",
            "volumes: { site: {} }",
        ],
    });
    const compose = `docker compose -p ${project} --project-directory ${dir}`;
    inContainer(container, `${compose} up -d --build --wait`);
    const running = inContainer(container, `${compose} ps --format '{{.Service}} {{.State}} {{.Health}}'`).trim().split("\n").map((line) => line.trimEnd()).sort();
    assert.deepEqual(running, ["probe running", "web running healthy"]);
    assert.match(inContainer(container, `${compose} logs --no-log-prefix probe`), /^built-by-compose$/m, "the probe found the web service by name");
    // The published port, on the daemon's network namespace (the DinD container's).
    assert.equal(inContainer(container, `docker run --rm --network host ${BUSYBOX} wget -qO- http://127.0.0.1:${port}/`).trim(), "built-by-compose");
    // -t 1: httpd and sleep, PID 1 in their containers, ignore SIGTERM (else 10 s each).
    inContainer(container, `${compose} down -v -t 1`);
    const left = (kind: string) => inContainer(container, `docker ${kind} ls ${kind === "container" ? "-a" : ""} -q --filter label=com.docker.compose.project=${project}`).trim();
    assert.deepEqual(["container", "volume", "network"].map(left), ["", "", ""], "down -v removed the project's containers, volumes and networks");
}

describe("real lane: the docker CLI plugins of the offline images", function () {
    this.timeout(10 * 60_000);
    let sut: StackUnderTest | undefined;
    let clientSut: StackUnderTest | undefined;
    let disallow: () => void = () => undefined;

    before(async () => {
        clearLeftovers([BUILDER], [], "plugins-client-");
        clearLeftovers([HOST, CLIENT, `${CLIENT}-dood-proxy`], ["plugins-dind-docker"], "plugins-");
        sut = await StackUnderTest.create(FIXTURE, `plugins-${process.pid}`);
        const up = await sut.stack.up();
        assert.equal(up.summary.result, "succeeded");
    });

    after(async () => {
        await tearDown(clientSut);
        disallow();
        await tearDown(sut);
        rmSync(SCRATCH, { recursive: true, force: true });
    });

    describe("inside a DinD host", () => {
        it("the docker CLI lists both plugins at the versions toolchain/modules/ pins; the builder is the inner dockerd's BuildKit", () => {
            assertPluginVersions(HOST);
            assertPluginsListed(HOST);
            assert.match(inContainer(HOST, "docker buildx inspect"), /Driver:\s+docker\n[\s\S]*Status:\s+running/);
        });

        it("buildx build and docker build: BuildKit, FROM the preloaded image, a cache mount kept between builds, cached steps", () => {
            assertCacheMountBuilds(HOST, "/tmp/plugins-context", "plugins-cache");
            // FROM came from the daemon's image store: BuildKit asked no registry (with --pull it logs
            // "trying next host ... registry-1.docker.io", and fails here, where none is reachable).
            const daemonLog = docker(["logs", HOST]);
            assert.match(daemonLog.stderr, /API listen on/, "the inner dockerd logs here");
            assert.doesNotMatch(daemonLog.stdout + daemonLog.stderr, /registry-1\.docker\.io/);
        });

        it("docker compose up --build / ps / logs / down -v of a two-service project", () => {
            assertComposeRoundTrip(HOST, "/tmp/plugins-app", "plugins-host-app", 24251);
        });
    });

    describe("in a client of the same image with the host's socket", () => {
        before(async () => {
            // The client's socket is another socket of this machine than its daemon's: the operator allows it
            // (docs/security-trust-model.md), as the daemon URL of the host's unix endpoint.
            disallow = allowForSuite({ DIND_PROVISIONER_ALLOW_DAEMONS: `unix://${SCRATCH}/host/docker.sock` });
            clientSut = await StackUnderTest.create(CLIENT_FIXTURE, `plugins-client-${process.pid}`);
            const up = await clientSut.stack.up();
            assert.equal(up.summary.result, "succeeded");
        });

        it("the client's docker CLI has both plugins and talks to the host's inner dockerd", () => {
            assertPluginVersions(BUILDER);
            assertPluginsListed(BUILDER);
            assert.equal(inContainer(BUILDER, "docker info --format '{{.Name}}'").trim(), inContainer(HOST, "docker info --format '{{.Name}}'").trim());
        });

        it("buildx build and docker build with a cache mount", () => {
            assertCacheMountBuilds(BUILDER, "/tmp/plugins-context", "plugins-client-cache");
        });

        it("docker compose up --build / ps / logs / down -v of the same project", () => {
            assertComposeRoundTrip(BUILDER, "/tmp/plugins-app", "plugins-client-app", 24252);
        });

        it("destroy leaves nothing of the client's stack", async () => {
            await clientSut!.stack.destroy();
            assert.deepEqual(labelled(clientSut!.label), []);
        });
    });

    // (Suites, not tests: mocha runs a suite's own tests before its nested suites.)
    describe("a restricted DooD client of the same image", () => {
        it("has both plugins", () => {
            assertPluginVersions(CLIENT);
        });
    });

    describe("afterwards", () => {
        it("destroy leaves nothing of the stack", async () => {
            await sut!.stack.destroy();
            assert.deepEqual(labelled(sut!.label), []);
        });
    });
});
