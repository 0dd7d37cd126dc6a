import { isIP } from "node:net";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ClientTls, DindHostRef } from "./contract";
import { DindCertificates } from "./DindCertificates";
import { DindReadiness, ReadinessCheck } from "./DindReadiness";
import {
    DindResources, DOCKERD_PLAIN_PORT, DOCKERD_SOCKET_FLAG, DOCKERD_TLS_PORT, DockerdConfig, dockerdTlsFlags, INNER_DAEMON_CHECK, MANAGED_DOCKERD_OPTIONS,
    memoryMegabytes,
} from "./dockerd";
import {
    DEFAULT_DIND_IMAGE, DEFAULT_READINESS_TIMEOUT, DEFAULT_STORAGE_RETAIN, DEFAULT_TCP_BIND, DEFAULT_TCP_INSECURE, DEFAULT_TCP_TLS,
    defaultOuterDaemon, defaultStorageVolume,
} from "./defaults";
import { dialAddress, isLocalDaemon, isWildcard, LOOPBACK, machineAddressOf, tcpUrl } from "./endpoints";
import { apiAtLeast, EngineEndpoint } from "./engineApi";
import { ImageCopier, ImagePreload } from "./ImagePreload";
import { DIND_HOST_ROLE, DIND_HOST_TYPE, HOST_LABEL, INSECURE_LABEL, labelList, PUBLIC_BIND_LABEL, ROLE_LABEL, withMarkers } from "./markers";
import { CERT_PATH_FILES, DAEMON_JSON, HOST_SOCKET_DIR, INNER_DATA_ROOT, INNER_TLS_DIR, REGISTRY_CERTS_DIR, socketIn } from "./paths";
import { Transform, transformed } from "./transform";

/** Credentials for one registry the inner daemon pulls from. */
export interface RegistryCredentials {
    /** The registry, as image names spell it (required). @example "registry.internal:5000" */
    address: string;
    /** The user name (required). @example "ci" */
    username: string;
    /** Held as a secret wherever it goes. @example pulumi.secret(process.env.REGISTRY_TOKEN!) */
    password: pulumi.Input<string>;
}

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

/** What a DinD host's update-time steps do on the daemons (see `DindHostArgs.steps`). */
export interface DindHostSteps {
    /** Waits for the inner daemon. @default engineReadinessCheck @example { awaitInnerDaemon: async () => ({ mtu: 0 }), innerBridgeMtu: async () => 1500 } */
    readiness?: ReadinessCheck;
    /** Copies preloaded images. @default engineImageCopier @example { preloadImage: async () => "sha256:...", inspectImage: async () => "sha256:..." } */
    preload?: ImageCopier;
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
     * The outer engine's Engine API version, which picks the health check's schedule (see
     * `healthCheck`). The component does no I/O itself: the caller asks the engine (once per
     * daemon, e.g. with `await engineApiVersion(outerDaemon)` from engineApi.ts) and passes the answer in.
     * @default unknown, taken as a current engine (Docker 25+)
     * @example "1.47"
     */
    engineApiVersion?: string;
    /**
     * How often the container's health check asks the inner daemon (`docker ps` and `npm run
     * status` show it). Each check is an exec into the container (measured here: 13% of a core
     * per host at one a second). With a tcp or unix endpoint, readiness asks the inner daemon's
     * /_ping itself, so the check only keeps the health current, every 30 s. Without one, the
     * check is the readiness signal, so it runs often while the host starts: Docker 25+ (Engine
     * API 1.44) has `startInterval` for that; older engines know only `interval`.
     * @default healthSchedule(engineApiVersion, hasEndpoint): with an endpoint { interval: "30s" } (Docker 25+ adds startInterval "1s"); without, Docker 25+ { startInterval: "250ms", interval: "30s" }, older { interval: "1s" }
     * @example { interval: "5s" }
     */
    healthCheck?: HealthSchedule;
    /**
     * The inner daemon's configuration (daemon.json). Options in MANAGED_DOCKERD_OPTIONS are refused.
     * @default {}
     * @example { mtu: "auto", "registry-mirrors": ["https://hub-cache:5000"], "log-level": "warn" }
     */
    dockerd?: DockerdConfig;
    /**
     * Credentials the inner provider uses to pull images for nested resources.
     * @default []
     * @example [{ address: "registry.internal:5000", username: "ci", password: config.requireSecret("registryToken") }]
     */
    registryAuth?: RegistryCredentials[];
    /**
     * CA certificates (PEM) the inner daemon trusts per registry host:port, written to
     * /etc/docker/certs.d/<host:port>/ca.crt in the DinD container.
     * @default {}
     * @example { "registry.internal:5000": readFileSync("/etc/ssl/internal-ca.pem", "utf8") }
     */
    registryCAs?: Record<string, pulumi.Input<string>>;
    /**
     * Limits of the DinD container.
     * @default none
     * @example { cpus: 2, memory: "4g", pids: 4096 }
     */
    resources?: DindResources;
    /**
     * The OCI runtime of the DinD container. Any runtime but runc is taken to isolate Docker in
     * Docker itself (sysbox-runc does), so the container is then not privileged.
     * @default the outer daemon's default runtime, privileged
     * @example "sysbox-runc"
     */
    runtime?: string;
    /**
     * Outer networks the DinD container joins besides the default bridge (a `DindRegistry`'s
     * network, to reach it by name).
     * @default []
     * @example [registry.networkName]
     */
    networks?: pulumi.Input<string>[];
    /**
     * What the host's update-time steps do on the daemons: wait for the inner daemon, copy the
     * preloaded images. Replaced by the unit suite with fakes, or by a caller that reaches its
     * daemons another way.
     * @default { readiness: engineReadinessCheck, preload: engineImageCopier } (the Engine API)
     * @example { preload: { preloadImage: async () => "sha256:...", inspectImage: async () => "sha256:..." } }
     */
    steps?: DindHostSteps;
    /** Adjust the arguments of the resources this component creates. @default none @example { container: { memory: 4096 } } */
    transform?: {
        container?: Transform<docker.ContainerArgs>;
        volume?: Transform<docker.VolumeArgs>;
        provider?: Transform<docker.ProviderArgs>;
    };
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
    /** One step per preloaded image, keyed by image reference. */
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
    /**
     * The DinD container's address on its outer network, where the ports nested containers
     * publish are reached (from the outer daemon's machine; not the TCP endpoint's address).
     */
    readonly publishedPortsAddress: pulumi.Output<string | undefined>;
    /** The start-up step that waits for the inner daemon (absent on an ssh:// outer daemon, where the container waits). */
    readonly readiness?: DindReadiness;
    /** What nested resources depend on: the container (their provider is configured only once the inner daemon answers). */
    readonly ready: pulumi.Resource;
    /** MTU of the inner default bridge, for the networks nested in it (undefined: dockerd's default). */
    readonly mtu: pulumi.Output<number | undefined>;
    /** Preloaded image reference -> image id on the inner daemon. */
    readonly preloadedImageIds: pulumi.Output<Record<string, string>>;
    /** The storage volume when it is not retained (see DindHostRef). */
    readonly nestedDeletedWith?: pulumi.Resource;

