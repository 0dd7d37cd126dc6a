// The guardrails: mandatory policies over docker.Container resources and the pods of Kubernetes
// workloads, for programs that use the components directly. A container counts as a DinD host or a
// DooD client only when it is a child of that component (the type chain in its URN) AND carries the
// component's role label (a label alone is what any look-alike container could copy); a DinD host
// must also run dockerd. On Kubernetes the same holds for privileged pods: only a
// KubernetesDindHost's StatefulSet, its pod labelled as a DinD host, running dockerd.
import * as path from "node:path";
import type * as docker from "@pulumi/docker";
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";
import { LOOPBACK } from "../components/endpoints";
import {
    DIND_HOST_ROLE, DIND_HOST_TYPE, DOCKER_CONTAINER_TYPE, DOCKER_PROVIDER_TYPE, DOOD_CLIENT_ROLE, DOOD_CLIENT_TYPE, DOOD_PROXY_ROLE, DOOD_PROXY_TYPE,
    INSECURE_LABEL, KUBERNETES_DIND_HOST_TYPE, PUBLIC_BIND_LABEL, ROLE_LABEL,
} from "../components/markers";

type Container = Unwrap<docker.ContainerArgs>;

/** A rule over one container's arguments. */
type ContainerRule = (container: Container, args: ResourceValidationArgs, report: ReportViolation) => void;

function containerPolicy(name: string, description: string, rule: ContainerRule): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        validateResource: (args, report) => {
            if (args.type === DOCKER_CONTAINER_TYPE) rule(args.props as Container, args, report);
        },
    };
}

/** The type of the resource's parent, from the `parent$child` chain in its URN (undefined at top level). */
export function parentType(urn: string): string | undefined {
    const types = urn.split("::")[2]?.split("$") ?? [];
    return types.length > 1 ? types[types.length - 2] : undefined;
}

function label(container: Container, key: string): string | undefined {
    return container.labels?.find((l) => l.label === key)?.value;
}

/** A child of the component `type` that carries its role label. */
function ownedBy(container: Container, args: ResourceValidationArgs, type: string, role: string): boolean {
    return parentType(args.urn) === type && label(container, ROLE_LABEL) === role;
}

/** Host paths that hand a container the Docker daemon: its socket, or a directory holding it. */
export function isDockerSocket(hostPath: string): boolean {
    const normalized = path.posix.normalize(hostPath).replace(/\/$/, "");
    return path.posix.basename(normalized) === "docker.sock" || ["/var/run", "/run", "/var/run/docker", "/run/docker"].includes(normalized);
}

/** The TCP addresses dockerd is told to listen on, in any of its flag forms. */
export function tcpListeners(argv: string[]): string[] {
    const listeners: string[] = [];
    argv.forEach((arg, i) => {
        const value = /^(?:--host=|-H=?)(.+)$/.exec(arg)?.[1] ?? ((arg === "--host" || arg === "-H") ? argv[i + 1] : undefined);
        if (value?.startsWith("tcp://")) listeners.push(value);
    });
    return listeners;
}

/** dockerd verifies clients only with --tlsverify (alone or =true); --tls alone lets anyone in. */
function verifiesClients(argv: string[]): boolean {
    return argv.some((arg) => arg === "--tlsverify" || arg === "--tlsverify=true");
}

/** True when the container is created on a DinD host's inner daemon (its provider is the host's, on Docker or Kubernetes). */
function onInnerDaemon(args: ResourceValidationArgs): boolean {
    const owner = args.provider?.type === DOCKER_PROVIDER_TYPE ? parentType(args.provider.urn) : undefined;
    return owner === DIND_HOST_TYPE || owner === KUBERNETES_DIND_HOST_TYPE;
}

export const privilegedOnlyDindHosts = containerPolicy(
    "privileged-only-dind-hosts",
    `Only DinD hosts (children of ${DIND_HOST_TYPE}) may run privileged containers.`,
    (container, args, report) => {
        const dindHost = ownedBy(container, args, DIND_HOST_TYPE, DIND_HOST_ROLE) && container.command?.[0] === "dockerd";
        if (container.privileged === true && !dindHost) {
            report(`container ${args.name} is privileged, but only DinD hosts (DindHost) may be: ` +
                "a privileged container is root on the machine. Drop `privileged`, or use DindHost.");
        }
    });

export const dockerSocketOnlyDoodClients = containerPolicy(
    "docker-socket-only-dood-clients",
    `Only DooD clients and their policy proxies (children of ${DOOD_CLIENT_TYPE} or ${DOOD_PROXY_TYPE}) may mount the Docker socket.`,
    (container, args, report) => {
        const binds = [
            ...(container.volumes ?? []).map((v) => v.hostPath),
            ...(container.mounts ?? []).filter((m) => m.type === "bind").map((m) => m.source),
        ].filter((p): p is string => typeof p === "string");
        const socket = binds.find(isDockerSocket);
        const doodClient = ownedBy(container, args, DOOD_CLIENT_TYPE, DOOD_CLIENT_ROLE);
        const doodProxy = ownedBy(container, args, DOOD_PROXY_TYPE, DOOD_PROXY_ROLE);
        if (socket && !doodClient && !doodProxy) {
            report(`container ${args.name} mounts the Docker socket (${socket}), but only DooD clients (DoodClient) and their policy proxies (DoodPolicyProxy) may: ` +
                "the socket is root-equivalent on the host.");
        }
    });

