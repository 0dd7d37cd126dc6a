import * as assert from "node:assert/strict";
import { daemonUrlFromDockerHost, imageReferenceProblem, normalizedImageReference, parseDaemonUrl, userProblem } from "../../../stackfile/docker-grammar";

describe("Docker's grammars and limits", () => {
    it("accepts the image references distribution/reference accepts", () => {
        for (const ref of [
            "busybox", "busybox:1.36", "docker.io/library/busybox:latest", "localhost/app", "localhost:5000/app:v1", "Registry.Example.com/team/app",
            "registry.example.com:5000/a/b/c:1.0-rc_1", "[::1]:5000/app", "a__b/c---d.e_f:x", `busybox@sha256:${"a".repeat(64)}`,
            `busybox:1@sha512:${"0".repeat(128)}`, `app@sha384:${"f".repeat(96)}`, `a:${"t".repeat(128)}`, `${"a".repeat(255)}`,
        ]) {
            assert.equal(imageReferenceProblem(ref), undefined, ref);
        }
    });

    it("refuses what Docker refuses, saying which rule", () => {
        const cases: [string, RegExp][] = [
            ["Busybox", /must be lowercase/], ["a/B", /must be lowercase/], [`${"a".repeat(256)}`, /256 characters long: Docker allows 255/],
            [`a:${"t".repeat(129)}`, /129 characters long: Docker allows 128/], ["a:-x", /tag/], ["a:", /tag/], ["a@sha256:abc", /exactly 64/],
            [`a@sha256:${"A".repeat(64)}`, /uppercase/], [`a@md5:${"a".repeat(32)}`, /unsupported digest algorithm "md5"/], ["a..b", /lowercase letters and digits/],
            ["a/", /lowercase letters and digits/], [`${"0".repeat(64)}`, /image id/], ["my_reg.io/a", /registry host/], ["a".repeat(2000), /2000 characters/],
        ];
        for (const [ref, why] of cases) assert.match(imageReferenceProblem(ref) ?? "accepted", why, ref);
    });

    it("normalizes references as Docker resolves them", () => {
        assert.equal(normalizedImageReference("busybox"), "docker.io/library/busybox:latest");
        assert.equal(normalizedImageReference("index.docker.io/library/busybox:1"), "docker.io/library/busybox:1");
        assert.equal(normalizedImageReference("team/app"), "docker.io/team/app:latest");
        assert.equal(normalizedImageReference(`localhost:5000/app@sha256:${"a".repeat(64)}`), `localhost:5000/app@sha256:${"a".repeat(64)}`);
    });

    it("gives one key to every spelling of a daemon URL", () => {
        const key = (url: string) => {
            const parsed = parseDaemonUrl(url);
            return "problem" in parsed ? parsed.problem : parsed.key;
        };
        assert.equal(key("tcp://Build-01.Example.com:2376/"), "tcp://build-01.example.com:2376");
        assert.equal(key("tcp://[0:0:0:0:0:0:0:1]:2376"), "tcp://[::1]:2376");
        assert.equal(key("ssh://ci@edge"), "ssh://ci@edge:22");
        assert.equal(key("unix:///var/run//docker.sock"), "unix:///run/docker.sock");
        assert.equal(key("unix:///run/docker.sock"), key("unix:///var/run/docker.sock"));
        assert.equal(key("tcp://localhost:2375"), key("tcp://127.0.0.1:2375"));
        assert.match(key("tcp://h:0"), /port must be a number from 1 to 65535/);
        assert.match(key("tcp://h:+80"), /port must be a number from 1 to 65535/);
        assert.match(key("tcp://256.1.1.1.1:1"), /not a host name/);
    });

    it("reads DOCKER_HOST as the docker CLI does", () => {
        assert.deepEqual(daemonUrlFromDockerHost("tcp://h"), { url: "tcp://h:2375" });
        assert.deepEqual(daemonUrlFromDockerHost(""), { url: "unix:///var/run/docker.sock" });
        assert.match((daemonUrlFromDockerHost("tcp://h:x") as { problem: string }).problem, /^DOCKER_HOST="tcp:\/\/h:x" cannot be used/);
    });

    it("takes users and ids as runc does", () => {
        for (const user of ["0", "1000", "1000:1000", "app", "app:staff", "4294967294:0", "_svc.ci-1"]) assert.equal(userProblem(user), undefined, user);
        for (const user of ["", ":", "a:b:c", "4294967295", "-rf", "root user", "a".repeat(33)]) assert.ok(userProblem(user), user);
    });
});
