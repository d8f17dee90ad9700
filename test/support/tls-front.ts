/**
 * A stand-in for the TLS ingress in front of sluss: an HTTPS server on 127.0.0.1 that
 * terminates TLS with a certificate made at test time (subject alternative names
 * `localhost`, `*.localhost` and `127.0.0.1`, so only its issuer is unknown to a browser) and forwards
 * every request to sluss's plain-http port, the browser's Host header unchanged and an
 * `X-Forwarded-For` added, as ingress controllers do. Websocket upgrades are not forwarded.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_serverAuth,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { toPem } from './certificates.ts';

export interface ServerCertificate {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}

export interface ForwardedRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface TlsFront {
  /** `https://localhost:<port>` (or another `*.localhost` host): the public URL browsers use. */
  readonly url: string;
  readonly port: number;
  /** The front's self-signed certificate (add it to a client's trusted CAs to call the front). */
  readonly certificatePem: string;
  /** Requests forwarded so far, oldest first, with the headers the browser sent. */
  readonly requests: ForwardedRequest[];
  close(): Promise<void>;
}

const OID_CN = '2.5.4.3';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

/**
 * A fresh RSA-2048 key and a self-signed TLS server certificate for `localhost`,
 * `*.localhost` and `127.0.0.1` (certificates.ts makes SAML certificates, which carry no subject alternative
 * name; browsers match host names against the SAN only).
 */
export function generateServerCertificate(): ServerCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: OID_CN, value: new AttributeValue({ utf8String: 'localhost' }) }),
    ]),
  ]);
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const signatureAlgorithm = new AlgorithmIdentifier({ algorithm: OID_SHA256_WITH_RSA, parameters: null });
  const extension = (extnID: string, value: unknown, critical = false): Extension =>
    new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  const now = Date.now();
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: signatureAlgorithm,
    issuer: name,
    subject: name,
    validity: new Validity({ notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) }),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      extension(id_ce_basicConstraints, new BasicConstraints({ cA: false }), true),
      extension(
        id_ce_keyUsage,
        new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment),
        true,
      ),
      extension(id_ce_extKeyUsage, new ExtendedKeyUsage([id_kp_serverAuth])),
      extension(
        id_ce_subjectAltName,
        new SubjectAlternativeName([
          new GeneralName({ dNSName: 'localhost' }),
          new GeneralName({ dNSName: '*.localhost' }),
          new GeneralName({ iPAddress: '127.0.0.1' }),
        ]),
      ),
      extension(
        id_ce_subjectKeyIdentifier,
        new SubjectKeyIdentifier(createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest()),
      ),
    ]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const der = Buffer.from(
    AsnConvert.serialize(
      new Certificate({
        tbsCertificate: tbs,
        signatureAlgorithm,
        signatureValue: new Uint8Array(sign('sha256', tbsDer, privateKey)).buffer,
      }),
    ),
  );
  const parsed = new X509Certificate(der);
  if (!parsed.verify(parsed.publicKey) || !parsed.checkHost('localhost')) {
    throw new Error('generated TLS certificate is unusable');
  }
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: toPem(der.toString('base64')),
  };
}

/**
 * Starts the HTTPS front on 127.0.0.1 (free port), forwarding to `http://127.0.0.1:<targetPort>`.
 * `host` names it in `url`: `localhost` (default) or a `*.localhost` name, which Chromium also
 * resolves to loopback.
 */
export async function startTlsFront(targetPort: number, host = 'localhost'): Promise<TlsFront> {
  const { privateKeyPem, certificatePem } = generateServerCertificate();
  const requests: ForwardedRequest[] = [];
  // No keep-alive pooling towards sluss: every browser request is one upstream request.
  const agent = new http.Agent({ keepAlive: false });
  const server = https.createServer({ key: privateKeyPem, cert: certificatePem }, (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    const peer = req.socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'];
    const headers = { ...req.headers, 'x-forwarded-for': prior ? `${prior}, ${peer}` : peer };
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`front: ${error.message}\n`);
    });
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${host}:${port}`,
    port,
    certificatePem,
    requests,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
