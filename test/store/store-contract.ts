/**
 * The one contract every Store backend passes (memory, SQLite, Redis): the
 * key-value operations, TTLs, replay-safe addOnce, sets, the revocation bus
 * and close. Each backend's test file calls `storeContract` with a harness.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.ts';
import { epochSeconds } from '../../src/clock.ts';
import type { RevocationEvent } from '../../src/store/revocation-bus.ts';
import type { SharedStore } from '../../src/store/store.ts';

export interface StoreHarness {
  readonly store: SharedStore;
  /** The clock the store was given (revocation snapshots filter by it). */
  readonly clock: Clock;
  /** Lets `ms` pass for TTLs: moves a manual clock, or waits in real time. */
  advance(ms: number): Promise<void>;
  /** Another store on the same backend (same file, same Redis), as a second replica would open it. */
  peer(): Promise<SharedStore>;
  /** True when events published on one store reach subscribers of its peers (Redis), not only its own. */
  readonly deliversAcrossInstances: boolean;
  cleanup(): Promise<void>;
}

/** Polls until `check` passes or `timeoutMs` elapses (events arrive asynchronously on real backends). */
export async function eventually(check: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

function sorted(events: RevocationEvent[]): RevocationEvent[] {
  return [...events].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

export function storeContract(name: string, open: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    const peers: SharedStore[] = [];

    beforeEach(async () => {
      h = await open();
    });

    afterEach(async () => {
      for (const peer of peers.splice(0)) await peer.close();
      await h.cleanup();
    });

    async function peer(): Promise<SharedStore> {
      const store = await h.peer();
      peers.push(store);
      return store;
    }

    it('gets what was set, overwrites, deletes', async () => {
      const { store } = h;
      expect(await store.get('k')).toBeUndefined();
      await store.set('k', 'v1', 60);
      expect(await store.get('k')).toBe('v1');
      await store.set('k', 'v2', 60);
      expect(await store.get('k')).toBe('v2');
      await store.delete('k');
      expect(await store.get('k')).toBeUndefined();
      await store.delete('never-set');
    });

    it('keeps keys and values byte for byte (colons, newlines, unicode, JSON)', async () => {
      const key = 'session:a:b\nc:ü:💡';
      const value = JSON.stringify({ token: 'x'.repeat(4096), name: 'Zoë\n"quoted"' });
      await h.store.set(key, value, 60);
      expect(await h.store.get(key)).toBe(value);
      expect(await h.store.get('session:a:b')).toBeUndefined();
    });

    it('forgets a value when its TTL passes, not before', async () => {
      await h.store.set('short', 'v', 1);
      await h.store.set('long', 'v', 60);
      expect(await h.store.get('short')).toBe('v');
      await h.advance(1100);
      expect(await h.store.get('short')).toBeUndefined();
      expect(await h.store.get('long')).toBe('v');
    });

    it('addOnce: true the first time, false while the key lives, true again after it expired', async () => {
      const { store } = h;
      expect(await store.addOnce('assertion:1', 1)).toBe(true);
      expect(await store.addOnce('assertion:1', 1)).toBe(false);
      expect(await store.addOnce('assertion:2', 1)).toBe(true);
      await h.advance(1100);
      expect(await store.addOnce('assertion:1', 60)).toBe(true);
      expect(await store.addOnce('assertion:1', 60)).toBe(false);
    });

    it('addOnce: exactly one of 20 concurrent calls wins, across two instances', async () => {
      const other = await peer();
      const stores = [h.store, other];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (stores[i % 2] ?? h.store).addOnce('code:race', 60)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await other.addOnce('code:race', 60)).toBe(false);
    });

    it('sets: adds members once, lists them, deletes the set', async () => {
      const { store } = h;
      expect(await store.members('idp-sid:t:i:x')).toEqual([]);
      await store.addToSet('idp-sid:t:i:x', 'sid-b', 60);
      await store.addToSet('idp-sid:t:i:x', 'sid-a', 60);
      await store.addToSet('idp-sid:t:i:x', 'sid-b', 60);
      expect((await store.members('idp-sid:t:i:x')).sort()).toEqual(['sid-a', 'sid-b']);
      await store.delete('idp-sid:t:i:x');
      expect(await store.members('idp-sid:t:i:x')).toEqual([]);
    });

    it('sets: the set lives as long as its longest-lived add, then goes as a whole', async () => {
      await h.store.addToSet('set:ttl', 'long', 2);
      await h.store.addToSet('set:ttl', 'short', 1); // must not shorten the set
      await h.advance(1100);
      expect((await h.store.members('set:ttl')).sort()).toEqual(['long', 'short']);
      await h.advance(1000);
      expect(await h.store.members('set:ttl')).toEqual([]);
      await h.store.addToSet('set:ttl', 'fresh', 60);
      expect(await h.store.members('set:ttl')).toEqual(['fresh']);
    });

    it('revocations: delivered to subscribers and kept for the snapshot until they expire', async () => {
      const now = epochSeconds(h.clock);
      const session: RevocationEvent = { kind: 'session', sid: 'sid-1', until: now + 3600 };
      const user: RevocationEvent = {
        kind: 'user',
        userKey: 't\niss\nalice',
        before: now,
        until: now + 7200,
      };
      const expired: RevocationEvent = { kind: 'session', sid: 'sid-old', until: now - 10 };
      const seen: RevocationEvent[] = [];
      const off = h.store.subscribeRevocations((event) => seen.push(event));

      await h.store.publishRevocation(session);
      await h.store.publishRevocation(user);
      await h.store.publishRevocation(session); // a replay of the same event changes nothing
      await h.store.publishRevocation(expired);
      await eventually(() => expect(seen).toHaveLength(4));
      expect(seen.slice(0, 2)).toEqual([session, user]);

      expect(sorted(await h.store.loadRevocations())).toEqual(sorted([session, user]));
      const restarted = await peer();
      expect(sorted(await restarted.loadRevocations())).toEqual(sorted([session, user]));

      off();
      await h.store.publishRevocation({ kind: 'session', sid: 'sid-2', until: now + 60 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen).toHaveLength(4);
    });

    it('revocations: reach subscribers of other instances when the backend is shared', async () => {
      if (!h.deliversAcrossInstances) return;
      const other = await peer();
      const seen: RevocationEvent[] = [];
      other.subscribeRevocations((event) => seen.push(event));
      await other.ping();
      const event: RevocationEvent = { kind: 'session', sid: 'sid-x', until: epochSeconds(h.clock) + 60 };
      await h.store.publishRevocation(event);
      await eventually(() => expect(seen).toEqual([event]));
    });

    it('answers ping while open; rejects every call after close; close twice is fine', async () => {
      await h.store.ping();
      await h.store.set('k', 'v', 60);
      await h.store.close();
      await h.store.close();
      await expect(h.store.get('k')).rejects.toThrow();
      await expect(h.store.set('k', 'v', 60)).rejects.toThrow();
      await expect(h.store.addOnce('k2', 60)).rejects.toThrow();
      await expect(h.store.publishRevocation({ kind: 'session', sid: 's', until: 1 })).rejects.toThrow();
      await expect(h.store.ping()).rejects.toThrow();
    });
  });
}
