import { isIP } from "node:net";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DindHostRef } from "./contract";
import { DindCertificates } from "./DindCertificates";
import {
    DEFAULT_DIND_IMAGE, DEFAULT_READINESS_TIMEOUT, DEFAULT_STORAGE_RETAIN, DEFAULT_TCP_BIND, DEFAULT_TCP_INSECURE, DEFAULT_TCP_TLS,
    defaultOuterDaemon, defaultStorageVolume,
} from "./defaults";
import { dialAddress, isLocalDaemon, isWildcard, LOOPBACK, machineAddressOf, tcpUrl } from "./endpoints";
import { apiAtLeast, EngineEndpoint } from "./engineApi";
import { ImagePreload } from "./ImagePreload";
import { DIND_HOST_ROLE, DIND_HOST_TYPE, INSECURE_LABEL, PUBLIC_BIND_LABEL, ROLE_LABEL } from "./markers";
import { Transform, transformed } from "./transform";

/** Where the inner daemon's TLS files are uploaded inside the DinD container. */
const TLS_DIR = "/etc/docker/dind-tls";
/** Where `unix.hostDir` is mounted inside the DinD container. */
const HOST_SOCKET_DIR = "/run/dind-host";
/** The inner daemon's TCP port inside the DinD container (Docker's convention). */
const TLS_PORT = 2376;
const PLAIN_PORT = 2375;

/** Where a DinD host keeps its inner daemon's state (/var/lib/docker). */
export interface DindStorageArgs {
    /**
     * The named volume on the outer daemon.
     * @default "<containerName>-docker"
     * @example "builder-cache"
     */
    volume?: string;
    /**
     * Keep the volume, and the inner images and containers on it, when the host is destroyed.
     * @default false
     * @example true
     */
    retain?: boolean;
}

/** A DinD host's TCP endpoint, published on the outer daemon's machine. */
export interface DindTcpEndpointArgs {
    /**
     * The port on the outer daemon's machine.
     * @example 23760
     */
    port: number;
    /**
     * The address the port is bound to on the outer daemon's machine.
     * @default "127.0.0.1"
     * @example "0.0.0.0"
     */
    bind?: string;
    /**
     * Mutual TLS: the server certificate and a client certificate come from one CA per host.
     * @default true
     * @example false  // only together with insecure: true
     */
    tls?: boolean;
    /**
     * With `tls: false`: serve the Docker API unauthenticated and unencrypted. Without it,
     * `tls: false` is refused.
     * @default false
     * @example true
     */
    insecure?: boolean;
    /**
     * Extra names or IP addresses for the server certificate; it always covers localhost,
     * 127.0.0.1, ::1, the container name, the bind address and a remote daemon's machine.
     * @default []
     * @example ["dind.example.com", "192.168.1.9"]
     */
    sans?: string[];
}

/** A DinD host's unix endpoint: the inner docker.sock, on the outer daemon's machine. */
export interface DindUnixEndpointArgs {
    /**
     * Absolute directory on the outer daemon's machine where the inner docker.sock appears.
     * @example "/var/run/dind/builder"
     */
    hostDir: string;
}

/** How often the readiness health check runs (Go durations). */
export interface HealthSchedule {
    /**
     * Between checks once the host is healthy (between all checks on engines before Docker 25).
     * @example "30s"
     */
    interval: string;
    /**
     * Between checks until the first success (Docker 25+, Engine API 1.44).
     * @default none
     * @example "250ms"
     */
    startInterval?: string;
}

