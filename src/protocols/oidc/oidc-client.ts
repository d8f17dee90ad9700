/**
 * OpenID Connect relying party for one IdP, on openid-client v6: the
 * authorization request (code + PKCE S256, or implicit with form_post), the
 * callback (state, nonce, ID-token signature, iss, aud/azp, exp, plus the
 * checks openid-client leaves to us: `iat` not in the future, the expected
 * key ID, `at_hash` for `id_token token`), UserInfo, refresh and the
 * end-session URL. Returns data or SlussErrors; never touches HTTP responses.
 */
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as client from 'openid-client';
import type { Clock } from '../../clock.ts';
import { epochSeconds } from '../../clock.ts';
import type { OidcIdpConfig } from '../../config/types.ts';
import { SlussError } from '../../errors.ts';
import { withoutUnverifiedEmail } from '../../identity/identity.ts';
import { IdpConfiguration } from './configuration.ts';
import type { LogoutClaims } from './logout-token.ts';
import { LogoutTokenVerifier } from './logout-token.ts';
import { translateOidcError } from './oidc-errors.ts';

export interface AuthorizationStart {
  readonly url: string;
  readonly state: string;
  readonly nonce: string;
  /** Empty for implicit flows (no code to exchange). */
  readonly codeVerifier: string;
}

export interface AuthorizationOptions {
  /** `login` forces re-authentication at the IdP. */
  readonly prompt?: 'login' | 'none' | 'consent';
  readonly maxAgeSeconds?: number;
  readonly acrValues?: readonly string[];
}

/** What came back from the IdP: the callback's parameters, from the query or a form_post body. */
export interface CallbackInput {
  readonly url: URL;
  /** The urlencoded body of a form_post callback. */
  readonly form?: URLSearchParams;
}

export interface IdpTokens {
  readonly idToken: string;
  readonly accessToken?: string;
  readonly refreshToken?: string;
}

export interface CompletedLogin {
  /** Validated ID-token claims, with UserInfo merged over them when configured. */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly tokens: IdpTokens;
}

/** ID-token claims UserInfo may never override (OIDC Core 5.3.2: only `sub` is checked; the rest is ours). */
const PROTECTED_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'azp',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'auth_time',
  'sid',
  'at_hash',
  'c_hash',
  'acr',
  'amr',
  'jti',
]);

export class OidcRelyingParty {
  readonly idp: OidcIdpConfig;
  private readonly configuration: IdpConfiguration;
  private readonly logoutTokens: LogoutTokenVerifier;
  private readonly clock: Clock;

  constructor(idp: OidcIdpConfig, clock: Clock) {
    this.idp = idp;
    this.clock = clock;
    this.configuration = new IdpConfiguration(idp, clock);
    this.logoutTokens = new LogoutTokenVerifier(idp, clock);
  }

  /** Resolves once the IdP's metadata is loaded. */
  async ready(): Promise<void> {
    await this.configuration.get();
  }

  async startAuthorization(
    redirectUri: string,
    options: AuthorizationOptions = {},
  ): Promise<AuthorizationStart> {
    const configuration = await this.configuration.get();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const parameters: Record<string, string> = {
      redirect_uri: redirectUri,
      response_type: this.idp.responseType,
      scope: this.idp.scopes.join(' '),
      state,
      nonce,
    };
    if (this.idp.responseMode === 'form_post') parameters.response_mode = 'form_post';
    // OIDC Core 11: offline_access is granted only with prompt=consent (strict OPs drop it otherwise).
    const offline = this.idp.refresh.enabled && this.idp.scopes.includes('offline_access');
    const prompt = options.prompt ?? (offline ? 'consent' : undefined);
    if (prompt) parameters.prompt = prompt;
    if (options.maxAgeSeconds !== undefined) parameters.max_age = String(options.maxAgeSeconds);
    if (options.acrValues && options.acrValues.length > 0)
      parameters.acr_values = options.acrValues.join(' ');
    let codeVerifier = '';
    if (this.idp.responseType === 'code') {
      codeVerifier = client.randomPKCECodeVerifier();
      parameters.code_challenge = await client.calculatePKCECodeChallenge(codeVerifier);
      parameters.code_challenge_method = 'S256';
    }
    return { url: client.buildAuthorizationUrl(configuration, parameters).href, state, nonce, codeVerifier };
  }

