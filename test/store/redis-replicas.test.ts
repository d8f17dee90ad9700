/**
 * Issue 7 at the store level, on a real redis-server: two replicas (a
 * RedisStore and a StoreRevocationView each) sharing one Redis. A revocation
 * on one is enforced by the other within 100 ms; Redis stopped and
 * restarted: grace, then fail closed, then recovery with the snapshot; one
 * replica cut off while the other revokes; Redis restarted empty.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.ts';
import { ManualClock, systemClock } from '../../src/clock.ts';
import type { Identity } from '../../src/identity/identity.ts';
import type { Session } from '../../src/sessions/session.ts';
import { createSession } from '../../src/sessions/session.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import type { RevocationEvent } from '../../src/store/revocation-bus.ts';
import type { RevocationSource } from '../../src/store/revocation-view.ts';
import { StoreRevocationView } from '../../src/store/revocation-view.ts';
import type { RunningRedis } from '../support/redis.ts';
import { startRedis } from '../support/redis.ts';
import type { TcpGate } from './tcp-gate.ts';
import { startTcpGate } from './tcp-gate.ts';

const identity: Identity = { sub: 'alice', issuer: 'https://idp.example', groups: [], mfa: false };
/** The target; CI machines get a generous bound on the worst case. */
const TARGET_MS = 100;
const CI_BOUND_MS = 500;
const GRACE_SECONDS = 30;

interface Replica {
  readonly store: RedisStore;
  readonly view: StoreRevocationView;
  readonly clock: ManualClock;
  /** When each session ID arrived here from the channel or a snapshot (performance.now()). */
  readonly arrivals: Map<string, { at: number; source: RevocationSource }>;
}

let redis: RunningRedis;
let prefixes = 0;
const open: Replica[] = [];
const gates: TcpGate[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.dispose();
});

afterEach(async () => {
  for (const replica of open.splice(0)) {
    await replica.view.stop();
    await replica.store.close();
  }
  for (const gate of gates.splice(0)) await gate.close();
});

async function replica(options: { keyPrefix: string; url?: string; storeClock?: Clock }): Promise<Replica> {
  const clock = new ManualClock(Date.now());
  const arrivals = new Map<string, { at: number; source: RevocationSource }>();
  const store = new RedisStore({
    url: options.url ?? redis.url,
    clock: options.storeClock ?? systemClock,
    keyPrefix: options.keyPrefix,
    reconnectMinDelayMs: 20,
    reconnectMaxDelayMs: 100,
  });
  const view = new StoreRevocationView({
    bus: store,
    clock,
    graceSeconds: GRACE_SECONDS,
    probeIntervalMs: 100,
    hooks: {
      onEvent: (event: RevocationEvent, source) => {
        if (event.kind === 'session' && source !== 'local' && !arrivals.has(event.sid)) {
          arrivals.set(event.sid, { at: performance.now(), source });
        }
      },
    },
  });
  const r = { store, view, clock, arrivals };
  open.push(r);
  expect(await store.ready(5000)).toBe(true);
  await view.start();
  expect(view.health().ok).toBe(true);
  return r;
}

function newPrefix(): string {
  return `replicas${++prefixes}:`;
}

