// A Docker distribution registry on an outer daemon: a pull-through cache that DinD hosts use as
// a mirror (or a plain registry), its storage on a named volume.
//
// How a DinD host reaches it: loopback on the outer machine is not reachable from inside a
// container, so the registry joins an outer network of its own (`<name>-net`), and every DinD
// host that mirrors it joins that network too. On a user-defined network the container name is a
// DNS name, so hosts reach it at `<name>:5000`, a name its certificate covers; the port
// published on the outer machine (loopback by default) serves this machine's own clients.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DindCertificates } from "./DindCertificates";
import {
    DEFAULT_REGISTRY_BIND, DEFAULT_REGISTRY_IMAGE, DEFAULT_REGISTRY_INSECURE, DEFAULT_STORAGE_RETAIN, defaultRegistryVolume,
} from "./defaults";
import { isWildcard } from "./endpoints";
import { DIND_REGISTRY_TYPE, labelList, REGISTRY_LABEL, REGISTRY_ROLE, ROLE_LABEL, withMarkers } from "./markers";
import { CERT_PATH_FILES, REGISTRY_CONFIG_FILE, REGISTRY_STORAGE_DIR, REGISTRY_TLS_DIR } from "./paths";
import { Transform, transformed } from "./transform";

/** The port the registry listens on inside its container (the image's convention). */
export const REGISTRY_PORT = 5000;

/** The registry a pull-through cache fetches from, and how it logs in there. */
export interface RegistryProxy {
    /** The remote registry's URL (required). @example "https://registry-1.docker.io" */
    remote: string;
    /** @default none (anonymous) @example "ci" */
    username?: string;
    /** Held as a secret. @default none @example config.requireSecret("hubToken") */
    password?: pulumi.Input<string>;
}

export interface DindRegistryArgs {
    /** Name of the registry container on the outer daemon, and its DNS name for DinD hosts. @default the component's name @example "hub-cache" */
    containerName?: string;
    /**
     * The registry image: it must read /etc/docker/registry/config.yml, as the official one does.
     * @default "registry:2.8.3"
     * @example "dind-provisioner/registry:local"
     */
    image?: pulumi.Input<string>;
    /** Port published on the outer daemon's machine (required). @example 5000 */
    port: number;
    /** Address the published port is bound to. @default "127.0.0.1" @example "0.0.0.0" */
    bind?: string;
    /**
     * Make it a pull-through cache of this registry.
     * @default none (a plain registry)
     * @example { remote: "https://registry-1.docker.io" }
     */
    proxy?: RegistryProxy;
    /**
     * The named volume holding the registry's data.
     * @default { volume: "<containerName>-data", retain: false }
     * @example { volume: "hub-cache", retain: true }
     */
    storage?: { volume?: string; retain?: boolean };
    /**
     * Serve plain HTTP instead of TLS with a certificate the stack issues. Hosts that mirror it
     * then list it as an insecure registry.
     * @default false
     * @example true
     */
    insecure?: boolean;
    /** The outer network the registry and the hosts that mirror it share. @default "<containerName>-net" @example "ci-registries" */
    network?: string;
    /** Labels of the container, its volume and network. @default {} @example { team: "ci" } */
    labels?: Record<string, string>;
    /** Adjust the arguments of the resources this component creates. @default none @example { container: { memory: 512 } } */
    transform?: {
        container?: Transform<docker.ContainerArgs>;
        volume?: Transform<docker.VolumeArgs>;
        network?: Transform<docker.NetworkArgs>;
    };
}

/** A distribution registry (optionally a pull-through cache) that DinD hosts reach by name. */
export class DindRegistry extends pulumi.ComponentResource {
    readonly container: docker.Container;
    readonly volume: docker.Volume;
    readonly network: docker.Network;
    readonly image: docker.RemoteImage;
    /** The CA and server certificate (absent with `insecure: true`). */
    readonly certificates?: DindCertificates;
    /** host:port a DinD host on `network` reaches it at, e.g. "hub-cache:5000" (its certs.d directory). */
    readonly address: string;
    /** The URL for a DinD host's `registry-mirrors`, e.g. "https://hub-cache:5000". */
    readonly mirrorUrl: string;
    /** The network's name, for a DinD host's `networks`; known once the registry runs, so a host joining it waits for it. */
    readonly networkName: pulumi.Output<string>;
    /** The CA that issued the registry's certificate, for a DinD host's `registryCAs` (undefined when insecure). */
    readonly caCert: pulumi.Output<string | undefined>;
    /** host:port on the outer daemon's machine. */
    readonly publishedAddress: string;

