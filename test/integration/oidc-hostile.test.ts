/**
 * sluss as an OpenID Connect relying party against a deliberately misbehaving OP
 * (test/support/hostile-op.ts). Every wrong provider response must be refused with
 * sluss's error page, no session cookie and no request reaching the upstream; the
 * legitimate variants (no kid with a single key, a key rotated at the IdP) must pass.
 *
 * Test names start with the OpenID Foundation RP certification test they stand for
 * (https://openid.net/certification/connect_rp_testing/); descriptive names where the
 * suite has none.
 */
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CookieJar } from '../support/cookie-jar.ts';
import {
  buildLogoutToken,
  type HostileOp,
  type LogoutTokenDefect,
  type Scenario,
  startHostileOp,
} from '../support/hostile-op.ts';
import type { Stack } from '../support/sluss-stack.ts';
import { CLIENT_ID, freePort, startStack } from '../support/sluss-stack.ts';

const CLIENT_SECRET = 'hostile-op-client-secret-0123456789';
const SUB = 'hostile-user-7';
const PROTECTED = '/echo/protected';
const LOGIN_PATH = `/.sluss/login?rd=${encodeURIComponent(PROTECTED)}`;
const SESSION_COOKIE = '__Host-sluss';
const TXN_PREFIX = `${SESSION_COOKIE}-txn-`;
/** What a browser sends on a top-level navigation (Fetch Metadata). */
const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

interface Rig {
  readonly op: HostileOp;
  readonly stack: Stack;
  close(): Promise<void>;
}

/** A hostile OP and a sluss stack whose only IdP is that OP (`idp` is merged into the IdP entry). */
async function startRig(idp: Record<string, unknown> = {}, scenario: Scenario = 'valid'): Promise<Rig> {
  const port = await freePort();
  const op = await startHostileOp({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: `http://127.0.0.1:${port}/.sluss/callback`,
    claims: { sub: SUB },
  });
  op.scenario = scenario;
  const stack = await startStack({
    port,
    idp: { issuer: op.issuer, clientSecret: CLIENT_SECRET, ...idp },
  });
  return {
    op,
    stack,
    async close() {
      await stack.close();
      await op.close();
    },
  };
}

// ---------------------------------------------------------------------------------------
// A browser: follows redirects, auto-submits form_post pages, sends navigation headers.

interface Step {
  readonly url: URL;
  readonly method: 'GET' | 'POST';
  readonly body?: URLSearchParams;
}

interface Visit {
  readonly status: number;
  readonly url: string;
  readonly text: string;
  /** Every Set-Cookie line of every hop. */
  readonly setCookies: string[];
  readonly hops: Step[];
  /** The step `stopAt` matched, not yet sent. */
  readonly stoppedAt?: Step;
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, code: string) => String.fromCharCode(Number.parseInt(code, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The auto-submitting form of a response_mode=form_post page, if `html` is one. */
function autoSubmitForm(html: string, base: URL): Step | undefined {
  if (!/document\.forms\[0\]\.submit\(\)/.test(html)) return undefined;
  const form = /<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const body = new URLSearchParams();
  for (const [tag] of (form[2] ?? '').matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/.exec(tag)?.[1];
    const value = /\bvalue="([^"]*)"/.exec(tag)?.[1] ?? '';
    if (name !== undefined) body.append(decodeEntities(name), decodeEntities(value));
  }
  return { url: new URL(decodeEntities(form[1] ?? ''), base), method: 'POST', body };
}