export const tcpEndpointsNeedTls = containerPolicy(
    "tcp-endpoints-need-tls",
    `A dockerd TCP endpoint needs mutual TLS (--tlsverify) unless the container is labelled ${INSECURE_LABEL}=true.`,
    (container, args, report) => {
        const argv = [...(container.entrypoints ?? []), ...(container.command ?? [])];
        const listeners = tcpListeners(argv);
        if (listeners.length > 0 && !verifiesClients(argv) && label(container, INSECURE_LABEL) !== "true") {
            report(`container ${args.name} serves the Docker API on ${listeners.join(", ")} without --tlsverify: ` +
                `anyone who reaches it is root. Use mutual TLS, or set insecure: true (label ${INSECURE_LABEL}=true).`);
        }
    });

export const loopbackBindsUnlessDeclared = containerPolicy(
    "loopback-binds-unless-declared",
    `Published ports bind to loopback unless the container is labelled ${PUBLIC_BIND_LABEL}=true.`,
    (container, args, report) => {
        // A nested container's ports bind inside its DinD host, not on the outer machine.
        if (onInnerDaemon(args) || label(container, PUBLIC_BIND_LABEL) === "true") return;
        // The docker provider binds a port without `ip` to every address.
        const open = (container.ports ?? []).filter((p) => !LOOPBACK.test(p.ip ?? "0.0.0.0"));
        if (open.length > 0) {
            const binds = open.map((p) => `${p.ip ?? "0.0.0.0"}:${p.external ?? p.internal}`).join(", ");
            report(`container ${args.name} publishes ${binds} beyond loopback without declaring it: ` +
                `bind to 127.0.0.1, or label it ${PUBLIC_BIND_LABEL}=true (DindHost does so for a non-loopback tcp.bind).`);
        }
    });

interface PodSpec {
    containers?: KubernetesContainer[];
    initContainers?: KubernetesContainer[];
    ephemeralContainers?: KubernetesContainer[];
}
interface KubernetesContainer {
    name?: string;
    command?: string[];
    args?: string[];
    securityContext?: { privileged?: boolean };
}
interface PodTemplate {
    metadata?: { labels?: Record<string, string> };
    spec?: PodSpec;
}
type Props = Record<string, any>;

/** Where each kind of Kubernetes workload (and its Patch) holds its pod template. */
const POD_TEMPLATES: Record<string, (props: Props) => PodTemplate | undefined> = {
    "core/v1:Pod": (p) => p,
    "core/v1:PodTemplate": (p) => p.template,
    "core/v1:ReplicationController": (p) => p.spec?.template,
    "apps/v1:StatefulSet": (p) => p.spec?.template,
    "apps/v1:Deployment": (p) => p.spec?.template,
    "apps/v1:DaemonSet": (p) => p.spec?.template,
    "apps/v1:ReplicaSet": (p) => p.spec?.template,
    "batch/v1:Job": (p) => p.spec?.template,
    "batch/v1:CronJob": (p) => p.spec?.jobTemplate?.spec?.template,
};

/** The pod template of a Kubernetes workload resource (or of its Patch), undefined for anything else. */
export function podTemplateOf(type: string, props: Props): PodTemplate | undefined {
    const kind = /^kubernetes:(.+?)(Patch)?$/.exec(type)?.[1];
    return kind && POD_TEMPLATES[kind] ? POD_TEMPLATES[kind](props) ?? {} : undefined;
}

export const privilegedPodsOnlyDindHosts: ResourceValidationPolicy = {
    name: "privileged-pods-only-dind-hosts",
    description: "Only DinD hosts (children of dind:index:KubernetesDindHost) may run privileged pods.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const template = podTemplateOf(args.type, args.props);
        const spec = template?.spec;
        if (!spec) return;
        const privileged = [...spec.containers ?? [], ...spec.initContainers ?? [], ...spec.ephemeralContainers ?? []].filter((c) => c.securityContext?.privileged === true);
        if (privileged.length === 0) return;
        const dindHost = parentType(args.urn) === KUBERNETES_DIND_HOST_TYPE && args.type === "kubernetes:apps/v1:StatefulSet" &&
            template.metadata?.labels?.[ROLE_LABEL] === DIND_HOST_ROLE &&
            privileged.every((c) => (c.command ?? c.args)?.[0] === "dockerd");
        if (!dindHost) {
            report(`${args.type.replace(/^kubernetes:/, "")} ${args.name} runs a privileged container (${privileged.map((c) => c.name).join(", ")}), but only DinD hosts (KubernetesDindHost) may: ` +
                "a privileged container is root on its node. Drop `privileged`, or use KubernetesDindHost.");
        }
    },
};

export const guardrails: ResourceValidationPolicy[] = [
    privilegedOnlyDindHosts, dockerSocketOnlyDoodClients, tcpEndpointsNeedTls, loopbackBindsUnlessDeclared, privilegedPodsOnlyDindHosts,
];
