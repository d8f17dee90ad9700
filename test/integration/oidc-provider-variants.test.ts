/**
 * sluss's OpenID relying party against a real OpenID Provider (oidc-provider v9)
 * configured in several ways: pairwise subjects, implicit flows with form_post,
 * every client authentication method, UserInfo, back-channel and RP-initiated
 * logout, signing-key rotation, refresh tokens kept server side, IdP failures and
 * MFA claims. Each test names the OpenID RP certification test it stands for,
 * where there is one.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JWK, JWTPayload } from 'jose';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DemoUser } from '../../src/demo/oidc-provider.ts';
import { DEMO_USERS, generateSigningKey } from '../../src/demo/oidc-provider.ts';
import { CookieJar } from '../support/cookie-jar.ts';
import type { Stack, StackOptions } from '../support/sluss-stack.ts';
import { AUDIENCE, CLIENT_ID, freePort, JWT_HEADER, startStack } from '../support/sluss-stack.ts';

const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const ALICE = { login: 'alice', password: 'alice' };
const BOB = { login: 'bob', password: 'bob' };
const SESSION_COOKIE = '__Host-sluss';

interface Echo {
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

const stacks: Stack[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
});

/** A stack closed after the test. */
async function stackWith(options: StackOptions): Promise<Stack> {
  const stack = await startStack(options);
  stacks.push(stack);
  return stack;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await request(url, { method: 'GET', headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

/** GET `path` at sluss with the jar's cookie; the echo upstream's view of it. */
async function echo(stack: Stack, jar: CookieJar, path = '/echo/me'): Promise<Echo> {
  const response = await get(`${stack.publicUrl}${path}`, { cookie: jar.header(stack.publicUrl) ?? '' });
  expect(response.status, response.text).toBe(200);
  return JSON.parse(response.text) as Echo;
}

/** The identity JWT the upstream received, verified as an app would. */
async function identityJwt(stack: Stack, received: Echo): Promise<JWTPayload> {
  const token = received.headers[JWT_HEADER];
  expect(typeof token).toBe('string');
  const jwks = createRemoteJWKSet(new URL(`${stack.publicUrl}/.sluss/jwks.json`));
  const { payload } = await jwtVerify(token as string, jwks, {
    issuer: stack.publicUrl,
    audience: AUDIENCE,
    algorithms: ['ES256'],
  });
  return payload;
}

/** Logs in and returns the jar, what the app saw, and the verified identity JWT. */
async function loginAndEcho(stack: Stack, user = ALICE) {
  const login = await stack.login(user);
  expect(login.response.status, login.hops.join('\n')).toBe(200);
  const received = (await login.response.json()) as Echo;
  return { ...login, echo: received, jwt: await identityJwt(stack, received) };
}

function authorizationRequest(stack: Stack, hops: readonly string[]): URL {
  const hop = hops.find((h) => h.startsWith(`${stack.op.issuer}/auth`));
  expect(hop, hops.join('\n')).toBeDefined();
  return new URL(hop ?? '');
}

/** Token-endpoint requests the OP received. */
function tokenRequests(stack: Stack) {
  return stack.op.requests.filter((r) => r.method === 'POST' && r.url.startsWith('/token'));
}

type BrowseOptions = {
  user?: { login: string; password: string };
  /** Press Cancel on the OP's login page instead of signing in. */
  cancel?: boolean;
  /** Stop (without requesting it) at the first URL this matches. */
  stopAt?: (url: URL) => boolean;
};

type BrowseResult = {
  /** The last response, or undefined when `stopAt` stopped the walk. */
  response?: { status: number; text: string; headers: Record<string, string | string[] | undefined> };
  finalUrl: URL;
  hops: string[];
  /** Every Set-Cookie line received, with the URL that sent it. */
  setCookies: { url: string; line: string }[];
};

/**
 * A browser-like walk (Fetch Metadata says "navigation"): follows redirects, signs in at
 * (or cancels) the OP's login page, and submits auto-submitting forms (form_post,
 * the OP's logout confirmation). Unlike `loginThroughOp` it can stop before a URL and
 * records every Set-Cookie line.
 */
async function browse(startUrl: string, jar: CookieJar, options: BrowseOptions = {}): Promise<BrowseResult> {
  const hops: string[] = [];
  const setCookies: { url: string; line: string }[] = [];
  let step: { url: URL; method: 'GET' | 'POST'; body?: URLSearchParams } = {
    url: new URL(startUrl),
    method: 'GET',
  };
  let signedIn = false;
  for (let i = 0; i < 25; i++) {
    if (options.stopAt?.(step.url)) return { finalUrl: step.url, hops, setCookies };
    hops.push(`${step.method} ${step.url.href}`);
    const headers: Record<string, string> = { ...NAVIGATE };
    const cookie = jar.header(step.url);
    if (cookie) headers.cookie = cookie;
    if (step.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    // undici's request, not fetch: fetch would overwrite Sec-Fetch-Mode with "cors".
    const response = await request(step.url, {
      method: step.method,
      headers,
      ...(step.body ? { body: step.body.toString() } : {}),
    });
    const raw = response.headers['set-cookie'];
    for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      setCookies.push({ url: step.url.href, line });
    }
    jar.store(step.url, response.headers);
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      await response.body.dump();
      step = { url: new URL(location, step.url), method: 'GET' };
      continue;
    }
    const text = await response.body.text();
    const done = {
      response: { status: response.statusCode, text, headers: response.headers },
      finalUrl: step.url,
    };
    if (!String(response.headers['content-type'] ?? '').includes('text/html')) {
      return { ...done, hops, setCookies };
    }
    const formList = [...text.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
    const loginForm = formList.find((f) => /name="password"/.test(f[2] ?? ''));
    if (loginForm && !signedIn) {
      signedIn = true;
      if (options.cancel) {
        const abort = formList.find((f) => /action="[^"]*\/abort"/.test(f[1] ?? ''));
        step = { url: new URL(attribute(abort?.[1] ?? '', 'action'), step.url), method: 'POST' };
        step.body = new URLSearchParams();
      } else {
        const user = options.user ?? ALICE;
        step = {
          url: new URL(attribute(loginForm[1] ?? '', 'action'), step.url),
          method: 'POST',
          body: new URLSearchParams({ login: user.login, password: user.password }),
        };
      }
      continue;
    }
    const first = formList[0];
    if (first && /document\.forms\[0\]\.submit\(\)/.test(text)) {
      const fields = new URLSearchParams();
      for (const [input] of (first[2] ?? '').matchAll(/<input\b[^>]*>/gi)) {
        const name = attribute(input, 'name');
        if (name) fields.set(name, attribute(input, 'value'));
      }
      step = { url: new URL(attribute(first[1] ?? '', 'action'), step.url), method: 'POST', body: fields };
      continue;
    }
    return { ...done, hops, setCookies };
  }
  throw new Error(`too many hops:\n${hops.join('\n')}`);
}

/** Hops and final body, for assertion messages. */
function explain(result: BrowseResult): string {
  return `${result.hops.join('\n')}\n${result.response?.text ?? ''}`;
}

function attribute(tag: string, name: string): string {
  const match = new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(tag);
  return (match?.[1] ?? '')
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");
}

/** The sluss session ID (the JWT's `sid`) behind a jar. */
async function slussSid(stack: Stack, jar: CookieJar): Promise<string> {
  const payload = await identityJwt(stack, await echo(stack, jar));
  expect(typeof payload.sid).toBe('string');
  return payload.sid as string;
}

function components(stack: Stack) {
  const running = stack.sluss;
  if (!running) throw new Error('sluss runs in-process in these tests');
  return running.components;
}

const CAROL: DemoUser = {
  sub: 'carol',
  password: 'carol',
  email: 'carol@example.net',
  name: 'Carol Carlsson',
  given_name: 'Carol',
  family_name: 'Carlsson',
  groups: ['staff'],
  amr: ['pwd', 'otp'],
};

describe('pairwise subject identifiers (rp-id_token-sub, subject_type pairwise)', () => {
  it('forwards the pairwise sub, not the account ID, stable across logins and in the JWT', async () => {
    const stack = await stackWith({ opOptions: { pairwise: true }, client: { subject_type: 'pairwise' } });
    const first = await loginAndEcho(stack);
    const sub = first.echo.headers['x-remote-user'];
    expect(typeof sub).toBe('string');
    expect(sub).not.toBe('alice');
    // The demo OP derives it from the sector (the redirect URI's host) and the account.
    const sector = new URL(stack.publicUrl).host;
    expect(sub).toBe(createHash('sha256').update(`${sector}:alice`).digest('base64url'));
    expect(first.jwt.sub).toBe(sub);
    expect(first.echo.headers['x-remote-email']).toBe('alice@example.com');

    const second = await loginAndEcho(stack);
    expect(second.echo.headers['x-remote-user']).toBe(sub);
    expect(second.jwt.sub).toBe(sub);
    expect(second.jwt.sid).not.toBe(first.jwt.sid);

    const bob = await loginAndEcho(stack, BOB);
    expect(bob.jwt.sub).not.toBe(sub);
    expect(bob.jwt.sub).not.toBe('bob');
  });
});

describe('implicit flows with response_mode=form_post', () => {
  it.each([
    ['id_token', 'rp-response_type-id_token', ['implicit']],
    ['id_token token', 'rp-response_type-id_token+token', ['implicit']],
  ])(
    'responseType %s (%s): login works, claims arrive, no PKCE, SameSite=None transaction cookie',
    async (responseType, _cert, grantTypes) => {
      const stack = await stackWith({
        opOptions: { responseTypes: ['code', 'id_token', 'id_token token'] },
        client: { response_types: [responseType], grant_types: grantTypes, application_type: 'native' },
        idp: { responseType },
      });
      const jar = new CookieJar();
      const result = await browse(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Fimplicit`, jar);
      expect(result.response?.status, explain(result)).toBe(200);
      expect(result.finalUrl.href).toBe(`${stack.publicUrl}/echo/implicit`);
      // The callback came as a POST (form_post), not in a fragment or query.
      expect(result.hops).toContain(`POST ${stack.publicUrl}/.sluss/callback`);

      const authorize = authorizationRequest(
        stack,
        result.hops.map((h) => h.replace(/^GET /, '')),
      );
      expect(authorize.searchParams.get('response_type')).toBe(responseType);
      expect(authorize.searchParams.get('response_mode')).toBe('form_post');
      expect(authorize.searchParams.get('nonce')).toMatch(/^[\w-]{32,}$/);
      expect(authorize.searchParams.has('code_challenge')).toBe(false);
      expect(authorize.searchParams.has('code_challenge_method')).toBe(false);
      // No token endpoint in an implicit flow.
      expect(tokenRequests(stack)).toHaveLength(0);

      // The transaction cookie must come back on the OP's cross-site POST: SameSite=None; Secure.
      const txn = result.setCookies.find(
        (c) =>
          c.url.startsWith(`${stack.publicUrl}/.sluss/login`) && c.line.startsWith(`${SESSION_COOKIE}-txn-`),
      );
      expect(txn, JSON.stringify(result.setCookies)).toBeDefined();
      expect(txn?.line).toMatch(/;\s*SameSite=None/i);
      expect(txn?.line).toMatch(/;\s*Secure/i);
      expect(txn?.line).toMatch(/;\s*HttpOnly/i);

      const received = JSON.parse(result.response?.text ?? '{}') as Echo;
      expect(received.headers['x-remote-user']).toBe('alice');
      expect(received.headers['x-remote-email']).toBe('alice@example.com');
      expect(received.headers['x-remote-name']).toBe('Alice Andersson');
      expect(received.headers['x-remote-groups']).toBe('staff,app-admins');
      const jwt = await identityJwt(stack, received);
      expect(jwt).toMatchObject({
        sub: 'alice',
        email: 'alice@example.com',
        groups: ['staff', 'app-admins'],
      });
    },
  );
});

describe('token endpoint client authentication', () => {
  const algorithms = [
    ['RSA', 'RS256'],
    ['EC P-256', 'ES256'],
  ] as const;

  function clientKey(kind: 'RSA' | 'EC P-256', kid: string) {
    const { privateKey, publicKey } =
      kind === 'RSA'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, use: 'sig' };
    return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), jwk };
  }

  it.each(algorithms)(
    'private_key_jwt with an %s key (rp-token_endpoint-private_key_jwt)',
    async (kind, alg) => {
      const kid = `sluss-${randomBytes(4).toString('hex')}`;
      const key = clientKey(kind, kid);
      const stack = await stackWith({
        client: {
          client_secret: undefined,
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: alg,
          jwks: { keys: [{ ...key.jwk, alg }] },
        },
        idp: {
          tokenEndpointAuthMethod: 'private_key_jwt',
          clientPrivateKey: key.pem,
          clientKeyId: kid,
          clientSecret: null,
        },
      });
      const { echo: received } = await loginAndEcho(stack);
      expect(received.headers['x-remote-user']).toBe('alice');
      const [token] = tokenRequests(stack);
      // The client assertion is in the body, never a Basic header.
      expect(token?.headers.authorization).toBeUndefined();
    },
  );

  it('private_key_jwt signed with a key the OP does not know is refused (no session)', async () => {
    const registered = clientKey('RSA', 'registered');
    const other = clientKey('RSA', 'registered');
    const stack = await stackWith({
      client: {
        client_secret: undefined,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'RS256',
        jwks: { keys: [{ ...registered.jwk, alg: 'RS256' }] },
      },
      idp: {
        tokenEndpointAuthMethod: 'private_key_jwt',
        clientPrivateKey: other.pem,
        clientKeyId: 'registered',
        clientSecret: null,
      },
    });
    const jar = new CookieJar();
    const result = await browse(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Fx`, jar);
    expect(result.response?.status).toBe(400);
    expect(result.response?.text).toContain('ERR_OIDC_CALLBACK_INVALID');
    expect(jar.get(SESSION_COOKIE, stack.publicUrl)).toBeUndefined();
  });

  it('client_secret_basic (the default) sends a Basic header (rp-token_endpoint-client_secret_basic)', async () => {
    const stack = await stackWith({});
    await loginAndEcho(stack);
    const [token] = tokenRequests(stack);
    expect(token?.headers.authorization).toMatch(/^Basic /);
  });

  it('client_secret_post sends the secret in the body, not a header (rp-token_endpoint-client_secret_post)', async () => {
    const stack = await stackWith({
      client: { token_endpoint_auth_method: 'client_secret_post' },
      idp: { tokenEndpointAuthMethod: 'client_secret_post' },
    });
    const { echo: received } = await loginAndEcho(stack);
    expect(received.headers['x-remote-user']).toBe('alice');
    const [token] = tokenRequests(stack);
    expect(token?.headers.authorization).toBeUndefined();
  });

  it('a public client (none) relies on PKCE alone', async () => {
    const stack = await stackWith({
      client: { client_secret: undefined, token_endpoint_auth_method: 'none' },
      idp: { tokenEndpointAuthMethod: 'none', clientSecret: null },
    });
    const { echo: received, hops } = await loginAndEcho(stack);
    expect(received.headers['x-remote-user']).toBe('alice');
    const authorize = authorizationRequest(stack, hops);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    const [token] = tokenRequests(stack);
    expect(token?.headers.authorization).toBeUndefined();
  });
});

describe('UserInfo (rp-userinfo-bearer-header)', () => {
  // groups only at the UserInfo endpoint, as some IdPs do; the ID token lacks them.
  const users: DemoUser[] = DEMO_USERS.map((u) => ({ ...u, userinfoOnlyClaims: ['groups'] }));

  it('with userinfo: true, sluss calls UserInfo with the access token and merges its claims', async () => {
    const stack = await stackWith({ opOptions: { users }, idp: { userinfo: true } });
    const { echo: received, jwt, jar } = await loginAndEcho(stack);
    const userinfo = stack.op.requests.filter((r) => r.url.startsWith('/me'));
    expect(userinfo).toHaveLength(1);
    expect(userinfo[0]?.headers.authorization).toMatch(/^(Bearer|DPoP) /);
    expect(received.headers['x-remote-groups']).toBe('staff,app-admins');
    expect(jwt.groups).toEqual(['staff', 'app-admins']);
    // The ID token itself really lacks the claim.
    const stored = await components(stack).sessionData.load(await slussSid(stack, jar));
    const idToken = decodeJwt(stored?.idToken ?? '');
    expect(idToken.groups).toBeUndefined();
    expect(idToken.email).toBe('alice@example.com');
  });

  it('without userinfo, claims come from the ID token only (no UserInfo call)', async () => {
    const stack = await stackWith({ opOptions: { users } });
    const { echo: received, jwt } = await loginAndEcho(stack);
    expect(stack.op.requests.filter((r) => r.url.startsWith('/me'))).toHaveLength(0);
    expect(received.headers['x-remote-groups']).toBeUndefined();
    expect(jwt.groups).toEqual([]);
    expect(received.headers['x-remote-email']).toBe('alice@example.com');
  });

  it('with responseType "id_token token" the access token from the form_post reaches UserInfo', async () => {
    const stack = await stackWith({
      opOptions: { users, responseTypes: ['code', 'id_token token'] },
      client: { response_types: ['id_token token'], grant_types: ['implicit'], application_type: 'native' },
      idp: { responseType: 'id_token token', userinfo: true },
    });
    const result = await browse(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Fui`, new CookieJar());
    expect(result.response?.status, explain(result)).toBe(200);
    const received = JSON.parse(result.response?.text ?? '{}') as Echo;
    expect(received.headers['x-remote-groups']).toBe('staff,app-admins');
    expect(stack.op.requests.filter((r) => r.url.startsWith('/me'))).toHaveLength(1);
  });
});

describe('back-channel logout from the real OP', () => {
  async function backchannelStack() {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const stack = await stackWith({
      port,
      client: {
        backchannel_logout_uri: `${publicUrl}/.sluss/backchannel-logout`,
        backchannel_logout_session_required: true,
      },
    });
    const deliveries: { ok: boolean; sid: unknown; error?: unknown }[] = [];
    stack.op.provider.on('backchannel.success', (_ctx, _client, _accountId, sid) =>
      deliveries.push({ ok: true, sid }),
    );
    stack.op.provider.on('backchannel.error', (_ctx, error, _client, _accountId, sid) =>
      deliveries.push({ ok: false, sid, error }),
    );
    return { stack, deliveries };
  }

  it('rp-backchannel-rpinitlogout: logging out through sluss ends every sluss session of that OP session', async () => {
    const { stack, deliveries } = await backchannelStack();
    const jar = new CookieJar();
    const first = await browse(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2F1`, jar);
    expect(first.response?.status).toBe(200);
    const firstCookie = jar.header(stack.publicUrl) ?? '';
    // A second sluss login in the same browser reuses the OP session (no password asked): same OP sid.
    jar.delete(SESSION_COOKIE, stack.publicUrl);
    const second = await browse(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2F2`, jar);
    expect(second.response?.status).toBe(200);
    expect(second.hops.some((h) => h.startsWith('POST') && h.includes('/interaction/'))).toBe(false);
    const secondCookie = jar.header(stack.publicUrl) ?? '';
    expect(secondCookie).not.toBe(firstCookie);
    expect((await get(`${stack.publicUrl}/echo/a`, { cookie: firstCookie })).status).toBe(200);

    const logout = await get(`${stack.publicUrl}/.sluss/logout`, {
      cookie: secondCookie,
      'sec-fetch-site': 'same-origin',
    });
    expect(logout.status).toBe(302);
    jar.store(`${stack.publicUrl}/.sluss/logout`, logout.headers);
    const atOp = await browse(logout.headers.location as string, jar);
    expect(atOp.finalUrl.href).toBe(`${stack.publicUrl}/.sluss/logged-out`);

    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ ok: true, sid: expect.any(String) });
    expect(stack.logs.text()).toContain('back-channel logout');
    // The logout token named the OP session, which also carried the first sluss session.
    expect((await get(`${stack.publicUrl}/echo/b`, { cookie: firstCookie })).status).toBe(401);
    expect((await get(`${stack.publicUrl}/echo/c`, { cookie: secondCookie })).status).toBe(401);
  });

  it('rp-backchannel-rpinitlogout (OP-initiated): ending one OP session ends only its sluss session', async () => {
    const { stack, deliveries } = await backchannelStack();
    const a = await stack.login();
    const b = await stack.login();
    const cookieA = a.jar.header(stack.publicUrl) ?? '';
    const cookieB = b.jar.header(stack.publicUrl) ?? '';
    const sidA = await slussSid(stack, a.jar);
    const sidB = await slussSid(stack, b.jar);
    expect(sidA).not.toBe(sidB);

    // The user signs out at the OP itself (no sluss involved), in browser A only.
    const atOp = await browse(`${stack.op.issuer}/session/end`, a.jar);
    expect(atOp.response?.status).toBe(200);
    expect(atOp.response?.text).toContain('signed out');
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]?.ok, String(deliveries[0]?.error)).toBe(true);

    const afterA = await get(`${stack.publicUrl}/echo/a`, { cookie: cookieA });
    expect(afterA.status).toBe(401);
    expect(await components(stack).sessionData.load(sidA)).toBeUndefined();
    expect((await get(`${stack.publicUrl}/echo/b`, { cookie: cookieB })).status).toBe(200);
    expect(await components(stack).sessionData.load(sidB)).toBeDefined();
  });

  it('a logout token replayed to sluss is refused', async () => {
    const { stack, deliveries } = await backchannelStack();
    const tokens: string[] = [];
    // Capture the token as the OP sends it (its fetch goes through globalThis.fetch), then replay it.
    const login = await stack.login();
    const seen = vi.spyOn(globalThis, 'fetch');
    await browse(`${stack.op.issuer}/session/end`, login.jar);
    for (const [url, init] of seen.mock.calls) {
      if (String(url).endsWith('/.sluss/backchannel-logout') && init?.body) {
        tokens.push(new URLSearchParams(String(init.body)).get('logout_token') ?? '');
      }
    }
    seen.mockRestore();
    expect(tokens).toHaveLength(1);
    // sluss accepted it the first time.
    expect(deliveries).toMatchObject([{ ok: true }]);
    expect(
      (await get(`${stack.publicUrl}/echo/x`, { cookie: login.jar.header(stack.publicUrl) ?? '' })).status,
    ).toBe(401);
    const replay = await request(`${stack.publicUrl}/.sluss/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: tokens[0] ?? '' }).toString(),
    });
    expect(replay.statusCode).toBe(400);
    expect(await replay.body.json()).toMatchObject({ error: 'invalid_request' });
    expect(stack.logs.text()).toContain('The logout token was already used.');
  });
});

