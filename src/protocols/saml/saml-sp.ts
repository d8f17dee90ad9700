/**
 * sluss as SAML 2.0 service provider for one IdP of one tenant, on
 * @node-saml/node-saml with every security option set explicitly (its
 * defaults include SHA-1 and `validateInResponseTo: never`). On top of what
 * node-saml checks (signatures by the configured IdP key only, issuer,
 * audience, time window, InResponseTo against outstanding requests), this
 * adapter checks what it does not: no DOCTYPE, Destination, Recipient,
 * encrypted-only assertions when required, the request bound to this
 * browser's login, and assertion replay (IDs remembered until they expire).
 * Returns data or SlussErrors; never touches HTTP responses.
 */

import { promisify } from 'node:util';
import type { CacheProvider, Profile, SamlConfig } from '@node-saml/node-saml';
import {
  generateServiceProviderMetadata,
  SAML,
  SamlStatusError,
  ValidateInResponseTo,
} from '@node-saml/node-saml';
import { XMLSerializer } from '@xmldom/xmldom';
import xmlenc from 'xml-encryption';
import type { Clock } from '../../clock.ts';
import { epochSeconds } from '../../clock.ts';
import type { SamlIdpConfig, SamlServiceProviderConfig } from '../../config/types.ts';
import { SlussError } from '../../errors.ts';
import type { Store } from '../../store/store.ts';
import { pinnedCertificatesIn } from './certificates.ts';
import type { IdpDescriptor } from './idp-metadata.ts';
import { IdpMetadataSource } from './idp-metadata.ts';
import {
  children,
  decodePostedMessage,
  decodeRedirectMessage,
  descendants,
  parseXml,
  refused,
  SAML_NS,
  textOf,
  usesSha1,
} from './xml.ts';

const decryptXml = promisify(
  (xml: string, key: string, done: (error: Error | null, result?: string) => void) =>
    xmlenc.decrypt(xml, { key, disallowDecryptionWithInsecureAlgorithm: true }, done),
) as (xml: string, key: string) => Promise<string>;

const XMLENC_NS = 'http://www.w3.org/2001/04/xmlenc#';
/** Key transport and ciphers with known practical attacks on XML encryption. */
const INSECURE_ENCRYPTION_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmlenc#rsa-1_5',
  'http://www.w3.org/2001/04/xmlenc#tripledes-cbc',
]);

/** An IdP's LogoutRequest older than this (plus the clock skew) is refused as stale. */
const LOGOUT_REQUEST_MAX_AGE_SECONDS = 300;

/** How long an AuthnRequest (or LogoutRequest) may stay outstanding. */
export const SAML_REQUEST_TTL_SECONDS = 600;

