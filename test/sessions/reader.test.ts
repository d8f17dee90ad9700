import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { SessionReader } from '../../src/sessions/reader.ts';
import { MemoryRevocations } from '../../src/sessions/revocations.ts';
import { CookieSealer } from '../../src/sessions/sealed-cookie.ts';
import { createSession } from '../../src/sessions/session.ts';

const SECRET = 'a-test-cookie-secret-of-at-least-32-chars';
const identity = { sub: 'alice', issuer: 'https://idp.example', groups: ['staff'], mfa: false };

function setup() {
  const clock = new ManualClock(Date.now());
  const revocations = new MemoryRevocations(clock);
  const reader = new SessionReader(new CookieSealer({ current: SECRET, previous: [] }), revocations, clock);
  return { clock, revocations, reader };
}

describe('SessionReader', () => {
  it('unseals once, then answers from the cache for the same cookie value', async () => {
    const { clock, reader } = setup();
    const session = createSession({ tenant: 'acme', idp: 'op', identity, maxAgeSeconds: 600 }, clock);
    const sealed = await reader.seal(session);
    expect(reader.lookupCached(sealed, 'acme')).toBeUndefined();
    expect(await reader.lookup(sealed, 'acme')).toEqual({ session });
    expect(reader.lookupCached(sealed, 'acme')).toEqual({ session });
  });

  it('a cached session still expires, is still revocable and stays bound to its tenant', async () => {
    const { clock, reader, revocations } = setup();
    const session = createSession({ tenant: 'acme', idp: 'op', identity, maxAgeSeconds: 600 }, clock);
    const sealed = await reader.seal(session);
    await reader.lookup(sealed, 'acme');

    expect(reader.lookupCached(sealed, 'other')).toEqual({ rejected: 'wrong-tenant' });
    revocations.revoke(session.sid, session.exp);
    expect(reader.lookupCached(sealed, 'acme')).toEqual({ rejected: 'revoked' });

    const second = createSession({ tenant: 'acme', idp: 'op', identity, maxAgeSeconds: 600 }, clock);
    const secondSealed = await reader.seal(second);
    expect(await reader.lookup(secondSealed, 'acme')).toEqual({ session: second });
    clock.advance(600_000);
    expect(reader.lookupCached(secondSealed, 'acme')).toEqual({ rejected: 'expired', expired: second });
  });

  it('memory exhaustion with distinct junk cookies: the cache stays within its byte budget', async () => {
    const clock = new ManualClock(Date.now());
    const budget = 1024 * 1024;
    const reader = new SessionReader(
      new CookieSealer({ current: SECRET, previous: [] }),
      new MemoryRevocations(clock),
      clock,
      50_000,
      budget,
    );
    for (let i = 0; i < 500; i++) {
      expect(await reader.lookup(`Fe26.2**${i}*${'x'.repeat(11_000)}`, 'acme')).toEqual({
        rejected: 'invalid',
      });
    }
    expect(reader.cachedBytes).toBeGreaterThan(budget / 2);
    expect(reader.cachedBytes).toBeLessThanOrEqual(budget);
  });

  it('an oversized cookie is refused without being unsealed or cached', async () => {
    const { reader } = setup();
    const huge = `Fe26.2**${'x'.repeat(20_000)}`;
    expect(await reader.lookup(huge, 'acme')).toEqual({ rejected: 'invalid' });
    expect(reader.lookupCached(huge, 'acme')).toBeUndefined();
    expect(reader.cachedBytes).toBe(0);
  });

  it('new sessions get new IDs (no fixation)', () => {
    const { clock } = setup();
    const ids = new Set(
      Array.from(
        { length: 50 },
        () => createSession({ tenant: 'acme', idp: 'op', identity, maxAgeSeconds: 60 }, clock).sid,
      ),
    );
    expect(ids.size).toBe(50);
  });

  it.each([
    ['empty', ''],
    ['garbage', 'Fe26.2**garbage'],
    ['another secret', 'sealed-with-other'],
  ])('rejects a %s cookie as invalid', async (_label, value) => {
    const { clock, reader } = setup();
    let cookie = value;
    if (value === 'sealed-with-other') {
      const other = new SessionReader(
        new CookieSealer({ current: 'another-secret-of-at-least-32-characters', previous: [] }),
        new MemoryRevocations(clock),
        clock,
      );
      cookie = await other.seal(
        createSession({ tenant: 'acme', idp: 'op', identity, maxAgeSeconds: 60 }, clock),
      );
    }
    const result = await reader.lookup(cookie, 'acme');
    expect(result).toEqual({ rejected: cookie === '' ? 'none' : 'invalid' });
  });

  it('accepts cookies sealed with a previous secret during rotation, seals with the current one', async () => {
    const clock = new ManualClock(Date.now());
    const old = new SessionReader(
      new CookieSealer({ current: SECRET, previous: [] }),
      new MemoryRevocations(clock),
      clock,
    );
    const rotated = new SessionReader(
      new CookieSealer({ current: 'the-new-cookie-secret-of-32-characters!', previous: [SECRET] }),
      new MemoryRevocations(clock),
      clock,
    );
    const session = createSession({ tenant: 'acme', idp: 'op', identity, maxAgeSeconds: 60 }, clock);
    expect(await rotated.lookup(await old.seal(session), 'acme')).toEqual({ session });
    const fresh = await rotated.seal(session);
    expect(await old.lookup(fresh, 'acme')).toEqual({ rejected: 'invalid' });
  });
});
