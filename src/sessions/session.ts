/**
 * A sluss session: who the user is, for which tenant and IdP, and until when.
 * It lives sealed in a cookie; its `sid` is the key for revocation and for the
 * per-session identity-header cache.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { Identity } from '../identity/identity.ts';

export const SESSION_VERSION = 1;

export interface Session {
  readonly v: typeof SESSION_VERSION;
  /** Random session ID, new at every login (no fixation). */
  readonly sid: string;
  readonly tenant: string;
  readonly idp: string;
  readonly identity: Identity;
  /** The IdP's own session ID (OIDC `sid` claim), for back-channel logout. */
  readonly idpSid?: string;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  /** Absolute expiry, seconds since the epoch. */
  readonly exp: number;
  /** Last activity (idle timeout), seconds since the epoch; renewed at most once a minute. */
  readonly seen?: number;
}

export function newSessionId(): string {
  return randomBytes(18).toString('base64url');
}

export interface NewSessionInput {
  readonly tenant: string;
  readonly idp: string;
  readonly identity: Identity;
  readonly maxAgeSeconds: number;
  readonly idpSid?: string | undefined;
  /** Latest allowed expiry from the IdP's side (SessionNotOnOrAfter, auth_time + max_age), epoch seconds. */
  readonly notAfter?: number | undefined;
}

export function createSession(input: NewSessionInput, clock: Clock): Session {
  const now = epochSeconds(clock);
  return {
    v: SESSION_VERSION,
    sid: newSessionId(),
    tenant: input.tenant,
    idp: input.idp,
    identity: input.identity,
    ...(input.idpSid ? { idpSid: input.idpSid } : {}),
    iat: now,
    exp: Math.min(now + input.maxAgeSeconds, input.notAfter ?? Number.POSITIVE_INFINITY),
    seen: now,
  };
}

/** Structural check of an unsealed value: a cookie sealed with our key but of another shape is not a session. */
export function isSession(value: unknown): value is Session {
  if (value === null || typeof value !== 'object') return false;
  const s = value as Record<string, unknown>;
  const identity = s.identity as Record<string, unknown> | undefined;
  return (
    s.v === SESSION_VERSION &&
    typeof s.sid === 'string' &&
    typeof s.tenant === 'string' &&
    typeof s.idp === 'string' &&
    typeof s.iat === 'number' &&
    typeof s.exp === 'number' &&
    identity !== undefined &&
    identity !== null &&
    typeof identity.sub === 'string' &&
    typeof identity.issuer === 'string' &&
    Array.isArray(identity.groups)
  );
}
