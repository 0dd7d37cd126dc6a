// A DinD host on Kubernetes, the shape CI farms use there (actions-runner-controller's dind
// mode, GitLab Runner's dind service): a StatefulSet of one privileged pod running dockerd (or an
// unprivileged one under an isolating RuntimeClass such as sysbox), its storage on a
// PersistentVolumeClaim, its TLS material in a Secret, a readiness probe that asks the inner
// daemon, and a Service for its mutual-TLS TCP endpoint and its nested containers' published
// ports: a NodePort Service, dialled at a node's address, by default.
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClientTls, DindHostRef } from "./contract";
import { DindCertificates } from "./DindCertificates";
import {
    DEFAULT_CLAIM_SIZE, DEFAULT_DIND_IMAGE, DEFAULT_KUBERNETES_READINESS_TIMEOUT, DEFAULT_KUBERNETES_SERVICE_TYPE, DEFAULT_KUBERNETES_TCP_PORT,
    DEFAULT_PORT_PROTOCOL, DEFAULT_STORAGE_RETAIN, defaultOuterDaemon, defaultStorageVolume,
} from "./defaults";
import { DOCKERD_SOCKET_FLAG, DOCKERD_TLS_PORT, dockerdTlsFlags, INNER_DAEMON_CHECK } from "./dockerd";
import { tcpUrl } from "./endpoints";
import { EngineEndpoint } from "./engineApi";
import { ImageCopier, ImagePreload } from "./ImagePreload";
import type { KubeAccess } from "./kubeApi";
import { KubernetesReadiness, KubernetesReadinessCheck } from "./KubernetesReadiness";
import { DIND_HOST_ROLE, HOST_LABEL, KUBERNETES_DIND_HOST_TYPE, ROLE_LABEL, SPREAD_LABEL, TLS_HASH_ANNOTATION, withMarkers } from "./markers";
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
    /**
     * The claim's storage class. A node-local class (local-path, local volumes) pins the host to
     * the node its volume is on; a class whose volumes any node can attach lets it move.
     * @default the cluster's default storage class
     * @example "fast-ssd"
     */
    class?: string;
}

/** A Kubernetes DinD host's mutual-TLS endpoint: a Service, NodePort unless told otherwise. */
export interface KubernetesTcpEndpointArgs {
    /**
     * The Service's port (the pod listens on 2376).
     * @default 2376
     * @example 12376
     */
    port?: number;
    /**
     * Extra DNS names or IP addresses for the server certificate; it always names the Service's
     * in-cluster DNS names, its cluster IP and `nodeAddress`.
     * @default []
     * @example ["builder.ci.example.com"]
     */
    sans?: string[];
    /**
     * How the machine running Pulumi reaches the endpoint (and the nested published ports):
     * `NodePort` at `nodeAddress`, which works on any cluster whose nodes this machine reaches;
     * `ClusterIP` at the cluster IP, for a Pulumi that runs in the cluster (a CI job's pod).
     * @default "NodePort"
     * @example "ClusterIP"
     */
    service?: "NodePort" | "ClusterIP";
    /**
     * Where NodePorts are dialled: a node's address, or a load balancer's in front of the nodes
     * (required with NodePort; the server certificate names it).
     * @default none
     * @example "10.0.0.21"
     */
    nodeAddress?: string;
    /**
     * The endpoint's NodePort.
     * @default allocated by the cluster
     * @example 31376
     */
    nodePort?: number;
}

