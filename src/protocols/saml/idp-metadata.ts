/**
 * Where a SAML IdP's entity ID, endpoints and signing certificates come
 * from: the config itself, or its metadata URL (fetched at start, refreshed
 * every `metadataRefreshSeconds`, the last good copy kept when a refresh
 * fails). When sluss already knows the IdP's signing key (certificates or
 * fingerprints in config), the metadata must be signed by it, and only the
 * signed bytes are read.
 */
import { SignedXml } from 'xml-crypto';
import type { Clock } from '../../clock.ts';
import type { SamlIdpConfig } from '../../config/types.ts';
import { SlussError } from '../../errors.ts';
import { matchesFingerprint, pemFromBase64 } from './certificates.ts';
import { children, descendants, parseXml, SAML_NS, textOf, usesSha1 } from './xml.ts';

const FETCH_TIMEOUT_MS = 10_000;
const MAX_METADATA_BYTES = 1024 * 1024;
const RETRY_AFTER_FAILURE_MS = 5_000;
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export interface IdpDescriptor {
  readonly entityId: string;
  readonly ssoUrl: string;
  readonly sloUrl: string | undefined;
  /** PEM certificates whose signatures sluss accepts; empty with fingerprint pinning. */
  readonly signingCerts: readonly string[];
}

export type FetchText = (url: string) => Promise<string>;

