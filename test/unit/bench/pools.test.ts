import * as assert from "node:assert/strict";
import { poolNames, poolsStackFile } from "../../../bench/pools";
import { validateStackSource } from "../../../stackfile/load";

describe("bench/pools", () => {
    it("writes a valid stack of a pool of two and its build-cache registry, every name under the prefix, on three ports from the first", () => {
        const text = poolsStackFile("b", 24631);
        const { stack, problems } = validateStackSource(text, "pools.yaml", {});
        assert.deepEqual(problems, []);
        assert.deepEqual(Object.keys(stack!.pools ?? {}), ["b-pool"]);
        assert.deepEqual(Object.keys(stack!.registries ?? {}), ["b-pool-cache"]);
        assert.match(text, /tcp: \{ port: 24631 \}[^]*cache: \{ keep: 2GB, registry: b-pool-cache \}/);
        assert.match(text, /b-pool-cache: \{ image: dind-provisioner\/registry:local, port: 24633 \}/);
        assert.deepEqual(poolNames("b"), { stack: "b-pools", pool: "b-pool", members: ["b-pool-1", "b-pool-2"], registry: "b-pool-cache" });
    });
});