describe('RP-initiated logout (rp-rp-initiated-logout)', () => {
  it("redirects to the OP's end_session_endpoint with the hint, and ends at sluss's logged-out page", async () => {
    const stack = await stackWith({});
    const { jar } = await stack.login();
    const stored = await components(stack).sessionData.load(await slussSid(stack, jar));
    const logout = await get(`${stack.publicUrl}/.sluss/logout`, {
      cookie: jar.header(stack.publicUrl) ?? '',
      'sec-fetch-site': 'same-origin',
    });
    expect(logout.status).toBe(302);
    const target = new URL(logout.headers.location as string);
    const discovery = JSON.parse((await get(`${stack.op.issuer}/.well-known/openid-configuration`)).text) as {
      end_session_endpoint: string;
    };
    expect(`${target.origin}${target.pathname}`).toBe(discovery.end_session_endpoint);
    expect(target.searchParams.get('id_token_hint')).toBe(stored?.idToken);
    expect(target.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.publicUrl}/.sluss/logged-out`);
    expect(target.searchParams.get('client_id')).toBe(CLIENT_ID);

    jar.store(`${stack.publicUrl}/.sluss/logout`, logout.headers);
    const followed = await browse(target.href, jar);
    expect(followed.finalUrl.href).toBe(`${stack.publicUrl}/.sluss/logged-out`);
    expect(followed.response?.status).toBe(200);
    expect(followed.response?.text).toContain('You are signed out');

    // The OP session is over too: the next login asks for the password again.
    const again = await browse(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Fagain`, jar);
    expect(again.hops.some((h) => h.startsWith('POST') && h.endsWith('/login'))).toBe(true);
    expect(again.response?.status).toBe(200);
  });

  it('with rpInitiatedLogout: false it goes straight to the logged-out page and the OP session stays', async () => {
    const stack = await stackWith({ idp: { rpInitiatedLogout: false } });
    const { jar } = await stack.login();
    const logout = await get(`${stack.publicUrl}/.sluss/logout`, {
      cookie: jar.header(stack.publicUrl) ?? '',
      'sec-fetch-site': 'same-origin',
    });
    expect(logout.status).toBe(302);
    expect(logout.headers.location).toBe('/.sluss/logged-out');
    expect(stack.op.requests.some((r) => r.url.startsWith('/session/end'))).toBe(false);
    jar.store(`${stack.publicUrl}/.sluss/logout`, logout.headers);
    // Single sign-on at the OP still holds: no password this time.
    const again = await browse(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Fagain`, jar);
    expect(again.response?.status).toBe(200);
    expect(again.hops.some((h) => h.startsWith('POST') && h.endsWith('/login'))).toBe(false);
  });
});

describe('signing-key rotation at the OP (rp-key-rotation-op-sign-key)', () => {
  it('after the OP switches to a new key, the next login verifies with the new kid', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now());
    const oldKey = await generateSigningKey('op-key-1');
    const stack = await stackWith({ opOptions: { jwks: { keys: [oldKey] } } });
    const first = await stack.login();
    expect(first.response.status).toBe(200);
    const firstToken = (await components(stack).sessionData.load(await slussSid(stack, first.jar)))?.idToken;
    expect(decodeProtectedHeader(firstToken ?? '').kid).toBe('op-key-1');

    stack.op.rotateKeys({ keys: [await generateSigningKey('op-key-2')] });
    // openid-client refetches the JWKS for an unknown kid at most once a minute.
    vi.setSystemTime(Date.now() + 61_000);

    const second = await stack.login();
    expect(second.response.status, await second.response.clone().text()).toBe(200);
    const secondToken = (await components(stack).sessionData.load(await slussSid(stack, second.jar)))
      ?.idToken;
    expect(decodeProtectedHeader(secondToken ?? '').kid).toBe('op-key-2');
    // The session opened before the rotation is untouched by it.
    expect(
      (await get(`${stack.publicUrl}/echo/old`, { cookie: first.jar.header(stack.publicUrl) ?? '' })).status,
    ).toBe(200);
  });
});

describe('refresh tokens stay server side', () => {
  it('a refresh token is stored with the session, never in a cookie or an upstream header', async () => {
    const stack = await stackWith({
      // Like Okta, Entra ID or Keycloak: no prompt=consent needed for a refresh token.
      opOptions: { alwaysIssueRefreshTokens: true },
      client: { grant_types: ['authorization_code', 'refresh_token'] },
      idp: {
        refresh: { enabled: true, intervalSeconds: 30 },
        scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
      },
    });
    const jar = new CookieJar();
    const result = await browse(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Frt`, jar);
    expect(result.response?.status, explain(result)).toBe(200);
    expect(
      authorizationRequest(
        stack,
        result.hops.map((h) => h.replace(/^GET /, '')),
      ).searchParams.get('scope'),
    ).toContain('offline_access');
    const sid = await slussSid(stack, jar);
    const stored = await components(stack).sessionData.load(sid);
    const refreshToken = stored?.refreshToken ?? '';
    expect(refreshToken.length).toBeGreaterThan(20);

    const fromSluss = result.setCookies.filter((c) => c.url.startsWith(stack.publicUrl));
    expect(fromSluss.length).toBeGreaterThan(0);
    for (const { line } of fromSluss) expect(line).not.toContain(refreshToken);
    for (const seen of stack.upstream.requests) {
      expect(JSON.stringify(seen.headers)).not.toContain(refreshToken);
      expect(JSON.stringify(seen.headers)).not.toContain(stored?.idToken ?? '');
    }

    // The stored token is good at the real OP: a refresh gives the same subject.
    const rp = components(stack).tenants.byId('acme')?.oidc.get('test-op');
    const refreshed = await rp?.refresh(refreshToken, { issuer: stack.op.issuer, sub: 'alice' });
    expect(refreshed?.claims?.sub).toBe('alice');
    expect(refreshed?.refreshToken).toEqual(expect.any(String));
  });

  it('without refresh.enabled no refresh token is kept (though the OP issued one)', async () => {
    const stack = await stackWith({
      opOptions: { alwaysIssueRefreshTokens: true },
      client: { grant_types: ['authorization_code', 'refresh_token'] },
      idp: { scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'] },
    });
    const { jar } = await stack.login();
    const stored = await components(stack).sessionData.load(await slussSid(stack, jar));
    expect(stored?.idToken).toMatch(/^eyJ/);
    expect(stored?.refreshToken).toBeUndefined();
  });
});

