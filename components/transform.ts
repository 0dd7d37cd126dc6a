import * as pulumi from "@pulumi/pulumi";

/**
 * Adjusts the arguments of a resource a component creates, as in SST: either an object
 * merged over the component's arguments, or a function that edits them in place (or
 * returns replacements). It may also edit the resource options.
 *
 * @example
 * { container: { memory: 2048 } }
 * { container: (args) => { args.labels = [{ label: "team", value: "ci" }]; } }
 */
export type Transform<T> = Partial<T> | ((args: T, opts: pulumi.CustomResourceOptions, name: string) => T | void);

/** Applies a Transform to a resource's name, arguments and options, returning the final arguments. */
export function transformed<T extends object>(
    transform: Transform<T> | undefined,
    name: string,
    args: T,
    opts: pulumi.CustomResourceOptions,
): [string, T, pulumi.CustomResourceOptions] {
    if (transform === undefined) return [name, args, opts];
    if (typeof transform === "function") return [name, transform(args, opts, name) ?? args, opts];
    return [name, { ...args, ...transform }, opts];
}