/** A nested container's published port, served through the host's Service. */
export interface KubernetesPublishedPort {
    /** The port the nested container publishes on the inner daemon. @default none: required @example 8080 */
    port: number;
    /** @default "tcp" @example "udp" */
    protocol?: "tcp" | "udp";
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
     * The cluster, as the Kubernetes provider (`opts.provider`) reaches it: the readiness step asks
     * it how the pod is doing.
     * @default the kubeconfig's current context ($KUBECONFIG, else ~/.kube/config, else in-cluster)
     * @example { kubeconfig: "/home/ci/.kube/config", context: "ci" }
     */
    access?: KubeAccess;
    /**
     * A RuntimeClass that isolates Docker in Docker itself (sysbox's `sysbox-runc`): the pod then
     * runs it and is not privileged.
     * @default none: a privileged pod on the cluster's default runtime
     * @example "sysbox-runc"
     */
    runtimeClassName?: string;
    /**
     * Hosts with the same group run on different nodes while there are enough (a preferred pod
     * anti-affinity of the highest weight): one node's loss takes one of them, and they do not
     * compete for one node's CPU; when a node is drained or lost, a host may share a node rather
     * than stay down.
     * @default none: the scheduler places the pod where it fits
     * @example "ci/production"
     */
    spreadGroup?: string;
    /**
     * Ports nested containers publish on the inner daemon, served through the host's Service
     * (NodePorts on a NodePort Service): `publishedPorts` says where each is reached.
     * @default []
     * @example [{ port: 8080 }]
     */
    publishedPorts?: KubernetesPublishedPort[];
    /**
     * Seconds the pod gets to become ready and its inner daemon to answer from here.
     * @default 300
     * @example 600
     */
    readinessTimeout?: number;
    /**
     * What the readiness step does on the cluster. Replaced by the unit suite with a fake.
     * @default kubernetesReadinessCheck (the Kubernetes API)
     * @example { awaitDindPod: async () => ({ node: "node-1", podIP: "10.244.1.5" }) }
     */
    readinessCheck?: KubernetesReadinessCheck;
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
 * A DinD host as a StatefulSet of one privileged pod (unprivileged under an isolating RuntimeClass),
 * with its storage on a claim (kept on destroy when `retain`), its TLS material in a Secret, a
 * readiness probe asking the inner daemon, a Service for its mutual-TLS endpoint and its nested
 * published ports, a readiness step that waits for the pod (or fails with the cluster's reason),
 * preloads, and a `provider` for the inner daemon.
 */
export class KubernetesDindHost extends pulumi.ComponentResource implements DindHostRef {
    readonly statefulSet: k8s.apps.v1.StatefulSet;
    readonly service: k8s.core.v1.Service;
    readonly claim: k8s.core.v1.PersistentVolumeClaim;
    readonly secret: k8s.core.v1.Secret;
    readonly certificates: DindCertificates;
    /** The update-time step that waits for the pod and its inner daemon (absent with `skipAwait`). */
    readonly readiness?: KubernetesReadiness;
    /** What nested resources wait for: the StatefulSet, ready once the inner daemon answers. */
    readonly ready: pulumi.Resource;
    /** MTU for the networks nested in the host: dockerd's default. */
    readonly mtu: pulumi.Output<number | undefined> = pulumi.output(undefined);
    /** A Docker provider for the inner daemon, through the Service (absent when `innerProvider` is false). */
    readonly provider?: docker.Provider;
    /** One step per preloaded image, keyed by image reference. */
    readonly preloads: Record<string, ImagePreload> = {};
    /** The claim when it is not retained: nested resources are deleted with it, without dialling the inner daemon. */
    readonly nestedDeletedWith?: pulumi.Resource;
    /** Where this machine dials the inner daemon: tcp://<nodeAddress>:<nodePort>, or tcp://<cluster IP>:<port> with a ClusterIP Service. */
    readonly tcpEndpoint: pulumi.Output<string>;
    /** tcp://<name>.<namespace>.svc:<port>: the endpoint's name inside the cluster. */
    readonly serviceEndpoint: pulumi.Output<string>;
    /** Where nested published ports are reached: `nodeAddress`, or the cluster IP with a ClusterIP Service. */
    readonly publishedPortsAddress: pulumi.Output<string>;
    /** Each nested published port ("8080/tcp") and where it is reached from here ("10.0.0.21:31080"). */
    readonly publishedPorts: pulumi.Output<Record<string, string>>;
    /** The node the pod runs on, as the readiness step found it (unknown in a preview or with `skipAwait`). */
    readonly node: pulumi.Output<string | undefined>;
    readonly clientTls: pulumi.Output<ClientTls>;
    readonly preloadedImageIds: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: KubernetesDindHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(KUBERNETES_DIND_HOST_TYPE, name, {}, opts);
        const { objectName, port, serviceType, nodePorts, selector, metadata } = normalizeArgs(name, args);
        this.service = this.serviceFor(name, args, metadata(), selector, port, serviceType);
        const clusterIp = this.service.spec.clusterIP;
        this.certificates = this.certificatesFor(name, objectName, args, clusterIp);
        this.secret = new k8s.core.v1.Secret(...transformed(args.transform?.secret, `${name}-tls`, {
            metadata: metadata("-tls"),
            type: "Opaque",
            stringData: {
                [CERT_PATH_FILES.ca]: this.certificates.caCert, [CERT_PATH_FILES.cert]: this.certificates.serverCert, [CERT_PATH_FILES.key]: this.certificates.serverKey,
            },
        }, { parent: this, additionalSecretOutputs: ["stringData", "data"] }));
        const retain = args.storage?.retain ?? DEFAULT_STORAGE_RETAIN;
        this.claim = new k8s.core.v1.PersistentVolumeClaim(...transformed(args.transform?.claim, `${name}-storage`, {
            // Ready once it exists (see the annotations): the provider's own wait for a claim of a WaitForFirstConsumer
            // class that is already bound (a retained one) would never end.
            metadata: { ...metadata(), name: args.storage?.volume ?? defaultStorageVolume(objectName) },
            spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName: args.storage?.class,
                resources: { requests: { storage: args.storage?.size ?? DEFAULT_CLAIM_SIZE } },
            },
        }, { parent: this, retainOnDelete: retain }));
        if (!retain) this.nestedDeletedWith = this.claim;
        this.statefulSet = this.statefulSetFor(name, args, metadata(), selector);
        this.ready = this.statefulSet;

        const address = serviceType === "NodePort" ? pulumi.output(args.tcp!.nodeAddress!) : clusterIp;
        const servicePorts = this.service.spec.ports;
        // The Service's port (ClusterIP), or the NodePort allocated for it (NodePort).
        const dialPort = (portName: string, servicePort: number) => servicePorts.apply((ports) => {
            const found = ports.find((p) => p.name === portName);
            return serviceType === "NodePort" ? found?.nodePort ?? 0 : servicePort;
        });
        this.tcpEndpoint = pulumi.all([address, dialPort("docker-tls", port)]).apply(([ip, p]) => tcpUrl(ip, p));
        this.serviceEndpoint = pulumi.interpolate`tcp://${objectName}.${args.namespace}.svc:${port}`;
        this.publishedPortsAddress = address;
        this.publishedPorts = pulumi.all(Object.fromEntries(nodePorts.map((p) => [`${p.port}/${p.protocol}`,
            pulumi.all([address, dialPort(p.name, p.port)]).apply(([ip, dialled]) => `${isIP(ip) === 6 ? `[${ip}]` : ip}:${dialled}`)])));
        const certs = this.certificates;
        // DindCertificates issues a client certificate unless told not to.
        this.clientTls = pulumi.secret(pulumi.all([certs.caCert, certs.clientCert!, certs.clientKey!]).apply(([ca, cert, key]) => ({ ca, cert, key })));
        const inner = pulumi.secret(pulumi.all([this.tcpEndpoint, this.clientTls]).apply(([host, tls]) => ({ host, ...tls })));

        if (!args.skipAwait) {
            this.readiness = new KubernetesReadiness(`${name}-readiness`, {
                host: objectName,
                access: args.access ?? {},
                namespace: args.namespace,
                statefulSet: this.statefulSet.metadata.name,
                generation: this.statefulSet.metadata.generation,
                claim: this.claim.metadata.name,
                inner,
                timeoutSeconds: args.readinessTimeout ?? DEFAULT_KUBERNETES_READINESS_TIMEOUT,
                check: args.readinessCheck,
            }, { parent: this });
        }
        this.node = this.readiness?.node ?? pulumi.output(undefined);
        if (args.innerProvider ?? true) {
            if (!this.readiness) throw new pulumi.ResourceError(`KubernetesDindHost ${name}: preload and workloads need the readiness step (skipAwait is set)`, this);
            // Like DindHost's: the endpoint is known once the inner daemon answers, so nothing nested dials a daemon that is not there yet.
            this.provider = new docker.Provider(...transformed(args.transform?.provider, `${name}-inner`, {
                host: this.readiness.endpoint, caMaterial: certs.caCert, certMaterial: certs.clientCert, keyMaterial: certs.clientKey,
            }, { parent: this, dependsOn: [this.statefulSet] }));
            const target = pulumi.secret(pulumi.all([this.readiness.endpoint, this.clientTls]).apply(([host, tls]) => ({ host, ...tls })));
            for (const image of args.preload ?? []) {
                this.preloads[image] = new ImagePreload(`${name}-preload-${image}`,
                    { image, source: args.preloadSource ?? defaultOuterDaemon(), target, targetContainer: this.readiness.endpoint, copier: args.preloadCopier },
                    { parent: this });
            }
        } else if (args.preload?.length) {
            throw new pulumi.ResourceError(`KubernetesDindHost ${name}: preload needs the inner provider`, this);
        }
        this.preloadedImageIds = pulumi.all(Object.fromEntries(Object.entries(this.preloads).map(([image, p]) => [image, p.imageId])));

        this.registerOutputs({
            tcpEndpoint: this.tcpEndpoint,
            serviceEndpoint: this.serviceEndpoint,
            publishedPortsAddress: this.publishedPortsAddress,
            publishedPorts: this.publishedPorts,
            node: this.node,
            clientTls: this.clientTls,
            preloadedImageIds: this.preloadedImageIds,
        });

        function normalizeArgs(componentName: string, a: KubernetesDindHostArgs) {
            const objectName = a.objectName ?? componentName;
            const serviceType = a.tcp?.service ?? DEFAULT_KUBERNETES_SERVICE_TYPE;
            if (serviceType === "NodePort" && !a.tcp?.nodeAddress) {
                throw new pulumi.ResourceError(`KubernetesDindHost ${componentName}: a NodePort Service needs tcp.nodeAddress (where this machine reaches the nodes)`, undefined);
            }
            const nodePorts = (a.publishedPorts ?? []).map((p) => {
                const protocol = p.protocol ?? DEFAULT_PORT_PROTOCOL;
                return { port: p.port, protocol, name: `nested-${protocol}-${p.port}` };
            });
            const selector = { [HOST_LABEL]: objectName };
            // The markers (role, spread group, and the host the pod selector matches) override the user's
            // labels; a value Kubernetes refuses as a label value is kept as an annotation.
            const given = Object.entries(withMarkers(a.labels, {
                [ROLE_LABEL]: DIND_HOST_ROLE, ...(a.spreadGroup !== undefined && { [SPREAD_LABEL]: labelValue(a.spreadGroup) }), ...selector,
            }));
            const labels = Object.fromEntries(given.filter(([, v]) => LABEL_VALUE.test(v)));
            const annotations = {
                ...Object.fromEntries(given.filter(([, v]) => !LABEL_VALUE.test(v))),
                // The readiness step waits, and reports the cluster's reasons: the provider's own waits would only repeat it
                // (a Service's for endpoints would even wait for a pod that does not exist yet), so each object is ready once
                // it exists; deleting still waits until it is gone. Without controllers (skipAwait), nothing waits at all:
                // nothing would ever clear a foreground deletion's finalizer.
                ...(a.skipAwait
                    ? { "pulumi.com/skipAwait": "true", "pulumi.com/deletionPropagationPolicy": "background" }
                    : { "pulumi.com/waitFor": "jsonpath={.metadata.name}" }),
            };
            const metadata = (suffix = "") => ({ name: `${objectName}${suffix}`, namespace: a.namespace, labels, annotations });
            return { objectName, port: a.tcp?.port ?? DEFAULT_KUBERNETES_TCP_PORT, serviceType, nodePorts, selector, metadata };
        }
    }

