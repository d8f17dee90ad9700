/**
 * The revocation view every request consults, kept current from the store:
 * two maps looked up synchronously (session IDs; per-user "revoked before"
 * times), filled from a snapshot at start and after every outage, and by
 * the store's events in between. A revocation made here applies at once and
 * is published to every other replica.
 *
 * Store unavailable: the view keeps answering from what it knows for
 * `graceSeconds`, then refuses every session (fail closed) until the store
 * is back and the snapshot reloaded. Before its first snapshot it refuses
 * every session too: it has no "last known view" to trust yet.
 */
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { RevocationView } from '../sessions/revocations.ts';
import { userKeysOf } from '../sessions/revocations.ts';
import type { Session } from '../sessions/session.ts';
import type { RevocationBus, RevocationEvent } from './revocation-bus.ts';

/** Where an applied event came from: this replica, the channel (any replica, this one's echo too), or a snapshot. */
export type RevocationSource = 'local' | 'remote' | 'snapshot';

/** Callbacks for metrics and logs; each is optional and must not throw. */
export interface RevocationViewHooks {
  onHealthChange?(ok: boolean, sinceMs: number): void;
  onEvent?(event: RevocationEvent, source: RevocationSource): void;
  onSnapshot?(events: number, durationMs: number): void;
  /** Called per `isRevoked` answered "revoked" only because the store is down past grace (or never loaded). */
  onFailClosed?(): void;
  onError?(error: unknown, during: 'publish' | 'snapshot' | 'probe'): void;
}

export interface StoreRevocationViewOptions {
  readonly bus: RevocationBus;
  readonly clock: Clock;
  /** How long sessions keep working on the last known view while the store is unreachable. */
  readonly graceSeconds: number;
  /** How often the store is pinged to notice silent outages and recoveries (default 1000). */
  readonly probeIntervalMs?: number;
  /** How often expired entries are dropped (default 60 000). */
  readonly sweepIntervalMs?: number;
  readonly hooks?: RevocationViewHooks;
}

export interface StoreHealth {
  readonly ok: boolean;
  /** Epoch milliseconds of the last change of `ok` (or of construction). */
  readonly since: number;
}

