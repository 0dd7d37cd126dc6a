// Mutual-TLS material for a DinD host's TCP endpoint: a CA, a server certificate and
// a client certificate, made once and kept in Pulumi state (keys as secrets), so they
// stay stable across runs. The server certificate is reissued by the same CA when its
// names change or it nears expiry; the client keeps working.
import type * as Forge from "node-forge";
import * as pulumi from "@pulumi/pulumi";

export interface CertificateRequest {
    /** Common name of the server certificate. */
    commonName: string;
    /** DNS names the server certificate covers. */
    dnsNames: string[];
    /** IP addresses the server certificate covers. */
    ipAddresses: string[];
}

export interface CertificateSet extends CertificateRequest {
    caCert: string;
    caKey: string;
    serverCert: string;
    serverKey: string;
    clientCert: string;
    clientKey: string;
    /** ISO time after which the server certificate is no longer valid. */
    serverNotAfter: string;
}

const CA_DAYS = 3650;
const LEAF_DAYS = 825;
/** A server certificate this close to expiry is reissued on the next run. */
const RENEW_DAYS = 30;

// The functions below run inside Pulumi's dynamic-provider process too (they are
// serialized with the provider), so they load their modules with require at call time.

type KeyPair = { key: string; forgePublic: Forge.pki.rsa.PublicKey };

/** RSA key pairs made by Node's native generator (~50x faster than forge's), concurrently. */
async function newKeyPairs(count: number): Promise<KeyPair[]> {
    const crypto: typeof import("node:crypto") = require("node:crypto");
    const util: typeof import("node:util") = require("node:util");
    const forge: typeof Forge = require("node-forge");
    const generate = util.promisify(crypto.generateKeyPair);
    const pairs = await Promise.all(Array.from({ length: count }, () => generate("rsa", {
        modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
    })));
    return pairs.map(({ privateKey, publicKey }) => ({ key: privateKey, forgePublic: forge.pki.publicKeyFromPem(publicKey) as Forge.pki.rsa.PublicKey }));
}

function signCertificate(options: {
    subject: string;
    publicKey: Forge.pki.rsa.PublicKey;
    /** The issuer's certificate; none for a self-signed one. */
    issuer?: Forge.pki.Certificate;
    /** PEM private key of the issuer (or of the certificate itself, when self-signed). */
    signingKey: string;
    days: number;
    extensions: object[];
}): Forge.pki.Certificate {
    const crypto: typeof import("node:crypto") = require("node:crypto");
    const forge: typeof Forge = require("node-forge");
    const cert = forge.pki.createCertificate();
    cert.publicKey = options.publicKey;
    cert.serialNumber = `01${crypto.randomBytes(15).toString("hex")}`; // positive, 128 bits
    const now = Math.floor(Date.now() / 1000) * 1000; // certificates carry whole seconds
    cert.validity.notBefore = new Date(now - 5 * 60 * 1000); // tolerate clock skew
    cert.validity.notAfter = new Date(now + options.days * 24 * 3600 * 1000);
    cert.setSubject([{ name: "commonName", value: options.subject }]);
    cert.setIssuer(options.issuer ? options.issuer.subject.attributes : [{ name: "commonName", value: options.subject }]);
    cert.setExtensions([...options.extensions, { name: "subjectKeyIdentifier" }]);
    // forge lays out the certificate; Node signs it natively (forge's pure-JS RSA takes ~0.5 s a signature).
    const signer = crypto.createPrivateKey(options.signingKey);
    const nativeSigner = {
        sign: () => crypto.sign("sha256", Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), "binary"), signer).toString("binary"),
    };
    cert.sign(nativeSigner as unknown as Forge.pki.rsa.PrivateKey, forge.md.sha256.create());
    return cert;
}

