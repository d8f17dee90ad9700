import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { SlussError } from '../../src/errors.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { SessionReader } from '../../src/sessions/reader.ts';
import type { RefreshingIdp, Remap } from '../../src/sessions/refresh.ts';
import { SessionRefresher } from '../../src/sessions/refresh.ts';
import { MemoryRevocations } from '../../src/sessions/revocations.ts';
import { CookieSealer } from '../../src/sessions/sealed-cookie.ts';
import { createSession } from '../../src/sessions/session.ts';
import { SessionCookies } from '../../src/sessions/session-cookie.ts';
import { SessionDataStore } from '../../src/sessions/session-data.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { LogSink } from '../support/sluss-stack.ts';

const INTERVAL = 300;
const identity = {
  sub: 'alice',
  issuer: 'https://idp.example',
  email: 'alice@old.example',
  groups: ['staff'],
  mfa: false,
};

/** An IdP whose refresh answer each test scripts; counts the calls it gets. */
function scriptedIdp(
  answer: (refreshToken: string) => Promise<Awaited<ReturnType<RefreshingIdp['refresh']>>>,
) {
  const idp = {
    calls: 0,
    idp: { id: 'op', refresh: { intervalSeconds: INTERVAL }, mfa: { source: 'amr' as const, acrValues: [] } },
    refresh: async (refreshToken: string) => {
      idp.calls++;
      return answer(refreshToken);
    },
  };
  return idp;
}

async function setup(refreshToken: string | null = 'rt-1') {
  const clock = new ManualClock(Date.now());
  const store = new MemoryStore(clock);
  const revocations = new MemoryRevocations(clock);
  const sessions = new SessionReader(
    new CookieSealer({ current: 'c'.repeat(40), previous: [] }),
    revocations,
    clock,
  );
  const sessionData = new SessionDataStore(store, clock);
  const evicted: string[] = [];
  const logs = new LogSink();
  /** One replica's refresher; replicas share the store and (through it) the revocations. */
  const replica = () =>
    new SessionRefresher({
      sessionData,
      sessions,
      sessionCookies: new SessionCookies({
        name: '__Host-sluss',
        txnPrefix: '__Host-sluss-txn-',
        secret: 'c'.repeat(40),
        previousSecrets: [],
        secure: true,
        sameSite: 'lax',
      }),
      revocations,
      evictHeaders: (sid) => evicted.push(sid),
      clock,
      log: createLogger({ destination: logs }),
    });
  const refresher = replica();
  const session = createSession({ tenant: 'acme', idp: 'op', identity, maxAgeSeconds: 3600 }, clock);
  await sessionData.save(session, {
    idToken: 'id-1',
    ...(refreshToken ? { refreshToken } : {}),
    checkedAt: Math.floor(clock.now() / 1000),
  });
  return { clock, store, revocations, sessions, sessionData, refresher, replica, session, evicted, logs };
}

