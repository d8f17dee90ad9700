/**
 * Keeps a session in step with its IdP when the IdP entry asks for it
 * (`refresh.enabled`): every `intervalSeconds` the session's refresh token
 * (kept server side) is used once. New claims go through the tenant's
 * mapping, directory and login policy again; a changed identity moves the
 * session to a new sid (the old one is revoked, so the old cookie stops
 * working), and an identity those refuse, like an IdP that refuses the
 * refresh token, ends the session. An unreachable IdP leaves the session
 * alone and is asked again shortly. Replicas take a store lock per session
 * before refreshing, so a rotating refresh token is never used twice.
 *
 * The hot path calls `due()`, a map lookup; the store is read once per
 * session per process, then only when a refresh is due.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import { SlussError } from '../errors.ts';
import type { Identity, MfaSignal } from '../identity/identity.ts';
import { identityFromOidcClaims } from '../identity/identity.ts';
import type { Audit } from '../observability/audit.ts';
import type { SessionReader } from './reader.ts';
import type { RevocationView } from './revocations.ts';
import type { Session } from './session.ts';
import { newSessionId } from './session.ts';
import type { SessionCookies } from './session-cookie.ts';
import type { SessionDataStore, StoredSessionData } from './session-data.ts';

/** After the IdP could not be reached, ask again this much later. */
const RETRY_AFTER_UNAVAILABLE_SECONDS = 30;

/** What the refresher needs from an IdP's relying party (owned here, implemented by protocols/oidc). */
export interface RefreshingIdp {
  readonly idp: {
    readonly id: string;
    readonly refresh: { readonly intervalSeconds: number };
    readonly mfa: MfaSignal;
  };
  refresh(
    refreshToken: string,
    subject: { issuer: string; sub: string },
  ): Promise<{ claims: Record<string, unknown> | undefined; refreshToken: string; idToken?: string }>;
}

/** How long one replica holds a session's refresh lock (longer than any IdP call should take). */
const REFRESH_LOCK_SECONDS = 30;

/**
 * Re-applies the tenant's mapping, directory and login policy to refreshed
 * claims, as a login does: the identity to keep, or why the user may no longer sign in.
 */
export type Remap = (
  base: Identity,
  claims: Readonly<Record<string, unknown>>,
) => Promise<{ readonly identity: Identity } | { readonly denied: string }>;

export type RefreshOutcome =
  | { readonly session: Session; readonly setCookies?: readonly string[] }
  | { readonly rejected: 'revoked' };

export interface RefresherDependencies {
  readonly sessionData: SessionDataStore;
  readonly sessions: SessionReader;
  readonly sessionCookies: SessionCookies;
  readonly revocations: RevocationView;
  /** Called when a session's identity changed or ended, to drop cached headers. */
  readonly evictHeaders: (sid: string) => void;
  readonly clock: Clock;
  readonly log: Logger;
  readonly audit?: Audit;
}

export class SessionRefresher {
  /** When each session was last confirmed by its IdP (epoch seconds). */
  private readonly checkedAt = new LRUCache<string, number>({ max: 50_000 });
  private readonly inFlight = new Map<string, Promise<RefreshOutcome>>();
  private readonly deps: RefresherDependencies;

  constructor(deps: RefresherDependencies) {
    this.deps = deps;
  }

  /** True when this session must be checked (or its last check is not known to this process). */
  due(session: Session, intervalSeconds: number): boolean {
    const checked = this.checkedAt.get(session.sid);
    return checked === undefined || epochSeconds(this.deps.clock) - checked >= intervalSeconds;
  }

  /** Checks the session at its IdP; concurrent requests of one session share one check. */
  refresh(
    session: Session,
    rp: RefreshingIdp,
    cookieHeader: string | undefined,
    remap?: Remap,
  ): Promise<RefreshOutcome> {
    const running = this.inFlight.get(session.sid);
    if (running) return running;
    const attempt = this.check(session, rp, cookieHeader, remap).finally(() =>
      this.inFlight.delete(session.sid),
    );
    this.inFlight.set(session.sid, attempt);
    return attempt;
  }

  private async check(
    session: Session,
    rp: RefreshingIdp,
    cookieHeader: string | undefined,
    remap: Remap | undefined,
  ): Promise<RefreshOutcome> {
    const { deps } = this;
    const now = epochSeconds(deps.clock);
    const interval = rp.idp.refresh.intervalSeconds;
    // Read before locking, so a session another replica just refreshed costs no lock write.
    if (!(await this.dueData(session.sid, now, interval))) return { session };
    // Another replica may be refreshing this session right now: with rotating refresh tokens a
    // second use of the same token looks like theft to the IdP and ends the session there.
    if (!(await deps.sessionData.lockRefresh(session.sid, REFRESH_LOCK_SECONDS))) {
      this.checkedAt.set(session.sid, now - interval + RETRY_AFTER_UNAVAILABLE_SECONDS);
      return { session };
    }
    try {
      // Read again under the lock: the holder before us may have rotated the token meanwhile.
      const current = await this.dueData(session.sid, now, interval);
      return current ? await this.refreshLocked(session, current, rp, cookieHeader, remap) : { session };
    } finally {
      await deps.sessionData.unlockRefresh(session.sid);
    }
  }