    private serviceFor(name: string, args: KubernetesDindHostArgs, metadata: k8s.types.input.meta.v1.ObjectMeta, selector: Record<string, string>, port: number,
        type: string) {
        const nested = (args.publishedPorts ?? []).map((p) => {
            const protocol = p.protocol ?? DEFAULT_PORT_PROTOCOL;
            return { name: `nested-${protocol}-${p.port}`, port: p.port, targetPort: p.port, protocol: protocol.toUpperCase() };
        });
        return new k8s.core.v1.Service(...transformed(args.transform?.service, `${name}-service`, {
            metadata,
            spec: {
                type,
                selector,
                ports: [
                    { name: "docker-tls", port, targetPort: DOCKERD_TLS_PORT, protocol: "TCP", ...(type === "NodePort" && args.tcp?.nodePort && { nodePort: args.tcp.nodePort }) },
                    ...nested,
                ],
            },
        }, { parent: this }));
    }

    /** The server certificate names every way the Service is reached: its in-cluster names, its cluster IP and the node address. */
    private certificatesFor(name: string, objectName: string, args: KubernetesDindHostArgs, clusterIp: pulumi.Output<string>) {
        const ns = pulumi.output(args.namespace);
        const extra = [...(args.tcp?.nodeAddress && (args.tcp.service ?? DEFAULT_KUBERNETES_SERVICE_TYPE) === "NodePort" ? [args.tcp.nodeAddress] : []), ...(args.tcp?.sans ?? [])];
        return new DindCertificates(`${name}-tls`, {
            commonName: objectName,
            dnsNames: ns.apply((n) => [objectName, `${objectName}.${n}`, `${objectName}.${n}.svc`, `${objectName}.${n}.svc.cluster.local`,
                ...extra.filter((s) => isIP(s) === 0)]),
            ipAddresses: clusterIp.apply((ip) => [...(isIP(ip ?? "") ? [ip] : []), ...extra.filter((s) => isIP(s) !== 0)]),
        }, { parent: this });
    }