describe('refresh tokens used while the session runs', () => {
  const refreshing: StackOptions = {
    opOptions: { alwaysIssueRefreshTokens: true },
    client: { grant_types: ['authorization_code', 'refresh_token'] },
    idp: { refresh: { enabled: true, intervalSeconds: 30 } },
  };

  it('after intervalSeconds a request refreshes at the OP; the token still never reaches browser or app', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now());
    const stack = await stackWith(refreshing);
    const { jar } = await stack.login();
    const sid = await slussSid(stack, jar);
    const before = await components(stack).sessionData.load(sid);
    expect(before?.refreshToken).toEqual(expect.any(String));
    expect(tokenRequests(stack)).toHaveLength(1);

    // Within the interval: no call to the OP.
    await echo(stack, jar, '/echo/soon');
    expect(tokenRequests(stack)).toHaveLength(1);

    vi.setSystemTime(Date.now() + 31_000);
    const later = await get(`${stack.publicUrl}/echo/later`, { cookie: jar.header(stack.publicUrl) ?? '' });
    expect(later.status).toBe(200);
    expect(JSON.parse(later.text)).toMatchObject({ headers: { 'x-remote-user': 'alice' } });
    // The refreshed identity went through the tenant's mapping again: same user ID and login in the JWT.
    const jwt =
      (JSON.parse(later.text) as { headers: Record<string, string> }).headers['x-sluss-identity'] ?? '';
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({
      sub: 'alice',
      idp_user_id: 'alice',
      given_name: 'Alice',
      family_name: 'Andersson',
    });
    expect(tokenRequests(stack)).toHaveLength(2);
    const after = await components(stack).sessionData.load(sid);
    expect(after?.checkedAt).toBeGreaterThan(before?.checkedAt ?? Infinity);
    for (const token of [before?.refreshToken ?? '', after?.refreshToken ?? '']) {
      expect(String(later.headers['set-cookie'] ?? '')).not.toContain(token);
      for (const seen of stack.upstream.requests) expect(JSON.stringify(seen.headers)).not.toContain(token);
    }
  });

  it('when the OP session ends (no back-channel logout), the refresh is refused and the sluss session ends', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now());
    const stack = await stackWith(refreshing);
    const { jar } = await stack.login();
    const cookie = jar.header(stack.publicUrl) ?? '';
    // Without offline_access, oidc-provider's refresh token lives only as long as its session.
    const signedOut = await browse(`${stack.op.issuer}/session/end`, jar);
    expect(signedOut.response?.text).toContain('signed out');
    expect((await get(`${stack.publicUrl}/echo/still`, { cookie })).status).toBe(200);

    vi.setSystemTime(Date.now() + 31_000);
    const api = await get(`${stack.publicUrl}/echo/after-idp-logout`, { cookie });
    expect(api.status).toBe(401);
    expect(stack.logs.text()).toContain('IdP refused the refresh; session ended');
    expect((await get(`${stack.publicUrl}/echo/again`, { cookie })).status).toBe(401);
  });

  it('an unreachable OP at refresh time leaves the session alone', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now());
    const stack = await stackWith(refreshing);
    const { jar } = await stack.login();
    await stack.op.close();
    vi.setSystemTime(Date.now() + 31_000);
    expect((await echo(stack, jar, '/echo/op-down')).headers['x-remote-user']).toBe('alice');
    expect(stack.logs.text()).toContain('IdP unreachable for session refresh');
  });
  it('an idle session is refused without asking the IdP for a refresh', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now());
    const stack = await stackWith({ ...refreshing, tenant: { session: { idleTimeoutSeconds: 60 } } });
    const { jar } = await stack.login();
    expect(tokenRequests(stack)).toHaveLength(1);
    vi.setSystemTime(Date.now() + 61_000);
    const idle = await get(`${stack.publicUrl}/echo/idle`, { cookie: jar.header(stack.publicUrl) ?? '' });
    expect(idle.status).toBe(401);
    expect(tokenRequests(stack)).toHaveLength(1);
  });
});

