// The end of a restricted DooD client: when it is destroyed or replaced, everything it made
// through its policy proxy goes with it (tools/dood-proxy/cleanup.go decides what that is). The
// Docker provider has no hook for "after this container is gone", so this is a dynamic resource
// whose delete runs the proxy's `cleanup` in a container of its own, next to the daemon: it stops
// the client first, so that nothing more is made, then removes the client's containers, networks,
// volumes, the image tags it created and the images it built that nobody else tagged.
import { Readable } from "node:stream";
import * as pulumi from "@pulumi/pulumi";
import { demultiplex } from "./DindReadiness";
import { EngineEndpoint, engineRequest, readBody } from "./engineApi";
import { PROXY_STATE_DIR } from "./DoodPolicyProxy";

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
}

// The functions below run inside Pulumi's dynamic-provider process (serialized with the
// provider), so everything they use is imported by this module or serialized with them.

async function call(daemon: EngineEndpoint, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const response = await engineRequest(daemon, method, path, body === undefined ? undefined : Readable.from([JSON.stringify(body)]), 120_000,
        "application/json");
    return { status: response.statusCode ?? 0, text: await readBody(response) };
}

/** Runs `dood-proxy cleanup` for the client in a container of its own; returns what it says it did. */
export async function cleanScope(inputs: ScopeInputs, stopClient: boolean): Promise<string> {
    const { daemon } = inputs;
    const name = `${inputs.client}-dood-cleanup`;
    await call(daemon, "DELETE", `/containers/${name}?force=1`);
    const created = await call(daemon, "POST", `/containers/create?name=${encodeURIComponent(name)}`, {
        Image: inputs.proxyImage,
        Cmd: ["cleanup", ...(stopClient ? ["--stop", inputs.clientContainerId] : [])],
        Env: [`DOOD_POLICY=${inputs.policy}`, `DOOD_STATE_DIR=${PROXY_STATE_DIR}`],
        Labels: { "dind-provisioner.role": "dood-cleanup", "dind-provisioner.client": inputs.client },
        HostConfig: {
            Binds: [`${inputs.daemonSocket}:/var/run/docker.sock`, `${inputs.stateVolume}:${PROXY_STATE_DIR}`],
            NetworkMode: "none",
            ReadonlyRootfs: true,
            CapDrop: ["ALL"],
            SecurityOpt: ["no-new-privileges"],
        },
    });
    if (created.status !== 201) throw new Error(`creating the cleanup container of client ${inputs.client}: HTTP ${created.status} ${created.text.trim()}`);
    const id = JSON.parse(created.text).Id as string;
    try {
        const started = await call(daemon, "POST", `/containers/${id}/start`);
        if (started.status >= 300) throw new Error(`starting the cleanup of client ${inputs.client}: HTTP ${started.status} ${started.text.trim()}`);
        const waited = await call(daemon, "POST", `/containers/${id}/wait`);
        const logs = await engineRequest(daemon, "GET", `/containers/${id}/logs?stdout=1&stderr=1`, undefined, 30_000);
        const chunks: Buffer[] = [];
        for await (const chunk of logs) chunks.push(chunk as Buffer);
        const said = demultiplex(Buffer.concat(chunks)).trim();
        const status = JSON.parse(waited.text).StatusCode;
        if (status !== 0) throw new Error(`the cleanup of client ${inputs.client} failed (exit ${status}):\n${said}`);
        return said;
    } finally {
        await call(daemon, "DELETE", `/containers/${id}?force=1`);
    }
}

export const scopeProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ScopeInputs) {
        return { id: inputs.client, outs: inputs };
    },
    async diff(_id: string, olds: ScopeInputs, news: ScopeInputs) {
        // A new client container is a new client: the old one's objects go (delete before create).
        const replaces = olds.clientContainerId !== news.clientContainerId || olds.client !== news.client ? ["clientContainerId"] : [];
        const changes = replaces.length > 0 || JSON.stringify(olds) !== JSON.stringify(news);
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