const NAME_ID_FORMATS = {
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

/** Where Entra ID and AD FS list the authentication methods of a SAML login. */
const AUTHN_METHODS_ATTRIBUTE = 'http://schemas.microsoft.com/claims/authnmethodsreferences';

/** Attribute names the common IdPs use, first match wins (a configurable mapping comes later). */
const ATTRIBUTE_NAMES = {
  email: [
    'email',
    'mail',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
    'urn:oid:0.9.2342.19200300.100.1.3',
    // PKCS#9 emailAddress: what Keycloak's "X500 email" SAML mapper sends.
    'urn:oid:1.2.840.113549.1.9.1',
  ],
  name: [
    'displayName',
    'name',
    'http://schemas.microsoft.com/identity/claims/displayname',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
    'urn:oid:2.16.840.1.113730.3.1.241',
  ],
  givenName: [
    'givenName',
    'firstName',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname',
    'urn:oid:2.5.4.42',
  ],
  familyName: [
    'sn',
    'surname',
    'lastName',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname',
    'urn:oid:2.5.4.4',
  ],
  groups: [
    'groups',
    'memberOf',
    'isMemberOf',
    'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
    'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
  ],
} as const;

export interface SamlLoginStart {
  readonly url: string;
  readonly requestId: string;
}

export interface SamlAssertionResult {
  /** Raw claims for the identity: sub (NameID), iss, email, name, groups, acr, plus every attribute. */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly nameId: string;
  readonly nameIdFormat: string;
  readonly sessionIndex: string | undefined;
  /** AuthnStatement SessionNotOnOrAfter, epoch seconds: caps the sluss session. */
  readonly sessionNotOnOrAfter: number | undefined;
  readonly inResponseTo: string | undefined;
}

export interface SamlLogoutRequest {
  readonly nameId: string;
  readonly sessionIndex: string | undefined;
  /** Builds the signed LogoutResponse redirect back to the IdP. */
  responseUrl(relayState: string, success: boolean): Promise<string>;
}

function storeCache(store: Store): CacheProvider {
  const key = (id: string) => `saml-request:${id}`;
  return {
    saveAsync: async (id, value) => {
      await store.set(key(id), value, SAML_REQUEST_TTL_SECONDS);
      return { value, createdAt: Date.now() };
    },
    getAsync: async (id) => (await store.get(key(id))) ?? null,
    removeAsync: async (id) => {
      if (id === null) return null;
      const value = (await store.get(key(id))) ?? null;
      await store.delete(key(id));
      return value;
    },
  };
}

function first(value: unknown): string | undefined {
  const item = Array.isArray(value) ? value[0] : value;
  if (typeof item === 'string') return item;
  if (item && typeof item === 'object' && typeof (item as { _?: unknown })._ === 'string')
    return (item as { _: string })._;
  return undefined;
}

function strings(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((item) => first(item)).filter((item): item is string => item !== undefined);
}

function epoch(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

export class SamlServiceProvider {
  readonly idp: SamlIdpConfig;
  readonly sp: SamlServiceProviderConfig;
  private readonly metadata: IdpMetadataSource;
  private readonly store: Store;
  private readonly clock: Clock;
  /** Certificates learnt from pinned-fingerprint responses, for messages that carry none (Redirect binding). */
  private readonly learnedCerts = new Set<string>();

  constructor(idp: SamlIdpConfig, sp: SamlServiceProviderConfig, store: Store, clock: Clock) {
    this.idp = idp;
    this.sp = sp;
    this.store = store;
    this.clock = clock;
    this.metadata = new IdpMetadataSource(idp, clock);
  }

  async ready(): Promise<void> {
    await this.metadata.get();
  }

  /** The IdP's entity ID (the Issuer its messages must carry). */
  async entityId(): Promise<string> {
    return (await this.metadata.get()).entityId;
  }

  private options(descriptor: IdpDescriptor, idpCert: string[], requestId?: string): SamlConfig {
    const { idp, sp } = this;
    return {
      callbackUrl: sp.acsUrl,
      issuer: sp.entityId,
      audience: sp.entityId,
      entryPoint: descriptor.ssoUrl,
      idpIssuer: descriptor.entityId,
      // node-saml needs a certificate even for requests; a key that verifies nothing stands in when none is known yet.
      idpCert:
        idpCert.length > 0 ? idpCert : ['-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n'],
      ...(sp.signingKey ? { privateKey: sp.signingKey } : {}),
      ...(sp.encryptionKey ? { decryptionPvk: sp.encryptionKey } : {}),
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      wantAssertionsSigned: idp.signatureRequired !== 'response',
      wantAuthnResponseSigned: idp.signatureRequired !== 'assertion',
      acceptedClockSkewMs: idp.clockSkewSeconds * 1000,
      validateInResponseTo: idp.allowIdpInitiated
        ? ValidateInResponseTo.ifPresent
        : ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: SAML_REQUEST_TTL_SECONDS * 1000,
      cacheProvider: storeCache(this.store),
      identifierFormat: NAME_ID_FORMATS[idp.nameIdFormat],
      forceAuthn: idp.forceAuthn,
      disableRequestedAuthnContext: idp.requestedAuthnContext.length === 0,
      authnContext: [...idp.requestedAuthnContext],
      racComparison: idp.authnContextComparison,
      ...(descriptor.sloUrl ? { logoutUrl: descriptor.sloUrl } : {}),
      logoutCallbackUrl: sp.sloUrl,
      ...(requestId ? { generateUniqueId: () => requestId } : {}),
    };
  }

  private async descriptor(): Promise<IdpDescriptor> {
    return this.metadata.get();
  }

  /** SP-initiated login: the Redirect-binding URL of a (signed, when a key is configured) AuthnRequest. */
  async startLogin(
    relayState: string,
    options: { forceAuthn?: boolean; stepUpToMfa?: boolean } = {},
  ): Promise<SamlLoginStart> {
    const descriptor = await this.descriptor();
    const requestId = `_${crypto.randomUUID().replace(/-/g, '')}`;
    const saml = new SAML({
      ...this.options(descriptor, [...descriptor.signingCerts], requestId),
      ...(options.forceAuthn ? { forceAuthn: true } : {}),
      // Step-up: ask for one of the authentication contexts that mean MFA.
      ...(options.stepUpToMfa
        ? {
            disableRequestedAuthnContext: false,
            authnContext: [...this.idp.mfaAuthnContexts],
            racComparison: 'exact' as const,
          }
        : {}),
    });
    const url = await saml.getAuthorizeUrlAsync(relayState, undefined, {});
    return { url, requestId };
  }

  /**
   * Validates a POSTed SAMLResponse. `expectedRequestId` is the AuthnRequest
   * this browser started (undefined: no login in flight here, so only an
   * unsolicited response can be valid, and only when allowed).
   */
  async acceptResponse(
    samlResponse: string,
    expectedRequestId: string | undefined,
  ): Promise<SamlAssertionResult> {
    const xml = decodePostedMessage(samlResponse);
    const document = parseXml(xml);
    const root = document.documentElement as unknown as Element;
    if (root.namespaceURI !== SAML_NS.protocol || root.localName !== 'Response')
      throw refused('The SAML message is not a Response.');
    checkStatus(root);
    this.checkEnvelope(root, expectedRequestId);
    this.checkAlgorithms(document);
    await this.checkEncryptedAlgorithms(root);
    const descriptor = await this.descriptor();
    // node-saml checks idpIssuer on logout messages only: the login Response's issuers are ours to check.
    const responseIssuer = children(root, SAML_NS.assertion, 'Issuer')[0];
    if (responseIssuer && textOf(responseIssuer) !== descriptor.entityId) {
      throw refused('The SAML response comes from another identity provider (Issuer).');
    }
    const certs = this.certificatesFor(descriptor, document);
    const saml = new SAML(this.options(descriptor, certs));
    let profile: Profile | null;
    try {
      ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (error) {
      throw translateSamlError(error);
    }
    if (!profile) throw refused('The SAML response carries no assertion.');
    if (profile.issuer !== descriptor.entityId) {
      throw refused('The SAML assertion comes from another identity provider (Issuer).');
    }
    const result = await this.afterValidation(profile, expectedRequestId);
    // With pinned fingerprints, remember the certificate that verified, for Redirect-binding logout messages.
    if (descriptor.signingCerts.length === 0) for (const cert of certs) this.learnedCerts.add(cert);
    return result;
  }

  /** SHA-1 signatures and digests are collision-prone: refused unless this IdP is allowed them. */
  private checkAlgorithms(document: Document): void {
    if (this.idp.allowSha1Signatures) return;
    if (usesSha1(document)) {
      throw refused(
        'The SAML response is signed with SHA-1, which this IdP is not allowed (allowSha1Signatures).',
      );
    }
  }

  /**
   * Encryption algorithms are checked before anything is decrypted (RSA 1.5 key
   * transport is a padding oracle; node-saml would accept it). The signature
   * inside an encrypted assertion is only visible after decryption: check it too.
   */
  private async checkEncryptedAlgorithms(root: Element): Promise<void> {
    const encrypted = children(root, SAML_NS.assertion, 'EncryptedAssertion')[0];
    if (!encrypted) return;
    for (const method of descendants(encrypted, XMLENC_NS, 'EncryptionMethod')) {
      if (INSECURE_ENCRYPTION_ALGORITHMS.has(method.getAttribute('Algorithm') ?? ''))
        throw refused('The SAML assertion is encrypted with RSA 1.5 or 3DES, which are never accepted.');
    }
    const key = this.sp.encryptionKey;
    if (!key || this.idp.allowSha1Signatures) return;
    const data = children(encrypted, XMLENC_NS, 'EncryptedData')[0];
    if (!data) return; // node-saml refuses it
    let decrypted: string;
    try {
      decrypted = await decryptXml(new XMLSerializer().serializeToString(data as unknown as Node), key);
    } catch {
      return; // undecryptable: node-saml refuses it with its own message
    }
    this.checkAlgorithms(parseXml(decrypted));
  }

  /** Checks on the Response element node-saml leaves to us. */
  private checkEnvelope(root: Element, expectedRequestId: string | undefined): void {
    const destination = root.getAttribute('Destination');
    if (destination !== null && destination !== '' && destination !== this.sp.acsUrl) {
      throw refused('The SAML response is addressed to another endpoint (Destination).');
    }
    const inResponseTo = root.getAttribute('InResponseTo') || undefined;
    if (inResponseTo === undefined) {
      if (!this.idp.allowIdpInitiated)
        throw refused('Unsolicited SAML responses (IdP-initiated login) are not accepted for this IdP.');
    } else if (inResponseTo !== expectedRequestId) {
      throw refused('The SAML response answers a request this browser did not make (InResponseTo).');
    }
    const plain = children(root, SAML_NS.assertion, 'Assertion');
    const encrypted = children(root, SAML_NS.assertion, 'EncryptedAssertion');
    if (plain.length + encrypted.length !== 1)
      throw refused('A SAML response must carry exactly one assertion.');
    if (this.idp.requireEncryptedAssertions && encrypted.length !== 1)
      throw refused('This IdP must encrypt its assertions.');
  }

  /** The certificates whose signatures count: configured/metadata ones, or pinned ones the message carries. */
  private certificatesFor(descriptor: IdpDescriptor, document: Document): string[] {
    if (descriptor.signingCerts.length > 0) return [...descriptor.signingCerts];
    const pinned = pinnedCertificatesIn(document, this.idp.signingCertFingerprints);
    if (pinned.length === 0) throw refused('The SAML response is not signed by the pinned IdP certificate.');
    return pinned;
  }

  private async afterValidation(
    profile: Profile,
    expectedRequestId: string | undefined,
  ): Promise<SamlAssertionResult> {
    const parsed = profile.getAssertion?.() as { Assertion?: Record<string, unknown> } | undefined;
    const assertion = parsed?.Assertion as
      | {
          $?: { ID?: string };
          Subject?: {
            SubjectConfirmation?: {
              $?: { Method?: string };
              SubjectConfirmationData?: { $?: Record<string, string> }[];
            }[];
          }[];
          Conditions?: { $?: { NotOnOrAfter?: string } }[];
          AuthnStatement?: {
            $?: Record<string, string>;
            AuthnContext?: { AuthnContextClassRef?: unknown }[];
          }[];
        }
      | undefined;
    if (!assertion) throw refused('The SAML assertion could not be read.');

    // SAML profiles 4.1.4.2: a bearer SubjectConfirmation whose Recipient is our ACS.
    const confirmations = assertion.Subject?.[0]?.SubjectConfirmation ?? [];
    const bearer = confirmations.filter(
      (confirmation) => confirmation.$?.Method === 'urn:oasis:names:tc:SAML:2.0:cm:bearer',
    );
    const data = bearer.map((confirmation) => confirmation.SubjectConfirmationData?.[0]?.$ ?? {});
    if (!data.some((entry) => entry.Recipient === this.sp.acsUrl)) {
      throw refused('The SAML assertion is meant for another recipient.');
    }
    if (
      expectedRequestId !== undefined &&
      data.some((entry) => entry.InResponseTo !== undefined && entry.InResponseTo !== expectedRequestId)
    ) {
      throw refused('The SAML assertion answers another request.');
    }

    // Replay: each assertion ID once, remembered until the assertion would expire anyway.
    const id = assertion.$?.ID;
    if (!id) throw refused('The SAML assertion has no ID.');
    const notOnOrAfter =
      epoch(assertion.Conditions?.[0]?.$?.NotOnOrAfter) ??
      epoch(data.find((entry) => entry.NotOnOrAfter)?.NotOnOrAfter);
    const now = epochSeconds(this.clock);
    const ttl = Math.max(60, (notOnOrAfter ?? now + 300) - now + this.idp.clockSkewSeconds);
    if (!(await this.store.addOnce(`saml-assertion:${profile.issuer}:${id}`, ttl))) {
      throw refused('This SAML assertion was already used (replay).');
    }

    const authn = assertion.AuthnStatement?.[0];
    const classRef = first(authn?.AuthnContext?.[0]?.AuthnContextClassRef);
    const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
    const pick = (names: readonly string[]) => {
      for (const name of names) if (attributes[name] !== undefined) return attributes[name];
      return undefined;
    };
    const nameIdFormat = profile.nameIDFormat ?? NAME_ID_FORMATS.unspecified;
    const email =
      first(pick(ATTRIBUTE_NAMES.email)) ??
      (nameIdFormat === NAME_ID_FORMATS.email ? profile.nameID : undefined);
    const claims: Record<string, unknown> = {
      ...attributes,
      sub: profile.nameID,
      iss: profile.issuer,
      name_id_format: nameIdFormat,
      ...(email ? { email } : {}),
      ...(first(pick(ATTRIBUTE_NAMES.name)) ? { name: first(pick(ATTRIBUTE_NAMES.name)) } : {}),
      ...(first(pick(ATTRIBUTE_NAMES.givenName))
        ? { given_name: first(pick(ATTRIBUTE_NAMES.givenName)) }
        : {}),
      ...(first(pick(ATTRIBUTE_NAMES.familyName))
        ? { family_name: first(pick(ATTRIBUTE_NAMES.familyName)) }
        : {}),
      groups: strings(pick(ATTRIBUTE_NAMES.groups)),
      ...(classRef ? { acr: classRef } : {}),
      // Entra ID and AD FS name the methods used in this attribute (e.g. multipleauthn), not always in the class ref.
      ...(strings(attributes[AUTHN_METHODS_ATTRIBUTE]).length > 0
        ? { amr: strings(attributes[AUTHN_METHODS_ATTRIBUTE]) }
        : {}),
      ...(epoch(authn?.$?.AuthnInstant) !== undefined ? { auth_time: epoch(authn?.$?.AuthnInstant) } : {}),
    };
    return {
      claims,
      nameId: profile.nameID,
      nameIdFormat,
      sessionIndex: profile.sessionIndex,
      sessionNotOnOrAfter: epoch(authn?.$?.SessionNotOnOrAfter),
      inResponseTo: expectedRequestId,
    };
  }

  /** A LogoutRequest from the IdP (Redirect: query + raw query string; POST: form). */
  async acceptLogoutRequest(input: {
    query?: URLSearchParams;
    rawQuery?: string;
    form?: URLSearchParams;
  }): Promise<SamlLogoutRequest> {
    const message = requireSignedLogoutMessage(input, 'SAMLRequest');
    const descriptor = await this.descriptor();
    const certs = await this.logoutCertificates(descriptor, input.form?.get('SAMLRequest'));
    const saml = new SAML(this.options(descriptor, certs));
    let profile: Profile | null;
    try {
      if (input.form) {
        ({ profile } = await saml.validatePostRequestAsync({
          SAMLRequest: input.form.get('SAMLRequest') ?? '',
        }));
      } else {
        ({ profile } = await saml.validateRedirectAsync(
          Object.fromEntries(input.query ?? []),
          input.rawQuery ?? '',
        ));
      }
    } catch (error) {
      throw translateSamlError(error);
    }
    if (!profile?.nameID) throw refused('The SAML logout request names no user.');
    await this.refuseReplayedLogoutRequest(message);
    const request = profile;
    return {
      nameId: request.nameID,
      sessionIndex: request.sessionIndex,
      responseUrl: (relayState, success) => saml.getLogoutResponseUrlAsync(request, relayState, {}, success),
    };
  }

  /**
   * A signed LogoutRequest travels through browser history and logs: it counts
   * once, and only while fresh. Called after node-saml verified the signature
   * over this very message, so its ID and IssueInstant can be trusted.
   */
  private async refuseReplayedLogoutRequest(message: Element): Promise<void> {
    const id = message.getAttribute('ID') ?? '';
    const issued = Date.parse(message.getAttribute('IssueInstant') ?? '');
    const now = this.clock.now();
    const window = (LOGOUT_REQUEST_MAX_AGE_SECONDS + this.idp.clockSkewSeconds) * 1000;
    if (!id || Number.isNaN(issued) || Math.abs(now - issued) > window)
      throw refused('The SAML logout request is stale or undated (IssueInstant).');
    const ttl = LOGOUT_REQUEST_MAX_AGE_SECONDS * 2 + this.idp.clockSkewSeconds * 2;
    if (!(await this.store.addOnce(`saml-logout:${this.idp.id}:${id}`, ttl)))
      throw refused('This SAML logout request was already used (replay).');
  }

  /** A LogoutResponse from the IdP, after sluss sent it a LogoutRequest. */
  async acceptLogoutResponse(input: {
    query?: URLSearchParams;
    rawQuery?: string;
    form?: URLSearchParams;
  }): Promise<void> {
    requireSignedLogoutMessage(input, 'SAMLResponse');
    const descriptor = await this.descriptor();
    const certs = await this.logoutCertificates(descriptor, input.form?.get('SAMLResponse'));
    const saml = new SAML(this.options(descriptor, certs));
    try {
      if (input.form)
        await saml.validatePostResponseAsync({ SAMLResponse: input.form.get('SAMLResponse') ?? '' });
      else await saml.validateRedirectAsync(Object.fromEntries(input.query ?? []), input.rawQuery ?? '');
    } catch (error) {
      throw translateSamlError(error);
    }
  }

  private async logoutCertificates(
    descriptor: IdpDescriptor,
    postedBase64: string | null | undefined,
  ): Promise<string[]> {
    if (descriptor.signingCerts.length > 0) return [...descriptor.signingCerts];
    if (postedBase64) {
      const pinned = pinnedCertificatesIn(
        parseXml(decodePostedMessage(postedBase64)),
        this.idp.signingCertFingerprints,
      );
      if (pinned.length > 0) return pinned;
    }
    if (this.learnedCerts.size > 0) return [...this.learnedCerts];
    throw refused('No IdP signing certificate is known to verify this logout message.');
  }

  /** SP-initiated single logout: a signed LogoutRequest to the IdP, or undefined when it has no SLO URL. */
  async logoutRequestUrl(
    user: { nameId: string; nameIdFormat: string; sessionIndex?: string },
    relayState: string,
  ): Promise<string | undefined> {
    const descriptor = await this.descriptor();
    if (!descriptor.sloUrl || !this.sp.signingKey) return undefined;
    const saml = new SAML(this.options(descriptor, [...descriptor.signingCerts]));
    const profile: Profile = {
      issuer: descriptor.entityId,
      nameID: user.nameId,
      nameIDFormat: user.nameIdFormat,
      ...(user.sessionIndex ? { sessionIndex: user.sessionIndex } : {}),
    };
    return saml.getLogoutUrlAsync(profile, relayState, {});
  }

  /** SP metadata for the IdP admin: entity ID, ACS, SLO, signing and encryption certificates. */
  metadataXml(): string {
    const { sp, idp } = this;
    return generateServiceProviderMetadata({
      issuer: sp.entityId,
      callbackUrl: sp.acsUrl,
      logoutCallbackUrl: sp.sloUrl,
      identifierFormat: NAME_ID_FORMATS[idp.nameIdFormat],
      wantAssertionsSigned: true,
      decryptionCert: sp.encryptionCert ?? null,
      // node-saml publishes the encryption certificate only when it is also given the key (it
      // drops decryptionCert otherwise); the key itself is never written into the metadata.
      ...(sp.encryptionKey ? { decryptionPvk: sp.encryptionKey } : {}),
      publicCerts: sp.signingCert ?? null,
      ...(sp.signingKey
        ? {
            privateKey: sp.signingKey,
            signMetadata: true,
            signatureAlgorithm: 'sha256' as const,
            digestAlgorithm: 'sha256',
          }
        : {}),
    });
  }
}

const REDIRECT_SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);

/**
 * node-saml accepts logout messages with no signature at all (Redirect
 * binding), so a forged LogoutRequest could end anyone's session: a
 * signature (SHA-256 or stronger) is required before node-saml verifies it.
 */
function requireSignedLogoutMessage(
  input: { query?: URLSearchParams; form?: URLSearchParams },
  field: 'SAMLRequest' | 'SAMLResponse',
): Element {
  if (input.form) {
    const root = parseXml(decodePostedMessage(input.form.get(field) ?? ''))
      .documentElement as unknown as Element;
    if (children(root, SAML_NS.dsig, 'Signature').length !== 1)
      throw refused('SAML logout messages must be signed.');
    if (usesSha1(root)) throw refused('SAML logout messages must not be signed with SHA-1.');
    return root;
  }
  const query = input.query ?? new URLSearchParams();
  if (
    !query.get(field) ||
    !query.get('Signature') ||
    !REDIRECT_SIGNATURE_ALGORITHMS.has(query.get('SigAlg') ?? '')
  ) {
    throw refused('SAML logout messages must be signed (RSA with SHA-256 or stronger).');
  }
  // node-saml inflates without a limit and parses twice before checking the signature:
  // inflate (bounded) and parse (no DTD) here first so a crafted message costs nothing.
  return parseXml(decodeRedirectMessage(query.get(field) ?? '')).documentElement as unknown as Element;
}

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** A non-Success status is the IdP saying no (cancelled, not assigned…), not an attack. */
function checkStatus(root: Element): void {
  const status = children(root, SAML_NS.protocol, 'Status')[0];
  const code = status ? children(status, SAML_NS.protocol, 'StatusCode')[0] : undefined;
  const value = code?.getAttribute('Value') ?? '';
  if (value === SUCCESS) return;
  const detail = code ? children(code, SAML_NS.protocol, 'StatusCode')[0]?.getAttribute('Value') : undefined;
  throw new SlussError('ERR_SAML_IDP_STATUS', 'The sign-in service did not sign you in.', {
    cause: new Error(`SAML status ${value || '(none)'}${detail ? ` / ${detail}` : ''}`),
  });
}

/** The one place that interprets node-saml's errors. */
export function translateSamlError(error: unknown): SlussError {
  if (error instanceof SlussError) return error;
  if (error instanceof SamlStatusError) {
    return new SlussError('ERR_SAML_IDP_STATUS', 'The sign-in service did not sign you in.', {
      cause: error,
    });
  }
  return refused('The response from the sign-in service was refused.', error);
}