describe('refresh after the user changed at the IdP', () => {
  /** The demo users with groups this test may change at the OP (read at every token issue). */
  function changeableUsers(): DemoUser[] {
    return DEMO_USERS.map((user) => ({ ...user, groups: [...user.groups] }));
  }
  function refreshingWith(users: DemoUser[], tenant: Record<string, unknown> = {}): StackOptions {
    return {
      opOptions: { alwaysIssueRefreshTokens: true, users },
      client: { grant_types: ['authorization_code', 'refresh_token'] },
      idp: { refresh: { enabled: true, intervalSeconds: 30 } },
      tenant,
    };
  }
  function removeFromGroup(users: DemoUser[], sub: string, group: string): void {
    const user = users.find((u) => u.sub === sub);
    if (!user) throw new Error(`no user ${sub}`);
    user.groups = user.groups.filter((g) => g !== group);
  }

  it('a user removed from the whitelisted group at the IdP loses the session at the next refresh', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now());
    const users = changeableUsers();
    const stack = await stackWith(
      refreshingWith(users, { policy: { groupWhitelist: { active: true, groups: ['app-admins'] } } }),
    );
    const { jar } = await stack.login();
    const cookie = jar.header(stack.publicUrl) ?? '';
    expect((await get(`${stack.publicUrl}/echo/before`, { cookie })).status).toBe(200);

    removeFromGroup(users, 'alice', 'app-admins');
    vi.setSystemTime(Date.now() + 31_000);
    expect((await get(`${stack.publicUrl}/echo/after`, { cookie })).status).toBe(401);
    expect(tokenRequests(stack)).toHaveLength(2);
    expect((await get(`${stack.publicUrl}/echo/again`, { cookie })).status).toBe(401);
    expect(stack.audit.lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({
        event: 'session_revoked',
        reason: 'refused-on-refresh',
        denied: 'group-not-allowed',
        sub: 'alice',
      }),
    );
  });

  it('after a refresh removed a group, the old cookie no longer works and the new one carries the new groups', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now());
    const users = changeableUsers();
    const stack = await stackWith(refreshingWith(users));
    const { jar } = await stack.login();
    const oldCookie = jar.header(stack.publicUrl) ?? '';
    const before = await identityJwt(stack, await echo(stack, jar, '/echo/before'));
    expect(before.groups).toEqual(['staff', 'app-admins']);

    removeFromGroup(users, 'alice', 'app-admins');
    vi.setSystemTime(Date.now() + 31_000);
    const refreshed = await get(`${stack.publicUrl}/echo/refresh`, { cookie: oldCookie });
    expect(refreshed.status).toBe(200);
    jar.store(`${stack.publicUrl}/echo/refresh`, refreshed.headers);
    const newCookie = jar.header(stack.publicUrl) ?? '';
    expect(newCookie).not.toBe(oldCookie);

    // The old cookie: no access with the old groups, and no stale identity headers for the new one.
    expect((await get(`${stack.publicUrl}/echo/old-cookie`, { cookie: oldCookie })).status).toBe(401);
    const after = await identityJwt(stack, await echo(stack, jar, '/echo/after'));
    expect(after.groups).toEqual(['staff']);
    expect(after.sid).not.toBe(before.sid);
  });
});

