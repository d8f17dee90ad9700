/**
 * Shared state that must outlive one request and, with several replicas, be
 * seen by all of them: server-side session data (tokens too large or too
 * secret for the cookie), indexes for logout, and replay caches. Every entry
 * has a TTL. This interface is owned by its consumers (sessions, protocols);
 * backends: memory (one process, tests), SQLite (embedded, one replica) and
 * Redis (shared by many replicas). Calls on a closed store reject.
 */
import type { RevocationBus } from './revocation-bus.ts';

export interface Store {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Records `key` unless it exists; true when it was new. The basis of every replay check. */
  addOnce(key: string, ttlSeconds: number): Promise<boolean>;
  /** Adds `member` to the set at `key`; the set lives at least `ttlSeconds` more. */
  addToSet(key: string, member: string, ttlSeconds: number): Promise<void>;
  members(key: string): Promise<string[]>;
  close(): Promise<void>;
}

/** What every backend provides: the key-value store and the revocation bus over the same connection. */
export type SharedStore = Store & RevocationBus;

/** TTLs in milliseconds, at least 1 ms (a zero or negative TTL stores something already expired). */
export function ttlMillis(ttlSeconds: number): number {
  return Math.max(1, Math.ceil(ttlSeconds * 1000));
}

/** Key namespaces, in one place so backends and tests agree. */
export const STORE_KEYS = {
  sessionData: (sid: string) => `session:${sid}`,
  refreshLock: (sid: string) => `refresh-lock:${sid}`,
  idpSession: (tenant: string, idp: string, idpSid: string) => `idp-sid:${tenant}:${idp}:${idpSid}`,
  oidcState: (state: string) => `oidc-state:${state}`,
  logoutJti: (issuer: string, jti: string) => `logout-jti:${issuer}:${jti}`,
} as const;
