// How the update-time steps (readiness, preload), which run in the program, hand results and
// failures back to Pulumi. Results are outputs that carry no resource dependencies: the steps read
// the DinD container's id, so their results would otherwise make the nested resources that use
// them (a container's image id, a network's MTU) depend on the DinD container as a property.
// Replacing the container, which must be deleted before its replacement exists (fixed name and
// port), would then make the engine replace those nested resources too, although the storage
// volume keeps them. Nested resources still name the container in `dependsOn`, which orders them
// without that cascade.
import * as pulumi from "@pulumi/pulumi";

/** The parts of an output the SDK's own combinators use (its constructor is not in the typings). */
interface OutputParts<T> {
    promise(): Promise<T>;
    isKnown: Promise<boolean>;
    isSecret: Promise<boolean>;
}
type OutputConstructor = new <T>(resources: Set<pulumi.Resource>, value: Promise<T>, isKnown: Promise<boolean>, isSecret: Promise<boolean>,
    allResources: Promise<Set<pulumi.Resource>>) => pulumi.Output<T>;

/** `value`, known, unknown or secret as it is, depending on no resource. */
export function withoutDependencies<T>(value: pulumi.Output<T>): pulumi.Output<T> {
    const parts = value as unknown as OutputParts<T>;
    const Output = pulumi.Output as unknown as OutputConstructor;
    return new Output(new Set(), parts.promise(), parts.isKnown, parts.isSecret, Promise.resolve(new Set()));
}

/**
 * Reports a step's failure on its resource, then fails the update. The message is logged here:
 * thrown, it would reach the user wrapped in whichever output first carried it ("error
 * serializing property ...").
 */
export function stepFailed(resource: pulumi.Resource, error: Error): never {
    pulumi.log.error(error.message, resource);
    throw new pulumi.ResourceError(`${error.message.split("\n")[0]} (details above)`, resource, true);
}