function session(clock: Clock, sub = 'alice'): Session {
  return createSession(
    { tenant: 't', idp: 'op', identity: { ...identity, sub }, maxAgeSeconds: 3600 },
    clock,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

describe('two replicas sharing Redis', () => {
  it('a revocation on A is enforced by B within 100 ms (median; worst case under the CI bound)', async ({
    annotate,
  }) => {
    const keyPrefix = newPrefix();
    const a = await replica({ keyPrefix });
    const b = await replica({ keyPrefix });
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const s = session(a.clock, `user${i}`);
      expect(b.view.isRevoked(s)).toBe(false);
      const started = performance.now();
      a.view.revoke(s.sid, s.exp);
      await expect.poll(() => b.view.isRevoked(s), { interval: 1, timeout: CI_BOUND_MS }).toBe(true);
      const arrival = b.arrivals.get(s.sid);
      expect(arrival?.source).toBe('remote');
      latencies.push((arrival?.at ?? Number.POSITIVE_INFINITY) - started);
    }
    const mid = median(latencies);
    const worst = Math.max(...latencies);
    await annotate(
      `cross-replica revocation latency: median ${mid.toFixed(2)} ms, max ${worst.toFixed(2)} ms`,
    );
    expect(mid, `median ${mid} ms`).toBeLessThan(TARGET_MS);
    expect(worst, `max ${worst} ms`).toBeLessThan(CI_BOUND_MS);
  });

  it('a replay record taken on A is refused on B (addOnce across replicas)', async () => {
    const keyPrefix = newPrefix();
    const a = await replica({ keyPrefix });
    const b = await replica({ keyPrefix });
    expect(await a.store.addOnce('saml-assertion:idp:_abc', 300)).toBe(true);
    expect(await b.store.addOnce('saml-assertion:idp:_abc', 300)).toBe(false);
  });

  it('Redis stopped: last view within grace, fail closed after it; restarted: recovery, parked revocations published', async () => {
    const keyPrefix = newPrefix();
    const a = await replica({ keyPrefix });
    const b = await replica({ keyPrefix });
    const revoked = session(a.clock, 'revoked');
    const fine = session(a.clock, 'fine');
    a.view.revoke(revoked.sid, revoked.exp);
    await expect.poll(() => b.view.isRevoked(revoked)).toBe(true);

    await redis.stop();
    await expect.poll(() => [a.view.health().ok, b.view.health().ok]).toEqual([false, false]);
    await expect(a.store.get('anything')).rejects.toThrow(); // fails fast, no queueing

    // Within grace: the last known view answers.
    a.clock.advance(GRACE_SECONDS * 1000);
    expect(a.view.isRevoked(revoked)).toBe(true);
    expect(a.view.isRevoked(fine)).toBe(false);
    // Past grace: every session refused on A; B (its clock not moved) is still within grace.
    a.clock.advance(1);
    expect(a.view.isRevoked(fine)).toBe(true);
    expect(b.view.isRevoked(fine)).toBe(false);

    // A logout on B during the outage: enforced on B at once, parked for publication.
    const loggedOut = session(b.clock, 'logged-out');
    b.view.revoke(loggedOut.sid, loggedOut.exp);
    await b.view.flush();
    expect(b.view.isRevoked(loggedOut)).toBe(true);
    expect(b.view.pendingPublishes()).toBe(1);

    await redis.restart();
    await expect
      .poll(() => [a.view.health().ok, b.view.health().ok], { timeout: 5000 })
      .toEqual([true, true]);
    expect(a.view.isRevoked(fine)).toBe(false);
    expect(a.view.isRevoked(revoked)).toBe(true);
    await expect.poll(() => a.view.isRevoked(loggedOut)).toBe(true);
    expect(b.view.pendingPublishes()).toBe(0);
  });

  it('A cut off from Redis while B revokes: A reloads the snapshot when it is back', async () => {
    const keyPrefix = newPrefix();
    const gate = await startTcpGate(redis.port);
    gates.push(gate);
    const a = await replica({ keyPrefix, url: `redis://127.0.0.1:${gate.port}` });
    const b = await replica({ keyPrefix });

    gate.cut();
    await expect.poll(() => a.view.health().ok).toBe(false);
    const s = session(b.clock, 'during-partition');
    b.view.revoke(s.sid, s.exp);
    await b.view.flush();
    expect(b.view.pendingPublishes()).toBe(0);
    expect(a.arrivals.has(s.sid)).toBe(false);

    gate.heal();
    await expect.poll(() => a.view.health().ok, { timeout: 5000 }).toBe(true);
    expect(a.view.isRevoked(s)).toBe(true);
    expect(a.arrivals.get(s.sid)?.source).toBe('snapshot');
  });

  it('Redis killed and restarted empty: the surviving views put their revocations back', async () => {
    const keyPrefix = newPrefix();
    const a = await replica({ keyPrefix });
    const s = session(a.clock, 'before-crash');
    a.view.revoke(s.sid, s.exp);
    await a.view.flush();

    redis.kill();
    await expect.poll(() => a.view.health().ok).toBe(false);
    await redis.restart();
    await expect.poll(() => a.view.health().ok, { timeout: 5000 }).toBe(true);

    const late = await replica({ keyPrefix });
    expect(late.view.isRevoked(s)).toBe(true);
  });
});