export interface DindHostArgs {
    /**
     * Name of the DinD container on the outer daemon.
     * @default the component's name
     * @example "builder"
     */
    containerName?: string;
    /**
     * How this machine reaches the outer daemon (the one `opts.provider` drives): preload reads
     * images from it, and the TCP endpoint's address and certificate names derive from it.
     * @default defaultOuterDaemon(): $DOCKER_HOST (TLS from $DOCKER_TLS_VERIFY and $DOCKER_CERT_PATH, as the docker CLI), else "unix:///var/run/docker.sock"
     * @example { host: "tcp://10.0.0.5:2376", certPath: "/home/ci/.docker/farm" }
     */
    outerDaemon?: EngineEndpoint;
    /**
     * The DinD image: its entrypoint must run a `dockerd ...` command, as the official
     * docker:dind image's does, and it must hold the docker CLI for the readiness check.
     * @default "docker:27.5.1-dind"
     * @example "docker:27-dind"
     */
    image?: pulumi.Input<string>;
    /**
     * The named volume on /var/lib/docker: overlay-on-overlay storage breaks without it, and it
     * keeps the inner images and containers across container replacement.
     * @default { volume: "<containerName>-docker", retain: false }
     * @example { volume: "builder-cache", retain: true }
     */
    storage?: DindStorageArgs;
    /**
     * The TCP endpoint, published on the outer daemon's machine. Mutual TLS unless
     * `tls: false` and `insecure: true` are both set.
     * @default none
     * @example { port: 23760 }  // 127.0.0.1:23760, mutual TLS
     */
    tcp?: DindTcpEndpointArgs;
    /**
     * The unix endpoint: the inner docker.sock appears in this directory on the outer daemon's machine.
     * @default none
     * @example { hostDir: "/var/run/dind/builder" }
     */
    unix?: DindUnixEndpointArgs;
    /**
     * Images copied from the outer daemon into the inner one once it is ready.
     * @default []
     * @example ["busybox:1.36"]
     */
    preload?: string[];
    /** Environment of the DinD container. @default {} @example { HTTP_PROXY: "http://proxy:3128" } */
    env?: Record<string, string>;
    /** Labels of the DinD container and its volume. @default {} @example { team: "ci" } */
    labels?: Record<string, string>;
    /**
     * Seconds to wait for the inner daemon to answer before the create fails.
     * @default 120
     * @example 300
     */
    readinessTimeout?: number;
    /**
     * The outer engine's Engine API version, which picks the readiness check's schedule (see
     * `healthCheck`). The component does no I/O itself: the caller asks the engine (once per
     * daemon, e.g. with `await engineApiVersion(outerDaemon)` from engineApi.ts) and passes the answer in.
     * @default unknown, taken as a current engine (Docker 25+)
     * @example "1.47"
     */
    engineApiVersion?: string;
    /**
     * How often the readiness health check asks the inner daemon. Each check is an exec into the
     * container (measured here: 13% of a core per host at one a second), so it should run often
     * only while the host starts. Docker 25+ (Engine API 1.44) does that: `startInterval` until
     * the first success, `interval` after. Older engines know only `interval`.
     * @default healthSchedule(engineApiVersion): Docker 25+ { startInterval: "250ms", interval: "30s" }; older { interval: "1s" }
     * @example { interval: "5s" }
     */
    healthCheck?: HealthSchedule;
    /** Adjust the arguments of the resources this component creates. @default none @example { container: { memory: 4096 } } */
    transform?: {
        container?: Transform<docker.ContainerArgs>;
        volume?: Transform<docker.VolumeArgs>;
        provider?: Transform<docker.ProviderArgs>;
    };
}

/** TLS material a client needs for the TCP endpoint. */
export interface ClientTls {
    ca: string;
    cert: string;
    key: string;
}

/**
 * A privileged container running its own dockerd (Docker in Docker), with its storage on a
 * named volume, TCP (mutual TLS) and unix endpoints, a readiness check that asks the inner
 * daemon, preloaded images, and a `provider` for creating resources on the inner daemon.
 */
