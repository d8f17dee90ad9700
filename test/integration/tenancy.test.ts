/**
 * Tenancy end to end: two tenants on one sluss (acme at http://127.0.0.1:<port>,
 * globex at http://localhost:<port>), both signing in at the same real
 * OpenID Provider. Resolution by Host and alias domains, SSO links, the
 * chooser, validity windows with an injected clock, and isolation: a session
 * or a callback of one tenant is never accepted by the other.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { loginThroughOp } from '../support/browserless-login.ts';
import { CookieJar } from '../support/cookie-jar.ts';
import type { Stack } from '../support/sluss-stack.ts';
import { startStack } from '../support/sluss-stack.ts';

const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const ALICE = { login: 'alice', password: 'alice' };

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await request(url, { method: 'GET', headers });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

function secondOidcIdp(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    type: 'oidc',
    title: `Sign in with ${id}`,
    issuer: 'ISSUER_URL',
    clientId: 'sluss-test',
    clientSecret: '${file:secrets/client}',
    scopes: ['openid', 'email', 'profile', 'groups'],
    ...extra,
  };
}

describe('two tenants on one sluss', () => {
  const clock = new ManualClock(Date.UTC(2027, 2, 1));
  let stack: Stack;
  let globexUrl: string;

  beforeAll(async () => {
    stack = await startStack({
      clock,
      tenant: {
        domains: ['acme-alias.example', '*.acme.example'],
        homeRealmDiscovery: true,
        idps: [
          secondOidcIdp('staff', { title: 'Acme staff', emailDomains: ['acme.example'] }),
          secondOidcIdp('partners', { emailDomains: ['partner.example'] }),
          secondOidcIdp('retired', { active: false }),
        ],
      },
      extraTenants: {
        'globex.yaml': {
          prefix: 'globex',
          title: 'Globex',
          publicUrl: 'LOCALHOST_URL',
          validUntil: '2027-06-01T00:00:00Z',
          idps: [secondOidcIdp('globex-op')],
        },
      },
    });
    globexUrl = stack.publicUrl.replace('127.0.0.1', 'localhost');
  });
  afterAll(async () => {
    await stack.close();
  });

  async function loginAt(origin: string, idp: string): Promise<CookieJar> {
    const jar = new CookieJar();
    const result = await loginThroughOp(`${origin}/.sluss/login?idp=${idp}&rd=%2Fecho%2Fwho`, jar, ALICE);
    expect(result.response.status).toBe(200);
    return jar;
  }

  it('resolves each tenant by its Host and tells the upstream which one it is', async () => {
    const acme = await loginAt(stack.publicUrl, 'staff');
    const globex = await loginAt(globexUrl, 'globex-op');
    const fromAcme = JSON.parse(
      (await get(`${stack.publicUrl}/echo/t`, { cookie: acme.header(stack.publicUrl) ?? '' })).text,
    );
    const fromGlobex = JSON.parse(
      (await get(`${globexUrl}/echo/t`, { cookie: globex.header(globexUrl) ?? '' })).text,
    );
    expect(fromAcme.headers['x-remote-tenant']).toBe('acme');
    expect(fromGlobex.headers['x-remote-tenant']).toBe('globex');
  });

  it('never accepts a session of one tenant at the other', async () => {
    const acme = await loginAt(stack.publicUrl, 'staff');
    const cookie = acme.header(stack.publicUrl) ?? '';
    expect((await get(`${stack.publicUrl}/echo/own`, { cookie })).status).toBe(200);
    const replayed = await get(`${globexUrl}/echo/foreign`, { cookie });
    expect(replayed.status).toBe(401);
    expect(stack.upstream.requests.some((r) => r.url === '/echo/foreign')).toBe(false);
  });

  it('never accepts a callback of a login started at the other tenant', async () => {
    const jar = new CookieJar();
    const start = await request(`${stack.publicUrl}/.sluss/login?idp=staff&rd=%2F`);
    await start.body.text();
    jar.store(stack.publicUrl, start.headers as Record<string, string | string[]>);
    const acmeCookies = jar.header(stack.publicUrl) ?? '';
    const result = await loginThroughOp(start.headers.location as string, jar, ALICE);
    const callback = result.hops.find((hop) => hop.includes('/.sluss/callback'));
    if (!callback) throw new Error('no callback hop');
    // The same callback, with acme's transaction cookie, delivered to globex's host.
    const atGlobex = await get(callback.replace(stack.publicUrl, globexUrl), {
      ...NAVIGATE,
      cookie: acmeCookies,
    });
    expect(atGlobex.status).toBe(400);
    expect(atGlobex.text).toMatch(/ERR_OIDC_STATE_MISMATCH|ERR_LOGIN_EXPIRED/);
    expect(String(atGlobex.headers['set-cookie'] ?? '')).not.toMatch(/__Host-sluss=[^;]/);
  });

  it('sends browsers on an alias or wildcard domain to the tenant’s own origin, keeping the path', async () => {
    for (const host of ['acme-alias.example', 'hr.acme.example']) {
      const response = await get(`${stack.publicUrl}/reports?x=1`, { ...NAVIGATE, host });
      expect(response.status).toBe(302);
      expect(response.headers.location).toBe(`${stack.publicUrl}/reports?x=1`);
    }
  });

  it('answers an unknown host with a clear 404 page', async () => {
    const response = await get(`${stack.publicUrl}/`, { ...NAVIGATE, host: 'nobody.example' });
    expect(response.status).toBe(404);
    expect(response.text).toContain('ERR_TENANT_UNKNOWN');
    expect(response.text).toMatch(/[0-9a-f]{12}/);
  });

  it('an SSO link names the IdP and skips the chooser, and is dropped from the return path', async () => {
    const response = await get(`${stack.publicUrl}/echo/deep?sso=partners&tab=2`, NAVIGATE);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(
      `/.sluss/login?idp=partners&rd=${encodeURIComponent('/echo/deep?tab=2')}`,
    );
    const login = await get(`${stack.publicUrl}${response.headers.location}`, NAVIGATE);
    expect(login.status).toBe(302);
    expect(login.headers.location).toContain(`${stack.op.issuer}/auth?`);
  });

  it.each([
    ['an IdP of another tenant', 'globex-op'],
    ['an inactive IdP', 'retired'],
    ['an unknown IdP', 'nope'],
  ])('an SSO link to %s is refused with a clear page', async (_label, idp) => {
    const response = await get(`${stack.publicUrl}/.sluss/login?sso=${idp}`, NAVIGATE);
    expect(response.status).toBe(404);
    expect(response.text).toContain('ERR_IDP_UNKNOWN');
  });

  it('the chooser lists exactly the tenant’s active IdPs, the last used first', async () => {
    const chooser = await get(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Fx`, NAVIGATE);
    expect(chooser.status).toBe(200);
    const links = [...chooser.text.matchAll(/href="\/\.sluss\/login\?idp=([^&"]+)/g)].map((m) => m[1]);
    expect(links).toEqual(['staff', 'partners']);
    expect(chooser.text).toContain('Acme staff');
    expect(chooser.text).not.toContain('retired');
    expect(chooser.text).not.toContain('globex');

    const start = await request(`${stack.publicUrl}/.sluss/login?idp=partners&rd=%2F`);
    await start.body.text();
    const remembered = String(start.headers['set-cookie']).match(/__Host-sluss-idp=partners/);
    expect(remembered).not.toBeNull();
    const again = await get(`${stack.publicUrl}/.sluss/login`, {
      ...NAVIGATE,
      cookie: '__Host-sluss-idp=partners',
    });
    const order = [...again.text.matchAll(/href="\/\.sluss\/login\?idp=([^&"]+)/g)].map((m) => m[1]);
    expect(order[0]).toBe('partners');
  });

  it.each([
    ['de-CH,de;q=0.9,en;q=0.5', 'de', 'Bei Acme Test anmelden'],
    ['nl-BE', 'nl', 'Inloggen bij Acme Test'],
    ['sv-SE,sv;q=0.8', 'sv', 'Logga in på Acme Test'],
    ['fr-FR,ja;q=0.5', 'en', 'Sign in to Acme Test'],
  ])('the chooser speaks the browser’s language (%s → %s)', async (acceptLanguage, lang, heading) => {
    const chooser = await get(`${stack.publicUrl}/.sluss/login`, {
      ...NAVIGATE,
      'accept-language': acceptLanguage,
    });
    expect(chooser.text).toContain(`<html lang="${lang}"`);
    expect(chooser.text).toContain(heading);
  });

  it('error pages are localised too, and keep code and reference', async () => {
    const page = await get(`${stack.publicUrl}/.sluss/login?sso=nope`, {
      ...NAVIGATE,
      'accept-language': 'sv',
    });
    expect(page.text).toContain('<html lang="sv"');
    expect(page.text).toContain('ERR_IDP_UNKNOWN');
    expect(page.text).toMatch(/[0-9a-f]{12}/);
  });

  it('home-realm discovery picks the IdP by email domain, and says so when none matches', async () => {
    const known = await get(
      `${stack.publicUrl}/.sluss/login?email=${encodeURIComponent('bob@partner.example')}&rd=%2F`,
      NAVIGATE,
    );
    expect(known.status).toBe(302);
    expect(known.headers.location).toContain(`${stack.op.issuer}/auth?`);
    const unknown = await get(
      `${stack.publicUrl}/.sluss/login?email=${encodeURIComponent('eve@elsewhere.example')}`,
      NAVIGATE,
    );
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('name="email"');
  });

  it('a tenant past its validUntil shows a clear page and its live sessions stop working', async () => {
    const jar = await loginAt(globexUrl, 'globex-op');
    const cookie = jar.header(globexUrl) ?? '';
    expect((await get(`${globexUrl}/echo/before`, { cookie })).status).toBe(200);
    clock.set(Date.UTC(2027, 5, 1));
    try {
      const page = await get(`${globexUrl}/echo/after`, { ...NAVIGATE, cookie });
      expect(page.status).toBe(403);
      expect(page.text).toContain('ERR_TENANT_UNAVAILABLE');
      const api = await get(`${globexUrl}/echo/after`, { cookie });
      expect(api.status).toBe(403);
      expect(stack.upstream.requests.some((r) => r.url === '/echo/after')).toBe(false);
      // The other tenant is unaffected.
      expect((await get(`${stack.publicUrl}/.sluss/login?idp=staff`, NAVIGATE)).status).toBe(302);
    } finally {
      clock.set(Date.UTC(2027, 2, 1));
    }
  });
});
