/**
 * Revocations travel between replicas through the store: each backend keeps
 * them (so a replica that starts or reconnects loads a snapshot) and delivers
 * new ones to every subscriber at once (so a logout on one replica is
 * enforced by all of them within milliseconds). Times are epoch seconds.
 */

/** One session revoked until its own expiry. */
export interface SessionRevocation {
  readonly kind: 'session';
  readonly sid: string;
  readonly until: number;
}

/** Every session of a user issued at or before `before`, kept until `until`. */
export interface UserRevocation {
  readonly kind: 'user';
  readonly userKey: string;
  readonly before: number;
  readonly until: number;
}

export type RevocationEvent = SessionRevocation | UserRevocation;

/** Whether the backend can serve commands and deliver events right now. */
export type BusStatus = 'up' | 'down';

export interface RevocationBus {
  /** Persists the event (until `event.until`) and delivers it to every subscriber, this process included. */
  publishRevocation(event: RevocationEvent): Promise<void>;
  /** Calls `handler` for every event published from now on; returns the unsubscribe function. */
  subscribeRevocations(handler: (event: RevocationEvent) => void): () => void;
  /** Every event whose `until` has not passed: the snapshot a view starts from and reloads after an outage. */
  loadRevocations(): Promise<RevocationEvent[]>;
  /**
   * Resolves when the backend answers and event delivery is live; rejects otherwise.
   * Embedded backends always resolve.
   */
  ping(): Promise<void>;
  /**
   * Tells `listener` when the backend drops ('down') or is back with delivery
   * live again ('up'); returns the unsubscribe function. Embedded backends never call it.
   */
  onStatusChange(listener: (status: BusStatus) => void): () => void;
}

/** Parses an event from the wire or a row; undefined for anything malformed (never trust the channel). */
export function parseRevocationEvent(text: string): RevocationEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.until !== 'number' || !Number.isFinite(v.until)) return undefined;
  if (v.kind === 'session' && typeof v.sid === 'string')
    return { kind: 'session', sid: v.sid, until: v.until };
  if (
    v.kind === 'user' &&
    typeof v.userKey === 'string' &&
    typeof v.before === 'number' &&
    Number.isFinite(v.before)
  ) {
    return { kind: 'user', userKey: v.userKey, before: v.before, until: v.until };
  }
  return undefined;
}

/** The canonical wire form: fixed key order, so equal events are equal strings (Redis dedupes them). */
export function serializeRevocationEvent(event: RevocationEvent): string {
  return event.kind === 'session'
    ? JSON.stringify({ kind: 'session', sid: event.sid, until: event.until })
    : JSON.stringify({ kind: 'user', userKey: event.userKey, before: event.before, until: event.until });
}