export class DindHost extends pulumi.ComponentResource implements DindHostRef {
    /** The DinD container on the outer daemon. */
    readonly container: docker.Container;
    /** The volume on /var/lib/docker. */
    readonly volume: docker.Volume;
    /** The image the container runs, looked up on the outer daemon. */
    readonly image: docker.RemoteImage;
    /** The endpoint's CA, server and client certificates (TCP with TLS only). */
    readonly certificates?: DindCertificates;
    /** A Docker provider for the inner daemon, configured only once the daemon answers (absent without an endpoint). */
    readonly provider?: docker.Provider;
    /** One resource per preloaded image, keyed by image reference. */
    readonly preloads: Record<string, ImagePreload>;
    readonly containerId: pulumi.Output<string>;
    /** tcp://address:port, when there is a TCP endpoint. */
    readonly tcpEndpoint: pulumi.Output<string | undefined>;
    /** unix://hostDir/docker.sock, on the outer daemon's machine, when there is a unix endpoint. */
    readonly unixEndpoint: pulumi.Output<string | undefined>;
    /** The preferred endpoint (TCP, else unix), for DOCKER_HOST. */
    readonly dockerHost: pulumi.Output<string | undefined>;
    /** Client CA, certificate and key for the TCP endpoint (a secret). */
    readonly clientTls: pulumi.Output<ClientTls | undefined>;
    /** How this machine reaches the inner daemon's Engine API (a secret: it holds the client key). */
    readonly innerEndpoint?: pulumi.Output<EngineEndpoint>;
    /** Preloaded image reference -> image id on the inner daemon. */
    readonly preloadedImageIds: pulumi.Output<Record<string, string>>;
    /** The storage volume when it is not retained (see DindHostRef). */
    readonly nestedDeletedWith?: pulumi.Resource;

