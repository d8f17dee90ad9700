/**
 * Session lifetimes through real logins at a real OpenID Provider, with the
 * clock injected: idle timeout with a rolling cookie, the absolute maximum,
 * forced re-authentication after a set age, and the audit stream that
 * records each of them.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { loginThroughOp } from '../support/browserless-login.ts';
import { CookieJar } from '../support/cookie-jar.ts';
import type { Stack } from '../support/sluss-stack.ts';
import { startStack } from '../support/sluss-stack.ts';

const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await request(url, { method: 'GET', headers });
  await response.body.text();
  return { status: response.statusCode, headers: response.headers };
}

/** The session cookie a response sets, as `name=value` for the next request. */
function sessionCookieFrom(headers: Record<string, string | string[] | undefined>): string | undefined {
  const values = ([] as string[]).concat(headers['set-cookie'] ?? []);
  const cookie = values.find(
    (value) => value.startsWith('__Host-sluss=') && !value.startsWith('__Host-sluss=;'),
  );
  return cookie?.slice(0, cookie.indexOf(';'));
}

function auditEvents(stack: Stack): Record<string, unknown>[] {
  return stack.audit.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('idle timeout', () => {
  it('keeps an active session alive with a rolling cookie and ends an idle one', async () => {
    const clock = new ManualClock(Date.now());
    stack = await startStack({
      clock,
      tenant: { session: { maxAgeSeconds: 3600, idleTimeoutSeconds: 300 } },
    });
    const { jar } = await stack.login();
    let cookie = jar.header(stack.publicUrl) ?? '';

    // Active within a minute: no new cookie.
    clock.advance(30_000);
    const quiet = await get(`${stack.publicUrl}/echo/a`, { cookie });
    expect(quiet.status).toBe(200);
    expect(sessionCookieFrom(quiet.headers)).toBeUndefined();

    // Later activity renews the cookie; using the renewed one keeps the session going past the first idle limit.
    clock.advance(200_000);
    const renewed = await get(`${stack.publicUrl}/echo/b`, { cookie });
    expect(renewed.status).toBe(200);
    const next = sessionCookieFrom(renewed.headers);
    expect(next).toBeDefined();
    cookie = next ?? '';
    clock.advance(200_000);
    expect((await get(`${stack.publicUrl}/echo/c`, { cookie })).status).toBe(200);

    // Idle for longer than the timeout: browsers go back through the IdP, API calls get 401.
    clock.advance(301_000);
    const browser = await get(`${stack.publicUrl}/echo/d`, { ...NAVIGATE, cookie });
    expect(browser.status).toBe(302);
    expect(browser.headers.location).toBe(`/.sluss/login?rd=${encodeURIComponent('/echo/d')}`);
    expect((await get(`${stack.publicUrl}/echo/d`, { cookie })).status).toBe(401);
    expect(auditEvents(stack)).toContainEqual(
      expect.objectContaining({ event: 'expired', reason: 'idle', tenant: 'acme' }),
    );
  });

  it('an old cookie value idles out on its own even after the browser got a renewed one', async () => {
    const clock = new ManualClock(Date.now());
    stack = await startStack({
      clock,
      tenant: { session: { maxAgeSeconds: 3600, idleTimeoutSeconds: 300 } },
    });
    const { jar } = await stack.login();
    const original = jar.header(stack.publicUrl) ?? '';
    clock.advance(120_000);
    expect((await get(`${stack.publicUrl}/echo/a`, { cookie: original })).status).toBe(200);
    clock.advance(200_000);
    // 320 s after the original cookie's last activity stamp.
    expect((await get(`${stack.publicUrl}/echo/b`, { cookie: original })).status).toBe(401);
  });
});

describe('forced re-authentication', () => {
  it('after the set age the session ends and the IdP is asked to authenticate again (prompt=login, max_age)', async () => {
    const clock = new ManualClock(Date.now());
    stack = await startStack({
      clock,
      tenant: { session: { maxAgeSeconds: 3600, reauthenticateAfterSeconds: 600 } },
    });
    const jar = new CookieJar();
    const first = await loginThroughOp(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Fone`, jar, {
      login: 'alice',
      password: 'alice',
    });
    expect(first.response.status).toBe(200);
    const authorize = new URL(first.hops.find((hop) => hop.startsWith(`${stack?.op.issuer}/auth`)) ?? '');
    expect(authorize.searchParams.get('max_age')).toBe('600');
    expect(authorize.searchParams.get('prompt')).toBeNull();
    const cookie = jar.header(stack.publicUrl) ?? '';

    clock.advance(601_000);
    const expired = await get(`${stack.publicUrl}/echo/two`, { ...NAVIGATE, cookie });
    expect(expired.status).toBe(302);
    expect(expired.headers.location).toBe(`/.sluss/login?rd=${encodeURIComponent('/echo/two')}&reauth=1`);

    // The OP runs on the real clock: bring sluss's back so the fresh auth_time is "now" for both.
    clock.set(Date.now());
    const again = await loginThroughOp(`${stack.publicUrl}${expired.headers.location}`, jar, {
      login: 'alice',
      password: 'alice',
    });
    const forced = new URL(again.hops.find((hop) => hop.startsWith(`${stack?.op.issuer}/auth`)) ?? '');
    expect(forced.searchParams.get('prompt')).toBe('login');
    // The OP showed its login form again instead of signing the user in silently.
    expect(again.hops.some((hop) => hop.startsWith('POST ') && hop.includes('/interaction/'))).toBe(true);
    expect(again.response.status).toBe(200);
    expect(auditEvents(stack)).toContainEqual(
      expect.objectContaining({ event: 'expired', reason: 'reauthenticate' }),
    );
  });
});

describe('the audit stream', () => {
  it('records logins, failed logins, logouts and expiries as JSON lines apart from the debug log', async () => {
    const clock = new ManualClock(Date.now());
    stack = await startStack({ clock, maxAgeSeconds: 120 });
    const { jar } = await stack.login();
    const cookie = jar.header(stack.publicUrl) ?? '';
    await get(
      `${stack.publicUrl}/.sluss/callback?state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&code=x`,
      NAVIGATE,
    );
    await get(`${stack.publicUrl}/.sluss/logout`, { cookie, 'sec-fetch-site': 'same-origin' });
    const second = await stack.login();
    clock.advance(121_000);
    await get(`${stack.publicUrl}/echo/late`, { cookie: second.jar.header(stack.publicUrl) ?? '' });

    const events = auditEvents(stack);
    for (const event of events) expect(event).toMatchObject({ log: 'audit', service: 'sluss' });
    expect(events.map((event) => event.event)).toEqual([
      'login',
      'login_failed',
      'logout',
      'login',
      'expired',
    ]);
    expect(events[0]).toMatchObject({ tenant: 'acme', idp: 'test-op', sub: 'alice', mfa: false });
    expect(events[1]).toMatchObject({
      reason: 'ERR_LOGIN_EXPIRED',
      ref: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    expect(events[4]).toMatchObject({ reason: 'max-age', sub: 'alice' });
    // The debug log is a different stream.
    expect(stack.logs.lines.some((line) => line.includes('"log":"audit"'))).toBe(false);
    // No secrets or cookies in the audit stream either.
    expect(stack.audit.text()).not.toContain(stack.cookieSecret);
    expect(stack.audit.text()).not.toMatch(/__Host-sluss=/);
  });
});
