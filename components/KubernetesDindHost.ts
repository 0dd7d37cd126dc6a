// A DinD host on Kubernetes, the shape CI farms use there (actions-runner-controller's dind
// mode, GitLab Runner's dind service): a StatefulSet of one privileged pod running dockerd, its
// storage on a PersistentVolumeClaim, its TLS material in a Secret, a readiness probe that asks
// the inner daemon, and a Service for its mutual-TLS TCP endpoint.
import { isIP } from "node:net";
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClientTls, DindHostRef } from "./contract";
import { DindCertificates } from "./DindCertificates";
import {
    DEFAULT_CLAIM_SIZE, DEFAULT_DIND_IMAGE, DEFAULT_KUBERNETES_TCP_PORT, DEFAULT_STORAGE_RETAIN, defaultOuterDaemon, defaultStorageVolume,
} from "./defaults";
import { DOCKERD_SOCKET_FLAG, DOCKERD_TLS_PORT, dockerdTlsFlags, INNER_DAEMON_CHECK } from "./dockerd";
import { tcpUrl } from "./endpoints";
import { EngineEndpoint } from "./engineApi";
import { ImageCopier, ImagePreload } from "./ImagePreload";
import { DIND_HOST_ROLE, HOST_LABEL, KUBERNETES_DIND_HOST_TYPE, ROLE_LABEL, withMarkers } from "./markers";
import { CERT_PATH_FILES, INNER_DATA_ROOT, INNER_TLS_DIR } from "./paths";
import { Transform, transformed } from "./transform";

/** What Kubernetes takes as a label value. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A Kubernetes DinD host's storage: a PersistentVolumeClaim on /var/lib/docker. */
export interface KubernetesStorageArgs {
    /**
     * The claim's name.
     * @default "<objectName>-docker"
     * @example "builder-cache"
     */
    volume?: string;
    /**
     * Keep the claim, and the inner images and containers on its volume, when the host is destroyed.
     * @default false
     * @example true
     */
    retain?: boolean;
    /**
     * The storage the claim requests.
     * @default "20Gi"
     * @example "100Gi"
     */
    size?: string;
}

/** A Kubernetes DinD host's mutual-TLS endpoint: a ClusterIP Service. */
export interface KubernetesTcpEndpointArgs {
    /**
     * The Service's port (the pod listens on 2376).
     * @default 2376
     * @example 12376
     */
    port?: number;
    /**
     * Extra DNS names or IP addresses for the server certificate; it always names the Service's
     * in-cluster DNS names and its cluster IP.
     * @default []
     * @example ["builder.ci.example.com"]
     */
    sans?: string[];
}

export interface KubernetesDindHostArgs {
    /** The namespace of every object (it must exist). @default none: required @example "ci" */
    namespace: pulumi.Input<string>;
    /**
     * Name of the StatefulSet, Service, Secret and (unless storage names it) the claim.
     * @default the component's name
     * @example "builder"
     */
    objectName?: string;
    /**
     * The DinD image: its entrypoint must run a `dockerd ...` command, as the official
     * docker:dind image's does, and it must hold the docker CLI for the readiness probe.
     * @default "docker:27.5.1-dind"
     * @example "registry.example.com/ci/dind:27"
     */
    image?: pulumi.Input<string>;
    /**
     * The claim on /var/lib/docker (the cluster's default storage class): it keeps the inner
     * images and containers when the pod is replaced.
     * @default { volume: "<objectName>-docker", retain: false, size: "20Gi" }
     * @example { size: "100Gi", retain: true }
     */
    storage?: KubernetesStorageArgs;
    /**
     * The mutual-TLS endpoint's Service.
     * @default { port: 2376, sans: [] }
     * @example { port: 12376, sans: ["builder.ci.example.com"] }
     */
    tcp?: KubernetesTcpEndpointArgs;
    /**
     * Images copied into the inner daemon once it is ready, from `preloadSource`.
     * @default []
     * @example ["busybox:1.36"]
     */
    preload?: string[];
    /**
     * The Docker daemon preloaded images are copied from (there is no outer Docker daemon on Kubernetes).
     * @default defaultOuterDaemon(): $DOCKER_HOST (with $DOCKER_CERT_PATH when $DOCKER_TLS_VERIFY is set), else the standard socket
     * @example { host: "unix:///var/run/docker.sock" }
     */
    preloadSource?: EngineEndpoint;
    /**
     * Make a Docker provider for the inner daemon (its configuration dials the daemon).
     * @default true
     * @example false
     */
    innerProvider?: boolean;
    /**
     * For a cluster where no controllers run, such as an API server alone: do not wait for the pod
     * to be ready (`pulumi.com/skipAwait`), and delete in the background, without waiting for a
     * garbage collector.
     * @default false
     * @example true
     */
    skipAwait?: boolean;
    /**
     * What preloads do on the daemons. Replaced by the unit suite with a fake.
     * @default engineImageCopier (the Engine API)
     * @example { preloadImage: async () => "sha256:...", inspectImage: async () => "sha256:..." }
     */
    preloadCopier?: ImageCopier;
    /** Environment of the dind container. @default {} @example { HTTP_PROXY: "http://proxy:3128" } */
    env?: Record<string, string>;
    /**
     * Labels of every object (the pod selector adds its own). A value Kubernetes does not take as a
     * label value (such as "project/stack") is kept as an annotation instead.
     * @default {}
     * @example { team: "ci" }
     */
    labels?: Record<string, string>;
    /** Adjust the arguments of the resources this component creates. */
    transform?: {
        statefulSet?: Transform<k8s.apps.v1.StatefulSetArgs>;
        service?: Transform<k8s.core.v1.ServiceArgs>;
        claim?: Transform<k8s.core.v1.PersistentVolumeClaimArgs>;
        secret?: Transform<k8s.core.v1.SecretArgs>;
        provider?: Transform<docker.ProviderArgs>;
    };
}