    constructor(name: string, args: DindHostArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        super(DIND_HOST_TYPE, name, {}, opts);
        const parent = this;
        const { containerName, outerDaemon, storage, tcp, unix, labels, readinessTimeout, schedule } = normalizeArgs();
        const { tcpEndpoint, unixEndpoint, preferred } = endpoints();
        this.volume = createVolume();
        if (!storage.retain) this.nestedDeletedWith = this.volume;
        this.image = createImage();
        this.certificates = createCertificates();
        this.container = createContainer();
        this.clientTls = createClientTls();
        this.innerEndpoint = preferred === undefined ? undefined : pulumi.secret(this.clientTls.apply((tls) => ({ host: preferred, ...tls })));
        this.provider = createInnerProvider();
        this.preloads = createPreloads();

        this.containerId = this.container.id;
        this.tcpEndpoint = pulumi.output(tcpEndpoint);
        this.unixEndpoint = pulumi.output(unixEndpoint);
        this.dockerHost = pulumi.output(preferred);
        this.preloadedImageIds = pulumi.all(Object.fromEntries(Object.entries(this.preloads).map(([image, p]) => [image, p.imageId])));
        this.registerOutputs({
            containerId: this.containerId,
            tcpEndpoint: this.tcpEndpoint,
            unixEndpoint: this.unixEndpoint,
            dockerHost: this.dockerHost,
            clientTls: this.clientTls,
            preloadedImageIds: this.preloadedImageIds,
        });

        /** Every default applied (from ./defaults) and every rule a user can break checked, before any resource. */
        function normalizeArgs() {
            const containerName = args.containerName ?? name;
            const tcp = args.tcp && {
                port: args.tcp.port,
                bind: args.tcp.bind ?? DEFAULT_TCP_BIND,
                tls: args.tcp.tls ?? DEFAULT_TCP_TLS,
                insecure: args.tcp.insecure ?? DEFAULT_TCP_INSECURE,
                sans: args.tcp.sans ?? [],
            };
            if (tcp && !tcp.tls && !tcp.insecure) {
                throw new pulumi.ResourceError(`DindHost ${name}: tcp.tls false needs tcp.insecure true (it would serve the Docker API unauthenticated)`, parent);
            }
            if (!tcp && !args.unix && args.preload?.length) {
                throw new pulumi.ResourceError(`DindHost ${name}: preload needs a tcp or unix endpoint to reach the inner daemon`, parent);
            }
            const readinessTimeout = args.readinessTimeout ?? DEFAULT_READINESS_TIMEOUT;
            return {
                containerName,
                outerDaemon: args.outerDaemon ?? defaultOuterDaemon(),
                storage: {
                    volume: args.storage?.volume ?? defaultStorageVolume(containerName),
                    retain: args.storage?.retain ?? DEFAULT_STORAGE_RETAIN,
                },
                tcp,
                unix: args.unix,
                // The markers the policy pack reads come last: arguments cannot fake or hide them.
                labels: {
                    ...args.labels,
                    [ROLE_LABEL]: DIND_HOST_ROLE,
                    "dind-provisioner.host": containerName,
                    ...(tcp && !tcp.tls ? { [INSECURE_LABEL]: "true" } : {}),
                    ...(tcp && !LOOPBACK.test(tcp.bind) ? { [PUBLIC_BIND_LABEL]: "true" } : {}),
                },
                readinessTimeout,
                schedule: args.healthCheck ?? healthSchedule(args.engineApiVersion),
            };
        }

        /** Where this machine reaches the inner daemon: TCP (at the outer daemon's machine), unix, and the preferred one. */
        function endpoints() {
            const tcpEndpoint = tcp && tcpUrl(dialAddress(outerDaemon.host, tcp.bind), tcp.port);
            const unixEndpoint = unix && `unix://${unix.hostDir}/docker.sock`;
            return { tcpEndpoint, unixEndpoint, preferred: tcpEndpoint ?? unixEndpoint };
        }

        function labelList() {
            return Object.entries(labels).map(([label, value]) => ({ label, value }));
        }

        function createVolume() {
            return new docker.Volume(...transformed(args.transform?.volume, `${name}-storage`,
                { name: storage.volume, labels: labelList() },
                { parent, retainOnDelete: storage.retain }));
        }

        function createImage() {
            return new docker.RemoteImage(`${name}-image`, { name: args.image ?? DEFAULT_DIND_IMAGE, keepLocally: true }, { parent });
        }

        function createCertificates() {
            if (!tcp?.tls) return undefined;
            return new DindCertificates(`${name}-tls`, serverNames(containerName, outerDaemon.host, tcp), { parent });
        }

        function createContainer() {
            const certs = parent.certificates;
            return new docker.Container(...transformed(args.transform?.container, `${name}-container`, {
                name: containerName,
                image: parent.image.imageId,
                // Docker in Docker needs it: this is the only privileged container the project makes.
                privileged: true,
                command: dockerdCommand(tcp, unix !== undefined),
                envs: Object.entries({ ...args.env, DOCKER_TLS_CERTDIR: "" }).map(([k, v]) => `${k}=${v}`),
                labels: labelList(),
                volumes: [
                    { volumeName: parent.volume.name, containerPath: "/var/lib/docker" },
                    ...(unix ? [{ hostPath: unix.hostDir, containerPath: HOST_SOCKET_DIR }] : []),
                ],
                ports: tcp ? [{ internal: tcp.tls ? TLS_PORT : PLAIN_PORT, external: tcp.port, ip: tcp.bind }] : [],
                uploads: certs ? [
                    { file: `${TLS_DIR}/ca.pem`, content: certs.caCert },
                    { file: `${TLS_DIR}/cert.pem`, content: certs.serverCert },
                    { file: `${TLS_DIR}/key.pem`, content: certs.serverKey, permissions: "0600" },
                ] : [],
                // Readiness: healthy once the inner daemon answers; `wait` holds the create until then.
                healthcheck: {
                    tests: ["CMD", "docker", "--host", "unix:///var/run/docker.sock", "version"],
                    interval: schedule.interval,
                    startInterval: schedule.startInterval,
                    timeout: "10s",
                    retries: 5,
                    startPeriod: goDuration(readinessTimeout),
                },
                wait: true,
                waitTimeout: readinessTimeout,
                restart: "unless-stopped",
                mustRun: true,
            }, {
                parent,
                // A fixed name and host port cannot exist twice: remove the old container first.
                deleteBeforeReplace: true,
                additionalSecretOutputs: ["uploads"],
            }));
        }

        function createClientTls(): pulumi.Output<ClientTls | undefined> {
            const certs = parent.certificates;
            if (!certs) return pulumi.output(undefined);
            return pulumi.secret(pulumi.all([certs.caCert, certs.clientCert, certs.clientKey]).apply(([ca, cert, key]) => ({ ca, cert, key })));
        }

        function createInnerProvider() {
            if (preferred === undefined) return undefined;
            const certs = parent.certificates;
            // Derived from the container id, the provider's host is unknown until the container exists:
            // a preview of a fresh stack then leaves the inner provider unconfigured instead of dialing
            // a daemon that is not there yet (pulumi-docker issue 139).
            return new docker.Provider(...transformed(args.transform?.provider, `${name}-inner`, {
                host: parent.container.id.apply(() => preferred),
                caMaterial: certs?.caCert,
                certMaterial: certs?.clientCert,
                keyMaterial: certs?.clientKey,
            }, { parent, dependsOn: [parent.container] }));
        }

        function createPreloads(): Record<string, ImagePreload> {
            const target = parent.innerEndpoint;
            if (!target) return {};
            return Object.fromEntries((args.preload ?? []).map((image) => [image, new ImagePreload(`${name}-preload-${image}`,
                { image, source: outerDaemon, target, targetContainer: parent.container.id },
                { parent, dependsOn: [parent.container], deletedWith: parent.nestedDeletedWith })]));
        }
    }
}

