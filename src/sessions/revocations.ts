/**
 * The revocation view, checked on every request with map lookups: session IDs
 * that must no longer be accepted, and per-user "revoked before" times (a
 * back-channel logout by `sub`, and later SCIM deprovisioning, end every
 * session of that user issued before then). Entries are kept until the
 * sessions they cover would have expired anyway. This view is per process;
 * the shared store that keeps every replica's view current plugs in behind
 * the same interface.
 */
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { Session } from './session.ts';

export interface RevocationView {
  isRevoked(session: Session): boolean;
  /** Revokes one session until `untilEpochSeconds` (its own expiry). */
  revoke(sid: string, untilEpochSeconds: number): void;
  /** Revokes every session of `userKey` issued at or before `beforeEpochSeconds`. */
  revokeUser(userKey: string, beforeEpochSeconds: number, untilEpochSeconds: number): void;
}

/** A user across sessions: per tenant and IdP issuer, since `sub` is only unique per issuer (pairwise). */
export function userKeyOf(session: { tenant: string; identity: { issuer: string; sub: string } }): string {
  return `${session.tenant}\n${session.identity.issuer}\n${session.identity.sub}`;
}

/** The same user as the directory knows them (SCIM): by stable IdP user ID, and by login name. */
export function directoryUserKeys(
  tenant: string,
  user: { idpUserId?: string | undefined; login?: string | undefined; directoryId?: string | undefined },
): string[] {
  const keys: string[] = [];
  if (user.directoryId) keys.push(`${tenant}\ndirectory\n${user.directoryId}`);
  if (user.idpUserId) keys.push(`${tenant}\nidp-user\n${user.idpUserId}`);
  if (user.login) keys.push(`${tenant}\nlogin\n${user.login.toLowerCase()}`);
  return keys;
}

/** Every key a session's user can be revoked by: the protocol subject, the IdP user ID, the login, the directory id. */
export function userKeysOf(session: Session): string[] {
  return [userKeyOf(session), ...directoryUserKeys(session.tenant, session.identity)];
}

const SWEEP_EVERY = 1024;

export class MemoryRevocations implements RevocationView {
  private readonly sessions = new Map<string, number>();
  private readonly users = new Map<string, { before: number; until: number }>();
  private writes = 0;
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  isRevoked(session: Session): boolean {
    if (this.sessions.size > 0 && this.sessions.has(session.sid)) return true;
    if (this.users.size === 0) return false;
    return userKeysOf(session).some((key) => {
      const user = this.users.get(key);
      return user !== undefined && session.iat <= user.before;
    });
  }

  revoke(sid: string, untilEpochSeconds: number): void {
    this.sessions.set(sid, untilEpochSeconds);
    this.afterWrite();
  }

  revokeUser(userKey: string, beforeEpochSeconds: number, untilEpochSeconds: number): void {
    const existing = this.users.get(userKey);
    this.users.set(userKey, {
      before: Math.max(beforeEpochSeconds, existing?.before ?? 0),
      until: Math.max(untilEpochSeconds, existing?.until ?? 0),
    });
    this.afterWrite();
  }

  private afterWrite(): void {
    if (++this.writes % SWEEP_EVERY === 0) this.sweep();
  }

  /** Drops entries whose sessions have expired on their own. */
  sweep(): void {
    const now = epochSeconds(this.clock);
    for (const [sid, until] of this.sessions) if (until < now) this.sessions.delete(sid);
    for (const [user, entry] of this.users) if (entry.until < now) this.users.delete(user);
  }
}
