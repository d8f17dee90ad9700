/**
 * The revocation view: session IDs that must no longer be accepted, checked on
 * every request with a map lookup. Entries are kept until the session would
 * have expired anyway. This in-memory view is per process; the shared store
 * (SQLite/Redis) that keeps every replica's view current plugs in behind the
 * same interface.
 */
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';

export interface RevocationView {
  isRevoked(sid: string): boolean;
  /** Revokes `sid` until `untilEpochSeconds` (the session's own expiry). */
  revoke(sid: string, untilEpochSeconds: number): void;
}

const SWEEP_EVERY = 1024;

export class MemoryRevocations implements RevocationView {
  private readonly revoked = new Map<string, number>();
  private writes = 0;
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  isRevoked(sid: string): boolean {
    return this.revoked.size > 0 && this.revoked.has(sid);
  }

  revoke(sid: string, untilEpochSeconds: number): void {
    this.revoked.set(sid, untilEpochSeconds);
    if (++this.writes % SWEEP_EVERY === 0) this.sweep();
  }

  /** Drops entries whose session has expired on its own. */
  sweep(): void {
    const now = epochSeconds(this.clock);
    for (const [sid, until] of this.revoked) if (until < now) this.revoked.delete(sid);
  }
}