describe('refresh tokens from a strictly conformant OP (OIDC Core §11)', () => {
  // oidc-provider by default drops offline_access unless the request says prompt=consent, as
  // OIDC Core §11 requires ("a prompt parameter value of consent MUST be used"). sluss never
  // sends it, so with refresh enabled it silently gets no refresh token from such an OP.
  it('with refresh enabled and offline_access requested, sluss asks for consent and gets a refresh token', async () => {
    const stack = await stackWith({
      client: { grant_types: ['authorization_code', 'refresh_token'] },
      idp: {
        refresh: { enabled: true, intervalSeconds: 30 },
        scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
      },
    });
    const { jar, hops } = await stack.login();
    const stored = await components(stack).sessionData.load(await slussSid(stack, jar));
    expect(authorizationRequest(stack, hops).searchParams.get('prompt')).toBe('consent');
    expect(stored?.refreshToken).toEqual(expect.any(String));
  });
});

describe('IdP errors', () => {
  it('IdP unreachable at login: 503 page with a retry link for browsers, 503 JSON for API clients', async () => {
    const closed = await freePort();
    const stack = await stackWith({ idp: { issuer: `http://127.0.0.1:${closed}` } });
    const page = await get(`${stack.publicUrl}/.sluss/login?rd=%2Freports`, NAVIGATE);
    expect(page.status).toBe(503);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('ERR_IDP_UNAVAILABLE');
    expect(page.text).toContain('href="/.sluss/login?rd=%2Freports"');
    expect(page.headers.location).toBeUndefined();

    const api = await get(`${stack.publicUrl}/.sluss/login?rd=%2Freports`, { accept: 'application/json' });
    expect(api.status).toBe(503);
    expect(JSON.parse(api.text)).toMatchObject({
      error: 'ERR_IDP_UNAVAILABLE',
      reference: expect.any(String),
    });
  });

  it('an existing session keeps working while the OP is down; a login whose token exchange fails gets 503', async () => {
    const stack = await stackWith({});
    const { jar } = await stack.login();
    // A second login is under way: the OP has answered, the browser is about to reach the callback.
    const pending = new CookieJar();
    const toCallback = await browse(`${stack.publicUrl}/.sluss/login?rd=%2Fecho%2Fz`, pending, {
      stopAt: (url) => url.href.startsWith(`${stack.publicUrl}/.sluss/callback`),
    });
    await stack.op.close();

    expect((await echo(stack, jar, '/echo/while-op-down')).headers['x-remote-user']).toBe('alice');

    const callback = await get(toCallback.finalUrl.href, {
      ...NAVIGATE,
      cookie: pending.header(stack.publicUrl) ?? '',
    });
    expect(callback.status).toBe(503);
    expect(callback.text).toContain('ERR_IDP_UNAVAILABLE');
    expect(String(callback.headers['set-cookie'] ?? '')).not.toContain(`${SESSION_COOKIE}=`);
  });

  it('errorRedirectUrl: Cancel at the OP (access_denied) sends the browser there with error and reference', async () => {
    const stack = await stackWith({ idp: { errorRedirectUrl: 'https://errors.example.com/sso' } });
    const jar = new CookieJar();
    const result = await browse(`${stack.publicUrl}/.sluss/login?rd=%2F`, jar, {
      cancel: true,
      stopAt: (url) => url.hostname === 'errors.example.com',
    });
    expect(result.hops.some((h) => h.includes('/.sluss/callback') && h.includes('error=access_denied'))).toBe(
      true,
    );
    expect(result.finalUrl.origin).toBe('https://errors.example.com');
    expect(result.finalUrl.pathname).toBe('/sso');
    expect(result.finalUrl.searchParams.get('error')).toBe('ERR_OIDC_IDP_ERROR');
    const reference = result.finalUrl.searchParams.get('reference') ?? '';
    expect(reference).toMatch(/^[0-9a-f]{12}$/);
    expect(stack.logs.text()).toContain(reference);
    // Nothing about the IdP's own error text leaks into the URL.
    expect(result.finalUrl.search).not.toContain('aborted');
    expect(jar.get(SESSION_COOKIE, stack.publicUrl)).toBeUndefined();
    // The transaction cookie is gone too.
    expect(jar.names(stack.publicUrl)).toEqual([]);
  });

  it('without errorRedirectUrl, Cancel at the OP shows sluss error page with a retry link', async () => {
    const stack = await stackWith({});
    const result = await browse(`${stack.publicUrl}/.sluss/login?rd=%2F`, new CookieJar(), { cancel: true });
    expect(result.finalUrl.pathname).toBe('/.sluss/callback');
    expect(result.response?.status).toBe(400);
    expect(result.response?.text).toContain('ERR_OIDC_IDP_ERROR');
    expect(result.response?.text).toMatch(/reference <code>[0-9a-f]{12}<\/code>/);
    expect(result.response?.text).toContain('href="/.sluss/login');
  });
});

describe('MFA claims (amr)', () => {
  it('amr with a second factor gives mfa: true; a password alone gives mfa: false', async () => {
    const stack = await stackWith({ opOptions: { users: [...DEMO_USERS, CAROL] } });
    const carol = await loginAndEcho(stack, { login: 'carol', password: 'carol' });
    expect(carol.jwt).toMatchObject({ sub: 'carol', mfa: true, amr: ['pwd', 'otp'] });
    const alice = await loginAndEcho(stack);
    expect(alice.jwt).toMatchObject({ sub: 'alice', mfa: false, amr: ['pwd'] });
  });

  it('mfa.source idp-enforced: every login counts as MFA, whatever amr says', async () => {
    const stack = await stackWith({ idp: { mfa: { source: 'idp-enforced' } } });
    const alice = await loginAndEcho(stack);
    expect(alice.jwt).toMatchObject({ sub: 'alice', mfa: true, amr: ['pwd'] });
  });
});
