// Pulumi mocks that record every registered resource, with the options it was created with.
import * as pulumi from "@pulumi/pulumi";
import type { DindHostSteps } from "../../components/DindHost";
import type { RegistryReadinessCheck, RegistryReadinessInputs } from "../../components/RegistryReadiness";
import type { ReadinessInputs } from "../../components/DindReadiness";
import type { PreloadInputs } from "../../components/ImagePreload";
import type { KubernetesReadinessInputs } from "../../components/KubernetesReadiness";
import type { ProgramSteps } from "../../program";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** The provider reference (urn::id) the engine would use. */
    provider?: string;
    urn: string;
}

export interface Recorder {
    resources: Registered[];
    /** Options each child of the component under test was created with, by resource name. */
    options: Map<string, pulumi.CustomResourceOptions>;
    /** Pass as the component's `transformations` option to record its children's options. */
    recordOptions: pulumi.ResourceTransformation;
    byType(type: string): Registered[];
    one(type: string, name?: string): Registered;
}

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const NETWORK = "docker:index/network:Network";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const DOCKER_PROVIDER = "pulumi:providers:docker";
export const CERTIFICATES = "dind:index:DindCertificates";
export const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
export const SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert";
export const CERT_REQUEST = "tls:index/certRequest:CertRequest";
export const LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert";
export const PRELOAD = "dind:index:ImagePreload";
export const K8S_STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";
export const K8S_SERVICE = "kubernetes:core/v1:Service";
export const K8S_CLAIM = "kubernetes:core/v1:PersistentVolumeClaim";
export const K8S_SECRET = "kubernetes:core/v1:Secret";
/** The cluster IP the mocked API server gives every Service. */
export const CLUSTER_IP = "10.96.0.42";
/** The first NodePort the mocked API server allocates (then one more per port of a Service). */
export const FIRST_NODE_PORT = 31000;
/** The node the fake Kubernetes readiness check finds a pod on. */
export const POD_NODE = "node-1";
export const READINESS = "dind:index:DindReadiness";
export const REGISTRY = "dind:index:DindRegistry";
export const BUILDER = "dind:index:DoodBuilder";
export const SCOPE = "pulumi-nodejs:dynamic:Resource";
/** The inner bridge MTU the fake readiness check reads back. */
export const READ_BACK_MTU = 1450;

/** The outer daemon components under test are given, so that none falls back to the caller's DOCKER_HOST. */
export const OUTER_DAEMON = { host: "unix:///var/run/docker.sock" };

/**
 * Installs mocks. In `preview` mode, containers get no id, as in a real preview of a fresh
 * stack, so everything derived from a container id stays unknown.
 */