async function browse(
  start: string | Step,
  jar: CookieJar,
  stopAt?: (step: Step) => boolean,
): Promise<Visit> {
  let step: Step = typeof start === 'string' ? { url: new URL(start), method: 'GET' } : start;
  const hops: Step[] = [];
  const setCookies: string[] = [];
  for (let i = 0; i < 20; i++) {
    if (stopAt?.(step)) return { status: 0, url: step.url.href, text: '', setCookies, hops, stoppedAt: step };
    hops.push(step);
    const headers: Record<string, string> = { ...NAVIGATE };
    const cookie = jar.header(step.url);
    if (cookie) headers.cookie = cookie;
    if (step.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    // undici's request, not fetch: fetch overwrites Sec-Fetch-Mode with "cors".
    const response = await request(step.url, {
      method: step.method,
      headers,
      ...(step.body ? { body: step.body.toString() } : {}),
    });
    jar.store(step.url, response.headers);
    const lines = response.headers['set-cookie'];
    setCookies.push(...(lines === undefined ? [] : Array.isArray(lines) ? lines : [lines]));
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      await response.body.dump();
      step = { url: new URL(location, step.url), method: 'GET' };
      continue;
    }
    const text = await response.body.text();
    const type = response.headers['content-type'];
    const form =
      typeof type === 'string' && type.includes('text/html') ? autoSubmitForm(text, step.url) : undefined;
    if (form) {
      step = form;
      continue;
    }
    return { status: response.statusCode, url: step.url.href, text, setCookies, hops };
  }
  throw new Error(`no end after 20 hops: ${hops.map((h) => h.url.href).join('\n')}`);
}

const isCallback = (step: Step): boolean => step.url.pathname === '/.sluss/callback';

function protectedRequests(stack: Stack): number {
  return stack.upstream.requests.filter((r) => r.url === PROTECTED).length;
}

/** Runs a login from sluss's login URL in a fresh (or given) browser. */
async function login(rig: Rig, jar = new CookieJar()): Promise<{ visit: Visit; jar: CookieJar }> {
  const visit = await browse(`${rig.stack.publicUrl}${LOGIN_PATH}`, jar);
  return { visit, jar };
}

/** The login reached the app as the OP's user, with a session cookie. */
function expectAccepted(rig: Rig, visit: Visit, jar: CookieJar, upstreamBefore: number): void {
  expect(visit.status, visit.text).toBe(200);
  expect(visit.url).toBe(`${rig.stack.publicUrl}${PROTECTED}`);
  const echo = JSON.parse(visit.text) as { headers: Record<string, string> };
  expect(echo.headers['x-remote-user']).toBe(SUB);
  expect(jar.get(SESSION_COOKIE, rig.stack.publicUrl)).toBeDefined();
  expect(protectedRequests(rig.stack)).toBe(upstreamBefore + 1);
  const last = rig.stack.upstream.requests.at(-1);
  expect(last?.url).toBe(PROTECTED);
  expect(last?.headers['x-remote-user']).toBe(SUB);
}

/** The login ended on sluss's error page with `code`, no session, nothing upstream. */
function expectRefused(
  rig: Rig,
  visit: Visit,
  jar: CookieJar,
  upstreamBefore: number,
  code: string,
  status = 400,
): void {
  expect(visit.url.startsWith(rig.stack.publicUrl), visit.url).toBe(true);
  expect(visit.status, visit.text).toBe(status);
  expect(visit.text).toContain(`<code>${code}</code>`);
  expect(visit.text).toMatch(/reference <code>[0-9a-f]{12}<\/code>/);
  expect(jar.get(SESSION_COOKIE, rig.stack.publicUrl)).toBeUndefined();
  expect(visit.setCookies.some((line) => line.startsWith(`${SESSION_COOKIE}=`))).toBe(false);
  expect(protectedRequests(rig.stack)).toBe(upstreamBefore);
}

async function sessionStatus(rig: Rig, jar: CookieJar): Promise<{ status: number; user?: string }> {
  const response = await fetch(`${rig.stack.publicUrl}/echo/x`, {
    headers: { cookie: jar.header(rig.stack.publicUrl) ?? '' },
  });
  const text = await response.text();
  if (response.status !== 200) return { status: response.status };
  return {
    status: 200,
    user: (JSON.parse(text) as { headers: Record<string, string> }).headers['x-remote-user'],
  };
}

// ---------------------------------------------------------------------------------------
// ID-token attacks, valid for every flow that returns an ID token.

type RefusedRow = readonly [name: string, scenario: Scenario];

