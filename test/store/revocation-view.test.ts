/**
 * StoreRevocationView on the memory store and on a bus the test can take
 * down: lookups, publishing, the snapshot, the grace rule, the outbox and
 * the repair of a store that lost its data.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { epochSeconds, ManualClock } from '../../src/clock.ts';
import type { Identity } from '../../src/identity/identity.ts';
import { userKeyOf } from '../../src/sessions/revocations.ts';
import type { Session } from '../../src/sessions/session.ts';
import { createSession } from '../../src/sessions/session.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { BusStatus, RevocationBus, RevocationEvent } from '../../src/store/revocation-bus.ts';
import type { RevocationViewHooks } from '../../src/store/revocation-view.ts';
import { StoreRevocationView } from '../../src/store/revocation-view.ts';

const identity: Identity = { sub: 'alice', issuer: 'https://idp.example', groups: [], mfa: false };

/** A bus over a MemoryStore that the test can take down and bring back, as Redis would go. */
class FlakyBus implements RevocationBus {
  down = false;
  /** Swappable, to stand for a Redis that came back empty. */
  inner: MemoryStore;
  private readonly listeners = new Set<(status: BusStatus) => void>();

  constructor(inner: MemoryStore) {
    this.inner = inner;
  }

  private check(): void {
    if (this.down) throw new Error('store unavailable');
  }

  setDown(down: boolean): void {
    this.down = down;
    for (const listener of this.listeners) listener(down ? 'down' : 'up');
  }

  async publishRevocation(event: RevocationEvent): Promise<void> {
    this.check();
    await this.inner.publishRevocation(event);
  }

  subscribeRevocations(handler: (event: RevocationEvent) => void): () => void {
    // Like pub/sub, nothing is delivered while the connection is down.
    return this.inner.subscribeRevocations((event) => {
      if (!this.down) handler(event);
    });
  }

  async loadRevocations(): Promise<RevocationEvent[]> {
    this.check();
    return this.inner.loadRevocations();
  }

  async ping(): Promise<void> {
    this.check();
  }

