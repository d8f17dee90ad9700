import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { headerValue, IdentityHeaders } from '../../src/identity/identity-headers.ts';
import { loadKeyRing } from '../../src/identity/signing-keys.ts';
import { createSession } from '../../src/sessions/session.ts';

function keyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

const config = {
  jwt: { header: 'x-sluss-identity', audience: 'app', ttlSeconds: 60 },
  plain: { user: 'x-remote-user', groups: 'x-remote-groups', email: 'x-remote-email' },
  stripped: [],
};

describe('IdentityHeaders', () => {
  const keys = loadKeyRing([
    { kid: 'k1', privateKeyPem: keyPem() },
    { kid: 'k2', privateKeyPem: keyPem() },
  ]);

  it('signs with the first key, publishes both, and verifies against the JWKS', async () => {
    const clock = new ManualClock(Date.now());
    const headers = new IdentityHeaders({ config, keys, clock });
    const session = createSession(
      {
        tenant: 'acme',
        idp: 'op',
        identity: { sub: 'alice', issuer: 'i', groups: ['a', 'b'], mfa: false },
        maxAgeSeconds: 3600,
      },
      clock,
    );
    const pairs = await headers.forSession(session, 'https://app.example');
    const jwt = pairs.find(([name]) => name === 'x-sluss-identity')?.[1] ?? '';
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(keys.jwks as never), {
      issuer: 'https://app.example',
      audience: 'app',
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader.kid).toBe('k1');
    expect(payload).toMatchObject({
      sub: 'alice',
      groups: ['a', 'b'],
      tenant: 'acme',
      idp: 'op',
      sid: session.sid,
    });
    expect(keys.jwks.keys.map((key) => key.kid)).toEqual(['k1', 'k2']);
    expect(pairs).toContainEqual(['x-remote-groups', 'a,b']);
    // No email claim → no email header at all.
    expect(pairs.some(([name]) => name === 'x-remote-email')).toBe(false);
  });

  it('group injection: a comma in a group name is percent-encoded in the plain header, not split', async () => {
    const clock = new ManualClock(Date.now());
    const headers = new IdentityHeaders({ config, keys, clock });
    const groups = ['staff,app-admins', 'CN=x,OU=y', '100%', 'plain'];
    const session = createSession(
      {
        tenant: 'acme',
        idp: 'op',
        identity: { sub: 'a', issuer: 'i', groups, mfa: false },
        maxAgeSeconds: 3600,
      },
      clock,
    );
    const pairs = await headers.forSession(session, 'https://app.example');
    const header = pairs.find(([name]) => name === 'x-remote-groups')?.[1] ?? '';
    expect(header).toBe('staff%2Capp-admins,CN=x%2COU=y,100%25,plain');
    expect(header.split(',')).not.toContain('app-admins');
    expect(header.split(',').map(decodeURIComponent)).toEqual(groups);
    const jwt = pairs.find(([name]) => name === 'x-sluss-identity')?.[1] ?? '';
    expect(decodeJwt(jwt).groups).toEqual(groups);
  });

  it('serves the cached token until half its lifetime has passed, then signs a new one', async () => {
    const clock = new ManualClock(Date.now());
    const headers = new IdentityHeaders({ config, keys, clock });
    const session = createSession(
      {
        tenant: 'acme',
        idp: 'op',
        identity: { sub: 'a', issuer: 'i', groups: [], mfa: false },
        maxAgeSeconds: 3600,
      },
      clock,
    );
    const first = await headers.forSession(session, 'https://app.example');
    clock.advance(29_000);
    expect(headers.cached(session)).toBe(first);
    clock.advance(1_000);
    expect(headers.cached(session)).toBeUndefined();
    const second = await headers.forSession(session, 'https://app.example');
    expect(second[0]?.[1]).not.toBe(first[0]?.[1]);
  });

  it('never issues a token that outlives the session', async () => {
    const clock = new ManualClock(Date.now());
    const headers = new IdentityHeaders({ config, keys, clock });
    const session = createSession(
      {
        tenant: 'acme',
        idp: 'op',
        identity: { sub: 'a', issuer: 'i', groups: [], mfa: false },
        maxAgeSeconds: 60,
      },
      clock,
    );
    clock.advance(50_000);
    const pairs = await headers.forSession(session, 'https://app.example');
    expect(decodeJwt(pairs[0]?.[1] ?? '').exp).toBe(session.exp);
  });

  it('evicts a session on logout', async () => {
    const clock = new ManualClock(Date.now());
    const headers = new IdentityHeaders({ config, keys, clock });
    const session = createSession(
      {
        tenant: 'acme',
        idp: 'op',
        identity: { sub: 'a', issuer: 'i', groups: [], mfa: false },
        maxAgeSeconds: 600,
      },
      clock,
    );
    await headers.forSession(session, 'https://app.example');
    headers.evict(session.sid);
    expect(headers.cached(session)).toBeUndefined();
  });

  it.each([
    ['CR LF injection', 'Alice\r\nX-Admin: true', 'AliceX-Admin: true'],
    ['NUL', 'a\u0000b', 'ab'],
    ['UTF-8 name', 'Björn', Buffer.from('Björn', 'utf8').toString('latin1')],
  ])('header values cannot split headers (%s)', (_label, input, expected) => {
    expect(headerValue(input)).toBe(expected);
  });

  it('refuses keys that are not EC P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(() => loadKeyRing([{ kid: 'r', privateKeyPem: rsa }])).toThrow(/must be an EC P-256 key/);
    expect(() => loadKeyRing([{ kid: 'x', privateKeyPem: 'not a pem' }])).toThrow(/not a readable PEM/);
  });
});