describe('SessionRefresher', () => {
  it('is due for a session it has not seen, then not again until the interval has passed', async () => {
    const { clock, refresher, session } = await setup();
    const idp = scriptedIdp(async () => ({ claims: undefined, refreshToken: 'rt-2' }));
    expect(refresher.due(session, INTERVAL)).toBe(true);
    // Just logged in: the store says it was checked now, so no call to the IdP.
    expect(await refresher.refresh(session, idp, undefined)).toEqual({ session });
    expect(idp.calls).toBe(0);
    expect(refresher.due(session, INTERVAL)).toBe(false);
    clock.advance(INTERVAL * 1000);
    expect(refresher.due(session, INTERVAL)).toBe(true);
  });

  it('moves a changed identity to a new sid: reseals the cookie, revokes the old sid, carries the stored tokens over', async () => {
    const { clock, refresher, session, sessions, sessionData, revocations, evicted } = await setup();
    clock.advance(INTERVAL * 1000);
    const idp = scriptedIdp(async () => ({
      claims: {
        iss: identity.issuer,
        sub: 'alice',
        email: 'alice@new.example',
        groups: ['staff', 'app-admins'],
      },
      refreshToken: 'rt-2',
      idToken: 'id-2',
    }));
    const outcome = await refresher.refresh(session, idp, undefined);
    if (!('session' in outcome)) throw new Error('expected a session');
    const updated = outcome.session;
    expect(updated.sid).not.toBe(session.sid);
    expect({ iat: updated.iat, exp: updated.exp }).toEqual({ iat: session.iat, exp: session.exp });
    expect(updated.identity).toMatchObject({
      email: 'alice@new.example',
      groups: ['staff', 'app-admins'],
    });
    const cookie = /^__Host-sluss=([^;]+)/.exec(outcome.setCookies?.[0] ?? '')?.[1];
    expect(await sessions.lookup(cookie, 'acme')).toEqual({ session: updated });
    expect(revocations.isRevoked(session)).toBe(true);
    expect(revocations.isRevoked(updated)).toBe(false);
    expect(evicted).toEqual([session.sid]);
    expect(await sessionData.load(session.sid)).toBeUndefined();
    expect(await sessionData.load(updated.sid)).toMatchObject({ refreshToken: 'rt-2', idToken: 'id-2' });
    expect(refresher.due(updated, INTERVAL)).toBe(false);
  });

  it('keeps the sid when the refreshed identity is unchanged, and rotates the stored refresh token', async () => {
    const { clock, refresher, session, sessionData, revocations } = await setup();
    clock.advance(INTERVAL * 1000);
    const idp = scriptedIdp(async () => ({
      claims: { iss: identity.issuer, sub: 'alice', email: identity.email, groups: identity.groups },
      refreshToken: 'rt-2',
    }));
    const remap: Remap = async (base) => ({ identity: { ...base, mfa: false } });
    expect(await refresher.refresh(session, idp, undefined, remap)).toEqual({ session });
    expect(revocations.isRevoked(session)).toBe(false);
    expect(await sessionData.load(session.sid)).toMatchObject({ refreshToken: 'rt-2', idToken: 'id-1' });
  });

  it.each([
    ['a user removed from the whitelisted group at the IdP', 'group-not-allowed'],
    ['a user deprovisioned from the directory', 'user-unknown'],
    ['an identity the mapping can no longer complete', 'identity-incomplete'],
  ])('fails closed on %s: the session ends, it does not keep its old identity', async (_attack, reason) => {
    const { clock, refresher, session, sessionData, revocations, logs } = await setup();
    clock.advance(INTERVAL * 1000);
    const idp = scriptedIdp(async () => ({
      claims: { iss: identity.issuer, sub: 'alice', email: identity.email, groups: [] },
      refreshToken: 'rt-2',
    }));
    const remap: Remap = async () => ({ denied: reason });
    expect(await refresher.refresh(session, idp, undefined, remap)).toEqual({ rejected: 'revoked' });
    expect(revocations.isRevoked(session)).toBe(true);
    expect(await sessionData.load(session.sid)).toBeUndefined();
    expect(logs.text()).toContain(reason);
  });

  it('ends the session when the IdP refuses the refresh token', async () => {
    const { clock, refresher, session, sessionData, revocations } = await setup();
    clock.advance(INTERVAL * 1000);
    const idp = scriptedIdp(async () => {
      throw new SlussError('ERR_OIDC_CALLBACK_INVALID', 'invalid_grant');
    });
    expect(await refresher.refresh(session, idp, undefined)).toEqual({ rejected: 'revoked' });
    expect(revocations.isRevoked(session)).toBe(true);
    expect(await sessionData.load(session.sid)).toBeUndefined();
  });

  it('keeps the session when the IdP is unreachable, and asks again 30 s later', async () => {
    const { clock, refresher, session, revocations, logs } = await setup();
    clock.advance(INTERVAL * 1000);
    const idp = scriptedIdp(async () => {
      throw new SlussError('ERR_IDP_UNAVAILABLE', 'down');
    });
    expect(await refresher.refresh(session, idp, undefined)).toEqual({ session });
    expect(revocations.isRevoked(session)).toBe(false);
    expect(refresher.due(session, INTERVAL)).toBe(false);
    clock.advance(30_000);
    expect(refresher.due(session, INTERVAL)).toBe(true);
    expect(logs.text()).toContain('IdP unreachable for session refresh');
  });

  it('leaves sessions without a refresh token alone', async () => {
    const { clock, refresher, session } = await setup(null);
    clock.advance(INTERVAL * 1000);
    const idp = scriptedIdp(async () => ({ claims: undefined, refreshToken: 'never' }));
    expect(await refresher.refresh(session, idp, undefined)).toEqual({ session });
    expect(idp.calls).toBe(0);
  });

  it('shares one refresh among concurrent requests of a session', async () => {
    const { clock, refresher, session } = await setup();
    clock.advance(INTERVAL * 1000);
    const idp = scriptedIdp(async () => ({ claims: undefined, refreshToken: 'rt-2' }));
    await Promise.all([1, 2, 3, 4].map(() => refresher.refresh(session, idp, undefined)));
    expect(idp.calls).toBe(1);
  });

  it('two replicas refreshing one session at once use a rotating refresh token only once', async () => {
    const { clock, replica, session, revocations } = await setup();
    clock.advance(INTERVAL * 1000);
    // Rotation with reuse detection (OAuth 2.0 Security BCP §4.14): a token used twice is refused.
    let current = 'rt-1';
    const idp = scriptedIdp(async (token) => {
      if (token !== current) throw new SlussError('ERR_OIDC_CALLBACK_INVALID', 'invalid_grant (reuse)');
      current = `rt-${idp.calls + 1}`;
      // The IdP answers after a while: both replicas are mid-refresh at once.
      await new Promise((resolve) => setImmediate(resolve));
      return { claims: undefined, refreshToken: current };
    });
    const [first, second] = [replica(), replica()];
    const outcomes = await Promise.all([
      first.refresh(session, idp, undefined),
      second.refresh(session, idp, undefined),
    ]);
    expect(outcomes).toEqual([{ session }, { session }]);
    expect(idp.calls).toBe(1);
    expect(revocations.isRevoked(session)).toBe(false);
    // The replica that lost the lock asks again later, and finds the session just checked.
    expect(second.due(session, INTERVAL)).toBe(false);
    clock.advance(30_000);
    expect(second.due(session, INTERVAL)).toBe(true);
    expect(await second.refresh(session, idp, undefined)).toEqual({ session });
    expect(idp.calls).toBe(1);
  });
});
