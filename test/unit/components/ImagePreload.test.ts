import * as assert from "node:assert/strict";
import { preloadImage, preloadProvider } from "../../../components/ImagePreload";
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
        const state = await preloadImage(inputs());
        assert.equal(state.imageId, "sha256:aaa");
        assert.equal(inner.images.get("team/busybox:local"), "sha256:aaa");
        assert.equal(inner.loads, 1);
    });

    it("skips the copy when the inner daemon has the image with the same id", async () => {
        inner.images.set("team/busybox:local", "sha256:aaa");
        await preloadImage(inputs());
        assert.equal(inner.loads, 0);
    });

    it("copies again when the outer image changed under the same tag", async () => {
        const state = await preloadImage(inputs());
        // The engine hands back the stored state with the serialized provider beside the inputs.
        const stored = { ...state, __provider: "exports.handler = ..." };
        assert.deepEqual(await preloadProvider.diff!("id", stored, inputs()), { changes: false });
        outer.images.set("team/busybox:local", "sha256:bbb");
        assert.deepEqual(await preloadProvider.diff!("id", state, inputs()), { changes: true });
        const { outs } = await preloadProvider.update!("id", state, inputs());
        assert.equal(outs.imageId, "sha256:bbb");
        assert.equal(inner.images.get("team/busybox:local"), "sha256:bbb");
        assert.equal(inner.loads, 2);
    });

    it("checks again in a replaced DinD container, and copies only if its image store lacks the image", async () => {
        const first = await preloadImage({ ...inputs(), targetContainer: "container-1" });
        const replaced = { ...inputs(), targetContainer: "container-2" };
        assert.deepEqual(await preloadProvider.diff!("id", first, replaced), { changes: true });
        await preloadProvider.update!("id", first, replaced);
        assert.equal(inner.loads, 1, "same volume, same image: no second copy");
        inner.images.clear(); // a new, empty image store
        await preloadProvider.update!("id", first, { ...inputs(), targetContainer: "container-3" });
        assert.equal(inner.loads, 2);
    });

    it("notices on refresh that the inner daemon lost the image, so the next up copies it again", async () => {
        const state = await preloadImage(inputs());
        inner.images.clear();
        const { props } = await preloadProvider.read!("id", state);
        assert.equal(props!.imageId, "");
        assert.deepEqual(await preloadProvider.diff!("id", props!, inputs()), { changes: true });
    });

    it("says where to put an image the outer daemon does not have", async () => {
        await assert.rejects(preloadImage({ ...inputs(), image: "missing:1" }),
            new RegExp(`image missing:1 is not on the outer daemon unix://${outer.socket}: build, pull or load it there first`));
    });

    it("surfaces a load error reported inside an HTTP 200 answer", async () => {
        inner.loadError = "no space left on device";
        await assert.rejects(preloadImage(inputs()), /loading team\/busybox:local into unix:\/\/.*: no space left on device/);
    });
});