function issueLeaves(request: CertificateRequest, caCertPem: string, caKeyPem: string, [server, client]: KeyPair[]): Omit<CertificateSet, "caCert" | "caKey"> {
    const forge: typeof Forge = require("node-forge");
    const issuer = forge.pki.certificateFromPem(caCertPem);
    const leafUsage = { name: "keyUsage", digitalSignature: true, keyEncipherment: true };
    const serverCert = signCertificate({
        subject: request.commonName, publicKey: server.forgePublic, issuer, signingKey: caKeyPem, days: LEAF_DAYS,
        extensions: [
            { name: "basicConstraints", cA: false }, leafUsage, { name: "extKeyUsage", serverAuth: true },
            {
                name: "subjectAltName",
                altNames: [
                    ...request.dnsNames.map((value) => ({ type: 2, value })),
                    ...request.ipAddresses.map((ip) => ({ type: 7, ip })),
                ],
            },
        ],
    });
    const clientCert = signCertificate({
        subject: "dind-client", publicKey: client.forgePublic, issuer, signingKey: caKeyPem, days: LEAF_DAYS,
        extensions: [{ name: "basicConstraints", cA: false }, leafUsage, { name: "extKeyUsage", clientAuth: true }],
    });
    return {
        ...request,
        serverCert: forge.pki.certificateToPem(serverCert),
        serverKey: server.key,
        clientCert: forge.pki.certificateToPem(clientCert),
        clientKey: client.key,
        serverNotAfter: serverCert.validity.notAfter.toISOString(),
    };
}

/** Makes a new CA and the server and client certificates it signs. */
export async function issueCertificates(request: CertificateRequest): Promise<CertificateSet> {
    const forge: typeof Forge = require("node-forge");
    const [ca, ...leaves] = await newKeyPairs(3);
    const caCert = signCertificate({
        subject: `${request.commonName} CA`, publicKey: ca.forgePublic, signingKey: ca.key, days: CA_DAYS,
        extensions: [{ name: "basicConstraints", cA: true, critical: true }, { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true }],
    });
    const caCertPem = forge.pki.certificateToPem(caCert);
    return { caCert: caCertPem, caKey: ca.key, ...issueLeaves(request, caCertPem, ca.key, leaves) };
}

/** True when the stored set no longer fits the request or is about to expire. */
export function needsReissue(stored: CertificateSet, request: CertificateRequest, now = Date.now()): boolean {
    const same = (a: string[], b: string[]) => a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
    return stored.commonName !== request.commonName ||
        !same(stored.dnsNames, request.dnsNames) ||
        !same(stored.ipAddresses, request.ipAddresses) ||
        Date.parse(stored.serverNotAfter) - now < RENEW_DAYS * 24 * 3600 * 1000;
}

export const certificateProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: CertificateRequest) {
        const crypto: typeof import("node:crypto") = require("node:crypto");
        return { id: crypto.randomUUID(), outs: await issueCertificates(inputs) };
    },
    async diff(_id: string, olds: CertificateSet, news: CertificateRequest) {
        return { changes: needsReissue(olds, news) };
    },
    async update(_id: string, olds: CertificateSet, news: CertificateRequest) {
        // Same CA: clients holding the CA certificate keep trusting the endpoint.
        return { outs: { caCert: olds.caCert, caKey: olds.caKey, ...issueLeaves(news, olds.caCert, olds.caKey, await newKeyPairs(2)) } };
    },
};

export interface DindCertificatesArgs {
    /** Common name of the server certificate. @example "builder" */
    commonName: pulumi.Input<string>;
    /** DNS names the server certificate covers. @example ["localhost", "builder"] */
    dnsNames: pulumi.Input<pulumi.Input<string>[]>;
    /** IP addresses the server certificate covers. @example ["127.0.0.1"] */
    ipAddresses: pulumi.Input<pulumi.Input<string>[]>;
}

/** A CA with a server and a client certificate, kept in state; private keys are secrets. */
export class DindCertificates extends pulumi.dynamic.Resource {
    declare readonly caCert: pulumi.Output<string>;
    declare readonly caKey: pulumi.Output<string>;
    declare readonly serverCert: pulumi.Output<string>;
    declare readonly serverKey: pulumi.Output<string>;
    declare readonly clientCert: pulumi.Output<string>;
    declare readonly clientKey: pulumi.Output<string>;
    declare readonly serverNotAfter: pulumi.Output<string>;

    constructor(name: string, args: DindCertificatesArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            certificateProvider,
            name,
            { ...args, caCert: undefined, caKey: undefined, serverCert: undefined, serverKey: undefined, clientCert: undefined, clientKey: undefined, serverNotAfter: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["caKey", "serverKey", "clientKey"] }),
            "dind",
            "Certificates",
        );
    }
}