    constructor(name: string, args: DindHostArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        super(DIND_HOST_TYPE, name, {}, opts);
        const parent = this;
        const { containerName, outerDaemon, storage, tcp, unix, labels, readinessTimeout, schedule, dockerd, resources, watched } = normalizeArgs();
        const { tcpEndpoint, unixEndpoint, preferred } = endpoints();
        this.volume = createVolume();
        if (!storage.retain) this.nestedDeletedWith = this.volume;
        this.image = createImage();
        this.certificates = createCertificates();
        this.container = createContainer();
        this.clientTls = createClientTls();
        this.innerEndpoint = preferred === undefined ? undefined : pulumi.secret(this.clientTls.apply((tls) => ({ host: preferred, ...tls })));
        this.readiness = createReadiness();
        this.ready = this.container;
        this.mtu = innerMtu();
        this.provider = createInnerProvider();
        this.preloads = createPreloads();

        this.containerId = this.container.id;
        this.tcpEndpoint = pulumi.output(tcpEndpoint);
        this.unixEndpoint = pulumi.output(unixEndpoint);
        this.dockerHost = pulumi.output(preferred);
        this.publishedPortsAddress = this.container.networkDatas.apply((networks) => networks?.find((n) => n.ipAddress)?.ipAddress);
        this.preloadedImageIds = pulumi.all(Object.fromEntries(Object.entries(this.preloads).map(([image, p]) => [image, p.imageId])));
        this.registerOutputs({
            containerId: this.containerId,
            tcpEndpoint: this.tcpEndpoint,
            unixEndpoint: this.unixEndpoint,
            dockerHost: this.dockerHost,
            publishedPortsAddress: this.publishedPortsAddress,
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
            const dockerd = args.dockerd ?? {};
            const managed = Object.keys(dockerd).find((option) => option in MANAGED_DOCKERD_OPTIONS);
            if (managed) {
                throw new pulumi.ResourceError(`DindHost ${name}: dockerd.${managed} is managed by this component: ${MANAGED_DOCKERD_OPTIONS[managed]}`, parent);
            }
            const outerDaemon = args.outerDaemon ?? defaultOuterDaemon();
            // An ssh:// outer daemon is not reachable over the Engine API from here: there the container resource waits.
            const watched = !outerDaemon.host.startsWith("ssh://");
            if (args.resources?.pids !== undefined && !watched) {
                throw new pulumi.ResourceError(`DindHost ${name}: resources.pids is applied over the Engine API, which an ssh:// outer daemon does not offer here`, parent);
            }
            const readinessTimeout = args.readinessTimeout ?? DEFAULT_READINESS_TIMEOUT;
            return {
                containerName,
                outerDaemon,
                storage: {
                    volume: args.storage?.volume ?? defaultStorageVolume(containerName),
                    retain: args.storage?.retain ?? DEFAULT_STORAGE_RETAIN,
                },
                tcp,
                unix: args.unix,
                labels: withMarkers(args.labels, {
                    [ROLE_LABEL]: DIND_HOST_ROLE,
                    [HOST_LABEL]: containerName,
                    ...(tcp && !tcp.tls ? { [INSECURE_LABEL]: "true" } : {}),
                    ...(tcp && !LOOPBACK.test(tcp.bind) ? { [PUBLIC_BIND_LABEL]: "true" } : {}),
                }),
                readinessTimeout,
                schedule: args.healthCheck ?? healthSchedule(args.engineApiVersion, Boolean(tcp || args.unix)),
                dockerd,
                resources: args.resources ?? {},
                watched,
            };
        }

        /** Where this machine reaches the inner daemon: TCP (at the outer daemon's machine), unix, and the preferred one. */
        function endpoints() {
            const tcpEndpoint = tcp && tcpUrl(dialAddress(outerDaemon.host, tcp.bind), tcp.port);
            const unixEndpoint = unix && `unix://${socketIn(unix.hostDir)}`;
            return { tcpEndpoint, unixEndpoint, preferred: tcpEndpoint ?? unixEndpoint };
        }

        function createVolume() {
            return new docker.Volume(...transformed(args.transform?.volume, `${name}-storage`,
                { name: storage.volume, labels: labelList(labels) },
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
            const command = dockerdCommand(tcp, unix !== undefined);
            return new docker.Container(...transformed(args.transform?.container, `${name}-container`, {
                name: containerName,
                image: parent.image.imageId,
                // Docker in Docker needs it (this is the only privileged container the project makes), unless
                // a runtime other than runc isolates it (sysbox-runc).
                privileged: args.runtime === undefined || args.runtime === "runc",
                runtime: args.runtime,
                command: dockerd.mtu === "auto" ? withAutoMtu(command) : command,
                envs: Object.entries({ ...args.env, DOCKER_TLS_CERTDIR: "" }).map(([k, v]) => `${k}=${v}`),
                labels: labelList(labels),
                volumes: [
                    { volumeName: parent.volume.name, containerPath: INNER_DATA_ROOT },
                    ...(unix ? [{ hostPath: unix.hostDir, containerPath: HOST_SOCKET_DIR }] : []),
                ],
                // Joining a network by name: stay on the default bridge too (published ports, the outer machine).
                networksAdvanced: args.networks?.length ? [{ name: "bridge" }, ...args.networks.map((network) => ({ name: network }))] : undefined,
                ports: tcp ? [{ internal: tcp.tls ? DOCKERD_TLS_PORT : DOCKERD_PLAIN_PORT, external: tcp.port, ip: tcp.bind }] : [],
                cpus: resources.cpus === undefined ? undefined : String(resources.cpus),
                memory: resources.memory === undefined ? undefined : memoryMegabytes(resources.memory),
                // Memory and swap together: no swap on top of the limit (Docker's own default doubles it, and the
                // provider would then see a difference from its inputs on the next up).
                memorySwap: resources.memory === undefined ? undefined : memoryMegabytes(resources.memory),
                uploads: [
                    ...(certs ? [
                        { file: `${INNER_TLS_DIR}/${CERT_PATH_FILES.ca}`, content: certs.caCert },
                        { file: `${INNER_TLS_DIR}/${CERT_PATH_FILES.cert}`, content: certs.serverCert },
                        { file: `${INNER_TLS_DIR}/${CERT_PATH_FILES.key}`, content: certs.serverKey, permissions: "0600" },
                    ] : []),
                    ...(Object.keys(dockerd).length > 0 ? [{ file: DAEMON_JSON, content: daemonJson(dockerd) }] : []),
                    ...Object.entries(args.registryCAs ?? {}).map(([registry, ca]) => ({ file: `${REGISTRY_CERTS_DIR}/${registry}/ca.crt`, content: ca })),
                ],
                // Healthy once the inner daemon answers: the readiness signal only without an endpoint (or `wait`, on ssh://).
                healthcheck: {
                    tests: ["CMD", ...INNER_DAEMON_CHECK],
                    interval: schedule.interval,
                    startInterval: schedule.startInterval,
                    timeout: "10s",
                    retries: 5,
                    startPeriod: goDuration(readinessTimeout),
                },
                wait: !watched,
                waitTimeout: watched ? undefined : readinessTimeout,
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
            return pulumi.secret(pulumi.all([certs.caCert, certs.clientCert!, certs.clientKey!]).apply(([ca, cert, key]) => ({ ca, cert, key })));
        }

        /**
         * Waits for the inner daemon (its /_ping, else the health check), watching the container over
         * the Engine API: an exited daemon fails the update in about a second, with the container's
         * log. Applies the pids limit, and reads back the MTU `auto` gave the inner bridge.
         */
        function createReadiness() {
            if (!watched) return undefined;
            return new DindReadiness(`${name}-readiness`, {
                host: containerName,
                outer: outerDaemon,
                containerId: parent.container.id,
                timeoutSeconds: readinessTimeout,
                pidsLimit: resources.pids,
                inner: parent.innerEndpoint,
                readMtu: dockerd.mtu === "auto",
                check: args.steps?.readiness,
            }, { parent });
        }

        /** A given MTU as is; `auto` as the readiness step read it (unknown without an endpoint or on ssh://). */
        function innerMtu(): pulumi.Output<number | undefined> {
            if (dockerd.mtu !== "auto") return pulumi.output(dockerd.mtu);
            return parent.readiness && parent.innerEndpoint ? parent.readiness.mtu : pulumi.output(undefined);
        }

        function readyContainerId() {
            return parent.readiness?.containerId ?? parent.container.id;
        }

        function createInnerProvider() {
            if (preferred === undefined) return undefined;
            const certs = parent.certificates;
            // Derived from the ready container's id, the provider's host is unknown until the daemon answers:
            // a preview of a fresh stack then leaves the inner provider unconfigured instead of dialing
            // a daemon that is not there yet (pulumi-docker issue 139).
            return new docker.Provider(...transformed(args.transform?.provider, `${name}-inner`, {
                host: readyContainerId().apply(() => preferred),
                caMaterial: certs?.caCert,
                certMaterial: certs?.clientCert,
                keyMaterial: certs?.clientKey,
                registryAuth: args.registryAuth?.map((auth) => ({ address: auth.address, username: auth.username, password: pulumi.secret(auth.password) })),
            }, { parent, dependsOn: [parent.ready] }));
        }

        function createPreloads(): Record<string, ImagePreload> {
            const target = parent.innerEndpoint;
            if (!target) return {};
            return Object.fromEntries((args.preload ?? []).map((image) => [image, new ImagePreload(`${name}-preload-${image}`,
                { image, source: outerDaemon, target, targetContainer: readyContainerId(), copier: args.steps?.preload },
                { parent })]));
        }
    }
}

/** dockerd's listeners: always the in-container socket (the health check's), plus the requested endpoints. */
function dockerdCommand(tcp: Required<DindTcpEndpointArgs> | undefined, unix: boolean): string[] {
    const command = ["dockerd", DOCKERD_SOCKET_FLAG];
    if (unix) command.push(`--host=unix://${socketIn(HOST_SOCKET_DIR)}`);
    if (tcp?.tls) command.push(...dockerdTlsFlags());
    else if (tcp) command.push(`--host=tcp://0.0.0.0:${DOCKERD_PLAIN_PORT}`, "--tls=false");
    return command;
}

/** Runs the dockerd command through sh, adding --mtu with the DinD container's own eth0 MTU. */
function withAutoMtu(command: string[]): string[] {
    return ["sh", "-c", 'exec dockerd-entrypoint.sh "$@" --mtu="$(cat /sys/class/net/eth0/mtu)"', "dockerd-auto-mtu", ...command];
}

/** daemon.json text; `mtu: auto` is a flag instead (the value is only known inside the container). */
function daemonJson(dockerd: DockerdConfig): pulumi.Output<string> {
    const { mtu, ...rest } = dockerd;
    return pulumi.output({ ...rest, ...(mtu === "auto" ? {} : { mtu }) }).apply((config) => JSON.stringify(config, null, 2));
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
 * The health check's schedule for an outer engine of this Engine API version. With an endpoint,
 * readiness pings the inner daemon and the check only keeps the health current: every 30 s.
 * Without one, the check is the readiness signal: frequent only while starting where the engine
 * can tell the two apart (API 1.44, Docker 25), else once a second. An unknown engine is taken as current.
 */
export function healthSchedule(apiVersion: string | undefined, hasEndpoint: boolean): HealthSchedule {
    const current = !apiVersion || apiAtLeast(apiVersion, "1.44");
    // With an endpoint, a start interval only shows "healthy" soon after the start, in `docker ps`.
    if (hasEndpoint) return current ? { interval: "30s", startInterval: "1s" } : { interval: "30s" };
    return current ? { interval: "30s", startInterval: "250ms" } : { interval: "1s" };
}

/** Seconds as Go formats a duration ("2m0s"), the form the provider reads back: any other form diffs forever. */
function goDuration(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}