/** dockerd's listeners: always the in-container socket (the health check's), plus the requested endpoints. */
function dockerdCommand(tcp: Required<DindTcpEndpointArgs> | undefined, unix: boolean): string[] {
    const command = ["dockerd", "--host=unix:///var/run/docker.sock"];
    if (unix) command.push(`--host=unix://${HOST_SOCKET_DIR}/docker.sock`);
    if (tcp?.tls) {
        command.push(`--host=tcp://0.0.0.0:${TLS_PORT}`, "--tlsverify",
            `--tlscacert=${TLS_DIR}/ca.pem`, `--tlscert=${TLS_DIR}/cert.pem`, `--tlskey=${TLS_DIR}/key.pem`);
    } else if (tcp) {
        command.push(`--host=tcp://0.0.0.0:${PLAIN_PORT}`, "--tls=false");
    }
    return command;
}

/** Every name the TCP endpoint is reached by: loopback, the bind address, the daemon's machine, extras. */
function serverNames(containerName: string, daemonHost: string, tcp: Required<DindTcpEndpointArgs>) {
    const candidates = ["localhost", "127.0.0.1", "::1", containerName, ...tcp.sans];
    if (!isWildcard(tcp.bind)) candidates.push(tcp.bind);
    if (!isLocalDaemon(daemonHost)) candidates.push(machineAddressOf(daemonHost));
    const unique = [...new Set(candidates)];
    return {
        commonName: containerName,
        dnsNames: unique.filter((n) => isIP(n) === 0),
        ipAddresses: unique.filter((n) => isIP(n) !== 0),
    };
}

/**
 * The readiness check's schedule for an outer engine of this Engine API version: frequent checks
 * only while starting where the engine can tell them apart (API 1.44, Docker 25); an unknown
 * engine is taken as current.
 */
export function healthSchedule(apiVersion: string | undefined): HealthSchedule {
    return apiVersion && !apiAtLeast(apiVersion, "1.44") ? { interval: "1s" } : { interval: "30s", startInterval: "250ms" };
}

/** Seconds as Go formats a duration ("2m0s"), the form the provider reads back: any other form diffs forever. */
function goDuration(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}
