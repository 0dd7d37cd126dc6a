// Copies one image from the outer daemon into a DinD host's inner daemon over the
// Docker Engine API (GET /images/get, then POST /images/load): a DinD host starts with an
// empty cache and, air-gapped, cannot pull. Skips the copy when the inner daemon already has
// the image with the same id, and copies again when the outer image changes.
import * as pulumi from "@pulumi/pulumi";
import { EngineEndpoint, engineRequest, readBody } from "./engineApi";

export interface PreloadInputs {
    image: string;
    source: EngineEndpoint;
    target: EngineEndpoint;
    /** The DinD container the target daemon runs in: a new one may come with an empty image store. */
    targetContainer?: string;
}

export interface PreloadState extends PreloadInputs {
    /** The image id, the same on both daemons once copied. */
    imageId: string;
}

// The functions below also run inside Pulumi's dynamic-provider process (serialized with
// the provider), so everything they use is required at call time or serialized with them.

function imagePath(image: string): string {
    return image.split("/").map(encodeURIComponent).join("/");
}

/** The id of `image` on a daemon, or undefined when the daemon does not have it. */
async function inspectImage(endpoint: EngineEndpoint, image: string): Promise<string | undefined> {
    const response = await engineRequest(endpoint, "GET", `/images/${imagePath(image)}/json`);
    const body = await readBody(response);
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw new Error(`inspecting ${image} on ${endpoint.host}: HTTP ${response.statusCode} ${body.trim()}`);
    return JSON.parse(body).Id as string;
}

/** Streams `image` from one daemon into another. */
async function copyImage(source: EngineEndpoint, target: EngineEndpoint, image: string): Promise<void> {
    const saved = await engineRequest(source, "GET", `/images/get?names=${encodeURIComponent(image)}`);
    if (saved.statusCode !== 200) throw new Error(`saving ${image} from ${source.host}: HTTP ${saved.statusCode} ${(await readBody(saved)).trim()}`);
    const loaded = await engineRequest(target, "POST", "/images/load?quiet=1", saved);
    const body = await readBody(loaded);
    // The load answer is a JSON stream; a failure mid-way arrives as an "error" message with HTTP 200.
    const failure = body.split("\n").filter(Boolean).map((line) => JSON.parse(line)).find((message) => message.error);
    if (loaded.statusCode !== 200 || failure) {
        throw new Error(`loading ${image} into ${target.host}: ${failure?.error ?? `HTTP ${loaded.statusCode} ${body.trim()}`}`);
    }
}

/** Makes the target hold `image` with the source's id, copying only when it does not already. */
export async function preloadImage(inputs: PreloadInputs): Promise<PreloadState> {
    const sourceId = await inspectImage(inputs.source, inputs.image);
    if (!sourceId) {
        throw new Error(`image ${inputs.image} is not on the outer daemon ${inputs.source.host}: build, pull or load it there first (preload copies it from there)`);
    }
    if ((await inspectImage(inputs.target, inputs.image)) !== sourceId) {
        await copyImage(inputs.source, inputs.target, inputs.image);
        const copiedId = await inspectImage(inputs.target, inputs.image);
        if (copiedId !== sourceId) throw new Error(`after copying ${inputs.image}, ${inputs.target.host} has id ${copiedId}, expected ${sourceId}`);
    }
    return { ...inputs, imageId: sourceId };
}

export const preloadProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PreloadInputs) {
        return { id: inputs.image, outs: await preloadImage(inputs) };
    },
    async diff(_id: string, olds: PreloadState, news: PreloadInputs) {
        const inputsOf = (p: PreloadInputs) => JSON.stringify([p.image, p.source, p.target, p.targetContainer]);
        if (inputsOf(olds) !== inputsOf(news)) return { changes: true };
        // The outer image may have been rebuilt under the same tag since the last copy.
        return { changes: (await inspectImage(news.source, news.image)) !== olds.imageId };
    },
    async update(_id: string, _olds: PreloadState, news: PreloadInputs) {
        return { outs: await preloadImage(news) };
    },
    async read(id: string, props: PreloadState) {
        // Refresh: an inner daemon that lost the image (or is gone) gets it copied again on the next up.
        const innerId = await inspectImage(props.target, props.image).catch(() => undefined);
        return { id, props: { ...props, imageId: innerId === props.imageId ? props.imageId : "" } };
    },
};

export interface ImagePreloadArgs {
    /** The image reference to copy, as the outer daemon knows it. @example "busybox:1.36" */
    image: pulumi.Input<string>;
    /** The outer daemon, where the image is. */
    source: pulumi.Input<EngineEndpoint>;
    /** The inner daemon, where the image goes. */
    target: pulumi.Input<EngineEndpoint>;
    /** The id of the DinD container running the inner daemon: when it changes, the copy is checked again. */
    targetContainer?: pulumi.Input<string>;
}

/** One image copied from the outer daemon into an inner one; `imageId` is its id there. */
export class ImagePreload extends pulumi.dynamic.Resource {
    declare readonly image: pulumi.Output<string>;
    declare readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: ImagePreloadArgs, opts?: pulumi.CustomResourceOptions) {
        super(preloadProvider, name, { ...args, imageId: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["target"] }), "dind", "ImagePreload");
    }
}
