/**
 * IdP signing certificates: PEM handling and fingerprint pinning. With a
 * pinned fingerprint, sluss takes a certificate from the message's KeyInfo
 * only if its fingerprint matches; node-saml then verifies the signature with
 * exactly that certificate. Where in the XML the certificate sat does not
 * matter: nobody else can produce a certificate with that fingerprint.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { descendants, SAML_NS, textOf } from './xml.ts';

/** Base64 DER (as in ds:X509Certificate) → PEM. */
export function pemFromBase64(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** `sha256:<hex>` / `sha1:<hex>` of a certificate's DER. */
export function fingerprintOf(pem: string, algorithm: 'sha1' | 'sha256'): string {
  const der = new X509Certificate(pem).raw;
  return `${algorithm}:${createHash(algorithm).update(der).digest('hex')}`;
}

export function matchesFingerprint(pem: string, pinned: readonly string[]): boolean {
  try {
    return pinned.some(
      (fingerprint) =>
        fingerprint === fingerprintOf(pem, fingerprint.startsWith('sha1:') ? 'sha1' : 'sha256'),
    );
  } catch {
    return false;
  }
}

/** Certificates carried in a message's signatures that match a pinned fingerprint. */
export function pinnedCertificatesIn(document: Document, pinned: readonly string[]): string[] {
  const found = new Set<string>();
  for (const element of descendants(document, SAML_NS.dsig, 'X509Certificate')) {
    const text = textOf(element);
    if (!/^[A-Za-z0-9+/=\s]{100,20000}$/.test(text)) continue;
    const pem = pemFromBase64(text);
    if (matchesFingerprint(pem, pinned)) found.add(pem);
  }
  return [...found];
}
