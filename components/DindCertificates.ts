// Mutual-TLS material for a DinD host's TCP endpoint, from Pulumi's tls provider: a CA, a
// server certificate and a client certificate with ECDSA P-256 keys. They live in Pulumi state
// (private keys as secrets), so they stay the same across runs. A server certificate whose names
// change, or that is within 30 days of expiry, is reissued by the same CA: clients keep working.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { DIND_CERTIFICATES_TYPE } from "./markers";

const CA_HOURS = 10 * 365 * 24;
const LEAF_HOURS = 825 * 24;
const RENEW_HOURS = 30 * 24;

export interface DindCertificatesArgs {
    /** Common name of the server certificate (its CA is "<commonName> CA"). @example "builder" */
    commonName: pulumi.Input<string>;
    /** DNS names the server certificate covers. @example ["localhost", "builder"] */
    dnsNames: pulumi.Input<pulumi.Input<string>[]>;
    /** IP addresses the server certificate covers. @example ["127.0.0.1"] */
    ipAddresses: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Issue a client certificate too (mutual TLS). A registry's clients authenticate otherwise.
     * @default true
     * @example false
     */
    client?: boolean;
}

/** A key pair and the certificate the CA signed for it. */
export interface IssuedCertificate {
    key: tls.PrivateKey;
    request: tls.CertRequest;
    certificate: tls.LocallySignedCert;
}

/** A CA with a server and (unless `client: false`) a client certificate; every private key is a secret in state. */
export class DindCertificates extends pulumi.ComponentResource {
    readonly caKey: tls.PrivateKey;
    readonly ca: tls.SelfSignedCert;
    readonly server: IssuedCertificate;
    readonly client?: IssuedCertificate;
    readonly caCert: pulumi.Output<string>;
    readonly serverCert: pulumi.Output<string>;
    readonly serverKey: pulumi.Output<string>;
    readonly clientCert?: pulumi.Output<string>;
    readonly clientKey?: pulumi.Output<string>;

    constructor(name: string, args: DindCertificatesArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super(DIND_CERTIFICATES_TYPE, name, {}, opts);
        this.caKey = newKey(`${name}-ca-key`, this);
        this.ca = new tls.SelfSignedCert(`${name}-ca`, {
            privateKeyPem: this.caKey.privateKeyPem,
            subject: { commonName: pulumi.interpolate`${args.commonName} CA` },
            isCaCertificate: true,
            allowedUses: ["cert_signing", "crl_signing"],
            validityPeriodHours: CA_HOURS,
        }, { parent: this });
        this.server = this.issue(`${name}-server`, { commonName: args.commonName }, ["server_auth"], args);
        if (args.client ?? true) this.client = this.issue(`${name}-client`, { commonName: "dind-client" }, ["client_auth"]);
        this.caCert = this.ca.certPem;
        this.serverCert = this.server.certificate.certPem;
        this.serverKey = this.server.key.privateKeyPem;
        this.clientCert = this.client?.certificate.certPem;
        this.clientKey = this.client?.key.privateKeyPem;
        this.registerOutputs({ caCert: this.caCert, serverCert: this.serverCert, clientCert: this.clientCert });
    }

    private issue(name: string, subject: tls.types.input.CertRequestSubject, usage: string[],
        names?: Pick<DindCertificatesArgs, "dnsNames" | "ipAddresses">): IssuedCertificate {
        const key = newKey(`${name}-key`, this);
        const request = new tls.CertRequest(`${name}-request`, {
            privateKeyPem: key.privateKeyPem,
            subject,
            dnsNames: names?.dnsNames,
            ipAddresses: names?.ipAddresses,
        }, { parent: this });
        const certificate = new tls.LocallySignedCert(`${name}-cert`, {
            certRequestPem: request.certRequestPem,
            caCertPem: this.ca.certPem,
            caPrivateKeyPem: this.caKey.privateKeyPem,
            allowedUses: ["digital_signature", "key_encipherment", ...usage],
            validityPeriodHours: LEAF_HOURS,
            earlyRenewalHours: RENEW_HOURS,
        }, { parent: this });
        return { key, request, certificate };
    }
}

function newKey(name: string, parent: pulumi.Resource): tls.PrivateKey {
    return new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
}
