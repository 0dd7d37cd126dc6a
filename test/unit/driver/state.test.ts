import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { savedDeployment } from "../../../driver/state";

describe("savedDeployment", () => {
    let backend: string;
    const stacksDir = () => path.join(backend, ".pulumi", "stacks");
    const checkpoint = (latest: object | undefined, version = 3) => JSON.stringify({ version, checkpoint: { stack: "organization/dind-provisioner/dev", latest } });
    const write = (relative: string, content: string | Buffer, mtime?: number) => {
        const file = path.join(stacksDir(), relative);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, content);
        if (mtime !== undefined) utimesSync(file, mtime, mtime);
    };
    const read = (stackName = "dev") => savedDeployment(`file://${backend}`, "dind-provisioner", stackName);
    const pending = { pending_operations: [{ type: "creating", resource: { urn: "urn:x", type: "docker:index/container:Container" } }] };

    beforeEach(() => (backend = mkdtempSync(path.join(os.tmpdir(), "dind-provisioner-unit-"))));
    afterEach(() => rmSync(backend, { recursive: true, force: true }));

    it("reads the latest deployment of a stack in the project-scoped layout", () => {
        write("dind-provisioner/dev.json", checkpoint({ resources: [{ urn: "urn:a", type: "t" }], ...pending }));
        assert.deepEqual(read(), { resources: [{ urn: "urn:a", type: "t" }], ...pending });
    });

    it("says there is no such stack (null) when the backend has no file for it", () => {
        write("dind-provisioner/other.json", checkpoint({}));
        assert.equal(read(), null);
    });

    it("reads the legacy layout, and a stack created but never updated as an empty deployment", () => {
        write("dev.json", checkpoint(undefined));
        assert.deepEqual(read(), {});
    });

    it("reads a gzipped state, taking the newest file as the backend does", () => {
        write("dind-provisioner/dev.json", checkpoint({}), 1_000);
        write("dind-provisioner/dev.json.gz", gzipSync(checkpoint(pending)), 2_000);
        assert.deepEqual(read(), pending);
    });

    it("cannot tell (undefined) for other backends, qualified names, zstd, other versions or a file it cannot parse", () => {
        assert.equal(savedDeployment("s3://bucket", "dind-provisioner", "dev"), undefined);
        assert.equal(read("organization/dind-provisioner/dev"), undefined);
        write("dind-provisioner/dev.json.zst", "zstd");
        assert.equal(read(), undefined);
        write("dind-provisioner/v2.json", checkpoint({}, 2));
        assert.equal(read("v2"), undefined);
        write("dind-provisioner/torn.json", "{\"version\": 3, \"checkp");
        assert.equal(read("torn"), undefined);
    });
});
