import * as assert from "node:assert/strict";
import { canonicalAddress, directoryKey, HostPathIndex, isLoopbackAddress, normalizePath, plainAddressProblem, relation, systemDirectoryProblem } from "../../../stackfile/host-safety";

describe("host-safety rules", () => {
    it("spells every address one way (RFC 5952; IPv4-mapped as IPv4)", () => {
        assert.equal(canonicalAddress("0:0:0:0:0:0:0:1"), "::1");
        assert.equal(canonicalAddress("FE80:0:0:0:0:0:0:1"), "fe80::1");
        assert.equal(canonicalAddress("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert.equal(canonicalAddress("::ffff:127.0.0.1"), "127.0.0.1");
        assert.equal(canonicalAddress("0:0:0:0:0:0:0:0"), "::");
        assert.equal(canonicalAddress("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
        assert.equal(canonicalAddress("10.0.0.1"), "10.0.0.1");
        for (const ip of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.2"]) assert.ok(isLoopbackAddress(ip), ip);
        for (const ip of ["10.0.0.1", "::", "0.0.0.0", "::2"]) assert.ok(!isLoopbackAddress(ip), ip);
    });

    it("takes plain IP addresses only", () => {
        for (const ip of ["127.0.0.1", "::1", "0.0.0.0", "fe80::1"]) assert.equal(plainAddressProblem(ip), undefined, ip);
        for (const ip of ["fe80::1%eth0", "localhost", "127.000.000.001", "1.2.3", " 1.2.3.4"]) assert.ok(plainAddressProblem(ip), ip);
    });

    it("compares paths normalized", () => {
        assert.equal(normalizePath("/a//b/./c/"), "/a/b/c");
        assert.equal(normalizePath("/"), "/");
        assert.equal(directoryKey("/var/run//dind/"), "/run/dind");
    });

    it("refuses system directories and the daemon socket's directory with its ancestors, not their own subdirectories", () => {
        const sockets = ["/var/run/docker.sock", "/run/user/1000/docker.sock"];
        for (const dir of ["/", "/etc", "/etc/dind", "/var/run", "/run", "/var//run/", "/var/lib/docker/x", "/proc/1", "/home", "/run/user", "/run/user/1000", "/usr/local/dind"]) {
            assert.ok(systemDirectoryProblem(dir, sockets), dir);
        }
        for (const dir of ["/var/run/dind/x", "/run/dind", "/srv/ci", "/home/ci/work", "/run/user/1000/dind", "/var/lib/dind", "/tmp/ci"]) {
            assert.equal(systemDirectoryProblem(dir, sockets), undefined, dir);
        }
    });
});

describe("host paths compared for containment", () => {
    it("relates two paths after normalizing and the /var/run, /var/lock aliases", () => {
        assert.equal(relation("/srv/ci/x", "/srv/ci"), "inside");
        assert.equal(relation("/srv/ci", "/srv//ci/x/"), "contains");
        assert.equal(relation("/var/run/dind", "/run/dind/"), "same");
        assert.equal(relation("/var/lock/x", "/run/lock"), "inside");
        assert.equal(relation("/srv/ci-other", "/srv/ci"), undefined, "a common prefix is not containment");
        assert.equal(relation("/", "/srv"), "contains");
        assert.equal(relation("/srv", "/"), "inside");
    });

    it("finds every claim a path is, is inside of or contains, in one pass per path", () => {
        const index = new HostPathIndex<string>();
        index.add("/srv/dind/a", "a");
        index.add("/var/run/x", "x");
        index.add("/srv/dind/a/deep/er", "deep");
        const found = (path: string) => index.related(path).map((r) => `${r.owner}:${r.relation}`).sort();
        assert.deepEqual(found("/srv"), ["a:contains", "deep:contains"]);
        assert.deepEqual(found("/srv/dind/a/deep"), ["a:inside", "deep:contains"]);
        assert.deepEqual(found("/run/x/y"), ["x:inside"]);
        assert.deepEqual(found("/srv/dind/a"), ["a:same", "deep:contains"]);
        assert.deepEqual(found("/srv/dind/ab"), []);
        assert.deepEqual(found("/"), ["a:contains", "deep:contains", "x:contains"]);
    });

    it("refuses a path that is an outer daemon's socket or lies inside it, not only its directory", () => {
        for (const dir of ["/var/run/docker.sock", "/run/docker.sock/x"]) assert.match(systemDirectoryProblem(dir, ["/var/run/docker.sock"])!, /socket/, dir);
    });
});