const ID_TOKEN_ATTACKS: readonly RefusedRow[] = [
  ['rp-id_token-bad-sig-rs256: signature does not verify', 'bad-signature'],
  ['rp-id_token-sig-none: unsigned token (alg none)', 'alg-none'],
  [
    'rp-id_token-bad-sig-hs256 (key confusion): HS256 keyed with the RSA public key PEM',
    'hs256-with-rsa-public-key-pem',
  ],
  [
    'rp-id_token-bad-sig-hs256 (key confusion): HS256 keyed with the RSA public JWK',
    'hs256-with-rsa-public-key-jwk',
  ],
  ['rp-id_token-iss: iss is not the issuer', 'wrong-iss'],
  ['rp-id_token-aud: aud is another client', 'wrong-aud'],
  ['id_token-aud-untrusted-extra: a second audience and no azp', 'extra-aud-without-azp'],
  ['id_token-azp-wrong: a second audience with azp naming the other client', 'extra-aud-wrong-azp'],
  ['id_token-exp-expired: exp 10 minutes ago', 'expired'],
  ['rp-id_token-iat: iat an hour in the future', 'iat-future'],
  ['rp-nonce-invalid (missing): no nonce although one was sent', 'missing-nonce'],
  ['rp-nonce-invalid: nonce differs from the one sent', 'wrong-nonce'],
];

