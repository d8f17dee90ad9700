/**
 * OpenID Connect relying party for one IdP, on openid-client v6: discovery
 * (cached, retried after a failure), the authorization request (code + PKCE
 * S256, state, nonce) and the callback (token exchange and ID-token
 * validation, all done by openid-client). Returns data or SlussErrors;
 * never touches HTTP responses.
 */
import * as client from 'openid-client';
import type { Clock } from '../../clock.ts';
import type { OidcIdpConfig } from '../../config/types.ts';
import { SlussError } from '../../errors.ts';
import { translateOidcError } from './oidc-errors.ts';

const DISCOVERY_TIMEOUT_SECONDS = 10;
/** After a failed discovery, wait this long before asking the IdP again. */
const DISCOVERY_RETRY_MS = 5_000;

export interface AuthorizationStart {
  readonly url: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

export interface CompletedLogin {
  /** ID token claims (validated), the raw material for the identity. */
  readonly claims: Readonly<Record<string, unknown>>;
}

export class OidcRelyingParty {
  readonly idp: OidcIdpConfig;
  private readonly clock: Clock;
  private configuration: Promise<client.Configuration> | undefined;
  private lastFailureAt = -Infinity;

  constructor(idp: OidcIdpConfig, clock: Clock) {
    this.idp = idp;
    this.clock = clock;
  }

  /** The IdP's metadata, discovered once and shared by concurrent logins. */
  private discover(): Promise<client.Configuration> {
    if (this.configuration) return this.configuration;
    if (this.clock.now() - this.lastFailureAt < DISCOVERY_RETRY_MS) {
      return Promise.reject(
        new SlussError(
          'ERR_IDP_UNAVAILABLE',
          'The sign-in service is not reachable right now. Try again in a moment.',
        ),
      );
    }
    const { issuer, clientId, clientSecret } = this.idp;
    const auth = clientSecret ? client.ClientSecretBasic(clientSecret) : client.None();
    const insecure = new URL(issuer).protocol === 'http:'; // the schema allows this on loopback only
    const attempt = client
      .discovery(
        new URL(issuer),
        clientId,
        clientSecret ? { client_secret: clientSecret } : undefined,
        auth,
        {
          timeout: DISCOVERY_TIMEOUT_SECONDS,
          ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
        },
      )
      .catch((error: unknown) => {
        this.configuration = undefined;
        this.lastFailureAt = this.clock.now();
        throw translateOidcError(error, 'discovery');
      });
    this.configuration = attempt;
    return attempt;
  }

  /** Resolves once the IdP's metadata is loaded (readiness). */
  async ready(): Promise<void> {
    await this.discover();
  }

  async startAuthorization(redirectUri: string): Promise<AuthorizationStart> {
    const configuration = await this.discover();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: this.idp.scopes.join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /**
   * Validates the callback at `currentUrl` against the login that started it:
   * state, PKCE verifier, nonce, then the ID token (signature, iss, aud, azp,
   * exp, iat) as openid-client checks it.
   */
  async completeAuthorization(
    currentUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<CompletedLogin> {
    const configuration = await this.discover();
    try {
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        pkceCodeVerifier: expected.codeVerifier,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims)
        throw new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The sign-in service did not return an ID token.');
      return { claims };
    } catch (error) {
      throw translateOidcError(error, 'callback');
    }
  }
}
