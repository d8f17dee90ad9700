/**
 * Test-time RSA keys with self-signed X.509 certificates, for SAML signing and
 * encryption fixtures. Synchronous: the key comes from node:crypto, the certificate is
 * assembled with @peculiar/asn1-x509 (pure JS) and signed with node:crypto.sign —
 * no native addon, no openssl CLI, no WebCrypto promise to await.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';

export interface KeyPairWithCertificate {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** X.509 PEM (`-----BEGIN CERTIFICATE-----`). */
  certificatePem: string;
  /** The certificate's DER as base64, without PEM armour or line breaks (as in ds:X509Certificate). */
  certificateBase64: string;
  /** SHA-1 of the DER, `AB:CD:…` (uppercase, colon-separated). */
  sha1Fingerprint: string;
  /** SHA-256 of the DER, `AB:CD:…` (uppercase, colon-separated). */
  sha256Fingerprint: string;
}

export interface GenerateOptions {
  /** Only RSA (2048-bit, certificate signed with sha256WithRSAEncryption) for now. */
  keyType?: 'rsa';
  /** Validity in days from now (default 365). A negative value yields an already expired certificate. */
  days?: number;
}

const DAY = 86_400_000;
const OID_CN = '2.5.4.3';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

/** A fresh RSA-2048 key and a self-signed certificate with subject/issuer `CN=<commonName>`. */
export function generateKeyPairWithCertificate(
  commonName: string,
  options: GenerateOptions = {},
): KeyPairWithCertificate {
  if ((options.keyType ?? 'rsa') !== 'rsa') throw new Error(`unsupported key type ${options.keyType}`);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
  const spki = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo);

  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: OID_CN, value: new AttributeValue({ utf8String: commonName }) }),
    ]),
  ]);
  const days = options.days ?? 365;
  const now = Date.now();
  const notAfter = new Date(now + days * DAY);
  const notBefore = new Date(days < 0 ? notAfter.getTime() - DAY : now - 60_000);
  const serial = randomBytes(16);
  // Positive and minimal DER: the top bit clear (positive), the next bit set (no leading zero byte).
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const signatureAlgorithm = new AlgorithmIdentifier({ algorithm: OID_SHA256_WITH_RSA, parameters: null });
  const keyId = createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest();

  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serial),
    signature: signatureAlgorithm,
    issuer: name,
    subject: name,
    validity: new Validity({
      notBefore,
      notAfter,
    }),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      new Extension({
        extnID: id_ce_basicConstraints,
        critical: true,
        extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints({ cA: false }))),
      }),
      new Extension({
        extnID: id_ce_keyUsage,
        critical: true,
        extnValue: new OctetString(
          AsnConvert.serialize(
            new KeyUsage(
              KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment | KeyUsageFlags.dataEncipherment,
            ),
          ),
        ),
      }),
      new Extension({
        extnID: id_ce_subjectKeyIdentifier,
        extnValue: new OctetString(AsnConvert.serialize(new SubjectKeyIdentifier(keyId))),
      }),
    ]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const certificate = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm,
    signatureValue: toArrayBuffer(sign('sha256', tbsDer, privateKey)),
  });
  const der = Buffer.from(AsnConvert.serialize(certificate));
  const certificateBase64 = der.toString('base64');
  const parsed = new X509Certificate(der); // sanity: node can read it back
  if (!parsed.verify(parsed.publicKey)) throw new Error('generated certificate does not verify');

  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: toPem(certificateBase64),
    certificateBase64,
    sha1Fingerprint: fingerprint(der, 'sha1'),
    sha256Fingerprint: fingerprint(der, 'sha256'),
  };
}

/** `AB:CD:…` fingerprint of DER bytes. */
export function fingerprint(der: Uint8Array, algorithm: 'sha1' | 'sha256'): string {
  const hex = createHash(algorithm).update(der).digest('hex').toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}

/** Base64 DER (no armour) → PEM with 64-character lines. */
export function toPem(base64: string): string {
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}