    constructor(name: string, args: DindRegistryArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(DIND_REGISTRY_TYPE, name, {}, opts);
        const containerName = args.containerName ?? name;
        const bind = args.bind ?? DEFAULT_REGISTRY_BIND;
        const insecure = args.insecure ?? DEFAULT_REGISTRY_INSECURE;
        const labels = labelList(withMarkers(args.labels, { [ROLE_LABEL]: REGISTRY_ROLE, [REGISTRY_LABEL]: containerName }));

        this.address = `${containerName}:${REGISTRY_PORT}`;
        this.mirrorUrl = `${insecure ? "http" : "https"}://${this.address}`;
        this.publishedAddress = `${isWildcard(bind) ? "127.0.0.1" : bind}:${args.port}`;
        this.network = new docker.Network(...transformed(args.transform?.network, `${name}-network`,
            { name: args.network ?? `${containerName}-net`, labels }, { parent: this }));
        this.volume = new docker.Volume(...transformed(args.transform?.volume, `${name}-storage`,
            { name: args.storage?.volume ?? defaultRegistryVolume(containerName), labels }, { parent: this, retainOnDelete: args.storage?.retain ?? DEFAULT_STORAGE_RETAIN }));
        this.image = new docker.RemoteImage(`${name}-image`, { name: args.image ?? DEFAULT_REGISTRY_IMAGE, keepLocally: true }, { parent: this });
        if (!insecure) {
            const ips = ["127.0.0.1", ...(isWildcard(bind) || bind === "127.0.0.1" ? [] : [bind])];
            this.certificates = new DindCertificates(`${name}-tls`,
                { commonName: containerName, dnsNames: [containerName, "localhost"], ipAddresses: ips, client: false }, { parent: this });
        }
        const certs = this.certificates;
        this.caCert = pulumi.output(certs?.caCert);

        this.container = new docker.Container(...transformed(args.transform?.container, `${name}-container`, {
            name: containerName,
            image: this.image.imageId,
            labels,
            volumes: [{ volumeName: this.volume.name, containerPath: REGISTRY_STORAGE_DIR }],
            networksAdvanced: [{ name: this.network.name }],
            ports: [{ internal: REGISTRY_PORT, external: args.port, ip: bind }],
            uploads: [
                { file: REGISTRY_CONFIG_FILE, content: registryConfig(args.proxy, !insecure) },
                ...(certs ? [
                    { file: registryTlsFile("cert"), content: certs.serverCert },
                    { file: registryTlsFile("key"), content: certs.serverKey, permissions: "0600" },
                ] : []),
            ],
            restart: "unless-stopped",
            mustRun: true,
        }, {
            parent: this,
            deleteBeforeReplace: true,
            // The configuration holds the proxy password; the uploads hold the server key.
            additionalSecretOutputs: ["uploads"],
        }));

        this.networkName = pulumi.all([this.network.name, this.container.id]).apply(([network]) => network);
        this.registerOutputs({ mirrorUrl: this.mirrorUrl, networkName: this.networkName, caCert: this.caCert, publishedAddress: this.publishedAddress });
    }
}

/** Where the registry's server certificate or key is. */
function registryTlsFile(file: "cert" | "key"): string {
    return `${REGISTRY_TLS_DIR}/${CERT_PATH_FILES[file]}`;
}

/**
 * The registry's config.yml, written as JSON (a subset of YAML). A secret when it holds the
 * proxy password.
 */
export function registryConfig(proxy: RegistryProxy | undefined, tls: boolean): pulumi.Output<string> {
    const config = {
        version: 0.1,
        log: { level: "info", fields: { service: "registry" } },
        storage: { filesystem: { rootdirectory: REGISTRY_STORAGE_DIR }, delete: { enabled: true } },
        http: {
            addr: `:${REGISTRY_PORT}`,
            headers: { "X-Content-Type-Options": ["nosniff"] },
            ...(tls ? { tls: { certificate: registryTlsFile("cert"), key: registryTlsFile("key") } } : {}),
        },
        ...(proxy ? { proxy: { remoteurl: proxy.remote, username: proxy.username, password: proxy.password } } : {}),
    };
    const text = pulumi.output(config).apply((c) => JSON.stringify(c, null, 2));
    return proxy?.password === undefined ? text : pulumi.secret(text);
}