export function installMocks(preview = false): Recorder {
    const recorder: Recorder = {
        resources: [],
        options: new Map(),
        recordOptions: (args) => {
            recorder.options.set(args.name, args.opts);
            return undefined;
        },
        byType: (type) => recorder.resources.filter((r) => r.type === type),
        one: (type, name) => {
            const found = recorder.byType(type).filter((r) => name === undefined || r.name === name);
            if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${recorder.resources.map((r) => `${r.type} ${r.name}`).join(", ")}`);
            return found[0];
        },
    };
    pulumi.runtime.setMocks({
        newResource(args) {
            recorder.resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, urn: `urn:${args.type}::${args.name}` });
            const created = !(preview && args.type === CONTAINER);
            return { id: created ? `${args.name}-id` : undefined, state: { ...args.inputs, ...fakeOutputs(args.type, args.name, args.inputs) } };
        },
        call: (args) => args.inputs,
    }, "dind-provisioner", "unit", preview);
    return recorder;
}

function fakeOutputs(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
    switch (type) {
        case REMOTE_IMAGE:
            return { imageId: `sha256:outer-${inputs.name}` };
        case PRIVATE_KEY:
            return { privateKeyPem: `key-of-${name}` };
        case SELF_SIGNED_CERT:
        case LOCALLY_SIGNED_CERT:
            return { certPem: `cert-of-${name}` };
        case CERT_REQUEST:
            return { certRequestPem: `request-of-${name}` };
        case K8S_SERVICE:
            return {
                spec: {
                    ...inputs.spec,
                    clusterIP: CLUSTER_IP,
                    ports: inputs.spec.ports.map((p: Record<string, unknown>, i: number) => (inputs.spec.type === "NodePort" ? { nodePort: FIRST_NODE_PORT + i, ...p } : p)),
                },
            };
        case K8S_STATEFUL_SET:
            return { metadata: { ...inputs.metadata, generation: 1 } };
        case CONTAINER:
            return { networkDatas: [{ networkName: "bridge", ipAddress: `ip-of-${name}`, gateway: `gateway-of-${name}` }] };
        default:
            return {};
    }
}

/** What the fake update-time steps were asked, in order. */
export interface StepCalls {
    readiness: ReadinessInputs[];
    preloads: PreloadInputs[];
    registries: RegistryReadinessInputs[];
    kubernetes: KubernetesReadinessInputs[];
}

/**
 * Update-time steps that touch no daemon: readiness answers at once (the MTU read back is
 * READ_BACK_MTU), and a preload answers `sha256:preloaded-<image>`. Unit tests pass these, so
 * the suite dials nothing whatever the caller's environment holds.
 */
export function fakeSteps(calls: StepCalls = { readiness: [], preloads: [], registries: [], kubernetes: [] }): ProgramSteps & Required<DindHostSteps> & { calls: StepCalls } {
    return {
        calls,
        registry: fakeRegistryReadiness(calls),
        kubernetesReadiness: {
            awaitDindPod: async (inputs) => {
                calls.kubernetes.push(inputs);
                return { node: POD_NODE, podIP: "10.244.1.5" };
            },
        },
        readiness: {
            awaitInnerDaemon: async (inputs) => {
                calls.readiness.push(inputs);
                return { mtu: inputs.readMtu ? READ_BACK_MTU : 0 };
            },
            innerBridgeMtu: async () => READ_BACK_MTU,
        },
        preload: {
            preloadImage: async (inputs) => {
                calls.preloads.push(inputs);
                return `sha256:preloaded-${inputs.image}`;
            },
            inspectImage: async (_endpoint, image) => ({ id: `sha256:preloaded-${image}` }),
        },
    };
}

/** The value of an output; rejects when it is unknown (as in preview) instead of hanging. */
export async function valueOf<T>(output: pulumi.Input<T> | undefined): Promise<T> {
    // The program's outputs are typed as inputs (program/outputs.ts); an Output stays itself here.
    const internal = pulumi.output(output) as unknown as { isKnown: Promise<boolean>; promise(): Promise<T> };
    if (!(await internal.isKnown)) throw new Error("output is unknown");
    return internal.promise();
}

export async function isKnown(output: pulumi.Output<unknown>): Promise<boolean> {
    return (output as unknown as { isKnown: Promise<boolean> }).isKnown;
}

export async function isSecret(output: pulumi.Input<unknown> | undefined): Promise<boolean> {
    return (pulumi.output(output) as unknown as { isSecret: Promise<boolean> }).isSecret;
}

/** Waits until every given resource is registered, so the recorder has seen it. */
export async function registered(...resources: (pulumi.Resource | undefined)[]): Promise<void> {
    await Promise.all(resources.filter((r): r is pulumi.Resource => r !== undefined).map((r) => valueOf(r.urn)));
}

/** The value inside a secret as the engine receives it; fails when the value was sent in the clear. */
export function secretValue(wire: any): any {
    if (wire?.[pulumi.runtime.specialSigKey] !== pulumi.runtime.specialSecretSig) throw new Error(`not sent as a secret: ${JSON.stringify(wire)}`);
    return wire.value;
}

/** A registry readiness step that touches no daemon: every registry answers at once. */
export function fakeRegistryReadiness(calls: Pick<StepCalls, "registries"> = { registries: [] }): RegistryReadinessCheck {
    return { awaitRegistry: async (inputs) => void calls.registries.push(inputs) };
}
