/**
 * Reads the session from a request's cookie. The unsealed value is cached per
 * cookie value (unsealing is the expensive part), but expiry, revocation and
 * the tenant binding are checked on every call, so the cache can never keep a
 * dead session alive.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { RevocationView } from './revocations.ts';
import type { CookieSealer } from './sealed-cookie.ts';
import { MAX_SEALED_LENGTH } from './sealed-cookie.ts';
import type { Session } from './session.ts';
import { isSession } from './session.ts';

/** Why a request has no usable session; the reason is logged, never shown. */
export type SessionRejection = 'none' | 'invalid' | 'expired' | 'revoked' | 'wrong-tenant';

export type SessionLookup =
  | { readonly session: Session }
  | {
      readonly rejected: SessionRejection /** The session, when it was one but is no longer usable. */;
      readonly expired?: Session;
    };

const NOT_A_SESSION = 'not-a-session' as const;
const MAX_SEAL_TTL_SECONDS = 8 * 24 * 3600;

/**
 * The cache is bounded by bytes as well as entries: keys are whole cookie
 * values (up to ~11 KB each), so 50,000 of them could exceed a sidecar's heap.
 * A sealed value is about 1.4× its JSON, so key + unsealed object ≈ 2 × key.
 */
const DEFAULT_CACHE_BYTES = 48 * 1024 * 1024;
function cachedSize(value: Session | typeof NOT_A_SESSION, key: string): number {
  return value === NOT_A_SESSION ? key.length + 64 : key.length * 2 + 256;
}

export class SessionReader {
  private readonly cache: LRUCache<string, Session | typeof NOT_A_SESSION>;
  private readonly sealer: CookieSealer;
  private readonly revocations: RevocationView;
  private readonly clock: Clock;

  constructor(
    sealer: CookieSealer,
    revocations: RevocationView,
    clock: Clock,
    cacheSize = 50_000,
    cacheBytes = DEFAULT_CACHE_BYTES,
  ) {
    this.sealer = sealer;
    this.revocations = revocations;
    this.clock = clock;
    this.cache = new LRUCache({ max: cacheSize, maxSize: cacheBytes, sizeCalculation: cachedSize });
  }

  /**
   * Synchronous fast path: the verdict when the cookie value was seen before,
   * or undefined when it must be unsealed with `lookup`.
   */
  lookupCached(cookieValue: string | undefined, tenant: string): SessionLookup | undefined {
    if (!cookieValue) return { rejected: 'none' };
    const cached = this.cache.get(cookieValue);
    if (cached === undefined) return undefined;
    return this.check(cached, tenant);
  }

  async lookup(cookieValue: string | undefined, tenant: string): Promise<SessionLookup> {
    const fast = this.lookupCached(cookieValue, tenant);
    if (fast || !cookieValue) return fast ?? { rejected: 'none' };
    if (cookieValue.length > MAX_SEALED_LENGTH) return { rejected: 'invalid' }; // never cached
    const unsealed = await this.sealer.unseal(cookieValue, MAX_SEAL_TTL_SECONDS);
    const value = isSession(unsealed) ? unsealed : NOT_A_SESSION;
    this.cache.set(cookieValue, value);
    return this.check(value, tenant);
  }

  private check(value: Session | typeof NOT_A_SESSION, tenant: string): SessionLookup {
    if (value === NOT_A_SESSION) return { rejected: 'invalid' };
    if (value.exp <= epochSeconds(this.clock)) return { rejected: 'expired', expired: value };
    if (this.revocations.isRevoked(value)) return { rejected: 'revoked' };
    if (value.tenant !== tenant) return { rejected: 'wrong-tenant' };
    return { session: value };
  }

  /** Bytes the cache accounts for (see cachedSize); for the metrics and tests. */
  get cachedBytes(): number {
    return this.cache.calculatedSize;
  }

  /** Seals a new session into a cookie value, valid until the session's expiry. */
  seal(session: Session): Promise<string> {
    const ttl = Math.max(60, session.exp - epochSeconds(this.clock));
    return this.sealer.seal(session, Math.min(ttl, MAX_SEAL_TTL_SECONDS));
  }
}
