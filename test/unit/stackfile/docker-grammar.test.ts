import * as assert from "node:assert/strict";
import {
    addressPoolProblem, cpusProblem, daemonUrlFromDockerHost, imageReferenceProblem, insecureRegistryProblem, memoryProblem, mirrorUrlProblem, normalizedImageReference,
    parseDaemonUrl, userProblem,
} from "../../../stackfile/docker-grammar";

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

describe("what dockerd refuses in daemon.json and limits", () => {
    it("reads address pools as netip does, and holds size between the base's prefix and the address length", () => {
        for (const pool of [{ base: "10.199.0.0/16", size: 24 }, { base: "10.0.0.0/8", size: 8 }, { base: "10.0.0.0/24", size: 32 }, { base: "fd00::/48", size: 64 }]) {
            assert.equal(addressPoolProblem(pool), undefined, JSON.stringify(pool));
        }
        for (const [pool, key] of [[{ base: "10.300.0.0/16", size: 24 }, "base"], [{ base: "10.1.0.0/33", size: 24 }, "base"], [{ base: "10.1.0.0", size: 24 }, "base"],
            [{ base: "010.1.0.0/16", size: 24 }, "base"], [{ base: "10.1.0.0/016", size: 24 }, "base"], [{ base: "fe80::1%eth0/64", size: 80 }, "base"],
            [{ base: "10.1.0.0/16", size: 8 }, "size"], [{ base: "10.1.0.0/16", size: 33 }, "size"]] as const) {
            assert.equal(addressPoolProblem(pool)?.key, key, JSON.stringify(pool));
        }
    });

    it("takes mirrors as moby's ValidateMirror does, and never quotes a password back", () => {
        for (const url of ["https://mirror.example.com", "http://10.0.0.1:5000/", "https://mirror.example.com/dockerhub/"]) assert.equal(mirrorUrlProblem(url), undefined, url);
        for (const url of ["https://u:hunter2@mirror", "https://u@mirror", "https://m/?q=1", "https://m/#f", "ftp://m", "https://"]) {
            const problem = mirrorUrlProblem(url);
            assert.ok(problem, url);
            assert.doesNotMatch(problem!, /hunter2/);
        }
    });

    it("takes insecure registries as a CIDR or a host[:port], http(s):// stripped", () => {
        for (const entry of ["registry.internal:5000", "10.0.0.0/8", "http://registry.internal", "[fd00::1]:5000", "localhost"]) assert.equal(insecureRegistryProblem(entry), undefined, entry);
        for (const entry of ["ftp://r:5000", "-r.internal", "r_x:5000", "r:99999", "a b"]) assert.ok(insecureRegistryProblem(entry), entry);
    });

    it("holds memory and CPUs to Docker's minimums and units", () => {
        assert.equal(memoryProblem("6m"), undefined);
        assert.equal(memoryProblem("6291456"), undefined);
        for (const memory of ["6291455", "5m", "0", "1k"]) assert.ok(memoryProblem(memory), memory);
        for (const cpus of [0.01, 1.5, 2, 1.000000001]) assert.equal(cpusProblem(cpus), undefined, String(cpus));
        for (const cpus of [0.009, 0.001, 1.0000000001]) assert.ok(cpusProblem(cpus), String(cpus));
    });
});
