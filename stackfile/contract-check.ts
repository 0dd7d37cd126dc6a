// Compile-time proof that the stack file's sections and the component arguments they become
// cannot drift apart: `tsc -p .` (the first step of `npm run test:unit`) fails when a key, its
// type, whether it is required, or whether the schema fills it with a default differs between
// a zod schema here and the documented argument interface in components/. Nothing here runs.
import { z } from "zod";
import type { DindHostArgs, DindStorageArgs, DindTcpEndpointArgs, DindUnixEndpointArgs } from "../components/DindHost";
import type { NestedContainerArgs, NestedPortArgs, NestedVolumeMountArgs, WorkloadsArgs } from "../components/DindWorkloads";
import type { DindPoolArgs, DindPoolCacheArgs } from "../components/DindPool";
import type { DindRegistryArgs } from "../components/DindRegistry";
import type { DindResources } from "../components/dockerd";
import type { DoodBuilderArgs } from "../components/DoodBuilder";
import type { DoodClientArgs } from "../components/DoodClient";
import type { KubernetesStorageArgs } from "../components/KubernetesDindHost";
import type { DoodPolicy, DoodPolicyProxyArgs } from "../components/DoodPolicyProxy";
import {
    accessPolicySchema, builderSchema, clientSchema, hostSchema, nestedContainerSchema, poolCacheSchema, poolSchema, registrySchema, resourcesSchema, storageSchema,
    tcpEndpointSchema, unixEndpointSchema, workloadsSchema,
} from "./schema";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];
type Expect<T extends true> = T;

/**
 * `true` when a section (its parsed input `In` and output `Out`) mirrors a component's
 * arguments `Args`, of which the schema fills the keys `Filled` with the components' defaults;
 * otherwise an object type saying what differs (shown in the compiler's error).
 */
type MirrorsShape<In, Out, Args, Filled extends keyof Args> =
    Equal<keyof In, keyof Args> extends false
        ? { keysOnlyInTheSchema: Exclude<keyof In, keyof Args>; keysOnlyInTheArguments: Exclude<keyof Args, keyof In> }
    : Equal<RequiredKeys<In>, RequiredKeys<Args>> extends false
        ? { requiredInTheSchema: RequiredKeys<In>; requiredInTheArguments: RequiredKeys<Args> }
    : Equal<RequiredKeys<Out>, RequiredKeys<Args> | Filled> extends false
        ? { filledByTheSchema: Exclude<RequiredKeys<Out>, RequiredKeys<Args>>; declaredAsFilled: Filled }
    : [Out] extends [Args] ? [In] extends [Args] ? [Args] extends [In] ? true
        : { argumentsTheFileCannotExpress: Args }
        : { fileInputTheComponentRefuses: In }
        : { parsedSectionTheComponentRefuses: Out };

type Mirrors<Schema extends z.ZodType, Args, Filled extends keyof Args = never> = MirrorsShape<z.input<Schema>, z.output<Schema>, Args, Filled>;

/** The file keys of a host or client that are component arguments, passed on as they are. */
type PassedOn<Schema extends z.ZodType, NotArguments extends PropertyKey> = Omit<z.output<Schema>, NotArguments>;

type TcpFilled = "bind" | "tls" | "insecure" | "sans";
/**
 * Host keys program.ts resolves rather than passes on: secret references become secrets, CA file
 * paths their contents, registry caches the workloads' pullThrough.
 */
type HostResolved = "daemon" | "workloads" | "registryAuth" | "registryCAs" | "registryCaches";
/** Client keys program.ts resolves: the daemon picks the provider; access and builder become the proxy and the builder. */
type ClientResolved = "daemon" | "access" | "builder";
/** Registry keys program.ts resolves: the daemon picks the provider; the proxy password is a secret reference. */
type RegistryResolved = "daemon" | "proxy";