describe('code flow with PKCE (response_type=code)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => {
    await rig.close();
  });

  it('rp-response_type-code: a correct response logs in and reaches the upstream as the OP user', async () => {
    rig.op.scenario = 'valid';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectAccepted(rig, visit, jar, before);
    const authorize = rig.op.authorizationRequests.at(-1);
    expect(authorize?.get('response_type')).toBe('code');
    expect(authorize?.get('code_challenge_method')).toBe('S256');
  });

  it('rp-id_token-kid-absent-single-jwks: no kid is fine when the JWKS holds one key', async () => {
    rig.op.scenario = 'kid-absent-single-key';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectAccepted(rig, visit, jar, before);
  });

  it.each(ID_TOKEN_ATTACKS)('%s → refused', async (_name, scenario) => {
    rig.op.scenario = scenario;
    const before = protectedRequests(rig.stack);
    const tokenRequests = rig.op.tokenRequests.length;
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
    // The code was redeemed (the ID token comes from the token endpoint) and then refused.
    expect(rig.op.tokenRequests.length).toBe(tokenRequests + 1);
    // The spent login transaction is cleared.
    expect(jar.names(rig.stack.publicUrl).filter((n) => n.startsWith(TXN_PREFIX))).toEqual([]);
  });

  it.each([
    ['rp-response-state-wrong (CSRF): state is not the one sent', 'wrong-state', 'ERR_LOGIN_EXPIRED'],
    [
      'rp-response-state-missing (CSRF): no state in the response',
      'missing-state',
      'ERR_OIDC_STATE_MISMATCH',
    ],
  ] as const)('%s → refused before the code is redeemed', async (_name, scenario, code) => {
    rig.op.scenario = scenario;
    const before = protectedRequests(rig.stack);
    const tokenRequests = rig.op.tokenRequests.length;
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, code);
    expect(rig.op.tokenRequests.length).toBe(tokenRequests);
  });

  it.each([
    ['token-endpoint-http-500: the token endpoint fails', 'token-endpoint-500', 'ERR_IDP_UNAVAILABLE', 503],
    [
      'token-endpoint-garbage: a 200 whose body is not JSON',
      'token-endpoint-garbage',
      'ERR_OIDC_CALLBACK_INVALID',
      400,
    ],
  ] as const)('%s → refused', async (_name, scenario, code, status) => {
    rig.op.scenario = scenario;
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, code, status);
  });

  it('callback-replay (same browser): reusing a completed callback URL is refused', async () => {
    rig.op.scenario = 'valid';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectAccepted(rig, visit, jar, before);
    const callback = visit.hops.find(isCallback);
    expect(callback).toBeDefined();
    const tokenRequests = rig.op.tokenRequests.length;
    const replay = await browse({ url: callback?.url ?? new URL('x:'), method: 'GET' }, jar);
    expect(replay.status).toBe(400);
    expect(replay.text).toContain('<code>ERR_LOGIN_EXPIRED</code>');
    expect(replay.setCookies.some((line) => line.startsWith(`${SESSION_COOKIE}=`))).toBe(false);
    expect(protectedRequests(rig.stack)).toBe(before + 1);
    expect(rig.op.tokenRequests.length).toBe(tokenRequests);
  });

  it('callback-replay (copied transaction cookie): a second browser replaying callback and cookie is refused', async () => {
    rig.op.scenario = 'valid';
    const before = protectedRequests(rig.stack);
    const victim = new CookieJar();
    const pending = await browse(`${rig.stack.publicUrl}${LOGIN_PATH}`, victim, isCallback);
    const callback = pending.stoppedAt;
    if (!callback) throw new Error('the login did not reach the callback');
    const attacker = new CookieJar();
    for (const cookie of victim.all().filter((c) => c.name.startsWith(TXN_PREFIX))) {
      attacker.set(cookie.name, cookie.value, rig.stack.publicUrl, cookie.path);
    }
    expect(attacker.names(rig.stack.publicUrl)).toHaveLength(1);

    expectAccepted(rig, await browse(callback, victim), victim, before);
    const tokenRequests = rig.op.tokenRequests.length;
    const replay = await browse(callback, attacker);
    expectRefused(rig, replay, attacker, before + 1, 'ERR_LOGIN_EXPIRED');
    expect(rig.op.tokenRequests.length).toBe(tokenRequests);
  });

  it('rp-code-replay: an authorization code already redeemed, injected into a new login, is refused', async () => {
    rig.op.scenario = 'valid';
    const first = await login(rig);
    const firstCallback = first.visit.hops.find(isCallback);
    const usedCode = firstCallback?.url.searchParams.get('code');
    expect(usedCode).toBeTruthy();
    expect(rig.op.codesRedeemed).toContain(usedCode);

    const before = protectedRequests(rig.stack);
    const jar = new CookieJar();
    const pending = await browse(`${rig.stack.publicUrl}${LOGIN_PATH}`, jar, isCallback);
    const url = new URL(pending.stoppedAt?.url ?? 'x:');
    url.searchParams.set('code', usedCode ?? '');
    const tokenRequests = rig.op.tokenRequests.length;
    const visit = await browse({ url, method: 'GET' }, jar);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
    expect(rig.op.tokenRequests.length).toBe(tokenRequests + 1);
    expect(rig.op.codesRedeemed.filter((c) => c === usedCode)).toHaveLength(1);
  });

  it('code-injection (PKCE): an unredeemed code from another login, injected into this one, is refused', async () => {
    rig.op.scenario = 'valid';
    const attackerLogin = await browse(`${rig.stack.publicUrl}${LOGIN_PATH}`, new CookieJar(), isCallback);
    const injected = attackerLogin.stoppedAt?.url.searchParams.get('code');
    expect(injected).toBeTruthy();

    const before = protectedRequests(rig.stack);
    const jar = new CookieJar();
    const pending = await browse(`${rig.stack.publicUrl}${LOGIN_PATH}`, jar, isCallback);
    const url = new URL(pending.stoppedAt?.url ?? 'x:');
    url.searchParams.set('code', injected ?? '');
    const visit = await browse({ url, method: 'GET' }, jar);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
    expect(rig.op.codesRedeemed).not.toContain(injected);
  });
});

