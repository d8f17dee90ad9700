/**
 * End to end against a real OpenID Provider (oidc-provider) on loopback:
 * login, identity headers and their JWT, header stripping, cookies that must
 * not work, open-redirect attempts, API vs browser, logout, upstream down.
 */
import { sealData } from 'iron-session';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { loginThroughOp } from '../support/browserless-login.ts';
import { CookieJar } from '../support/cookie-jar.ts';
import type { Stack } from '../support/sluss-stack.ts';
import { AUDIENCE, freePort, JWT_HEADER, startStack } from '../support/sluss-stack.ts';

const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await request(url, { method: 'GET', headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

describe('OIDC login through a real OpenID Provider', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('logs in with code + PKCE and forwards signed identity headers the upstream can verify', async () => {
    const { jar, hops, response } = await stack.login();
    expect(response.status).toBe(200);
    expect(hops[hops.length - 1]).toBe(`${stack.publicUrl}/echo/after-login`);
    // The authorization request carried PKCE S256, state and nonce.
    const authorize = new URL(hops.find((hop) => hop.startsWith(`${stack.op.issuer}/auth`)) ?? '');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')).toMatch(/^[\w-]{32,}$/);
    expect(authorize.searchParams.get('nonce')).toMatch(/^[\w-]{32,}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${stack.publicUrl}/.sluss/callback`);

    const echo = (await response.json()) as Echo;
    expect(echo.headers['x-remote-user']).toBe('alice');
    expect(echo.headers['x-remote-email']).toBe('alice@example.com');
    expect(echo.headers['x-remote-name']).toBe('Alice Andersson');
    expect(echo.headers['x-remote-groups']).toBe('staff,app-admins');
    expect(echo.headers['x-remote-tenant']).toBe('acme');
    // sluss's own cookies never reach the app.
    expect(echo.headers.cookie).toBeUndefined();

    const token = echo.headers[JWT_HEADER];
    expect(typeof token).toBe('string');
    const jwks = createRemoteJWKSet(new URL(`${stack.publicUrl}/.sluss/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token as string, jwks, {
      issuer: stack.publicUrl,
      audience: AUDIENCE,
      algorithms: ['ES256'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: 'test-1' });
    expect(payload).toMatchObject({
      sub: 'alice',
      email: 'alice@example.com',
      name: 'Alice Andersson',
      groups: ['staff', 'app-admins'],
      tenant: 'acme',
      idp: 'test-op',
    });
    expect(typeof payload.sid).toBe('string');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(60);

    // The session cookie is sealed, HttpOnly, Secure and SameSite=Lax by default.
    const session = jar.get('__Host-sluss');
    expect(session?.httpOnly).toBe(true);
    expect(session?.secure).toBe(true);
    expect(session?.sameSite?.toLowerCase()).toBe('lax');
    expect(session?.path).toBe('/');
    expect(session?.value).not.toContain('alice');
  });

  it('a wrong password never creates a session', async () => {
    const jar = new CookieJar();
    const result = await loginThroughOp(`${stack.publicUrl}/.sluss/login?rd=%2F`, jar, {
      login: 'alice',
      password: 'nope',
    });
    expect(result.response.status).toBe(401);
    expect(jar.get('__Host-sluss', stack.publicUrl)).toBeUndefined();
  });

  it('reuses one signed JWT per session instead of signing every request', async () => {
    const { jar } = await stack.login();
    const cookie = jar.header(stack.publicUrl) ?? '';
    const tokens = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const echo = JSON.parse((await get(`${stack.publicUrl}/echo/${i}`, { cookie })).text) as Echo;
      tokens.add(echo.headers[JWT_HEADER] as string);
    }
    expect(tokens.size).toBe(1);
  });

  it.each([
    ['exact name', 'X-Sluss-Identity'],
    ['lower case', 'x-sluss-identity'],
    ['upper case', 'X-SLUSS-IDENTITY'],
    ['underscores', 'X_Sluss_Identity'],
  ])('strips a spoofed JWT header (%s) and sends only its own', async (_label, name) => {
    const { jar } = await stack.login();
    const echo = JSON.parse(
      (
        await get(`${stack.publicUrl}/echo/spoof`, {
          cookie: jar.header(stack.publicUrl) ?? '',
          [name]: 'forged.jwt.value',
        })
      ).text,
    ) as Echo;
    expect(echo.headers[JWT_HEADER]).not.toBe('forged.jwt.value');
    expect(JSON.stringify(echo.headers)).not.toContain('forged.jwt.value');
  });

  it('strips every spelling of the plain identity headers, with and without a session', async () => {
    const spoofed = {
      'X-Remote-User': 'mallory',
      x_remote_user: 'mallory',
      'X-REMOTE-EMAIL': 'mallory@evil.example',
      'x-remote-groups': 'app-admins',
      'X-Remote-Tenant': 'other',
    };
    const { jar } = await stack.login({ login: 'bob', password: 'bob' });
    const echo = JSON.parse(
      (await get(`${stack.publicUrl}/echo/spoof`, { ...spoofed, cookie: jar.header(stack.publicUrl) ?? '' }))
        .text,
    ) as Echo;
    expect(echo.headers['x-remote-user']).toBe('bob');
    expect(echo.headers['x-remote-email']).toBe('bob@example.org');
    expect(echo.headers['x-remote-groups']).toBe('staff');
    expect(echo.headers['x-remote-tenant']).toBe('acme');
    expect(JSON.stringify(echo.headers)).not.toContain('mallory');
    expect(echo.headers.x_remote_user).toBeUndefined();
  });

  it('replaces X-Forwarded-* sent by an untrusted client', async () => {
    const { jar } = await stack.login();
    const echo = JSON.parse(
      (
        await get(`${stack.publicUrl}/echo/xff`, {
          cookie: jar.header(stack.publicUrl) ?? '',
          'x-forwarded-for': '6.6.6.6',
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'gopher',
          forwarded: 'for=6.6.6.6',
        })
      ).text,
    ) as Echo;
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-host']).toBe(new URL(stack.publicUrl).host);
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers.forwarded).toBeUndefined();
  });

  describe('requests without a usable session', () => {
    it('a browser navigation is redirected to login, keeping its place', async () => {
      const response = await get(`${stack.publicUrl}/reports/2026?page=2`, NAVIGATE);
      expect(response.status).toBe(302);
      expect(response.headers.location).toBe(
        `/.sluss/login?rd=${encodeURIComponent('/reports/2026?page=2')}`,
      );
      expect(stack.upstream.requests.some((r) => r.url.startsWith('/reports'))).toBe(false);
    });

    it.each([
      ['fetch()', { accept: '*/*', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }],
      ['XMLHttpRequest (legacy)', { accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' }],
      ['curl/JSON client', { accept: 'application/json' }],
      ['no headers at all', {}],
    ])('an API call (%s) gets 401 JSON, never a redirect', async (_label, headers) => {
      const response = await get(`${stack.publicUrl}/api/items`, headers);
      expect(response.status).toBe(401);
      expect(response.headers.location).toBeUndefined();
      expect(response.headers['content-type']).toContain('application/json');
      expect(JSON.parse(response.text)).toMatchObject({ error: 'ERR_UNAUTHENTICATED' });
    });

    it('a POST is never redirected', async () => {
      const response = await request(`${stack.publicUrl}/form`, {
        method: 'POST',
        headers: NAVIGATE,
        body: 'a=1',
      });
      await response.body.text();
      expect(response.statusCode).toBe(401);
    });

    it.each([
      [
        'tampered (one character flipped)',
        async (value: string) => `${value.slice(0, 20)}${value[20] === 'A' ? 'B' : 'A'}${value.slice(21)}`,
      ],
      ['truncated', async (value: string) => value.slice(0, value.length - 10)],
      ['garbage', async () => 'not-a-seal'],
      ['oversized', async () => 'x'.repeat(10_000)],
      [
        'foreign (sealed with another secret)',
        async () =>
          sealData(
            {
              v: 1,
              sid: 'x',
              tenant: 'acme',
              idp: 'test-op',
              identity: { sub: 'mallory', issuer: 'x', groups: [] },
              iat: 0,
              exp: 4e9,
            },
            { password: 'another-secret-that-is-at-least-32-chars!!', ttl: 3600 },
          ),
      ],
    ])('a %s session cookie gets a new login, not an error', async (_label, mutate) => {
      const { jar } = await stack.login();
      const original = jar.get('__Host-sluss', stack.publicUrl)?.value ?? '';
      const cookie = `__Host-sluss=${await mutate(original)}`;
      const browser = await get(`${stack.publicUrl}/echo/x`, { ...NAVIGATE, cookie });
      expect(browser.status).toBe(302);
      expect(browser.headers.location).toMatch(/^\/\.sluss\/login\?rd=/);
      const api = await get(`${stack.publicUrl}/echo/x`, { cookie });
      expect(api.status).toBe(401);
    });
  });

  describe('return URLs never lead off-site', () => {
    it.each([
      'https://evil.example',
      '//evil.example',
      '/\\evil.example',
      '/%5Cevil.example',
      '/%2F%2Fevil.example',
      'https:evil.example',
      '/\t/evil.example',
      'https://127.0.0.1.evil.example/',
    ])('rd=%s lands on a same-origin path after login', async (target) => {
      const jar = new CookieJar();
      const result = await loginThroughOp(
        `${stack.publicUrl}/.sluss/login?rd=${encodeURIComponent(target)}`,
        jar,
        {
          login: 'alice',
          password: 'alice',
        },
      );
      const origins = new Set(result.hops.map((hop) => new URL(hop.replace(/^POST /, '')).origin));
      expect([...origins].sort()).toEqual([stack.op.issuer, stack.publicUrl].sort());
      expect(result.finalUrl).toBe(`${stack.publicUrl}/`);
    });
  });

  describe('callbacks', () => {
    it('a callback URL replayed after login is refused, even with the transaction cookie restored', async () => {
      const jar = new CookieJar();
      const start = await request(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Freplay`);
      await start.body.text();
      jar.store(stack.publicUrl, start.headers as Record<string, string | string[]>);
      const txnCookie = jar.header(stack.publicUrl) ?? '';
      const result = await loginThroughOp(start.headers.location as string, jar, {
        login: 'alice',
        password: 'alice',
      });
      const callback = result.hops.find((hop) => hop.startsWith(`${stack.publicUrl}/.sluss/callback`));
      expect(callback).toBeDefined();

      const replay = await get(callback as string, { ...NAVIGATE, cookie: txnCookie });
      expect(replay.status).toBe(400);
      expect(replay.text).toMatch(/ERR_OIDC_CALLBACK_INVALID|ERR_LOGIN_EXPIRED/);
      expect(replay.headers['set-cookie']?.toString() ?? '').not.toMatch(/__Host-sluss=[^;]/);
    });

    it.each([
      ['missing state', '/.sluss/callback?code=abc'],
      ['unknown state', '/.sluss/callback?code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      [
        'hostile state',
        `/.sluss/callback?code=abc&state=${encodeURIComponent('"><script>alert(1)</script>')}`,
      ],
      ['oversized state', `/.sluss/callback?code=abc&state=${'a'.repeat(5000)}`],
      ['IdP error', '/.sluss/callback?error=access_denied&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ])('%s: clear error page with a reference, no session', async (_label, path) => {
      const response = await get(`${stack.publicUrl}${path}`, NAVIGATE);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.text).toMatch(/reference <code>[0-9a-f]{12}<\/code>/);
      expect(response.text).not.toContain('<script>alert');
      expect(response.headers['set-cookie']?.toString() ?? '').not.toMatch(/__Host-sluss=[^;]/);
      const reference = /reference <code>([0-9a-f]{12})<\/code>/.exec(response.text)?.[1];
      expect(stack.logs.text()).toContain(reference);
    });

    it('a state from a login started in another browser is refused', async () => {
      const victim = await request(`${stack.publicUrl}/.sluss/login?rd=%2F`);
      await victim.body.text();
      const state = new URL(victim.headers.location as string).searchParams.get('state');
      const attacker = await get(`${stack.publicUrl}/.sluss/callback?code=abc&state=${state}`, NAVIGATE);
      expect(attacker.status).toBe(400);
      expect(attacker.text).toContain('ERR_LOGIN_EXPIRED');
    });
  });

  it('logout ends the session everywhere that cookie is replayed', async () => {
    const { jar } = await stack.login();
    const cookie = jar.header(stack.publicUrl) ?? '';
    expect((await get(`${stack.publicUrl}/echo/before`, { cookie })).status).toBe(200);
    const logout = await get(`${stack.publicUrl}/.sluss/logout`, { cookie, 'sec-fetch-site': 'same-origin' });
    expect(logout.status).toBe(302);
    // RP-initiated logout: on to the IdP's end-session endpoint with the ID token as hint.
    const endSession = new URL(logout.headers.location as string);
    expect(endSession.origin).toBe(stack.op.issuer);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(
      `${stack.publicUrl}/.sluss/logged-out`,
    );
    expect(endSession.searchParams.get('client_id')).toBe('sluss-test');
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(String(logout.headers['set-cookie'])).toMatch(/__Host-sluss=; Path=\/; Max-Age=0/);
    // The old cookie value, replayed, no longer works.
    expect((await get(`${stack.publicUrl}/echo/after`, { cookie })).status).toBe(401);
    const page = await get(`${stack.publicUrl}/.sluss/logged-out`, NAVIGATE);
    expect(page.status).toBe(200);
    expect(page.text).toContain('You are signed out');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('a cross-site logout only shows a confirmation, and the session survives it', async () => {
    const { jar } = await stack.login();
    const cookie = jar.header(stack.publicUrl) ?? '';
    const crossSite = await get(`${stack.publicUrl}/.sluss/logout`, {
      cookie,
      'sec-fetch-site': 'cross-site',
    });
    expect(crossSite.status).toBe(200);
    expect(crossSite.text).toContain('<form method="post" action="/.sluss/logout">');
    const foreignPost = await request(`${stack.publicUrl}/.sluss/logout`, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example' },
    });
    await foreignPost.body.text();
    expect(foreignPost.statusCode).toBe(200);
    expect((await get(`${stack.publicUrl}/echo/still-in`, { cookie })).status).toBe(200);
    const confirmed = await request(`${stack.publicUrl}/.sluss/logout`, {
      method: 'POST',
      headers: { cookie, origin: stack.publicUrl, 'sec-fetch-site': 'same-origin' },
    });
    await confirmed.body.text();
    expect(confirmed.statusCode).toBe(302);
    expect((await get(`${stack.publicUrl}/echo/out`, { cookie })).status).toBe(401);
  });

  it('publishes the signing keys as a JWKS without private parts', async () => {
    const response = await get(`${stack.publicUrl}/.sluss/jwks.json`);
    expect(response.status).toBe(200);
    const jwks = JSON.parse(response.text) as { keys: Record<string, string>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', kid: 'test-1', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]?.d).toBeUndefined();
  });

  it('admin port: health, readiness and metrics, with no secrets in them', async () => {
    expect((await get(`${stack.adminUrl}/healthz`)).status).toBe(200);
    expect((await get(`${stack.adminUrl}/readyz`)).status).toBe(200);
    const metrics = await get(`${stack.adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/sluss_requests_total\{outcome="proxied"\} [1-9]/);
    expect(metrics.text).toMatch(/sluss_logins_total\{tenant="acme",idp="test-op",result="success"\} [1-9]/);
    expect(metrics.text).not.toContain(stack.cookieSecret);
    expect(metrics.text).not.toContain(stack.clientSecret);
    // Admin endpoints are not on the public port.
    expect((await get(`${stack.publicUrl}/metrics`)).status).toBe(401);
  });

  it('never writes secrets, cookies or tokens to the log', () => {
    const logs = stack.logs.text();
    expect(logs).toContain('login succeeded');
    expect(logs).not.toContain(stack.cookieSecret);
    expect(logs).not.toContain(stack.clientSecret);
    expect(logs).not.toMatch(/__Host-sluss=/);
    expect(logs).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./); // no JWT
  });
});

describe('session lifetime', () => {
  it('an expired session sends the browser back through the IdP and the API client gets 401', async () => {
    const clock = new ManualClock(Date.now());
    const stack = await startStack({ clock, maxAgeSeconds: 120 });
    try {
      const { jar } = await stack.login();
      const cookie = jar.header(stack.publicUrl) ?? '';
      expect((await get(`${stack.publicUrl}/echo/fresh`, { cookie })).status).toBe(200);
      clock.advance(121_000);
      const browser = await get(`${stack.publicUrl}/echo/stale`, { ...NAVIGATE, cookie });
      expect(browser.status).toBe(302);
      expect(browser.headers.location).toBe(`/.sluss/login?rd=${encodeURIComponent('/echo/stale')}`);
      expect(String(browser.headers['set-cookie'])).toContain('Max-Age=0');
      expect((await get(`${stack.publicUrl}/echo/stale`, { cookie })).status).toBe(401);
    } finally {
      await stack.close();
    }
  });
});

describe('upstream down', () => {
  it('answers 502 with a clear page for browsers and JSON for API clients', async () => {
    const closedPort = await freePort();
    const stack = await startStack({ upstreamUrl: `http://127.0.0.1:${closedPort}` });
    try {
      const { jar, response } = await stack.login();
      expect(response.status).toBe(502);
      const cookie = jar.header(stack.publicUrl) ?? '';
      const page = await get(`${stack.publicUrl}/`, { ...NAVIGATE, cookie });
      expect(page.status).toBe(502);
      expect(page.text).toContain('The application is not responding');
      expect(page.text).toContain('ERR_UPSTREAM_UNAVAILABLE');
      const api = await get(`${stack.publicUrl}/api`, { cookie });
      expect(api.status).toBe(502);
      expect(JSON.parse(api.text)).toMatchObject({ error: 'ERR_UPSTREAM_UNAVAILABLE' });
    } finally {
      await stack.close();
    }
  });
});

describe('public paths', () => {
  it('forwards a public path without a session, still stripping identity headers; the rest stays protected', async () => {
    const stack = await startStack({ publicPaths: ['/echo/public'] });
    try {
      const open = await get(`${stack.publicUrl}/echo/public/style.css`, {
        'x-remote-user': 'mallory',
        'X-Sluss-Identity': 'forged',
      });
      expect(open.status).toBe(200);
      const echoHeaders = stack.upstream.requests.at(-1)?.headers ?? {};
      expect(echoHeaders['x-remote-user']).toBeUndefined();
      expect(echoHeaders[JWT_HEADER]).toBeUndefined();
      for (const path of [
        '/echo/publicity',
        '/echo/public/../admin',
        '/echo/public/..%2fadmin',
        '/echo/admin?/echo/public',
      ]) {
        expect((await get(`${stack.publicUrl}${path}`)).status).toBe(401);
      }
    } finally {
      await stack.close();
    }
  });
});
