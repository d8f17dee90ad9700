/**
 * The headers the upstream receives about the user: a signed JWT plus plain
 * convenience headers. Signing costs ~100 µs, so the set is cached per session
 * and re-signed only when less than half of the JWT's lifetime remains; the
 * hot path is a map lookup. If signing fails the request is refused (never
 * forwarded without identity).
 */
import { SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { IdentityHeaderConfig } from '../config/types.ts';
import { SlussError } from '../errors.ts';
import type { Session } from '../sessions/session.ts';
import type { KeyRing } from './signing-keys.ts';

/** Header name/value pairs, names lowercase. */
export type HeaderPairs = readonly (readonly [string, string])[];

interface CachedHeaders {
  readonly pairs: HeaderPairs;
  /** Re-sign after this (epoch seconds). */
  readonly refreshAt: number;
}

export interface IdentityHeaderOptions {
  readonly config: IdentityHeaderConfig;
  readonly keys: KeyRing;
  /** JWT `iss`: sluss's public origin for this tenant. */
  readonly clock: Clock;
  readonly cacheSize?: number;
}

export class IdentityHeaders {
  private readonly cache: LRUCache<string, CachedHeaders>;
  private readonly options: IdentityHeaderOptions;

  constructor(options: IdentityHeaderOptions) {
    this.options = options;
    this.cache = new LRUCache({ max: options.cacheSize ?? 50_000 });
  }

  /** Cached headers for a session, or undefined when they must be (re)signed. */
  cached(session: Session): HeaderPairs | undefined {
    const hit = this.cache.get(session.sid);
    if (hit && hit.refreshAt > epochSeconds(this.options.clock)) return hit.pairs;
    return undefined;
  }

  async forSession(session: Session, issuer: string): Promise<HeaderPairs> {
    const cached = this.cached(session);
    if (cached) return cached;
    const now = epochSeconds(this.options.clock);
    const { ttlSeconds } = this.options.config.jwt;
    // Never outlive the session itself.
    const exp = Math.min(now + ttlSeconds, session.exp);
    const jwt = await this.sign(session, issuer, now, exp);
    const pairs = [
      [this.options.config.jwt.header, jwt] as const,
      ...plainHeaders(this.options.config, session),
    ];
    this.cache.set(session.sid, { pairs, refreshAt: now + Math.floor((exp - now) / 2) });
    return pairs;
  }

  /** Forget a session's headers (logout, revocation). */
  evict(sid: string): void {
    this.cache.delete(sid);
  }

  private async sign(session: Session, issuer: string, iat: number, exp: number): Promise<string> {
    const { identity } = session;
    const { active } = this.options.keys;
    try {
      return await new SignJWT({
        preferred_username: identity.login,
        idp_user_id: identity.idpUserId,
        email: identity.email,
        name: identity.name,
        given_name: identity.givenName,
        family_name: identity.familyName,
        groups: identity.groups,
        tenant: session.tenant,
        idp: session.idp,
        amr: identity.amr,
        acr: identity.acr,
        mfa: identity.mfa,
        auth_time: identity.authTime,
        sid: session.sid,
      })
        .setProtectedHeader({ alg: 'ES256', kid: active.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(this.options.config.jwt.audience)
        .setSubject(identity.userId ?? identity.sub)
        .setIssuedAt(iat)
        .setNotBefore(iat - 5)
        .setExpirationTime(exp)
        .sign(active.privateKey);
    } catch (error) {
      throw new SlussError('ERR_SIGNING_FAILED', 'The identity token could not be signed.', { cause: error });
    }
  }
}

function plainHeaders(config: IdentityHeaderConfig, session: Session): [string, string][] {
  const { identity } = session;
  const values: [string | undefined, string | undefined][] = [
    [config.plain.user, identity.userId ?? identity.sub],
    [config.plain.email, identity.email],
    [config.plain.name, identity.name],
    [
      config.plain.groups,
      identity.groups.length > 0 ? identity.groups.map(groupListItem).join(',') : undefined,
    ],
    [config.plain.tenant, session.tenant],
  ];
  const pairs: [string, string][] = [];
  // A missing claim means no header at all, never an empty or client-supplied one.
  for (const [name, value] of values) if (name && value) pairs.push([name, headerValue(value)]);
  return pairs;
}

/**
 * One group in the comma-separated header: `%` and `,` are percent-encoded so a
 * group named "staff,app-admins" can never read as membership of app-admins.
 */
function groupListItem(group: string): string {
  return group.replaceAll('%', '%25').replaceAll(',', '%2C');
}

/**
 * Header values travel as bytes: UTF-8 text is sent as its UTF-8 bytes (the
 * latin1 string Node writes byte for byte), control characters dropped so a
 * claim can never split a header.
 */
export function headerValue(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '');
  return Buffer.from(clean, 'utf8').toString('latin1');
}
