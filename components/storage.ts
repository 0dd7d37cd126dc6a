// The named volume a component keeps its data on (a DinD host's /var/lib/docker, a registry's
// blobs): what happens to it on destroy, and to one of the same name that exists already. Docker's
// volume create answers with an existing volume of that name instead of failing, so the program
// checks who made it before anything is created (program/ownership.ts); one made by hand or by
// another stack is taken over only on purpose, with `adopt`.
import type * as pulumi from "@pulumi/pulumi";

/**
 * What to do with a volume of the wanted name that exists and that this stack did not create:
 * `keep` uses it and never deletes it (destroy leaves it and its data, whatever `retain` says);
 * `delete` uses it as the stack's own (destroy deletes it, with its data, unless `retain`).
 */
export type VolumeAdoption = "keep" | "delete";

/**
 * The volume's resource options. An adopted volume keeps the labels its maker gave it: Docker
 * cannot change a volume's labels, and a difference would make the provider replace the volume
 * (delete it, data and all) on the next up.
 */
export function storageVolumeOptions(retain: boolean, adopt: VolumeAdoption | undefined): Pick<pulumi.CustomResourceOptions, "retainOnDelete" | "ignoreChanges"> {
    return { retainOnDelete: retain || adopt === "keep", ...(adopt ? { ignoreChanges: ["labels"] } : {}) };
}