    private statefulSetFor(name: string, args: KubernetesDindHostArgs, metadata: k8s.types.input.meta.v1.ObjectMeta, selector: Record<string, string>) {
        const isolated = args.runtimeClassName !== undefined;
        const labels = metadata.labels as Record<string, string>;
        return new k8s.apps.v1.StatefulSet(...transformed(args.transform?.statefulSet, `${name}-statefulset`, {
            metadata,
            spec: {
                replicas: 1,
                serviceName: metadata.name!,
                selector: { matchLabels: selector },
                template: {
                    metadata: {
                        labels,
                        annotations: { [TLS_HASH_ANNOTATION]: this.certificates.serverCert.apply((pem) => createHash("sha256").update(pem).digest("hex").slice(0, 16)) },
                    },
                    spec: {
                        runtimeClassName: args.runtimeClassName,
                        // Preferred, not required: a host whose node is drained or lost may share a node rather than stay down.
                        affinity: args.spreadGroup === undefined ? undefined : {
                            podAntiAffinity: {
                                preferredDuringSchedulingIgnoredDuringExecution: [{
                                    weight: 100,
                                    podAffinityTerm: { labelSelector: { matchLabels: { [SPREAD_LABEL]: labels[SPREAD_LABEL] } }, topologyKey: "kubernetes.io/hostname" },
                                }],
                            },
                        },
                        containers: [{
                            name: "dind",
                            image: args.image ?? DEFAULT_DIND_IMAGE,
                            // Docker in Docker needs it, unless an isolating runtime gives it what it needs: the only privileged container the project makes.
                            securityContext: { privileged: !isolated },
                            args: ["dockerd", DOCKERD_SOCKET_FLAG, ...dockerdTlsFlags()],
                            env: Object.entries({ ...args.env, DOCKER_TLS_CERTDIR: "" }).map(([k, v]) => ({ name: k, value: v })),
                            ports: [
                                { name: "docker-tls", containerPort: DOCKERD_TLS_PORT },
                                ...(args.publishedPorts ?? []).map((p) => ({ containerPort: p.port, protocol: (p.protocol ?? DEFAULT_PORT_PROTOCOL).toUpperCase() })),
                            ],
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
            // A claim that must be replaced (another class or size) is held by the pod until the pod is gone:
            // the StatefulSet goes first and comes back with the new claim.
        }, { parent: this, dependsOn: [this.claim, this.secret], replaceWith: [this.claim] }));
    }
}

/** A value Kubernetes takes as a label value: other characters become "-", at most 63 characters. */
function labelValue(value: string): string {
    return value.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}