describe('implicit flow (response_type=id_token, form_post)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ responseType: 'id_token' });
  });
  afterAll(async () => {
    await rig.close();
  });

  it('rp-response_type-id_token: a correct response logs in through form_post', async () => {
    rig.op.scenario = 'valid';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectAccepted(rig, visit, jar, before);
    const authorize = rig.op.authorizationRequests.at(-1);
    expect(authorize?.get('response_type')).toBe('id_token');
    expect(authorize?.get('response_mode')).toBe('form_post');
    expect(visit.hops.some((hop) => isCallback(hop) && hop.method === 'POST')).toBe(true);
  });

  it('rp-id_token-kid-absent-single-jwks: no kid is fine when the JWKS holds one key', async () => {
    rig.op.scenario = 'kid-absent-single-key';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectAccepted(rig, visit, jar, before);
  });

  it.each(ID_TOKEN_ATTACKS)('%s → refused', async (_name, scenario) => {
    rig.op.scenario = scenario;
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
    expect(rig.op.tokenRequests).toHaveLength(0);
  });

  it.each([
    ['rp-response-state-wrong (CSRF): state is not the one sent', 'wrong-state', 'ERR_LOGIN_EXPIRED'],
    [
      'rp-response-state-missing (CSRF): no state in the response',
      'missing-state',
      'ERR_OIDC_STATE_MISMATCH',
    ],
  ] as const)('%s → refused', async (_name, scenario, code) => {
    rig.op.scenario = scenario;
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, code);
  });

  it('callback-replay (form_post): re-posting a completed ID-token response is refused', async () => {
    rig.op.scenario = 'valid';
    const before = protectedRequests(rig.stack);
    const victim = new CookieJar();
    const pending = await browse(`${rig.stack.publicUrl}${LOGIN_PATH}`, victim, isCallback);
    const callback = pending.stoppedAt;
    if (!callback) throw new Error('the login did not reach the callback');
    const attacker = new CookieJar();
    for (const cookie of victim.all().filter((c) => c.name.startsWith(TXN_PREFIX))) {
      attacker.set(cookie.name, cookie.value, rig.stack.publicUrl, cookie.path);
    }
    expectAccepted(rig, await browse(callback, victim), victim, before);
    expectRefused(rig, await browse(callback, attacker), attacker, before + 1, 'ERR_LOGIN_EXPIRED');
    const again = await browse(callback, victim);
    expect(again.status).toBe(400);
    expect(again.text).toContain('<code>ERR_LOGIN_EXPIRED</code>');
    expect(protectedRequests(rig.stack)).toBe(before + 1);
  });
});

describe('implicit flow with access token (response_type=id_token token)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ responseType: 'id_token token' });
  });
  afterAll(async () => {
    await rig.close();
  });

  it('rp-response_type-id_token+token: a correct response logs in', async () => {
    rig.op.scenario = 'valid';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectAccepted(rig, visit, jar, before);
    expect(rig.op.authorizationRequests.at(-1)?.get('response_type')).toBe('id_token token');
  });

  it('rp-id_token-bad-at_hash: at_hash does not match the access token → refused', async () => {
    rig.op.scenario = 'at-hash-mismatch';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
  });

  it.each(
    ID_TOKEN_ATTACKS.filter(([, scenario]) =>
      ['bad-signature', 'alg-none', 'wrong-nonce'].includes(scenario),
    ),
  )('%s → refused', async (_name, scenario) => {
    rig.op.scenario = scenario;
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
  });
});

describe('id_token token with skipAtHashCheck: true (for IdPs that compute at_hash wrongly)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ responseType: 'id_token token', skipAtHashCheck: true });
  });
  afterAll(async () => {
    await rig.close();
  });

  it('the weakened setting is logged as a warning (PRODUCT.md: "logged loudly when on")', () => {
    const warnings = rig.stack.logs.lines
      .map((line) => JSON.parse(line) as { level?: string })
      .filter((entry) => entry.level === 'warn' || entry.level === 'error')
      .map((entry) => JSON.stringify(entry));
    expect(warnings.some((entry) => /skipAtHashCheck|at_hash/i.test(entry))).toBe(true);
  });

  it('rp-id_token-bad-at_hash with the check skipped: the same response is accepted', async () => {
    rig.op.scenario = 'at-hash-mismatch';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectAccepted(rig, visit, jar, before);
  });

  it('skipping at_hash does not skip the signature check (rp-id_token-bad-sig-rs256)', async () => {
    rig.op.scenario = 'bad-signature';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
  });
});

describe('UserInfo (userinfo: true)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ userinfo: true });
  });
  afterAll(async () => {
    await rig.close();
  });

  it('rp-userinfo-bearer-header: a matching UserInfo response is merged and the login succeeds', async () => {
    rig.op.scenario = 'valid';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectAccepted(rig, visit, jar, before);
  });

  it('rp-userinfo-bad-sub-claim: UserInfo names another sub → refused', async () => {
    rig.op.scenario = 'userinfo-sub-mismatch';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
  });
});

