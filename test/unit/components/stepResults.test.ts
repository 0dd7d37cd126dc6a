import * as assert from "node:assert/strict";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { withoutDependencies } from "../../../components/stepResults";
import { installMocks, isKnown, isSecret, valueOf } from "../mocks";

/** The resources an output would make a resource that takes it depend on. */
const dependenciesOf = (output: pulumi.Output<unknown>) => (output as unknown as { allResources(): Promise<Set<pulumi.Resource>> }).allResources();

describe("withoutDependencies", () => {
    it("keeps the value and its secrecy, and drops the resources it was computed from", async () => {
        installMocks();
        const volume = new docker.Volume("storage", { name: "builder-docker" });
        const derived = pulumi.secret(volume.name.apply((name) => `${name}-id`));
        assert.equal((await dependenciesOf(derived)).size, 1);
        const freed = withoutDependencies(derived);
        assert.equal(await valueOf(freed), "builder-docker-id");
        assert.equal(await isSecret(freed), true);
        assert.equal((await dependenciesOf(freed)).size, 0);
    });

    it("stays unknown when the value is", async () => {
        installMocks(true);
        const container = new docker.Container("dind", { image: "dind:local" });
        assert.equal(await isKnown(withoutDependencies(container.id)), false);
    });
});
