/**
 * Builds and keeps openid-client's Configuration for one IdP: from discovery
 * (refreshed every `metadataRefreshSeconds`, the last good copy kept when a
 * refresh fails) or from endpoints set by hand; with the configured client
 * authentication, the accepted ID-token algorithms only, signature checks on
 * the code flow (openid-client skips them by default, trusting TLS), and the
 * configured clock tolerance.
 */
import { createPrivateKey } from 'node:crypto';
import { importPKCS8 } from 'jose';
import * as client from 'openid-client';
import type { Clock } from '../../clock.ts';
import { ID_TOKEN_ALGORITHMS } from '../../config/schema.ts';
import type { OidcIdpConfig } from '../../config/types.ts';
import { SlussError } from '../../errors.ts';
import { translateOidcError } from './oidc-errors.ts';

const REQUEST_TIMEOUT_SECONDS = 10;
/** After a failed discovery with no good copy, wait this long before asking the IdP again. */
const DISCOVERY_RETRY_MS = 5_000;

async function clientAuthentication(idp: OidcIdpConfig): Promise<client.ClientAuth> {
  switch (idp.tokenEndpointAuthMethod) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(idp.clientSecret);
    case 'client_secret_post':
      return client.ClientSecretPost(idp.clientSecret);
    case 'private_key_jwt': {
      const pem = idp.clientPrivateKey ?? '';
      const key = await importPKCS8(pem, assertionAlgorithm(pem));
      return client.PrivateKeyJwt(idp.clientKeyId ? { key, kid: idp.clientKeyId } : key);
    }
    case 'none':
      return client.None();
  }
}

/** The JWS algorithm for a client assertion signed with this key (RFC 7523). */
function assertionAlgorithm(pem: string): string {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256';
}

function clientMetadata(idp: OidcIdpConfig): Partial<client.ClientMetadata> {
  const metadata: Partial<client.ClientMetadata> = {
    [client.clockTolerance]: idp.clockSkewSeconds,
  };
  if (idp.idTokenSigningAlgs?.length === 1) metadata.id_token_signed_response_alg = idp.idTokenSigningAlgs[0];
  return metadata;
}

/**
 * The ID-token algorithms sluss accepts from this IdP: the configured ones,
 * else the asymmetric ones it advertises, else RS256 (the OIDC default).
 * Never HS* (keyed by something the attacker may know) or `none`.
 */
export function acceptedAlgorithms(idp: OidcIdpConfig, advertised: readonly string[] | undefined): string[] {
  if (idp.idTokenSigningAlgs) return [...idp.idTokenSigningAlgs];
  const allowed = new Set<string>(ID_TOKEN_ALGORITHMS);
  const usable = (advertised ?? []).filter((alg) => allowed.has(alg));
  return usable.length > 0 ? usable : ['RS256'];
}

/** The AS metadata with sluss's own choices imposed: only the accepted ID-token algorithms. */
function restrictMetadata(metadata: client.ServerMetadata, idp: OidcIdpConfig): client.ServerMetadata {
  return {
    ...metadata,
    id_token_signing_alg_values_supported: acceptedAlgorithms(
      idp,
      metadata.id_token_signing_alg_values_supported,
    ),
  };
}

function manualMetadata(idp: OidcIdpConfig): client.ServerMetadata {
  const endpoints = idp.endpoints;
  if (!endpoints) throw new Error('manualMetadata needs endpoints');
  return {
    issuer: idp.issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    jwks_uri: endpoints.jwks,
    ...(endpoints.userinfo ? { userinfo_endpoint: endpoints.userinfo } : {}),
    ...(endpoints.endSession ? { end_session_endpoint: endpoints.endSession } : {}),
  };
}

function isHttp(url: string): boolean {
  // The schema allows plain http on loopback hosts only.
  return new URL(url).protocol === 'http:';
}

async function buildConfiguration(idp: OidcIdpConfig): Promise<client.Configuration> {
  const auth = await clientAuthentication(idp);
  const metadata = clientMetadata(idp);
  let discovered: client.ServerMetadata;
  if (idp.discoveryUrl) {
    const found = await client.discovery(new URL(idp.discoveryUrl), idp.clientId, metadata, auth, {
      timeout: REQUEST_TIMEOUT_SECONDS,
      ...(isHttp(idp.discoveryUrl) ? { execute: [client.allowInsecureRequests] } : {}),
    });
    discovered = found.serverMetadata();
    // A discovery URL given in full is not checked against the issuer by openid-client: check it here.
    if (discovered.issuer !== idp.issuer) {
      throw new SlussError('ERR_IDP_UNAVAILABLE', 'The sign-in service is misconfigured.', {
        cause: new Error(
          `discovery issuer ${discovered.issuer} differs from the configured issuer ${idp.issuer}`,
        ),
        hint: "The IdP's issuer must match the configured issuer exactly (check the trailing slash).",
      });
    }
  } else {
    discovered = manualMetadata(idp);
  }
  const configuration = new client.Configuration(
    restrictMetadata(discovered, idp),
    idp.clientId,
    metadata,
    auth,
  );
  configuration.timeout = REQUEST_TIMEOUT_SECONDS;
  const http = [discovered.token_endpoint, discovered.jwks_uri, discovered.authorization_endpoint].some(
    (url) => url !== undefined && isHttp(url),
  );
  if (http) client.allowInsecureRequests(configuration);
  // Verify ID-token signatures in the code flow too (OIDC Core 3.1.3.7 allows relying on TLS; we don't).
  client.enableNonRepudiationChecks(configuration);
  if (idp.responseType !== 'code') client.useIdTokenResponseType(configuration);
  return configuration;
}

/** The current Configuration of one IdP, built once and refreshed in the background. */
export class IdpConfiguration {
  private current: { configuration: client.Configuration; fetchedAt: number } | undefined;
  private pending: Promise<client.Configuration> | undefined;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private readonly idp: OidcIdpConfig;
  private readonly clock: Clock;

  constructor(idp: OidcIdpConfig, clock: Clock) {
    this.idp = idp;
    this.clock = clock;
  }

  /** Resolves to a usable Configuration, or rejects with ERR_IDP_UNAVAILABLE. */
  get(): Promise<client.Configuration> {
    const now = this.clock.now();
    if (this.current) {
      const stale = now - this.current.fetchedAt > this.idp.metadataRefreshSeconds * 1000;
      if (stale && this.idp.discoveryUrl && !this.pending) void this.load().catch(() => undefined);
      return Promise.resolve(this.current.configuration);
    }
    if (this.pending) return this.pending;
    if (now - this.lastFailureAt < DISCOVERY_RETRY_MS) {
      return Promise.reject(
        new SlussError(
          'ERR_IDP_UNAVAILABLE',
          'The sign-in service is not reachable right now. Try again in a moment.',
        ),
      );
    }
    return this.load();
  }

  private load(): Promise<client.Configuration> {
    const attempt = buildConfiguration(this.idp).then(
      (configuration) => {
        this.current = { configuration, fetchedAt: this.clock.now() };
        this.pending = undefined;
        return configuration;
      },
      (error: unknown) => {
        this.pending = undefined;
        this.lastFailureAt = this.clock.now();
        // On a failed refresh the last good copy stays in use.
        if (this.current) this.current.fetchedAt = this.clock.now();
        throw translateOidcError(error, 'discovery');
      },
    );
    this.pending = attempt;
    return attempt;
  }
}