  /**
   * The stored data when a refresh is due; otherwise undefined, noting when to look again:
   * there is nothing to refresh with (the IdP issued no refresh token), or another replica just did.
   */
  private async dueData(
    sid: string,
    now: number,
    interval: number,
  ): Promise<(StoredSessionData & { refreshToken: string }) | undefined> {
    const data = await this.deps.sessionData.load(sid);
    if (data?.refreshToken && now - data.checkedAt >= interval)
      return { ...data, refreshToken: data.refreshToken };
    this.checkedAt.set(sid, data?.refreshToken ? data.checkedAt : now);
    return undefined;
  }

  private async refreshLocked(
    session: Session,
    data: StoredSessionData & { refreshToken: string },
    rp: RefreshingIdp,
    cookieHeader: string | undefined,
    remap: Remap | undefined,
  ): Promise<RefreshOutcome> {
    const { deps } = this;
    const now = epochSeconds(deps.clock);
    const interval = rp.idp.refresh.intervalSeconds;
    const log = deps.log.child({ tenant: session.tenant, idp: session.idp, sid: session.sid });
    let result: Awaited<ReturnType<RefreshingIdp['refresh']>>;
    try {
      result = await rp.refresh(data.refreshToken, {
        issuer: session.identity.issuer,
        sub: session.identity.sub,
      });
    } catch (error) {
      if (error instanceof SlussError && error.code === 'ERR_IDP_UNAVAILABLE') {
        this.checkedAt.set(session.sid, now - interval + RETRY_AFTER_UNAVAILABLE_SECONDS);
        log.warn({ err: error.cause ?? error }, 'IdP unreachable for session refresh; the session continues');
        return { session };
      }
      await this.end(session, 'idp-refused-refresh');
      log.info(
        { event: 'session_ended_by_idp', sub: session.identity.sub, err: (error as Error).cause ?? error },
        'IdP refused the refresh; session ended',
      );
      return { rejected: 'revoked' };
    }
    const stored: StoredSessionData = {
      ...data,
      refreshToken: result.refreshToken,
      ...(result.idToken ? { idToken: result.idToken } : {}),
      checkedAt: now,
    };
    let identity = session.identity;
    if (result.claims) {
      const base = withLoginFacts(identityFromOidcClaims(result.claims, rp.idp.mfa), session.identity);
      // The tenant's mapping, directory and policy, as at login: a user they refuse now loses the session.
      const verdict = remap ? await remap(base, result.claims) : { identity: base };
      if ('denied' in verdict) {
        await this.end(session, 'refused-on-refresh', { denied: verdict.denied });
        log.info(
          { event: 'session_refused_on_refresh', sub: session.identity.sub, reason: verdict.denied },
          'refreshed identity refused by the tenant; session ended',
        );
        return { rejected: 'revoked' };
      }
      identity = verdict.identity;
    }
    if (sameIdentity(identity, session.identity)) {
      await deps.sessionData.save(session, stored);
      this.checkedAt.set(session.sid, now);
      return { session };
    }

    // A new sid for the new identity: the old cookie (same sid otherwise) would keep the old
    // identity, never be refreshed again (checks are per sid) and share its cached identity headers.
    const updated: Session = { ...session, sid: newSessionId(), identity };
    await deps.sessionData.save(updated, stored);
    this.checkedAt.set(updated.sid, now);
    deps.revocations.revoke(session.sid, session.exp);
    deps.evictHeaders(session.sid);
    await deps.sessionData.remove(session.sid);
    const setCookies = deps.sessionCookies.write(
      await deps.sessions.seal(updated),
      session.exp - now,
      cookieHeader,
    );
    log.info(
      { event: 'session_refreshed', sub: identity.sub, newSid: updated.sid },
      'identity updated from the IdP',
    );
    return { session: updated, setCookies };
  }

  /** Ends a session on every replica and forgets its server-side data. */
  private async end(
    session: Session,
    reason: 'idp-refused-refresh' | 'refused-on-refresh',
    detail: Record<string, string> = {},
  ): Promise<void> {
    const { deps } = this;
    deps.revocations.revoke(session.sid, session.exp);
    deps.evictHeaders(session.sid);
    await deps.sessionData.remove(session.sid);
    deps.audit?.record({
      type: 'session_revoked',
      tenant: session.tenant,
      idp: session.idp,
      sub: session.identity.sub,
      sid: session.sid,
      reason,
      ...detail,
    });
  }
}

/**
 * A refreshed ID token may omit auth_time, amr and acr: the user did not authenticate
 * again, so what the login established still holds (and an MFA policy still sees it).
 */
function withLoginFacts(identity: Identity, previous: Identity): Identity {
  let result = identity;
  if (result.authTime === undefined && previous.authTime !== undefined)
    result = { ...result, authTime: previous.authTime };
  if (result.amr === undefined && result.acr === undefined) {
    const { amr, acr, mfa } = previous;
    result = { ...result, ...(amr ? { amr } : {}), ...(acr ? { acr } : {}), mfa };
  }
  return result;
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
