/**
 * Session lifetimes beyond the absolute expiry the reader enforces: the idle
 * timeout (a rolling cookie, renewed at most once a minute so an active user
 * costs one seal per minute, not per request) and whether an expired session
 * needs the IdP to authenticate the user again.
 */
import type { Session } from './session.ts';

/** Renew the last-activity time at most this often. */
export const ACTIVITY_RENEWAL_SECONDS = 60;

export type IdleState = 'active' | 'renew' | 'idle';

export function idleState(session: Session, idleTimeoutSeconds: number, now: number): IdleState {
  const inactive = now - (session.seen ?? session.iat);
  if (inactive >= idleTimeoutSeconds) return 'idle';
  return inactive >= ACTIVITY_RENEWAL_SECONDS ? 'renew' : 'active';
}

/** True when the user's last authentication at the IdP is older than the tenant allows. */
export function needsReauthentication(
  session: Session,
  reauthenticateAfterSeconds: number | undefined,
  now: number,
): boolean {
  if (reauthenticateAfterSeconds === undefined) return false;
  return (session.identity.authTime ?? session.iat) + reauthenticateAfterSeconds <= now;
}
