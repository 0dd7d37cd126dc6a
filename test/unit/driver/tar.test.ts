import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tarFiles, tarOf } from "../../../driver/tar";

describe("driver/tar", () => {
    it("writes archives tar extracts, and reads the files of archives tar writes", () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "tar-test-"));
        writeFileSync(path.join(dir, "ours.tar"), tarOf({ "dind-provisioner/usage.json": '{"a":1}', "b.txt": "x".repeat(1000) }));
        const out = path.join(dir, "out");
        mkdirSync(out);
        assert.equal(spawnSync("tar", ["-xf", path.join(dir, "ours.tar"), "-C", out]).status, 0);
        assert.equal(readFileSync(path.join(out, "dind-provisioner", "usage.json"), "utf8"), '{"a":1}');
        assert.equal(readFileSync(path.join(out, "b.txt"), "utf8").length, 1000);
        spawnSync("tar", ["-cf", path.join(dir, "theirs.tar"), "-C", out, "."]);
        const files = tarFiles(readFileSync(path.join(dir, "theirs.tar")));
        assert.equal(files.get("./dind-provisioner/usage.json")?.toString(), '{"a":1}');
        assert.equal(files.get("./b.txt")?.length, 1000);
        assert.deepEqual([...tarFiles(Buffer.alloc(0))], []);
    });
});