describe('rp-id_token-kid-absent-multiple-jwks: no kid while the JWKS holds several keys', () => {
  let rig: Rig;
  beforeAll(async () => {
    // Fresh RP: its first JWKS fetch already sees both keys.
    rig = await startRig({}, 'kid-absent-multiple-keys');
  });
  afterAll(async () => {
    await rig.close();
  });

  it.each([['code'], ['id_token']] as const)('is refused (%s flow)', async (flow) => {
    const local =
      flow === 'code' ? rig : await startRig({ responseType: 'id_token' }, 'kid-absent-multiple-keys');
    try {
      const before = protectedRequests(local.stack);
      const { visit, jar } = await login(local);
      expectRefused(local, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
      expect(local.op.jwksFetches).toBeGreaterThanOrEqual(1);
    } finally {
      if (local !== rig) await local.close();
    }
  });
});

describe('expected key ID (expectedKeyId)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ expectedKeyId: 'other' });
  });
  afterAll(async () => {
    await rig.close();
  });

  it('expected-kid-mismatch: a validly signed token from a key other than expectedKeyId is refused', async () => {
    rig.op.scenario = 'valid';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
  });

  it('expected-kid-mismatch: a token without kid is refused too', async () => {
    rig.op.scenario = 'kid-absent-single-key';
    const before = protectedRequests(rig.stack);
    const { visit, jar } = await login(rig);
    expectRefused(rig, visit, jar, before, 'ERR_OIDC_CALLBACK_INVALID');
  });
});

describe('rp-key-rotation-op-sign-key: the IdP rotates its signing key', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => {
    await rig.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a login after rotation succeeds with exactly one JWKS refetch; another unknown kid within 60 s does not refetch', async () => {
    rig.op.scenario = 'valid';
    let before = protectedRequests(rig.stack);
    const first = await login(rig);
    expectAccepted(rig, first.visit, first.jar, before);
    const fetchesAfterFirst = rig.op.jwksFetches;
    expect(fetchesAfterFirst).toBe(1);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 61_000);
    rig.op.scenario = 'rotated-key'; // the OP rotates: the ID token's kid is new to the RP
    before = protectedRequests(rig.stack);
    const second = await login(rig);
    expectAccepted(rig, second.visit, second.jar, before);
    expect(rig.op.jwksFetches).toBe(fetchesAfterFirst + 1);

    // Rotating again at once: the RP will not hit the JWKS again within its 60 s cooldown.
    before = protectedRequests(rig.stack);
    const third = await login(rig);
    expectRefused(rig, third.visit, third.jar, before, 'ERR_OIDC_CALLBACK_INVALID');
    expect(rig.op.jwksFetches).toBe(fetchesAfterFirst + 1);
  });
});

describe('discovery down', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({}, 'discovery-down');
  });
  afterAll(async () => {
    await rig.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('op-discovery-unavailable: login start answers 503 with a retry link, and the retry works once the IdP is back', async () => {
    const before = protectedRequests(rig.stack);
    const jar = new CookieJar();
    const visit = await browse(`${rig.stack.publicUrl}${LOGIN_PATH}`, jar);
    expectRefused(rig, visit, jar, before, 'ERR_IDP_UNAVAILABLE', 503);
    expect(visit.url).toBe(`${rig.stack.publicUrl}${LOGIN_PATH}`);
    expect(visit.text).toContain(`href="${LOGIN_PATH}"`);
    expect(rig.op.authorizationRequests).toHaveLength(0);
    expect(jar.names(rig.stack.publicUrl)).toEqual([]);

    rig.op.scenario = 'valid';
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 6_000); // past sluss's 5 s pause after a failed discovery
    const retry = await browse(new URL(LOGIN_PATH, rig.stack.publicUrl).href, jar);
    expectAccepted(rig, retry, jar, before);
  });
});

// ---------------------------------------------------------------------------------------
// Back-channel logout (OpenID Connect Back-Channel Logout 1.0)

