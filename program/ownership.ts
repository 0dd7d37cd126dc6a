// Nothing the stack did not create is taken over: before the program registers any resource, every
// object the stack file makes on a Docker daemon under a fixed name (containers, volumes, networks,
// host directories) is looked up there, and one that exists and is not this stack's fails the run,
// naming the object, its owner and what to do. Docker would otherwise hand an existing volume to the
// stack ("create" answers with it) and let destroy delete it with someone's data; a second proxy or
// daemon in a shared directory would replace the first one's socket.
//
// A directory cannot carry a label. It is the stack's to use when no container of anyone else mounts
// it (the daemon's own view, the same over every kind of daemon: that is what makes sharing one
// dangerous), and, where it is on this machine, when it holds nothing but a docker.sock (a socket
// left by a container of the stack; anything else was put there by hand). A marker file was not
// used: the directory of a remote daemon cannot be read or written from here without a container of
// the project's own, and a marker says who made a directory, not who uses it now.
import { readdirSync } from "node:fs";
import {
    DEFAULT_BUILDER_IMAGE, defaultBuilderContainerName, defaultBuilderVolume, defaultProxyContainerName, defaultProxySocketDir, defaultProxyStateVolume,
    defaultRegistryNetwork, defaultRegistryVolume, defaultStorageVolume, poolMemberName, poolMemberSocketDir,
} from "../components/defaults";
import type { ContainerSummary, NetworkSummary, VolumeSummary } from "../components/engineApi";
import { isLocalDaemon } from "../components/endpoints";
import { UserError } from "../components/errors";
import { describeOwner, objectOwner, ownedBy } from "../components/markers";
import { SOCKET_DIR_ENTRIES } from "../components/paths";
import type { VolumeAdoption } from "../components/storage";
import { directoryKey } from "../stackfile/host-safety";
import { ClientSpec, StackFile } from "../stackfile/schema";

/** The kinds of object a stack makes under a fixed name on a Docker daemon. */
export type ObjectKind = "container" | "volume" | "network" | "directory";

/** One object a stack file makes on a Docker daemon under a name someone else may have taken. */
export interface DeclaredObject {
    /** The daemon's name in the stack file. */
    daemon: string;
    kind: ObjectKind;
    /** The object's name; a directory's path. */
    name: string;
    /** What it is, for messages: "the storage volume of DinD host builder". */
    what: string;
    /** How the stack file names it another way: "set hosts.builder.storage.volume to another name". */
    rename: string;
    /** Volumes: the `adopt` key, and where it is written. */
    adopt?: VolumeAdoption;
    adoptKey?: string;
}