export class StoreRevocationView implements RevocationView {
  private readonly sessions = new Map<string, number>();
  private readonly users = new Map<string, { before: number; until: number }>();
  private readonly bus: RevocationBus;
  private readonly clock: Clock;
  private readonly graceMs: number;
  private readonly hooks: RevocationViewHooks;
  private readonly probeIntervalMs: number;
  private readonly sweepIntervalMs: number;
  /** Published locally but not yet accepted by the store; retried on recovery. */
  private readonly outbox = new Map<string, RevocationEvent>();
  private readonly inFlight = new Set<Promise<boolean>>();
  private ok = false;
  private since: number;
  private loaded = false;
  private recovering: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void)[] = [];
  private stopped = false;

  constructor(options: StoreRevocationViewOptions) {
    this.bus = options.bus;
    this.clock = options.clock;
    this.graceMs = Math.max(0, options.graceSeconds) * 1000;
    this.hooks = options.hooks ?? {};
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.since = this.clock.now();
  }

  /**
   * Subscribes, then loads the snapshot (in that order, so nothing falls in
   * between). Never throws: with the store down, `health()` says so and the
   * view recovers on its own when the store comes back.
   */
  async start(): Promise<void> {
    if (this.stopped) throw new Error('revocation view is stopped');
    if (this.timers.length > 0) return;
    this.unsubscribe.push(
      this.bus.subscribeRevocations((event) => this.apply(event, 'remote')),
      this.bus.onStatusChange((status) => {
        if (status === 'down') this.markDown();
        else void this.recover();
      }),
    );
    const probe = setInterval(() => void this.probe(), this.probeIntervalMs);
    const sweep = setInterval(() => this.sweep(), this.sweepIntervalMs);
    probe.unref();
    sweep.unref();
    this.timers.push(probe, sweep);
    await this.recover();
  }

  isRevoked(session: Session): boolean {
    if (!this.ok && (!this.loaded || this.clock.now() - this.since > this.graceMs)) {
      this.hooks.onFailClosed?.();
      return true;
    }
    if (this.sessions.size > 0 && this.sessions.has(session.sid)) return true;
    if (this.users.size === 0) return false;
    // By protocol subject, IdP user ID and login: SCIM knows users by the latter two.
    for (const key of userKeysOf(session)) {
      const user = this.users.get(key);
      if (user !== undefined && session.iat <= user.before) return true;
    }
    return false;
  }

  /**
   * Applies at once on this replica. The promise (never rejected) says whether the store
   * accepted it (true) or it is parked for retry on recovery (false); await it when the
   * caller must not answer before every replica can know, e.g. SCIM deprovisioning.
   */
  revoke(sid: string, untilEpochSeconds: number): Promise<boolean> {
    return this.publish({ kind: 'session', sid, until: untilEpochSeconds });
  }

  /** As `revoke`, for every session of `userKey` issued at or before `beforeEpochSeconds`. */
  revokeUser(userKey: string, beforeEpochSeconds: number, untilEpochSeconds: number): Promise<boolean> {
    return this.publish({ kind: 'user', userKey, before: beforeEpochSeconds, until: untilEpochSeconds });
  }

  health(): StoreHealth {
    return { ok: this.ok, since: this.since };
  }

  /** Resolves when every revocation made so far has been accepted by the store or parked for retry. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Revocations made here that the store has not accepted yet (they are retried on recovery). */
  pendingPublishes(): number {
    return this.outbox.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const off of this.unsubscribe) off();
    this.timers = [];
    this.unsubscribe = [];
    await this.flush();
  }

  /** Drops entries whose sessions have expired on their own. */
  sweep(): void {
    const now = epochSeconds(this.clock);
    for (const [sid, until] of this.sessions) if (until < now) this.sessions.delete(sid);
    for (const [user, entry] of this.users) if (entry.until < now) this.users.delete(user);
    for (const [key, event] of this.outbox) if (event.until < now) this.outbox.delete(key);
  }

  private apply(event: RevocationEvent, source: RevocationSource): void {
    if (event.kind === 'session') {
      this.sessions.set(event.sid, Math.max(event.until, this.sessions.get(event.sid) ?? 0));
    } else {
      const existing = this.users.get(event.userKey);
      this.users.set(event.userKey, {
        before: Math.max(event.before, existing?.before ?? 0),
        until: Math.max(event.until, existing?.until ?? 0),
      });
    }
    this.hooks.onEvent?.(event, source);
  }

  private publish(event: RevocationEvent): Promise<boolean> {
    this.apply(event, 'local');
    const sent = this.send(event);
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
    return sent;
  }

  private async send(event: RevocationEvent): Promise<boolean> {
    try {
      await this.bus.publishRevocation(event);
      return true;
    } catch (error) {
      this.outbox.set(outboxKey(event), event);
      this.hooks.onError?.(error, 'publish');
      this.markDown();
      return false;
    }
  }

  private markDown(): void {
    if (!this.ok) return;
    this.ok = false;
    this.since = this.clock.now();
    this.hooks.onHealthChange?.(false, this.since);
  }

  private markUp(): void {
    if (this.ok) return;
    this.ok = true;
    this.since = this.clock.now();
    this.hooks.onHealthChange?.(true, this.since);
  }

  private async probe(): Promise<void> {
    if (this.recovering) return;
    try {
      await this.bus.ping();
    } catch (error) {
      if (this.ok) this.hooks.onError?.(error, 'probe');
      this.markDown();
      return;
    }
    if (!this.ok) await this.recover();
  }

  /** Retries parked publishes, then reloads the snapshot; healthy only if both worked. One at a time. */
  private recover(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.recovering ??= this.reload().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private async reload(): Promise<void> {
    const started = this.clock.now();
    try {
      for (const [key, event] of [...this.outbox]) {
        await this.bus.publishRevocation(event);
        this.outbox.delete(key);
      }
      const events = await this.bus.loadRevocations();
      const missing = this.missingFrom(events);
      for (const event of events) this.apply(event, 'snapshot');
      // The store lost what this view still knows (Redis restarted without persistence):
      // put it back, so replicas that start later see it too.
      for (const event of missing) await this.bus.publishRevocation(event);
      this.loaded = true;
      this.hooks.onSnapshot?.(events.length, this.clock.now() - started);
      this.markUp();
    } catch (error) {
      this.hooks.onError?.(error, 'snapshot');
      this.markDown();
    }
  }
  /** Entries of this view, still in force, that `snapshot` does not cover. */
  private missingFrom(snapshot: RevocationEvent[]): RevocationEvent[] {
    const now = epochSeconds(this.clock);
    const sids = new Set<string>();
    const before = new Map<string, number>();
    for (const event of snapshot) {
      if (event.kind === 'session') sids.add(event.sid);
      else before.set(event.userKey, Math.max(event.before, before.get(event.userKey) ?? 0));
    }
    const missing: RevocationEvent[] = [];
    for (const [sid, until] of this.sessions) {
      if (until >= now && !sids.has(sid)) missing.push({ kind: 'session', sid, until });
    }
    for (const [userKey, entry] of this.users) {
      if (entry.until >= now && (before.get(userKey) ?? -1) < entry.before) {
        missing.push({ kind: 'user', userKey, before: entry.before, until: entry.until });
      }
    }
    return missing;
  }
}

function outboxKey(event: RevocationEvent): string {
  return event.kind === 'session' ? `s\n${event.sid}` : `u\n${event.userKey}\n${event.before}`;
}