/**
 * A DinD host as a StatefulSet of one privileged pod, with its storage on a claim (kept on destroy
 * when `retain`), its TLS material in a Secret, a readiness probe asking the inner daemon, a
 * Service for its mutual-TLS endpoint, preloads, and a `provider` for the inner daemon.
 */
export class KubernetesDindHost extends pulumi.ComponentResource implements DindHostRef {
    readonly statefulSet: k8s.apps.v1.StatefulSet;
    readonly service: k8s.core.v1.Service;
    readonly claim: k8s.core.v1.PersistentVolumeClaim;
    readonly secret: k8s.core.v1.Secret;
    readonly certificates: DindCertificates;
    /** What nested resources wait for: the StatefulSet, ready once the inner daemon answers. */
    readonly ready: pulumi.Resource;
    /** MTU for the networks nested in the host: dockerd's default. */
    readonly mtu: pulumi.Output<number | undefined> = pulumi.output(undefined);
    /** A Docker provider for the inner daemon, through the Service (absent when `innerProvider` is false). */
    readonly provider?: docker.Provider;
    /** One step per preloaded image, keyed by image reference. */
    readonly preloads: Record<string, ImagePreload> = {};
    /** tcp://<cluster IP>:<port>: reachable from the cluster's nodes and pods. */
    readonly tcpEndpoint: pulumi.Output<string>;
    /** tcp://<name>.<namespace>.svc:<port>: the endpoint's name inside the cluster. */
    readonly serviceEndpoint: pulumi.Output<string>;
    readonly clientTls: pulumi.Output<ClientTls>;
    readonly preloadedImageIds: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: KubernetesDindHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(KUBERNETES_DIND_HOST_TYPE, name, {}, opts);
        const objectName = args.objectName ?? name;
        const port = args.tcp?.port ?? DEFAULT_KUBERNETES_TCP_PORT;
        const selector = { [HOST_LABEL]: objectName };
        // The markers (role, and the host the pod selector matches) override the user's labels; a
        // value Kubernetes refuses as a label value is kept as an annotation.
        const given = Object.entries(withMarkers(args.labels, { [ROLE_LABEL]: DIND_HOST_ROLE, ...selector }));
        const labels = Object.fromEntries(given.filter(([, v]) => LABEL_VALUE.test(v)));
        const annotations = {
            ...Object.fromEntries(given.filter(([, v]) => !LABEL_VALUE.test(v))),
            // Without controllers, nothing would ever clear a foreground deletion's finalizer.
            ...(args.skipAwait && { "pulumi.com/skipAwait": "true", "pulumi.com/deletionPropagationPolicy": "background" }),
        };
        const metadata = (suffix = "") => ({
            name: `${objectName}${suffix}`,
            namespace: args.namespace,
            labels,
            annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
        });