/** Every object the stack file makes under a fixed name on its Docker daemons (a Kubernetes host makes none there). */
export function declaredObjects(stack: StackFile): DeclaredObject[] {
    const objects: DeclaredObject[] = [];
    const add = (object: DeclaredObject) => objects.push(object);
    for (const [name, registry] of Object.entries(stack.registries)) {
        const at = `registries.${name}`;
        add({ daemon: registry.daemon, kind: "container", name, what: `the container of registry ${name}`, rename: `rename the registry (${at})` });
        add({
            daemon: registry.daemon, kind: "volume", name: registry.storage.volume ?? defaultRegistryVolume(name), what: `the storage volume of registry ${name}`,
            rename: `set ${at}.storage.volume to another name`, adopt: registry.storage.adopt, adoptKey: `${at}.storage.adopt`,
        });
        add({ daemon: registry.daemon, kind: "network", name: defaultRegistryNetwork(name), what: `the network of registry ${name}`, rename: `rename the registry (${at})` });
    }
    for (const [name, host] of Object.entries(stack.hosts)) {
        if (stack.daemons[host.daemon]?.kubernetes) continue;
        const at = `hosts.${name}`;
        add({ daemon: host.daemon, kind: "container", name, what: `the container of DinD host ${name}`, rename: `rename the host (${at})` });
        add({
            daemon: host.daemon, kind: "volume", name: host.storage.volume ?? defaultStorageVolume(name), what: `the storage volume of DinD host ${name}`,
            rename: `set ${at}.storage.volume to another name`, adopt: host.storage.adopt, adoptKey: `${at}.storage.adopt`,
        });
        if (host.unix) {
            add({ daemon: host.daemon, kind: "directory", name: host.unix.hostDir, what: `the socket directory of DinD host ${name}`, rename: `set ${at}.unix.hostDir to a directory of its own` });
        }
    }
    for (const [pool, spec] of Object.entries(stack.pools)) {
        const at = `pools.${pool}`;
        for (let n = 1; n <= spec.size; n++) {
            const member = poolMemberName(pool, n);
            add({ daemon: spec.template.daemon, kind: "container", name: member, what: `the container of pool ${pool}'s member ${member}`, rename: `rename the pool (${at})` });
            add({
                daemon: spec.template.daemon, kind: "volume", name: defaultStorageVolume(member), what: `the storage volume of pool ${pool}'s member ${member}`,
                rename: `rename the pool (${at})`,
            });
            if (spec.template.unix) {
                add({
                    daemon: spec.template.daemon, kind: "directory", name: poolMemberSocketDir(spec.template.unix.hostDir, member),
                    what: `the socket directory of pool ${pool}'s member ${member}`, rename: `set ${at}.template.unix.hostDir to a directory of its own`,
                });
            }
        }
    }
    for (const [name, client] of Object.entries(stack.clients)) {
        const at = `clients.${name}`;
        add({ daemon: client.daemon, kind: "container", name, what: `the container of DooD client ${name}`, rename: `rename the client (${at})` });
        if (client.access === "full") continue;
        const proxy = defaultProxyContainerName(name);
        add({ daemon: client.daemon, kind: "container", name: proxy, what: `the policy proxy of DooD client ${name}`, rename: `rename the client (${at})` });
        add({ daemon: client.daemon, kind: "volume", name: defaultProxyStateVolume(name), what: `the state volume of DooD client ${name}'s policy proxy`, rename: `rename the client (${at})` });
        add({
            daemon: client.daemon, kind: "directory", name: client.access.socketDir ?? defaultProxySocketDir(name), what: `the socket directory of DooD client ${name}'s policy proxy`,
            rename: `set ${at}.access.socketDir to a directory of its own`,
        });
        if (builderImageOf(client) === undefined) continue;
        const builder = `rename the client (${at}) or set ${at}.builder: false`;
        add({ daemon: client.daemon, kind: "container", name: defaultBuilderContainerName(name), what: `the builder of DooD client ${name}`, rename: builder });
        add({ daemon: client.daemon, kind: "volume", name: defaultBuilderVolume(name), what: `the state volume of DooD client ${name}'s builder`, rename: builder });
        add({ daemon: client.daemon, kind: "volume", name: `${defaultBuilderVolume(name)}-socket`, what: `the socket volume of DooD client ${name}'s builder`, rename: builder });
    }
    return objects;
}

/** The image a client's own BuildKit builder runs; undefined when it has none (access: full, or builder: false). */
export function builderImageOf(client: ClientSpec): string | undefined {
    if (client.access === "full" || client.builder === false) return undefined;
    return client.builder?.image ?? DEFAULT_BUILDER_IMAGE;
}

/** What a daemon holds under the names a stack uses: the containers (all of them when a directory is to be checked), volumes and networks. */
export interface DaemonObjects {
    containers: ContainerSummary[];
    volumes: VolumeSummary[];
    networks: NetworkSummary[];
}

/** The labels of the object a daemon holds under a declared object's name; undefined when it holds none. */
function liveLabels(object: DeclaredObject, live: DaemonObjects): { labels: Record<string, string> | null | undefined } | undefined {
    const found = object.kind === "container" ? live.containers.find((c) => c.Names.includes(`/${object.name}`))
        : object.kind === "volume" ? live.volumes.find((v) => v.Name === object.name)
            : live.networks.find((n) => n.Name === object.name);
    return found && { labels: found.Labels };
}