  /** Validates a callback against the login that started it and returns the claims. */
  async completeAuthorization(
    input: CallbackInput,
    expected: { state: string; nonce: string; codeVerifier: string; maxAgeSeconds?: number | undefined },
  ): Promise<CompletedLogin> {
    const configuration = await this.configuration.get();
    try {
      const tokens =
        this.idp.responseType === 'code'
          ? await this.exchangeCode(configuration, input, expected)
          : await this.acceptImplicit(configuration, input, expected);
      const claims = decodeJwt(tokens.idToken);
      this.checkBeyondLibrary(tokens.idToken, claims);
      const merged =
        tokens.accessToken && this.idp.userinfo
          ? await this.withUserinfo(configuration, tokens.accessToken, claims)
          : claims;
      return { claims: this.emailPolicy(merged), tokens };
    } catch (error) {
      throw translateOidcError(error, 'callback');
    }
  }

  private async exchangeCode(
    configuration: client.Configuration,
    input: CallbackInput,
    expected: { state: string; nonce: string; codeVerifier: string; maxAgeSeconds?: number | undefined },
  ): Promise<IdpTokens> {
    const response = await client.authorizationCodeGrant(configuration, callbackRequest(input), {
      expectedState: expected.state,
      expectedNonce: expected.nonce,
      pkceCodeVerifier: expected.codeVerifier,
      idTokenExpected: true,
      // With max_age sent, auth_time is required and must be recent enough (OIDC Core 3.1.2.1).
      ...(expected.maxAgeSeconds !== undefined ? { maxAge: expected.maxAgeSeconds } : {}),
    });
    if (!response.id_token)
      throw new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The sign-in service did not return an ID token.');
    return {
      idToken: response.id_token,
      accessToken: response.access_token,
      ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    };
  }

  private async acceptImplicit(
    configuration: client.Configuration,
    input: CallbackInput,
    expected: { state: string; nonce: string; maxAgeSeconds?: number | undefined },
  ): Promise<IdpTokens> {
    if (!input.form)
      throw new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The sign-in response must be posted (form_post).');
    await client.implicitAuthentication(configuration, callbackRequest(input), expected.nonce, {
      expectedState: expected.state,
      ...(expected.maxAgeSeconds !== undefined ? { maxAge: expected.maxAgeSeconds } : {}),
    });
    const idToken = input.form.get('id_token') ?? '';
    const accessToken = input.form.get('access_token') ?? undefined;
    if (this.idp.responseType === 'id_token token') {
      if (!accessToken)
        throw new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The sign-in response lacks its access token.');
      this.checkAtHash(idToken, accessToken);
    }
    return { idToken, ...(accessToken ? { accessToken } : {}) };
  }

