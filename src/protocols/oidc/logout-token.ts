/**
 * OpenID Connect Back-Channel Logout 1.0, §2.6: validating a logout token.
 * Signature by the IdP's keys (an allowed asymmetric algorithm only), `iss`,
 * `aud`, `iat` (recent and not in the future), `exp` when present, `jti`
 * (the caller makes it single-use), the logout event, no `nonce`, `sub` or
 * `sid`, and explicit typing when a `typ` is given.
 */

import type { JWTPayload } from 'jose';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { Clock } from '../../clock.ts';
import type { OidcIdpConfig } from '../../config/types.ts';
import { SlussError } from '../../errors.ts';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token older than this is refused even without `exp`. */
const MAX_LOGOUT_TOKEN_AGE_SECONDS = 600;
const MAX_LOGOUT_TOKEN_LENGTH = 16 * 1024;
const LOGOUT_TOKEN_TYPES = ['logout+jwt', 'application/logout+jwt', 'jwt'];

export interface LogoutClaims {
  readonly issuer: string;
  readonly jti: string;
  readonly sub?: string;
  readonly sid?: string;
  /** Seconds since the epoch, for the replay cache's TTL. */
  readonly exp: number;
}

function refused(reason: string, cause?: unknown): SlussError {
  return new SlussError('ERR_LOGOUT_TOKEN_INVALID', 'The logout token was refused.', {
    cause: cause ?? new Error(reason),
  });
}

/** The unverified `iss`, only to pick the IdP whose keys then verify the token. */
export function unverifiedIssuer(token: string): string | undefined {
  if (token.length > MAX_LOGOUT_TOKEN_LENGTH) return undefined;
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

export class LogoutTokenVerifier {
  private readonly idp: OidcIdpConfig;
  private readonly clock: Clock;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private jwksUri: string | undefined;

  constructor(idp: OidcIdpConfig, clock: Clock) {
    this.idp = idp;
    this.clock = clock;
  }

  async verify(token: string, jwksUri: string, algorithms: readonly string[]): Promise<LogoutClaims> {
    if (token.length > MAX_LOGOUT_TOKEN_LENGTH) throw refused('logout token too large');
    if (this.jwksUri !== jwksUri || !this.jwks) {
      // jose refetches on an unknown kid, at most every 30 s (cooldown), so key rotation works.
      this.jwks = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
      this.jwksUri = jwksUri;
    }
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      const verified = await jwtVerify(token, this.jwks, {
        issuer: this.idp.issuer,
        audience: this.idp.clientId,
        algorithms: [...algorithms],
        clockTolerance: this.idp.clockSkewSeconds,
        maxTokenAge: MAX_LOGOUT_TOKEN_AGE_SECONDS,
        requiredClaims: ['iat', 'jti'],
        currentDate: new Date(this.clock.now()),
      });
      payload = verified.payload;
      typ = verified.protectedHeader.typ;
    } catch (error) {
      throw refused('signature or standard claims', error);
    }
    // §2.4 recommends typ logout+jwt; older IdPs (Keycloak < 25) send JWT. An ID token still cannot
    // pass as a logout token: the events claim is required and a nonce forbidden (checked below).
    if (typ !== undefined && !LOGOUT_TOKEN_TYPES.includes(typ.toLowerCase())) {
      throw refused(`typ ${typ} is not a logout token type`);
    }
    const events = payload.events;
    if (
      events === null ||
      typeof events !== 'object' ||
      typeof (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] !== 'object' ||
      (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] === null
    ) {
      throw refused('events claim lacks the back-channel logout event');
    }
    if (payload.nonce !== undefined) throw refused('a logout token must not contain a nonce');
    const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
    const sid = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined;
    if (!sub && !sid) throw refused('logout token names neither sub nor sid');
    const iat = payload.iat ?? 0;
    return {
      issuer: this.idp.issuer,
      jti: String(payload.jti),
      ...(sub ? { sub } : {}),
      ...(sid ? { sid } : {}),
      exp: typeof payload.exp === 'number' ? payload.exp : iat + MAX_LOGOUT_TOKEN_AGE_SECONDS,
    };
  }
}
