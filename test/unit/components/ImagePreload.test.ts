import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ImagePreload, preloadImage } from "../../../components/ImagePreload";
import { installMocks, isKnown, valueOf } from "../mocks";
import { FakeEngine, startFakeEngine } from "./fakeEngine";

describe("ImagePreload", () => {
    let outer: FakeEngine;
    let inner: FakeEngine;
    const inputs = () => ({ image: "team/busybox:local", source: { host: `unix://${outer.socket}` }, target: { host: `unix://${inner.socket}` } });

    beforeEach(async () => {
        outer = await startFakeEngine({ "team/busybox:local": "sha256:aaa" });
        inner = await startFakeEngine();
    });
    afterEach(async () => {
        await outer.close();
        await inner.close();
    });

    it("copies an image the inner daemon lacks and reports its id", async () => {
        assert.equal(await preloadImage(inputs()), "sha256:aaa");
        assert.equal(inner.images.get("team/busybox:local"), "sha256:aaa");
        assert.equal(inner.loads, 1);
    });

    it("skips the copy when the inner daemon has the image with the same id", async () => {
        inner.images.set("team/busybox:local", "sha256:aaa");
        await preloadImage(inputs());
        assert.equal(inner.loads, 0);
    });

    it("copies again when the outer image changed under the same tag, or the inner daemon lost it", async () => {
        await preloadImage(inputs());
        outer.images.set("team/busybox:local", "sha256:bbb");
        assert.equal(await preloadImage(inputs()), "sha256:bbb");
        assert.equal(inner.images.get("team/busybox:local"), "sha256:bbb");
        inner.images.clear(); // a new, empty image store
        await preloadImage(inputs());
        assert.equal(inner.loads, 3);
    });

    it("says where to put an image the outer daemon does not have", async () => {
        await assert.rejects(preloadImage({ ...inputs(), image: "missing:1" }),
            new RegExp(`image missing:1 is not on the outer daemon unix://${outer.socket}: build, pull or load it there first`));
    });

    it("surfaces a load error reported inside an HTTP 200 answer", async () => {
        inner.loadError = "no space left on device";
        await assert.rejects(preloadImage(inputs()), /POST \/images\/load \(team\/busybox:local\) on unix:\/\/.*: no space left on device/);
    });

    describe("the component", () => {
        const args = (targetContainer: pulumi.Input<string> = "c1") => ({
            image: "team/busybox:local", source: { host: `unix://${outer.socket}` }, targetContainer,
            target: pulumi.secret({ host: `unix://${inner.socket}`, key: "client-key" }),
        });

        it("in an update, copies once the target container is known, and gives the id, not as a secret", async () => {
            installMocks();
            const preload = new ImagePreload("builder-preload", args());
            assert.equal(await valueOf(preload.imageId), "sha256:aaa");
            assert.equal(inner.loads, 1);
            assert.equal(await (preload.imageId as unknown as { isSecret: Promise<boolean> }).isSecret, false);
        });

        it("in an update, fails naming the image, as a resource error", async () => {
            installMocks();
            const preload = new ImagePreload("builder-preload", { ...args(), image: "missing:1" });
            await assert.rejects(valueOf(preload.imageId), (error: Error) => pulumi.ResourceError.isInstance(error) && /missing:1 is not on the outer daemon/.test(error.message));
        });

        it("in a preview, copies nothing: the id is the outer image's, unknown when the outer daemon lacks it", async () => {
            installMocks(true);
            assert.equal(await valueOf(new ImagePreload("known", args()).imageId), "sha256:aaa");
            assert.equal(await isKnown(new ImagePreload("missing", { ...args(), image: "missing:1" }).imageId), false);
            assert.equal(await isKnown(new ImagePreload("fresh", args(pulumi.output(pulumi.unknown as unknown as string))).imageId), false);
            assert.equal(inner.loads, 0);
        });
    });
});