        this.service = this.serviceFor(name, args, metadata(), selector, port);
        const clusterIp = this.service.spec.clusterIP;
        this.certificates = this.certificatesFor(name, objectName, args, clusterIp);
        this.secret = new k8s.core.v1.Secret(...transformed(args.transform?.secret, `${name}-tls`, {
            metadata: metadata("-tls"),
            type: "Opaque",
            stringData: {
                [CERT_PATH_FILES.ca]: this.certificates.caCert, [CERT_PATH_FILES.cert]: this.certificates.serverCert, [CERT_PATH_FILES.key]: this.certificates.serverKey,
            },
        }, { parent: this, additionalSecretOutputs: ["stringData", "data"] }));
        this.claim = new k8s.core.v1.PersistentVolumeClaim(...transformed(args.transform?.claim, `${name}-storage`, {
            metadata: { ...metadata(), name: args.storage?.volume ?? defaultStorageVolume(objectName) },
            spec: {
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: args.storage?.size ?? DEFAULT_CLAIM_SIZE } },
            },
        }, { parent: this, retainOnDelete: args.storage?.retain ?? DEFAULT_STORAGE_RETAIN }));
        this.statefulSet = this.statefulSetFor(name, args, metadata(), selector);
        this.ready = this.statefulSet;

        const dns = pulumi.interpolate`${objectName}.${args.namespace}.svc`;
        this.tcpEndpoint = clusterIp.apply((ip) => tcpUrl(ip, port));
        this.serviceEndpoint = pulumi.interpolate`tcp://${dns}:${port}`;
        const certs = this.certificates;
        // DindCertificates issues a client certificate unless told not to.
        this.clientTls = pulumi.secret(pulumi.all([certs.caCert, certs.clientCert!, certs.clientKey!]).apply(([ca, cert, key]) => ({ ca, cert, key })));

        if (args.innerProvider ?? true) {
            // Like DindHost's: the host is unknown until the StatefulSet exists, so a preview of a fresh stack dials nothing.
            const host = pulumi.all([this.statefulSet.id, this.tcpEndpoint]).apply(([, endpoint]) => endpoint);
            this.provider = new docker.Provider(...transformed(args.transform?.provider, `${name}-inner`, {
                host, caMaterial: certs.caCert, certMaterial: certs.clientCert, keyMaterial: certs.clientKey,
            }, { parent: this, dependsOn: [this.statefulSet] }));
            const target = pulumi.secret(pulumi.all([this.tcpEndpoint, this.clientTls]).apply(([host, tls]) => ({ host, ...tls })));
            for (const image of args.preload ?? []) {
                this.preloads[image] = new ImagePreload(`${name}-preload-${image}`,
                    { image, source: args.preloadSource ?? defaultOuterDaemon(), target, targetContainer: this.statefulSet.id, copier: args.preloadCopier },
                    { parent: this });
            }
        } else if (args.preload?.length) {
            throw new pulumi.ResourceError(`KubernetesDindHost ${name}: preload needs the inner provider`, this);
        }
        this.preloadedImageIds = pulumi.all(Object.fromEntries(Object.entries(this.preloads).map(([image, p]) => [image, p.imageId])));

        this.registerOutputs({
            tcpEndpoint: this.tcpEndpoint,
            serviceEndpoint: this.serviceEndpoint,
            clientTls: this.clientTls,
            preloadedImageIds: this.preloadedImageIds,
        });
    }

    private serviceFor(name: string, args: KubernetesDindHostArgs, metadata: k8s.types.input.meta.v1.ObjectMeta, selector: Record<string, string>, port: number) {
        return new k8s.core.v1.Service(...transformed(args.transform?.service, `${name}-service`, {
            metadata,
            spec: { type: "ClusterIP", selector, ports: [{ name: "docker-tls", port, targetPort: DOCKERD_TLS_PORT, protocol: "TCP" }] },
        }, { parent: this }));
    }

    /** The server certificate names every way the Service is reached inside the cluster, and its cluster IP. */
    private certificatesFor(name: string, objectName: string, args: KubernetesDindHostArgs, clusterIp: pulumi.Output<string>) {
        const ns = pulumi.output(args.namespace);
        return new DindCertificates(`${name}-tls`, {
            commonName: objectName,
            dnsNames: ns.apply((n) => [objectName, `${objectName}.${n}`, `${objectName}.${n}.svc`, `${objectName}.${n}.svc.cluster.local`,
                ...(args.tcp?.sans ?? []).filter((s) => isIP(s) === 0)]),
            ipAddresses: clusterIp.apply((ip) => [...(isIP(ip ?? "") ? [ip] : []), ...(args.tcp?.sans ?? []).filter((s) => isIP(s) !== 0)]),
        }, { parent: this });
    }

    private statefulSetFor(name: string, args: KubernetesDindHostArgs, metadata: k8s.types.input.meta.v1.ObjectMeta, selector: Record<string, string>) {
        return new k8s.apps.v1.StatefulSet(...transformed(args.transform?.statefulSet, `${name}-statefulset`, {
            metadata,
            spec: {
                replicas: 1,
                serviceName: metadata.name!,
                selector: { matchLabels: selector },
                template: {
                    metadata: { labels: metadata.labels },
                    spec: {
                        containers: [{
                            name: "dind",
                            image: args.image ?? DEFAULT_DIND_IMAGE,
                            // Docker in Docker needs it: the only privileged container the project makes.
                            securityContext: { privileged: true },
                            args: ["dockerd", DOCKERD_SOCKET_FLAG, ...dockerdTlsFlags()],
                            env: Object.entries({ ...args.env, DOCKER_TLS_CERTDIR: "" }).map(([k, v]) => ({ name: k, value: v })),
                            ports: [{ name: "docker-tls", containerPort: DOCKERD_TLS_PORT }],
                            // Ready once the inner daemon answers on its socket.
                            readinessProbe: {
                                exec: { command: INNER_DAEMON_CHECK },
                                periodSeconds: 2,
                                timeoutSeconds: 10,
                                failureThreshold: 3,
                            },
                            volumeMounts: [
                                { name: "docker", mountPath: INNER_DATA_ROOT },
                                { name: "tls", mountPath: INNER_TLS_DIR, readOnly: true },
                            ],
                        }],
                        volumes: [
                            { name: "docker", persistentVolumeClaim: { claimName: this.claim.metadata.name } },
                            { name: "tls", secret: { secretName: this.secret.metadata.name, defaultMode: 0o400 } },
                        ],
                    },
                },
            },
        }, { parent: this, dependsOn: [this.claim, this.secret] }));
    }
}