/** The containers that bind-mount a directory (under any spelling of its path). */
export function containersMounting(dir: string, containers: ContainerSummary[]): ContainerSummary[] {
    const key = directoryKey(dir);
    return containers.filter((c) => c.Mounts?.some((m) => m.Type === "bind" && m.Source !== undefined && directoryKey(m.Source) === key));
}

/**
 * What a directory on this machine holds besides what the project's containers leave there
 * (SOCKET_DIR_ENTRIES): the number of other entries (their names are not read out: the path comes
 * from a stack file, which may be someone else's). 0 when it does not exist.
 */
export function foreignEntries(dir: string): number {
    try {
        return readdirSync(dir).filter((entry) => !SOCKET_DIR_ENTRIES.includes(entry)).length;
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
        throw new UserError(`cannot read the directory ${dir} to check that no one else uses it: ${(error as Error).message}`);
    }
}

/** Why this stack may not make a declared object: the problem in words, or undefined when it may. */
function problemWith(object: DeclaredObject, live: DaemonObjects, owner: string, local: boolean): string | undefined {
    const where = `${object.kind} ${object.name} (${object.what}) on daemon "${object.daemon}"`;
    if (object.kind === "directory") {
        const users = containersMounting(object.name, live.containers);
        const foreign = users.find((c) => !ownedBy(c.Labels, owner));
        if (foreign) {
            return `${where} is mounted by container ${foreign.Names[0]?.replace(/^\//, "")} of ${describeOwner(objectOwner(foreign.Labels))}: `
                + `${object.rename} (two containers serving one directory replace each other's socket)`;
        }
        const entries = local && users.length === 0 ? foreignEntries(object.name) : 0;
        if (entries > 0) {
            return `${where} exists with ${entries} entr${entries === 1 ? "y" : "ies"} besides the sockets and buildx configuration this project's containers leave, and no container of this stack uses it (made by hand?): `
                + `${object.rename}, or empty it if nobody needs what is in it`;
        }
        return undefined;
    }
    const found = liveLabels(object, live);
    if (!found || ownedBy(found.labels, owner) || object.adopt) return undefined;
    const whose = objectOwner(found.labels);
    const otherStack = whose.kind === "stack" ? ` or destroy it in stack ${whose.stack}` : "";
    // Only a volume with an `adopt` key (a host's or registry's storage) can be taken over; a proxy's or builder's is the client's alone, a pool member's the pool's.
    if (object.kind === "volume" && object.adoptKey) {
        return `${where} exists and belongs to ${describeOwner(whose)}: ${object.rename}, or take it over on purpose with `
            + `${object.adoptKey}: keep (destroy leaves it and its data) or ${object.adoptKey}: delete (destroy deletes it with its data)`;
    }
    if (object.kind === "container") {
        return `${where} exists and belongs to ${describeOwner(whose)}: Docker cannot hand a container over; ${object.rename}${otherStack}`;
    }
    return `${where} exists and belongs to ${describeOwner(whose)}: ${object.rename}${otherStack}`;
}

/** Fails an up or preview that would take over objects the stack did not create. */
export class OwnershipError extends UserError {
    constructor(owner: string, readonly problems: string[]) {
        super(`stack ${owner} uses names that objects it did not create already have, so nothing was changed:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

/**
 * Checks that every declared object is free or this stack's (`owner`, "<project>/<stack>"): `live`
 * holds what each daemon has under the stack's names, `hosts` each daemon's URL (its directories are
 * read only when it runs on this machine). Throws an OwnershipError listing every problem.
 */
export function checkOwnership(objects: DeclaredObject[], live: Record<string, DaemonObjects>, hosts: Record<string, string>, owner: string): void {
    const problems = objects.flatMap((object) => {
        const objects = live[object.daemon];
        if (!objects) return [];
        const problem = problemWith(object, objects, owner, isLocalDaemon(hosts[object.daemon]));
        return problem ? [problem] : [];
    });
    if (problems.length > 0) throw new OwnershipError(owner, problems);
}
