import { describe, expect, it } from 'vitest';
import type { CookieConfig } from '../../src/config/types.ts';
import { MAX_CHUNKS, SessionCookies } from '../../src/sessions/session-cookie.ts';

const CONFIG: CookieConfig = {
  name: '__Host-sluss',
  txnPrefix: '__Host-sluss-txn-',
  secret: 'x'.repeat(32),
  previousSecrets: [],
  secure: true,
  sameSite: 'lax',
};

const cookies = new SessionCookies(CONFIG);

/** Turns Set-Cookie values into the Cookie header a browser would send back (expired ones dropped). */
function browserCookieHeader(setCookies: readonly string[], others: string[] = []): string {
  const jar = new Map<string, string>();
  for (const setCookie of setCookies) {
    const pair = setCookie.slice(0, setCookie.indexOf(';'));
    const name = pair.slice(0, pair.indexOf('='));
    if (setCookie.includes('; Max-Age=0;')) jar.delete(name);
    else jar.set(name, pair.slice(name.length + 1));
  }
  return [...others, ...[...jar].map(([name, value]) => `${name}=${value}`)].join('; ');
}

function sealedOfLength(length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += `Fe26.2**${i.toString(36)}*`;
  return out.slice(0, length);
}

describe('SessionCookies round trip', () => {
  it('stores a small value in one cookie with secure attributes', () => {
    const setCookies = cookies.write('Fe26.2**small', 3600, undefined);
    expect(setCookies).toEqual([
      '__Host-sluss=Fe26.2**small; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax',
    ]);
    expect(cookies.read(browserCookieHeader(setCookies, ['theme=dark']))).toBe('Fe26.2**small');
  });

  it.each([3801, 7600, 10 * 1024])('splits a %i-character value into chunks and reassembles it', (length) => {
    const sealed = sealedOfLength(length);
    const setCookies = cookies.write(sealed, 3600, undefined);
    const count = Math.ceil(length / 3800);
    expect(setCookies).toHaveLength(count + 1);
    expect(setCookies[0]).toBe(
      `__Host-sluss=~${count}; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax`,
    );
    for (const setCookie of setCookies) expect(setCookie.length).toBeLessThan(4096);
    expect(cookies.read(browserCookieHeader(setCookies, ['a=1']))).toBe(sealed);
  });

  it('reads chunks in any order in the header', () => {
    const sealed = sealedOfLength(10 * 1024);
    const header = browserCookieHeader(cookies.write(sealed, 3600, undefined));
    const reversed = header.split('; ').reverse().join('; ');
    expect(cookies.read(reversed)).toBe(sealed);
  });
});

describe('SessionCookies expires stale chunks', () => {
  it('when a smaller session replaces a chunked one', () => {
    const large = browserCookieHeader(cookies.write(sealedOfLength(10 * 1024), 3600, undefined));
    const setCookies = cookies.write('Fe26.2**small', 3600, large);
    expect(setCookies).toEqual([
      '__Host-sluss=Fe26.2**small; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax',
      '__Host-sluss.1=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax',
      '__Host-sluss.2=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax',
      '__Host-sluss.3=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax',
    ]);
    expect(cookies.read(browserCookieHeader(setCookies))).toBe('Fe26.2**small');
  });

  it('when a session with fewer chunks replaces one with more', () => {
    const threeChunks = browserCookieHeader(cookies.write(sealedOfLength(10 * 1024), 3600, undefined));
    const smaller = sealedOfLength(5000);
    const setCookies = cookies.write(smaller, 3600, threeChunks);
    expect(setCookies.filter((c) => c.includes('Max-Age=0'))).toEqual([
      '__Host-sluss.3=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax',
    ]);
    expect(cookies.read(browserCookieHeader(setCookies))).toBe(smaller);
  });

  it('clear() deletes the session cookie and every chunk', () => {
    const header = browserCookieHeader(cookies.write(sealedOfLength(5000), 3600, undefined));
    expect(cookies.clear(header).map((c) => c.slice(0, c.indexOf('=')))).toEqual([
      '__Host-sluss',
      '__Host-sluss.1',
      '__Host-sluss.2',
    ]);
    for (const setCookie of cookies.clear(header)) expect(setCookie).toContain('; Max-Age=0;');
  });
});

describe('SessionCookies refuses malformed chunk headers', () => {
  const chunk1 = `__Host-sluss.1=${'a'.repeat(100)}`;
  const chunk2 = `__Host-sluss.2=${'b'.repeat(100)}`;
  it.each([
    ['a missing chunk', `__Host-sluss=~3; ${chunk1}; ${chunk2}`],
    ['no chunks at all', '__Host-sluss=~2'],
    ['more chunks than allowed', `__Host-sluss=~99; ${chunk1}; ${chunk2}`],
    [`one more than MAX_CHUNKS (${MAX_CHUNKS + 1})`, `__Host-sluss=~${MAX_CHUNKS + 1}; ${chunk1}`],
    ['a single chunk', `__Host-sluss=~1; ${chunk1}`],
    ['zero chunks', '__Host-sluss=~0'],
    ['a negative count', `__Host-sluss=~-2; ${chunk1}; ${chunk2}`],
    ['a fractional count', `__Host-sluss=~2.5; ${chunk1}; ${chunk2}`],
    ['a non-numeric count', `__Host-sluss=~x; ${chunk1}; ${chunk2}`],
    ['an empty count', `__Host-sluss=~; ${chunk1}; ${chunk2}`],
  ])('%s → undefined', (_attack, header) => {
    expect(cookies.read(header)).toBeUndefined();
  });

  it('no session cookie → undefined, even with chunks present', () => {
    expect(cookies.read(`${chunk1}; ${chunk2}`)).toBeUndefined();
    expect(cookies.read(undefined)).toBeUndefined();
  });
});

describe('SessionCookies.isOwnCookie', () => {
  it.each([
    ['__Host-sluss', true],
    ['__Host-sluss.1', true],
    ['__Host-sluss.8', true],
    ['__Host-sluss-txn-abc123', true],
    ['__Host-sluss2', false],
    ['__Host-slussy', false],
    ['sluss', false],
    ['__Host-app', false],
    ['JSESSIONID', false],
  ])('%s → %s', (name, own) => {
    expect(cookies.isOwnCookie(name)).toBe(own);
  });
});

describe('oversized sessions', () => {
  it('refuses to write a session that needs more than MAX_CHUNKS cookies', () => {
    const cookies = new SessionCookies({
      name: '__Host-sluss',
      txnPrefix: '__Host-sluss-txn-',
      secret: 'x'.repeat(32),
      previousSecrets: [],
      secure: true,
      sameSite: 'lax',
    });
    expect(() => cookies.write('a'.repeat(3800 * MAX_CHUNKS + 1), 60, undefined)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_TOO_LARGE' }),
    );
    expect(cookies.write('a'.repeat(3800 * MAX_CHUNKS), 60, undefined)).toHaveLength(MAX_CHUNKS + 1);
  });
});