export type StackFileMirrorsComponents = [
    // One storage section for both kinds of host: size and class are a claim's, adopt a Docker volume's (validation refuses each on the other kind).
    Expect<Mirrors<typeof storageSchema, DindStorageArgs & Pick<KubernetesStorageArgs, "size" | "class">, "retain">>,
    Expect<Equal<Exclude<keyof KubernetesStorageArgs, keyof DindStorageArgs>, "size" | "class">>,
    Expect<Equal<Exclude<keyof DindStorageArgs, keyof KubernetesStorageArgs>, "adopt">>,
    Expect<Equal<z.output<typeof registrySchema>["storage"]["adopt"], NonNullable<DindRegistryArgs["storage"]>["adopt"]>>,
    Expect<Mirrors<typeof tcpEndpointSchema, DindTcpEndpointArgs, TcpFilled>>,
    Expect<Mirrors<typeof unixEndpointSchema, DindUnixEndpointArgs>>,
    Expect<Mirrors<typeof workloadsSchema, WorkloadsArgs, "networks" | "volumes" | "containers">>,
    Expect<Mirrors<typeof nestedContainerSchema, NestedContainerArgs, "env" | "ports" | "networks" | "volumes" | "restart">>,
    Expect<Mirrors<ReturnType<typeof nestedContainerSchema.shape.ports.unwrap>["element"], NestedPortArgs, "protocol">>,
    Expect<Mirrors<ReturnType<typeof nestedContainerSchema.shape.volumes.unwrap>["element"], NestedVolumeMountArgs, "readOnly">>,
    // Every other key of a host, registry or client is an argument of its component, of a type it takes.
    Expect<Mirrors<typeof resourcesSchema, DindResources>>,
    Expect<[PassedOn<typeof hostSchema, HostResolved>] extends [DindHostArgs] ? true : false>,
    Expect<Equal<Exclude<keyof PassedOn<typeof hostSchema, HostResolved>, keyof DindHostArgs>, never>>,
    Expect<[PassedOn<typeof registrySchema, RegistryResolved>] extends [DindRegistryArgs] ? true : false>,
    Expect<Equal<Exclude<keyof PassedOn<typeof registrySchema, RegistryResolved>, keyof DindRegistryArgs>, never>>,
    // A pool's keys are its component's: the template (a host, resolved as hosts are) and the cache (its registry named, not given).
    Expect<[PassedOn<typeof poolSchema, "template" | "cache">] extends [Partial<DindPoolArgs>] ? true : false>,
    Expect<Equal<Exclude<keyof z.output<typeof poolSchema>, keyof DindPoolArgs>, never>>,
    Expect<Equal<keyof z.output<typeof poolCacheSchema>, keyof DindPoolCacheArgs>>,
    Expect<[Omit<z.output<typeof poolCacheSchema>, "registry">] extends [Omit<DindPoolCacheArgs, "registry">] ? true : false>,
    Expect<[PassedOn<typeof clientSchema, ClientResolved>] extends [Partial<DoodClientArgs>] ? true : false>,
    Expect<Equal<Exclude<keyof PassedOn<typeof clientSchema, ClientResolved>, keyof DoodClientArgs>, never>>,
    // A builder's image is its component's; its registries are names program.ts resolves to the stack's registries.
    Expect<[z.output<typeof builderSchema>["image"]] extends [DoodBuilderArgs["image"]] ? true : false>,
    Expect<Equal<keyof z.output<typeof builderSchema>, "image" | "registries">>,
    // A restricted client's access is its proxy's policy (with `workspace` in binds resolved) and socket directory.
    Expect<[Omit<z.output<typeof accessPolicySchema>, "socketDir">] extends [Required<DoodPolicy>] ? true : false>,
    Expect<Equal<keyof z.output<typeof accessPolicySchema>, keyof DoodPolicy | "socketDir">>,
    Expect<[z.output<typeof accessPolicySchema>["socketDir"]] extends [DoodPolicyProxyArgs["socketDir"]] ? true : false>,
];

/** The check fails when the two sides differ: each line below must be a compile error. */
export type DriftIsACompileError = [
    // @ts-expect-error a key only in the schema
    Expect<MirrorsShape<z.input<typeof tcpEndpointSchema> & { colour?: string }, z.output<typeof tcpEndpointSchema> & { colour: string }, DindTcpEndpointArgs, TcpFilled>>,
    // @ts-expect-error a key only in the component's arguments
    Expect<Mirrors<typeof tcpEndpointSchema, DindTcpEndpointArgs & { colour?: string }, TcpFilled>>,
    // @ts-expect-error a default the schema fills that the arguments do not document as filled
    Expect<Mirrors<typeof tcpEndpointSchema, DindTcpEndpointArgs, "bind">>,
    // @ts-expect-error a key of another type
    Expect<Mirrors<typeof tcpEndpointSchema, Omit<DindTcpEndpointArgs, "port"> & { port: string }, TcpFilled>>,
];
