import * as assert from "node:assert/strict";
import { DindCertificates } from "../../../components/DindCertificates";
import {
    CERT_REQUEST, installMocks, LOCALLY_SIGNED_CERT, PRIVATE_KEY, registered, secretValue, SELF_SIGNED_CERT, valueOf,
} from "../mocks";

function certificates(mocks?: ReturnType<typeof installMocks>) {
    return new DindCertificates("tls", { commonName: "builder", dnsNames: ["localhost", "builder"], ipAddresses: ["127.0.0.1", "::1"] },
        { transformations: mocks ? [mocks.recordOptions] : [] });
}

async function settle(certs: DindCertificates) {
    await registered(certs.caKey, certs.ca, certs.server.key, certs.server.request, certs.server.certificate,
        certs.client!.key, certs.client!.request, certs.client!.certificate);
}

describe("DindCertificates", () => {
    it("makes a CA from its own ECDSA P-256 key, valid ten years, that signs certificates only", async () => {
        const mocks = installMocks();
        await settle(certificates());
        assert.deepEqual(mocks.byType(PRIVATE_KEY).map((k) => [k.name, k.inputs.algorithm, k.inputs.ecdsaCurve]), [
            ["tls-ca-key", "ECDSA", "P256"], ["tls-server-key", "ECDSA", "P256"], ["tls-client-key", "ECDSA", "P256"],
        ]);
        const ca = mocks.one(SELF_SIGNED_CERT).inputs;
        assert.equal(secretValue(ca.privateKeyPem), "key-of-tls-ca-key", "the CA key travels as a secret");
        assert.equal(ca.isCaCertificate, true);
        assert.deepEqual(ca.allowedUses, ["cert_signing", "crl_signing"]);
        assert.deepEqual(ca.subject, { commonName: "builder CA" });
        assert.equal(ca.validityPeriodHours, 87600);
    });

    it("issues a server certificate naming every way the endpoint is reached, for server authentication", async () => {
        const mocks = installMocks();
        await settle(certificates());
        const request = mocks.one(CERT_REQUEST, "tls-server-request").inputs;
        assert.equal(secretValue(request.privateKeyPem), "key-of-tls-server-key");
        assert.deepEqual(request.subject, { commonName: "builder" });
        assert.deepEqual(request.dnsNames, ["localhost", "builder"]);
        assert.deepEqual(request.ipAddresses, ["127.0.0.1", "::1"]);
        const cert = mocks.one(LOCALLY_SIGNED_CERT, "tls-server-cert").inputs;
        assert.equal(cert.certRequestPem, "request-of-tls-server-request");
        assert.equal(cert.caCertPem, "cert-of-tls-ca");
        assert.equal(secretValue(cert.caPrivateKeyPem), "key-of-tls-ca-key");
        assert.deepEqual(cert.allowedUses, ["digital_signature", "key_encipherment", "server_auth"]);
    });

    it("issues a client certificate for client authentication only, with no names", async () => {
        const mocks = installMocks();
        await settle(certificates());
        const request = mocks.one(CERT_REQUEST, "tls-client-request").inputs;
        assert.deepEqual(request.subject, { commonName: "dind-client" });
        assert.equal(request.dnsNames, undefined);
        assert.deepEqual(mocks.one(LOCALLY_SIGNED_CERT, "tls-client-cert").inputs.allowedUses, ["digital_signature", "key_encipherment", "client_auth"]);
    });

    it("renews a leaf from the same CA 30 days before it expires (825 days)", async () => {
        const mocks = installMocks();
        await settle(certificates());
        for (const cert of mocks.byType(LOCALLY_SIGNED_CERT)) {
            assert.equal(cert.inputs.validityPeriodHours, 825 * 24, cert.name);
            assert.equal(cert.inputs.earlyRenewalHours, 720, cert.name);
            assert.equal(secretValue(cert.inputs.caPrivateKeyPem), "key-of-tls-ca-key", cert.name);
        }
    });

    it("keeps every private key secret: in the state, and wherever it is passed on", async () => {
        const mocks = installMocks();
        await settle(certificates(mocks));
        for (const key of ["tls-ca-key", "tls-server-key", "tls-client-key"]) {
            assert.ok(mocks.options.get(key)?.additionalSecretOutputs?.includes("privateKeyPem"), key);
        }
        // The SDK wraps keys it is given as secrets too.
        assert.equal(secretValue(mocks.one(CERT_REQUEST, "tls-client-request").inputs.privateKeyPem), "key-of-tls-client-key");
    });

    it("exposes the PEMs a server and a client need", async () => {
        installMocks();
        const certs = certificates();
        await settle(certs);
        assert.equal(await valueOf(certs.caCert), "cert-of-tls-ca");
        assert.equal(await valueOf(certs.serverCert), "cert-of-tls-server-cert");
        assert.equal(await valueOf(certs.serverKey), "key-of-tls-server-key");
        assert.equal(await valueOf(certs.clientCert!), "cert-of-tls-client-cert");
        assert.equal(await valueOf(certs.clientKey!), "key-of-tls-client-key");
    });
});
