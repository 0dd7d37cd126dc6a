// What one component needs of another, as types only: a component takes these instead of
// importing another component's class, so components depend on contracts, not on each other.
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";

/** An image copied into an inner daemon; `imageId` is its id there, known once the copy is done. */
export interface PreloadedImageRef {
    readonly imageId: pulumi.Output<string>;
}

/** A DinD host as the resources nested inside it see it. `DindHost` and `KubernetesDindHost` implement it. */
export interface DindHostRef {
    /** The DinD container (absent on Kubernetes, where the host is a StatefulSet). */
    readonly container?: docker.Container;
    /**
     * What nested resources depend on: the DinD container or StatefulSet. They also wait for the
     * inner daemon, because their provider is configured only once it answers.
     */
    readonly ready: pulumi.Resource;
    /** MTU for the networks nested in the host (undefined: dockerd's default). */
    readonly mtu: pulumi.Output<number | undefined>;
    /** A provider for the inner daemon; absent when the host has no endpoint to reach it. */
    readonly provider?: docker.Provider;
    /** Images copied into the inner daemon, by reference: nested containers use them by id, so they wait for the copy. */
    readonly preloads: Readonly<Record<string, PreloadedImageRef>>;
    /**
     * The storage volume when it is not retained: everything on the inner daemon lives in it, so
     * nested resources name it as `deletedWith` and a destroy never dials an inner daemon that may
     * be stopped or gone. Undefined when the storage is retained (the nested state outlives it).
     */
    readonly nestedDeletedWith?: pulumi.Resource;
}

/** TLS material a client needs for a DinD host's TCP endpoint. */
export interface ClientTls {
    ca: string;
    cert: string;
    key: string;
}

/** A registry of the stack as a DinD host that uses it sees it. `DindRegistry` implements it. */
export interface RegistryRef {
    /** host:port a DinD host on `networkName` reaches it at, e.g. "build-cache:5000". */
    readonly address: string;
    /** "https://<address>" or, for a plain-HTTP registry, "http://<address>". */
    readonly mirrorUrl: string;
    /** The outer network to join, known once the registry answers (so a host that joins it waits for it). */
    readonly networkName: pulumi.Output<string>;
    /** The CA of its certificate (undefined for a plain-HTTP registry). */
    readonly caCert: pulumi.Output<string | undefined>;
}