function unavailable(message: string, cause?: unknown): SlussError {
  return new SlussError('ERR_IDP_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

/** GET with a timeout and a size cap. */
export async function fetchMetadataText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (!response.ok) throw new Error(`metadata ${url} answered ${response.status}`);
  const tooLarge = () => new Error(`metadata ${url} is larger than ${MAX_METADATA_BYTES} bytes`);
  if (Number(response.headers.get('content-length') ?? 0) > MAX_METADATA_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  // Counted while reading: a server that lies about (or omits) its length cannot make sluss buffer more.
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
    size += read.value.byteLength;
    if (size > MAX_METADATA_BYTES) {
      await reader?.cancel();
      throw tooLarge();
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Verifies an enveloped signature over the whole metadata document; returns the signed bytes. */
function signedMetadata(xml: string, document: Document, idp: SamlIdpConfig): string {
  const root = document.documentElement as unknown as Element;
  const signatures = children(root, SAML_NS.dsig, 'Signature');
  if (signatures.length !== 1)
    throw new Error(
      'metadata is not signed (one enveloped signature required when a signing key is configured)',
    );
  if (!idp.allowSha1Signatures && usesSha1(signatures[0] as Element)) {
    throw new Error('metadata is signed with SHA-1');
  }
  const candidates =
    idp.signingCerts.length > 0
      ? [...idp.signingCerts]
      : descendants(signatures[0] as Element, SAML_NS.dsig, 'X509Certificate')
          .map((element) => pemFromBase64(textOf(element)))
          .filter((pem) => matchesFingerprint(pem, idp.signingCertFingerprints));
  for (const publicCert of candidates) {
    const verifier = new SignedXml({ publicCert, getCertFromKeyInfo: () => null });
    verifier.loadSignature(signatures[0] as unknown as Node);
    try {
      if (!verifier.checkSignature(xml)) continue;
    } catch {
      continue;
    }
    const signed = verifier.getSignedReferences();
    const rootId = root.getAttribute('ID');
    const uri = verifier.getReferences()[0]?.uri ?? '';
    // The one reference must cover the root element, or a wrapped copy could be read instead.
    if (signed.length === 1 && (uri === '' || (rootId !== null && uri === `#${rootId}`)))
      return signed[0] as string;
  }
  throw new Error('metadata signature does not verify with the configured IdP signing key');
}

/** Reads entity ID, endpoints and signing certificates from (trusted) metadata XML. */
export function parseIdpMetadata(xml: string, expectedEntityId: string | undefined): IdpDescriptor {
  const document = parseXml(xml);
  const root = document.documentElement as unknown as Element;
  let entity: Element | undefined;
  if (root.namespaceURI === SAML_NS.metadata && root.localName === 'EntityDescriptor') entity = root;
  else if (root.namespaceURI === SAML_NS.metadata && root.localName === 'EntitiesDescriptor') {
    entity = children(root, SAML_NS.metadata, 'EntityDescriptor').find(
      (candidate) =>
        expectedEntityId === undefined || candidate.getAttribute('entityID') === expectedEntityId,
    );
  }
  if (!entity) throw new Error('metadata has no matching EntityDescriptor');
  const entityId = entity.getAttribute('entityID') ?? '';
  if (!entityId) throw new Error('metadata EntityDescriptor has no entityID');
  if (expectedEntityId !== undefined && entityId !== expectedEntityId) {
    throw new Error(`metadata entityID ${entityId} differs from the configured entityId ${expectedEntityId}`);
  }
  const descriptor = children(entity, SAML_NS.metadata, 'IDPSSODescriptor')[0];
  if (!descriptor) throw new Error('metadata has no IDPSSODescriptor');
  const endpoint = (name: string) =>
    children(descriptor, SAML_NS.metadata, name)
      .find((service) => service.getAttribute('Binding') === REDIRECT_BINDING)
      ?.getAttribute('Location') ?? undefined;
  const ssoUrl = endpoint('SingleSignOnService');
  if (!ssoUrl) throw new Error('metadata has no HTTP-Redirect SingleSignOnService');
  const signingCerts = children(descriptor, SAML_NS.metadata, 'KeyDescriptor')
    .filter((key) => (key.getAttribute('use') ?? 'signing') === 'signing')
    .flatMap((key) => descendants(key, SAML_NS.dsig, 'X509Certificate'))
    .map((element) => pemFromBase64(textOf(element)));
  return { entityId, ssoUrl, sloUrl: endpoint('SingleLogoutService'), signingCerts };
}

/** The current descriptor of one IdP, from config or from its (refreshed) metadata. */
export class IdpMetadataSource {
  private current: { descriptor: IdpDescriptor; fetchedAt: number } | undefined;
  private pending: Promise<IdpDescriptor> | undefined;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private readonly idp: SamlIdpConfig;
  private readonly clock: Clock;
  private readonly fetchText: FetchText;

  constructor(idp: SamlIdpConfig, clock: Clock, fetchText: FetchText = fetchMetadataText) {
    this.idp = idp;
    this.clock = clock;
    this.fetchText = fetchText;
  }

  get(): Promise<IdpDescriptor> {
    const { idp } = this;
    if (!idp.metadataUrl) {
      return Promise.resolve({
        entityId: idp.entityId ?? '',
        ssoUrl: idp.ssoUrl ?? '',
        sloUrl: idp.sloUrl,
        signingCerts: idp.signingCerts,
      });
    }
    const now = this.clock.now();
    if (this.current) {
      if (now - this.current.fetchedAt > idp.metadataRefreshSeconds * 1000 && !this.pending)
        void this.load().catch(() => undefined);
      return Promise.resolve(this.current.descriptor);
    }
    if (this.pending) return this.pending;
    if (now - this.lastFailureAt < RETRY_AFTER_FAILURE_MS) {
      return Promise.reject(
        unavailable("The sign-in service's metadata could not be loaded. Try again in a moment."),
      );
    }
    return this.load();
  }

  private load(): Promise<IdpDescriptor> {
    const url = this.idp.metadataUrl ?? '';
    const attempt = this.fetchText(url)
      .then((xml) => this.interpret(xml))
      .then(
        (descriptor) => {
          this.current = { descriptor, fetchedAt: this.clock.now() };
          this.pending = undefined;
          return descriptor;
        },
        (error: unknown) => {
          this.pending = undefined;
          this.lastFailureAt = this.clock.now();
          if (this.current) this.current.fetchedAt = this.clock.now(); // keep the last good copy
          throw error instanceof SlussError
            ? error
            : unavailable("The sign-in service's metadata could not be loaded.", error);
        },
      );
    this.pending = attempt;
    return attempt;
  }

  private interpret(xml: string): IdpDescriptor {
    const { idp } = this;
    const keyKnown = idp.signingCerts.length > 0 || idp.signingCertFingerprints.length > 0;
    const trusted = keyKnown ? signedMetadata(xml, parseXml(xml), idp) : xml;
    const parsed = parseIdpMetadata(trusted, idp.entityId);
    // Configured certificates win over the metadata's; pinned fingerprints filter them.
    const signingCerts =
      idp.signingCerts.length > 0
        ? idp.signingCerts
        : idp.signingCertFingerprints.length > 0
          ? parsed.signingCerts.filter((pem) => matchesFingerprint(pem, idp.signingCertFingerprints))
          : parsed.signingCerts;
    return { ...parsed, sloUrl: idp.sloUrl ?? parsed.sloUrl, signingCerts };
  }
}
