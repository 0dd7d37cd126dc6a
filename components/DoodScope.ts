// The end of a restricted DooD client: when it is destroyed or replaced, everything it made
// through its policy proxy goes with it (dood-proxy/cleanup.go decides what that is). The
// Docker provider has no hook for "after this container is gone", so this is a dynamic resource
// whose delete runs the proxy's `cleanup` in a container of its own, next to the daemon: it stops
// the client first, so that nothing more is made, then removes the client's containers, networks,
// volumes, the image tags it created and the images it built that nobody else tagged.
import * as pulumi from "@pulumi/pulumi";
import { isDeepStrictEqual } from "util";
import { EngineClient, EngineEndpoint, exactNameFilter } from "./engineApi";
import { CLIENT_LABEL, describeOwner, objectOwner, ownerMarker, ROLE_LABEL } from "./markers";
import { PROXY_DAEMON_SOCKET, PROXY_STATE_DIR } from "./paths";

export interface ScopeInputs {
    /** The client's name: the owner label's value. */
    client: string;
    /** How this program reaches the daemon. */
    daemon: EngineEndpoint;
    /** The proxy's image (it holds the cleanup), the policy it reads, the daemon's socket, the proxy's state volume. */
    proxyImage: string;
    policy: string;
    daemonSocket: string;
    stateVolume: string;
    /** The client's container: a new one (the client replaced) empties the scope of the old one. */
    clientContainerId: string;
    /** Who creates the client: "<project>/<stack>", the owner label of the cleanup's container (none: no owner label). */
    owner?: string;
}

// The functions below run inside Pulumi's dynamic-provider process (serialized with the
// provider), so everything they use is imported by this module or serialized with them.

/** The role of the container that empties a client's scope. */
export const CLEANUP_ROLE = "dood-cleanup";

/** Runs `dood-proxy cleanup` for the client in a container of its own; returns what it says it did. */
export async function cleanScope(inputs: ScopeInputs, stopClient: boolean): Promise<string> {
    const engine = new EngineClient(inputs.daemon, { timeoutMs: 120_000 });
    const name = `${inputs.client}-dood-cleanup`;
    const labels = { ...ownerMarker(inputs.owner), [ROLE_LABEL]: CLEANUP_ROLE, [CLIENT_LABEL]: inputs.client };
    // One left by an earlier cleanup that did not finish goes; a container of anyone else's under that name stays.
    for (const found of await engine.listContainers({ all: true, filters: { name: [exactNameFilter(name, "container")] } })) {
        if (!Object.entries(labels).every(([key, value]) => found.Labels?.[key] === value)) {
            throw new Error(`cannot empty client ${inputs.client}'s scope: its cleanup container's name, ${name}, is taken by a container of `
                + `${describeOwner(objectOwner(found.Labels))}; remove or rename that one, then run this command again`);
        }
        await engine.removeContainer(found.Id, { force: true });
    }
    const id = await engine.createContainer(name, {
        Image: inputs.proxyImage,
        Cmd: ["cleanup", ...(stopClient ? ["--stop", inputs.clientContainerId] : [])],
        Env: [`DOOD_POLICY=${inputs.policy}`, `DOOD_STATE_DIR=${PROXY_STATE_DIR}`],
        Labels: labels,
        HostConfig: {
            Binds: [`${inputs.daemonSocket}:${PROXY_DAEMON_SOCKET}`, `${inputs.stateVolume}:${PROXY_STATE_DIR}`],
            NetworkMode: "none",
            ReadonlyRootfs: true,
            CapDrop: ["ALL"],
            SecurityOpt: ["no-new-privileges"],
        },
    });
    // Another run of this cleanup took the name between the look above and this create.
    if (id === undefined) throw new Error(`cannot empty client ${inputs.client}'s scope: another cleanup of it (${name}) is running; run this command again once it ends`);
    try {
        await engine.startContainer(id);
        const status = await engine.waitContainer(id);
        const said = (await engine.containerLogs(id, {})).trim();
        if (status !== 0) throw new Error(`the cleanup of client ${inputs.client} failed (exit ${status}):\n${said}`);
        return said;
    } finally {
        await engine.removeContainer(id, { force: true });
    }
}

/** A scope's properties without the serialized provider every dynamic resource carries (`__provider`). */
function withoutProviderCode(properties: ScopeInputs): ScopeInputs {
    const { __provider: _code, ...own } = properties as ScopeInputs & { __provider?: string };
    return own;
}

export const scopeProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ScopeInputs) {
        return { id: inputs.client, outs: inputs };
    },
    async diff(_id: string, olds: ScopeInputs, news: ScopeInputs) {
        // A new client container is a new client: the old one's objects go (delete before create).
        const replaces = olds.clientContainerId !== news.clientContainerId || olds.client !== news.client ? ["clientContainerId"] : [];
        // Compared as values (the engine hands them over in no fixed key order), without the provider's
        // own code: its text depends on how the program was loaded (the scripts' bundle, ts-node).
        const changes = replaces.length > 0 || !isDeepStrictEqual(withoutProviderCode(olds), withoutProviderCode(news));
        return { changes, replaces, deleteBeforeReplace: true };
    },
    async update(_id: string, _olds: ScopeInputs, news: ScopeInputs) {
        return { outs: news };
    },
    async delete(_id: string, props: ScopeInputs) {
        await cleanScope(props, true);
    },
};

export interface DoodScopeArgs {
    /** The client's name (required). @example "agent" */
    client: pulumi.Input<string>;
    /** How this program reaches the daemon (required). @example { host: "unix:///var/run/docker.sock" } */
    daemon: pulumi.Input<EngineEndpoint>;
    /** The proxy's image id (required). @example proxy.image.imageId */
    proxyImage: pulumi.Input<string>;
    /** The policy document the proxy reads (required). @example proxy.policyJson */
    policy: pulumi.Input<string>;
    /** The daemon's socket on its machine (required). @example "/var/run/docker.sock" */
    daemonSocket: pulumi.Input<string>;
    /** The proxy's state volume (required). @example proxy.stateVolume.name */
    stateVolume: pulumi.Input<string>;
    /** The client's container (required). @example client.container.id */
    clientContainerId: pulumi.Input<string>;
    /** Who creates the client: "<project>/<stack>". @default none (the cleanup's container has no owner label) @example "dind-provisioner/staging" */
    owner?: pulumi.Input<string>;
}

/**
 * Everything a restricted client made through its proxy, removed when the client goes: destroyed,
 * or replaced (a new client container). DoodClient makes one for a client behind a policy proxy.
 */
export class DoodScope extends pulumi.dynamic.Resource {
    constructor(name: string, args: DoodScopeArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(scopeProvider, name, args, { ...opts, deleteBeforeReplace: true });
    }
}