  /**
   * OIDC Core 3.2.2.9/3.2.2.10: with `id_token token`, `at_hash` is required and
   * must be the left half of the access token's hash. openid-client does not
   * handle this response type, so the check is ours (and can be skipped per IdP).
   */
  private checkAtHash(idToken: string, accessToken: string): void {
    if (this.idp.skipAtHashCheck) return;
    const { alg } = decodeProtectedHeader(idToken);
    const atHash = decodeJwt(idToken).at_hash;
    if (typeof atHash !== 'string' || atHash !== halfHash(accessToken, alg ?? '')) {
      throw new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The sign-in response was refused.', {
        cause: new Error('ID token at_hash is missing or does not match the access token'),
      });
    }
  }

  /** Checks openid-client does not make: `iat` in the future, and the expected signing key. */
  private checkBeyondLibrary(idToken: string, claims: Record<string, unknown>): void {
    const now = epochSeconds(this.clock);
    if (typeof claims.iat !== 'number' || claims.iat > now + this.idp.clockSkewSeconds) {
      throw new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The sign-in response was refused.', {
        cause: new Error('ID token iat is missing or in the future'),
      });
    }
    if (
      this.idp.expectedKeyId !== undefined &&
      decodeProtectedHeader(idToken).kid !== this.idp.expectedKeyId
    ) {
      throw new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The sign-in response was refused.', {
        cause: new Error(`ID token is not signed with the expected key ${this.idp.expectedKeyId}`),
      });
    }
  }

  /** Drops an `email` the IdP marks unverified unless this IdP is trusted with it (login and refresh alike). */
  private emailPolicy(claims: Record<string, unknown>): Record<string, unknown> {
    return this.idp.trustUnverifiedEmail ? claims : withoutUnverifiedEmail(claims);
  }

  /** UserInfo, merged over the ID token only when its `sub` is the ID token's (openid-client checks). */
  private async withUserinfo(
    configuration: client.Configuration,
    accessToken: string,
    claims: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const userinfo = await client.fetchUserInfo(configuration, accessToken, sub);
    const merged: Record<string, unknown> = { ...claims };
    for (const [name, value] of Object.entries(userinfo))
      if (!PROTECTED_CLAIMS.has(name)) merged[name] = value;
    return merged;
  }

  /**
   * Uses a refresh token. A refreshed ID token gets every check a fresh one
   * gets (openid-client) plus: same issuer and subject as the session's.
   * Returns the new claims (or undefined when the IdP sent no ID token) and tokens.
   */
  async refresh(
    refreshToken: string,
    session: { issuer: string; sub: string },
  ): Promise<{ claims: Record<string, unknown> | undefined; refreshToken: string; idToken?: string }> {
    const configuration = await this.configuration.get();
    try {
      const response = await client.refreshTokenGrant(configuration, refreshToken);
      let claims: Record<string, unknown> | undefined;
      if (response.id_token) {
        claims = decodeJwt(response.id_token);
        this.checkBeyondLibrary(response.id_token, claims);
        if (claims.iss !== session.issuer || claims.sub !== session.sub) {
          throw new SlussError(
            'ERR_OIDC_CALLBACK_INVALID',
            'The refreshed identity does not match the session.',
          );
        }
        if (response.access_token && this.idp.userinfo) {
          claims = await this.withUserinfo(configuration, response.access_token, claims);
        }
      }
      return {
        claims: claims && this.emailPolicy(claims),
        refreshToken: response.refresh_token ?? refreshToken,
        ...(response.id_token ? { idToken: response.id_token } : {}),
      };
    } catch (error) {
      throw translateOidcError(error, 'refresh');
    }
  }

  /** The RP-initiated logout URL, or undefined when the IdP has no end-session endpoint. */
  async endSessionUrl(
    idTokenHint: string | undefined,
    postLogoutRedirectUri: string,
  ): Promise<string | undefined> {
    if (!this.idp.rpInitiatedLogout) return undefined;
    const configuration = await this.configuration.get();
    if (!configuration.serverMetadata().end_session_endpoint) return undefined;
    const parameters: Record<string, string> = {
      post_logout_redirect_uri: postLogoutRedirectUri,
      client_id: this.idp.clientId,
    };
    if (idTokenHint) parameters.id_token_hint = idTokenHint;
    return client.buildEndSessionUrl(configuration, parameters).href;
  }

  /** Validates a back-channel logout token from this IdP (see logout-token.ts). */
  async verifyLogoutToken(token: string): Promise<LogoutClaims> {
    if (!this.idp.backchannelLogout) {
      throw new SlussError(
        'ERR_LOGOUT_TOKEN_INVALID',
        'Back-channel logout is off for this sign-in service.',
      );
    }
    const metadata = (await this.configuration.get()).serverMetadata();
    if (!metadata.jwks_uri)
      throw new SlussError('ERR_IDP_UNAVAILABLE', 'The sign-in service publishes no keys.');
    // The metadata's algorithm list is already restricted to what sluss accepts (configuration.ts).
    return this.logoutTokens.verify(
      token,
      metadata.jwks_uri,
      metadata.id_token_signing_alg_values_supported ?? ['RS256'],
    );
  }
}

/** openid-client reads form_post responses from a Request; query responses from the URL. */
function callbackRequest(input: CallbackInput): URL | Request {
  if (!input.form) return input.url;
  return new Request(input.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: input.form.toString(),
  });
}

/** OIDC Core 3.3.2.11: base64url of the left half of the hash that matches the JWS algorithm. */
export function halfHash(value: string, alg: string): string {
  const bits = /(\d{3})$/.exec(alg)?.[1] ?? '256';
  const hash = alg === 'EdDSA' || alg === 'Ed25519' ? 'sha512' : `sha${bits}`;
  const digest = createHash(hash).update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