  onStatusChange(listener: (status: BusStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const views: StoreRevocationView[] = [];
afterEach(async () => {
  for (const view of views.splice(0)) await view.stop();
});

function setup(graceSeconds = 30) {
  const clock = new ManualClock(Date.now());
  const store = new MemoryStore(clock);
  const counts = { failClosed: 0, health: [] as boolean[], errors: 0 };
  const hooks: RevocationViewHooks = {
    onFailClosed: () => counts.failClosed++,
    onHealthChange: (ok) => counts.health.push(ok),
    onError: () => counts.errors++,
  };
  const view = (bus: RevocationBus = store) => {
    const v = new StoreRevocationView({ bus, clock, graceSeconds, hooks, probeIntervalMs: 3_600_000 });
    views.push(v);
    return v;
  };
  const session = (sub = 'alice'): Session =>
    createSession({ tenant: 't', idp: 'op', identity: { ...identity, sub }, maxAgeSeconds: 3600 }, clock);
  return { clock, store, view, session, counts };
}

describe('StoreRevocationView', () => {
  it('refuses every session until its first snapshot is loaded', async () => {
    const { view, session, counts } = setup();
    const v = view();
    expect(v.isRevoked(session())).toBe(true);
    expect(v.health().ok).toBe(false);
    await v.start();
    expect(v.isRevoked(session())).toBe(false);
    expect(v.health().ok).toBe(true);
    expect(counts.failClosed).toBe(1);
  });

  it('applies a revocation locally at once and on every other view of the store', async () => {
    const { view, session } = setup();
    const a = view();
    const b = view();
    await Promise.all([a.start(), b.start()]);
    const s = session();
    a.revoke(s.sid, s.exp);
    expect(a.isRevoked(s)).toBe(true); // synchronously, before the publish settles
    await a.flush();
    expect(b.isRevoked(s)).toBe(true);
    expect(b.isRevoked(session())).toBe(false);
  });

  it('a revocation resolves true once the store has it, false when it could only be parked', async () => {
    const { view, store } = setup();
    const bus = new FlakyBus(store);
    const a = view(bus);
    await a.start();
    expect(await a.revokeUser('t\nlogin\nalice', 1, 2)).toBe(true);
    bus.down = true;
    expect(await a.revokeUser('t\nlogin\nbob', 1, 2)).toBe(false);
    expect(a.pendingPublishes()).toBe(1);
  });

  it('revokes a user: sessions issued at or before the time, not later ones', async () => {
    const { view, session, clock } = setup();
    const a = view();
    const b = view();
    await Promise.all([a.start(), b.start()]);
    const old = session();
    const other = session('bob');
    clock.advance(5000);
    a.revokeUser(userKeyOf(old), epochSeconds(clock), epochSeconds(clock) + 3600);
    await a.flush();
    clock.advance(1000);
    const fresh = session();
    for (const v of [a, b]) {
      expect(v.isRevoked(old)).toBe(true);
      expect(v.isRevoked(fresh)).toBe(false);
      expect(v.isRevoked(other)).toBe(false);
    }
  });

  it('starts from the snapshot of revocations made before it', async () => {
    const { view, session } = setup();
    const a = view();
    await a.start();
    const s = session();
    a.revoke(s.sid, s.exp);
    await a.flush();
    const late = view();
    await late.start();
    expect(late.isRevoked(s)).toBe(true);
  });

  it('store down: last known view within grace, fail closed after, snapshot reloaded on recovery', async () => {
    const { view, session, clock, store, counts } = setup(30);
    const bus = new FlakyBus(store);
    const a = view(bus);
    await a.start();
    const revoked = session();
    const fine = session('bob');
    a.revoke(revoked.sid, revoked.exp);
    await a.flush();

    bus.setDown(true);
    expect(a.health()).toEqual({ ok: false, since: clock.now() });
    clock.advance(30_000);
    expect(a.isRevoked(revoked)).toBe(true);
    expect(a.isRevoked(fine)).toBe(false);
    clock.advance(1);
    expect(a.isRevoked(fine)).toBe(true);

    // Meanwhile another replica revoked a session; only the store has it.
    const elsewhere = session('carol');
    await store.publishRevocation({ kind: 'session', sid: elsewhere.sid, until: elsewhere.exp });
    expect(a.isRevoked(elsewhere)).toBe(true); // fail closed, not because it knows

    bus.setDown(false);
    await a.flush();
    await expect.poll(() => a.health().ok).toBe(true);
    expect(a.isRevoked(fine)).toBe(false);
    expect(a.isRevoked(elsewhere)).toBe(true);
    expect(counts.health).toEqual([true, false, true]);
  });

  it('a revocation made while the store is down applies locally and is published on recovery', async () => {
    const { view, session, store } = setup();
    const bus = new FlakyBus(store);
    const a = view(bus);
    const b = view(store);
    await Promise.all([a.start(), b.start()]);
    bus.setDown(true);
    const s = session();
    a.revoke(s.sid, s.exp);
    await a.flush();
    expect(a.isRevoked(s)).toBe(true);
    expect(b.isRevoked(s)).toBe(false);
    expect(a.pendingPublishes()).toBe(1);
    bus.setDown(false);
    await expect.poll(() => b.isRevoked(s)).toBe(true);
    expect(a.pendingPublishes()).toBe(0);
  });

  it('notices an outage and a recovery by probing when the store says nothing', async () => {
    const { clock, store, session } = setup();
    const bus = new FlakyBus(store);
    const a = new StoreRevocationView({ bus, clock, graceSeconds: 0, probeIntervalMs: 10 });
    views.push(a);
    await a.start();
    bus.down = true; // silently: no status event
    await expect.poll(() => a.health().ok).toBe(false);
    clock.advance(1);
    expect(a.isRevoked(session())).toBe(true);
    bus.down = false;
    await expect.poll(() => a.health().ok).toBe(true);
    expect(a.isRevoked(session())).toBe(false);
  });

  it('puts back what a store lost (restarted empty) from the views that still know it', async () => {
    const { view, session, clock, store } = setup();
    const bus = new FlakyBus(store);
    const a = view(bus);
    await a.start();
    const s = session();
    a.revoke(s.sid, s.exp);
    a.revokeUser('t\niss\nbob', epochSeconds(clock), epochSeconds(clock) + 60);
    await a.flush();

    bus.setDown(true);
    const emptied = new MemoryStore(clock);
    bus.inner = emptied;
    bus.setDown(false);
    await expect.poll(() => a.health().ok).toBe(true);
    expect((await emptied.loadRevocations()).map((e) => e.kind).sort()).toEqual(['session', 'user']);
    const late = view(emptied);
    await late.start();
    expect(late.isRevoked(s)).toBe(true);
    await emptied.close();
  });

  it('drops entries once the sessions they cover have expired', async () => {
    const { view, session, clock } = setup();
    const a = view();
    await a.start();
    const s = session();
    a.revoke(s.sid, s.exp);
    await a.flush();
    clock.advance(3601_000);
    a.sweep();
    expect(a.isRevoked(s)).toBe(false);
  });
});