async function postLogoutToken(rig: Rig, token: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${rig.stack.publicUrl}/.sluss/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }).toString(),
  });
  return { status: response.status, body: await response.text() };
}

describe('back-channel logout', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => {
    await rig.close();
  });

  describe('refused logout tokens (the session survives)', () => {
    let jar: CookieJar;
    beforeAll(async () => {
      rig.op.scenario = 'valid';
      jar = (await login(rig)).jar;
    });

    it.each([
      ['rp-backchannel-rplogout-no-event: events lacks the back-channel event', 'no-events'],
      ['rp-backchannel-rplogout-nonce: a nonce is present', 'has-nonce'],
      ['rp-backchannel-rplogout-bad-sig: signature does not verify', 'bad-signature'],
      ['rp-backchannel-rplogout-alg-none: unsigned token', 'alg-none'],
      ['rp-backchannel-rplogout-aud: aud is another client', 'wrong-aud'],
      ['rp-backchannel-rplogout-iss: iss is not the issuer', 'wrong-iss'],
      ['rp-backchannel-rplogout-expired: exp in the past, iat an hour ago', 'expired'],
      ['rp-backchannel-rplogout-no-sid-no-sub: neither sub nor sid', 'no-sub-or-sid'],
      ['rp-backchannel-rplogout-typ: typ at+jwt (a token of another type)', 'wrong-typ'],
    ] as const satisfies readonly (readonly [string, LogoutTokenDefect])[])(
      '%s → 400',
      async (_name, defect) => {
        expect(await sessionStatus(rig, jar)).toEqual({ status: 200, user: SUB });
        const result = await postLogoutToken(rig, await buildLogoutToken(rig.op, {}, { defect }));
        expect(result.status).toBe(400);
        expect(JSON.parse(result.body)).toMatchObject({ error: 'invalid_request' });
        expect(await sessionStatus(rig, jar)).toEqual({ status: 200, user: SUB });
      },
    );

    it('backchannel-logout-missing-token: an empty post → 400', async () => {
      const result = await postLogoutToken(rig, '');
      expect(result.status).toBe(400);
      expect(JSON.parse(result.body)).toMatchObject({ error: 'invalid_request' });
    });
  });

  it('rp-backchannel-rplogout-replay: the same valid logout token posted twice → 200, then 400', async () => {
    rig.op.scenario = 'valid';
    const { jar } = await login(rig);
    const token = await buildLogoutToken(rig.op, { sub: undefined });
    expect((await postLogoutToken(rig, token)).status).toBe(200);
    expect((await sessionStatus(rig, jar)).status).toBe(401);
    const replay = await postLogoutToken(rig, token);
    expect(replay.status).toBe(400);
    expect(JSON.parse(replay.body)).toMatchObject({ error: 'invalid_request' });
  });

  it('rp-backchannel-rpinitlogout-sid: a valid token by sid ends that IdP session only', async () => {
    rig.op.scenario = 'valid';
    const target = await login(rig);
    const sid = rig.op.lastSid;
    expect(sid).toBeTruthy();
    const other = await login(rig);
    expect(rig.op.lastSid).not.toBe(sid);

    const result = await postLogoutToken(rig, await buildLogoutToken(rig.op, { sid, sub: undefined }));
    expect(result.status).toBe(200);
    expect((await sessionStatus(rig, target.jar)).status).toBe(401);
    expect(await sessionStatus(rig, other.jar)).toEqual({ status: 200, user: SUB });
  });

  it('rp-backchannel-rpinitlogout-sub: a valid token by sub ends every session of that user', async () => {
    rig.op.scenario = 'valid';
    const a = await login(rig);
    const b = await login(rig);
    expect(await sessionStatus(rig, a.jar)).toEqual({ status: 200, user: SUB });

    const result = await postLogoutToken(rig, await buildLogoutToken(rig.op, { sid: undefined }));
    expect(result.status).toBe(200);
    expect((await sessionStatus(rig, a.jar)).status).toBe(401);
    expect((await sessionStatus(rig, b.jar)).status).toBe(401);
  });
});
