/**
 * Defaults and cross-key rules for SAML: each SAML IdP entry, and the
 * tenant's SP side (entity ID and endpoints derived from its public URL,
 * keys from the tenant's `saml` block over the global one).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { PATHS } from '../paths.ts';
import type { ConfigProblem } from './loader.ts';
import type { IdpCommonExtras } from './resolve.ts';
import type { SamlIdpConfigFile, SamlServiceProviderFile } from './schema.ts';
import type { SamlIdpConfig, SamlServiceProviderConfig } from './types.ts';

/** AuthnContextClassRefs that mean a second factor, as the common IdPs send them. */
export const DEFAULT_MFA_AUTHN_CONTEXTS: readonly string[] = [
  'http://schemas.microsoft.com/claims/multipleauthn',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:X509',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI',
  'https://refeds.org/profile/mfa',
];

/** `sha256:AB:CD…` → `sha256:abcd…` */
export function normaliseFingerprint(value: string): string {
  const [algorithm = '', hex = ''] = value.split(/:(.*)/s);
  return `${algorithm.toLowerCase()}:${hex.replace(/:/g, '').toLowerCase()}`;
}

function certificateProblem(pem: string): string | undefined {
  try {
    new X509Certificate(pem);
    return undefined;
  } catch {
    return 'is not a readable PEM certificate';
  }
}

function keyProblem(pem: string): string | undefined {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === 'rsa'
      ? undefined
      : 'must be an RSA private key (SAML signatures and encryption here use RSA)';
  } catch {
    return 'is not a readable PEM private key';
  }
}

export function resolveSamlIdp(
  idp: SamlIdpConfigFile,
  at: string,
  file: string,
  problems: ConfigProblem[],
): Omit<SamlIdpConfig, IdpCommonExtras> {
  const problem = (path: string, message: string) => problems.push({ file, path: `${at}.${path}`, message });
  if (!idp.metadataUrl) {
    if (!idp.entityId) problem('entityId', 'is required without metadataUrl');
    if (!idp.ssoUrl) problem('ssoUrl', 'is required without metadataUrl');
    if (!idp.signingCerts?.length && !idp.signingCertFingerprints?.length) {
      problem(
        'signingCerts',
        'or signingCertFingerprints is required without metadataUrl (sluss must know who signs)',
      );
    }
  }
  idp.signingCerts?.forEach((pem, index) => {
    const issue = certificateProblem(pem);
    if (issue) problem(`signingCerts[${index}]`, issue);
  });
  return {
    id: idp.id,
    type: 'saml',
    title: idp.title ?? idp.id,
    metadataUrl: idp.metadataUrl,
    metadataRefreshSeconds: idp.metadataRefreshSeconds,
    entityId: idp.entityId,
    ssoUrl: idp.ssoUrl,
    sloUrl: idp.sloUrl,
    signingCerts: idp.signingCerts ?? [],
    signingCertFingerprints: (idp.signingCertFingerprints ?? []).map(normaliseFingerprint),
    signatureRequired: idp.signatureRequired,
    requireEncryptedAssertions: idp.requireEncryptedAssertions,
    allowSha1Signatures: idp.allowSha1Signatures,
    clockSkewSeconds: idp.clockSkewSeconds,
    allowIdpInitiated: idp.allowIdpInitiated,
    idpInitiatedLandingPath: idp.idpInitiatedLandingPath,
    forceAuthn: idp.forceAuthn,
    requestedAuthnContext: idp.requestedAuthnContext,
    authnContextComparison: idp.authnContextComparison,
    nameIdFormat: idp.nameIdFormat,
    mfaAuthnContexts: idp.mfaAuthnContexts ?? DEFAULT_MFA_AUTHN_CONTEXTS,
  };
}

/** The SP side of a tenant that has SAML IdPs. */
export function resolveSamlServiceProvider(
  tenantSp: SamlServiceProviderFile | undefined,
  globalSp: SamlServiceProviderFile | undefined,
  publicOrigin: string,
  idps: readonly SamlIdpConfig[],
  file: string,
  problems: ConfigProblem[],
): SamlServiceProviderConfig {
  const merged = { ...globalSp, ...tenantSp };
  const where = tenantSp ? { file, base: 'saml' } : { file: 'sluss.yaml', base: 'saml' };
  const problem = (path: string, message: string) =>
    problems.push({ file: where.file, path: `${where.base}.${path}`, message });
  for (const [keyName, certName] of [
    ['signingKey', 'signingCert'],
    ['encryptionKey', 'encryptionCert'],
  ] as const) {
    const key = merged[keyName];
    const cert = merged[certName];
    if (key) {
      const issue = keyProblem(key);
      if (issue) problem(keyName, issue);
    }
    if (cert) {
      const issue = certificateProblem(cert);
      if (issue) problem(certName, issue);
    }
    if (Boolean(key) !== Boolean(cert))
      problem(key ? certName : keyName, `is required together with ${key ? keyName : certName}`);
  }
  idps.forEach((idp) => {
    if (idp.requireEncryptedAssertions && !merged.encryptionKey) {
      problems.push({
        file,
        path: `idps.${idp.id}.requireEncryptedAssertions`,
        message: 'needs saml.encryptionKey and saml.encryptionCert',
      });
    }
  });
  return {
    entityId: merged.entityId ?? `${publicOrigin}${PATHS.samlMetadata}`,
    acsUrl: `${publicOrigin}${PATHS.samlAcs}`,
    sloUrl: `${publicOrigin}${PATHS.samlSlo}`,
    metadataUrl: `${publicOrigin}${PATHS.samlMetadata}`,
    signingKey: merged.signingKey,
    signingCert: merged.signingCert,
    encryptionKey: merged.encryptionKey,
    encryptionCert: merged.encryptionCert,
  };
}
