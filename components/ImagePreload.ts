// Copies one image from the outer daemon into a DinD host's inner daemon over the
// Docker Engine API (GET /images/get, then POST /images/load): a DinD host starts with an
// empty cache and, air-gapped, cannot pull. Skips the copy when the inner daemon already has
// the image with the same id, and copies again when the outer image changes. Like the readiness
// step it runs in the program's own process during an update, checking on every update (one
// inspect per daemon) instead of trusting a stored copy; a preview reads and copies nothing.
import * as pulumi from "@pulumi/pulumi";
import { stepFailed, withoutDependencies } from "./stepResults";
import { EngineClient, EngineEndpoint } from "./engineApi";
import { UserError } from "./errors";
import { IMAGE_PRELOAD_TYPE } from "./markers";

export interface PreloadInputs {
    image: string;
    source: EngineEndpoint;
    target: EngineEndpoint;
}

/** The id of `image` on a daemon, or undefined when the daemon does not have it. */
export async function inspectImage(endpoint: EngineEndpoint, image: string): Promise<string | undefined> {
    return new EngineClient(endpoint).inspectImage(image);
}

/** Streams `image` from one daemon into another (`docker save | docker load`). */
async function copyImage(source: EngineEndpoint, target: EngineEndpoint, image: string): Promise<void> {
    await new EngineClient(target).loadImage(await new EngineClient(source).saveImage(image), image);
}

/** Makes the target hold `image` with the source's id, copying only when it does not already; answers the id. */
export async function preloadImage(inputs: PreloadInputs): Promise<string> {
    const sourceId = await inspectImage(inputs.source, inputs.image);
    if (!sourceId) {
        throw new UserError(`image ${inputs.image} is not on the outer daemon ${inputs.source.host}: build, pull or load it there first (preload copies it from there)`);
    }
    if ((await inspectImage(inputs.target, inputs.image)) !== sourceId) {
        await copyImage(inputs.source, inputs.target, inputs.image);
        const copiedId = await inspectImage(inputs.target, inputs.image);
        if (copiedId !== sourceId) throw new UserError(`after copying ${inputs.image}, ${inputs.target.host} has id ${copiedId}, expected ${sourceId}`);
    }
    return sourceId;
}

/** What a preload does on the daemons; the unit suite replaces it with a fake. */
export interface ImageCopier {
    /** Copies when needed, answers the image id (during an update). */
    preloadImage(inputs: PreloadInputs): Promise<string>;
    /** The image's id on a daemon, undefined when it has none (during a preview). */
    inspectImage(endpoint: EngineEndpoint, image: string): Promise<string | undefined>;
}

/** The copier over the Engine API. */
export const engineImageCopier: ImageCopier = { preloadImage, inspectImage };

export interface ImagePreloadArgs {
    /** The image reference to copy, as the outer daemon knows it (required). @example "busybox:1.36" */
    image: string;
    /** The outer daemon, where the image is (required). @example { host: "unix:///var/run/docker.sock" } */
    source: EngineEndpoint;
    /** The inner daemon, where the image goes (required; a secret when it holds a client key). @example host.innerEndpoint */
    target: pulumi.Input<EngineEndpoint>;
    /** The DinD container the inner daemon runs in, known once it answers: the copy waits for it (required). @example host.readiness.containerId */
    targetContainer: pulumi.Input<string>;
    /** What the preload does on the daemons. @default engineImageCopier (the Engine API) @example a fake, in unit tests */
    copier?: ImageCopier;
}

/** One image copied from the outer daemon into an inner one; `imageId` is its id there, known once it is. */
export class ImagePreload extends pulumi.ComponentResource {
    readonly image: string;
    readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: ImagePreloadArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(IMAGE_PRELOAD_TYPE, name, {}, opts);
        const copier = args.copier ?? engineImageCopier;
        const { image, source } = args;
        const resource = this;
        this.image = image;
        const imageId = pulumi.all([args.target, args.targetContainer]).apply(async ([target]): Promise<string> => {
            if (!pulumi.runtime.isDryRun()) {
                return copier.preloadImage({ image, source, target }).catch((error: Error) => stepFailed(resource, error));
            }
            // A preview copies nothing: the id is the outer image's, which an update makes the inner one's.
            const sourceId = await copier.inspectImage(source, image).catch(() => undefined);
            if (!sourceId) {
                pulumi.log.warn(`image ${image} is not on the outer daemon ${source.host}: up would fail to preload it`, resource);
                return pulumi.unknown as unknown as string;
            }
            return sourceId;
        });
        // Nested containers take the id: it must not make them depend on the DinD container (see ./stepResults).
        this.imageId = withoutDependencies(pulumi.unsecret(imageId));
        this.registerOutputs({ image, imageId: this.imageId });
    }
}
