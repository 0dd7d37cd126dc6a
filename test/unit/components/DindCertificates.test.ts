import * as assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as tls from "node:tls";
import { CertificateSet, certificateProvider, issueCertificates, needsReissue } from "../../../components/DindCertificates";

const request = { commonName: "builder", dnsNames: ["localhost", "builder"], ipAddresses: ["127.0.0.1", "::1"] };

/** Starts a TLS server that requires a client certificate, like dockerd --tlsverify, and tries one client. */
async function handshake(set: CertificateSet, client: { cert?: string; key?: string; ca?: string }, servername = "localhost"): Promise<string> {
    const server = tls.createServer({ cert: set.serverCert, key: set.serverKey, ca: set.caCert, requestCert: true, rejectUnauthorized: true },
        (socket) => socket.end("hello\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
        return await new Promise<string>((resolve, reject) => {
            const socket = tls.connect({ host: "127.0.0.1", port, servername, ca: client.ca ?? set.caCert, cert: client.cert, key: client.key }, () => undefined);
            let data = "";
            socket.on("data", (chunk) => (data += chunk));
            socket.on("end", () => resolve(data));
            socket.on("error", reject);
        });
    } finally {
        server.close();
    }
}

describe("DindCertificates", () => {
    let set: CertificateSet;
    before(async () => {
        set = await issueCertificates(request);
    });

    it("issues a server certificate, signed by the CA, naming every way the endpoint is reached", () => {
        const ca = new X509Certificate(set.caCert);
        const server = new X509Certificate(set.serverCert);
        assert.ok(ca.ca);
        assert.ok(server.verify(ca.publicKey));
        assert.equal(server.ca, false);
        assert.equal(server.subjectAltName, "DNS:localhost, DNS:builder, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
        assert.ok(server.checkPrivateKey(require("node:crypto").createPrivateKey(set.serverKey)));
        assert.equal(server.checkIP("127.0.0.1"), "127.0.0.1");
        assert.equal(server.checkHost("builder"), "builder");
        assert.ok(server.keyUsage?.includes("1.3.6.1.5.5.7.3.1"), "serverAuth");
        assert.equal(new Date(set.serverNotAfter).getTime(), new Date(server.validTo).getTime());
    });

    it("issues a client certificate for client authentication only", () => {
        const client = new X509Certificate(set.clientCert);
        assert.ok(client.verify(new X509Certificate(set.caCert).publicKey));
        assert.deepEqual(client.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
        assert.ok(client.checkPrivateKey(require("node:crypto").createPrivateKey(set.clientKey)));
    });

    it("completes a mutual TLS handshake with the client certificate and is refused without it", async () => {
        assert.equal(await handshake(set, { cert: set.clientCert, key: set.clientKey }), "hello\n");
        // With TLS 1.3 the server's refusal may arrive as an alert or as a closed connection.
        const refused = (attempt: Promise<string>) => attempt.then((data) => `answered ${JSON.stringify(data)}`, (error: Error) => error.message);
        assert.match(await refused(handshake(set, {})), /certificate required|answered ""/);
        const stranger = await issueCertificates(request);
        assert.match(await refused(handshake(set, { cert: stranger.clientCert, key: stranger.clientKey })), /unknown ca|answered ""/);
        assert.match(await refused(handshake(set, { cert: set.clientCert, key: set.clientKey, ca: stranger.caCert })), /certificate signature failure|self-signed certificate/);
    });

    it("asks for a reissue when the names change or expiry nears, not otherwise", () => {
        assert.equal(needsReissue(set, request), false);
        assert.equal(needsReissue(set, { ...request, ipAddresses: ["::1", "127.0.0.1"] }), false, "order does not matter");
        assert.equal(needsReissue(set, { ...request, dnsNames: ["localhost"] }), true);
        assert.equal(needsReissue(set, { ...request, ipAddresses: [...request.ipAddresses, "10.0.0.7"] }), true);
        assert.equal(needsReissue(set, request, Date.parse(set.serverNotAfter) - 29 * 24 * 3600 * 1000), true);
        assert.equal(needsReissue(set, request, Date.parse(set.serverNotAfter) - 31 * 24 * 3600 * 1000), false);
    });

    it("reissues the server certificate from the same CA, so existing clients keep working", async () => {
        const wider = { ...request, ipAddresses: [...request.ipAddresses, "10.0.0.7"] };
        assert.deepEqual(await certificateProvider.diff!("id", set, wider), { changes: true });
        const { outs } = await certificateProvider.update!("id", set, wider);
        const updated = outs as CertificateSet;
        assert.equal(updated.caCert, set.caCert);
        assert.equal(updated.caKey, set.caKey);
        assert.notEqual(updated.serverCert, set.serverCert);
        assert.equal(new X509Certificate(updated.serverCert).checkIP("10.0.0.7"), "10.0.0.7");
        assert.equal(await handshake(updated, { cert: set.clientCert, key: set.clientKey }), "hello\n");
    });
});
