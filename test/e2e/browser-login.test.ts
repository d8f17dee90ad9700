/**
 * Logins in a real browser (Debian's Chromium through playwright-core), laid out as in
 * production: sluss behind a TLS front at https://localhost:<port> with `__Host-` Secure
 * cookies, the IdPs on http://127.0.0.1:<port>, another site. What an HTTP client on one
 * host cannot show is checked here: that Chromium sends the login-transaction cookie on
 * the IdP's cross-site POST (SAML HTTP-POST, OIDC form_post), and that the session cookie
 * is sent on the navigation that follows a cross-site login, so nothing loops.
 *
 * Chromium is required: without it every test fails with instructions (.ci/run installs it).
 */
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserStack,
  type BrowserStackOptions,
  launchChromium,
  startBrowserStack,
} from '../support/browser.ts';

const SESSION_COOKIE = '__Host-sluss';
const TXN_PREFIX = `${SESSION_COOKIE}-txn-`;
const STEP_TIMEOUT_MS = 10_000;
const RESULTS_DIR = new URL('../../test-results/', import.meta.url);

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

let browser: Browser | undefined;
/** Why Chromium did not start: every test fails with it (a missing browser must not look like a skip). */
let launchError: unknown;

beforeAll(async () => {
  try {
    browser = await launchChromium();
  } catch (error) {
    launchError = error;
  }
}, 20_000);

afterAll(async () => {
  await browser?.close();
}, 10_000);

/** A fresh browser context and stack for one test; both closed afterwards, whatever happens. */
async function withBrowserStack(
  options: BrowserStackOptions,
  run: (stack: BrowserStack, context: BrowserContext) => Promise<void>,
): Promise<void> {
  if (!browser) throw launchError ?? new Error('Chromium did not start');
  const stack = await startBrowserStack(options);
  let context: BrowserContext | undefined;
  try {
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    await run(stack, context);
  } catch (error) {
    throw await withDiagnostics(error, stack, context);
  } finally {
    await context?.close().catch(() => undefined);
    await stack.close();
  }
}

/** Adds what each tab shows and sluss's last warnings to a failure, to see where a login went. */
async function withDiagnostics(
  error: unknown,
  stack: BrowserStack,
  context: BrowserContext | undefined,
): Promise<unknown> {
  if (!(error instanceof Error)) return error;
  const tabs: string[] = [];
  for (const page of context?.pages() ?? []) {
    const text = await page
      .locator('body')
      .innerText({ timeout: 1000 })
      .catch(() => '(no body)');
    tabs.push(`tab at ${page.url()}:\n${text.slice(0, 800)}`);
  }
  const warnings = stack.logs.lines.filter((line) => /"level":("warn"|"error"|40|50)/.test(line)).slice(-3);
  const hops = stack.front.requests
    .slice(-12)
    .map((r) => `${r.method} ${r.url.slice(0, 100)} [cookies: ${cookieNames(r.headers.cookie).join(', ')}]`);
  error.message += `\n--- ${tabs.join('\n---\n')}\n--- sluss warnings:\n${warnings.join('\n')}\n--- front saw:\n${hops.join('\n')}`;
  return error;
}

/** What the echo upstream answered, as the page shows it. */
async function echoShown(page: Page): Promise<Echo> {
  const text = await page.locator('body').innerText();
  try {
    return JSON.parse(text) as Echo;
  } catch {
    throw new Error(`${page.url()} does not show the upstream's JSON:\n${text.slice(0, 2000)}`);
  }
}

/** Signs in on the demo OP's login page (the page must be on it) and waits until back at `landing`. */
async function signInAtOp(page: Page, stack: BrowserStack, landing: string, who = 'alice'): Promise<void> {
  const op = stack.op;
  if (!op) throw new Error('no OP in this stack');
  await page.waitForURL((url) => url.origin === op.issuer && url.pathname.startsWith('/interaction/'));
  await page.locator('input[name=login]').fill(who);
  await page.locator('input[name=password]').fill(who);
  await Promise.all([
    page.waitForURL(landing),
    page.locator('form[action$="/login"] button[type=submit]').click(),
  ]);
}

function cookieNamed(cookies: Cookie[], name: string): Cookie | undefined {
  return cookies.find((cookie) => cookie.name === name);
}

function authorizationRequests(stack: BrowserStack): number {
  // `/auth/<uid>` is the OP resuming after its login page, not a new authorization request.
  return (stack.op?.requests ?? []).filter((r) => r.url.startsWith('/auth?')).length;
}

/** Cookie names the browser sent with the front's recorded request `method path`. */
function cookiesSentWith(stack: BrowserStack, method: string, path: string): string[] {
  const request = stack.front.requests.find((r) => r.method === method && r.url.split('?')[0] === path);
  if (!request) {
    const seen = stack.front.requests.map((r) => `${r.method} ${r.url}`).join('\n');
    throw new Error(`the browser never sent ${method} ${path}; the front saw:\n${seen}`);
  }
  return cookieNames(request.headers.cookie);
}

function cookieNames(header: string | undefined): string[] {
  return (header ?? '')
    .split(';')
    .map((part) => part.trim().split('=')[0] ?? '')
    .filter(Boolean);
}

/** The browser holds the `__Host-` session cookie with the right attributes, and no login cookie. */
async function expectSessionCookie(stack: BrowserStack, context: BrowserContext): Promise<void> {
  const cookies = await context.cookies(stack.publicUrl);
  const session = cookieNamed(cookies, SESSION_COOKIE);
  expect(session, JSON.stringify(cookies)).toBeDefined();
  expect(session).toMatchObject({
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    path: '/',
    domain: new URL(stack.publicUrl).hostname,
  });
  // The login's transaction cookie is gone once the login completed.
  expect(cookies.filter((c) => c.name.startsWith(TXN_PREFIX)).map((c) => c.name)).toEqual([]);
}

describe('browser logins over HTTPS with the IdP on another site', () => {
  it('OIDC code flow: a protected page leads through the OP and back, signed in, and a reload stays signed in', async () => {
    await withBrowserStack({ idp: 'oidc' }, async (stack, context) => {
      const page = await context.newPage();
      const target = `${stack.publicUrl}/echo/page`;
      await page.goto(target);
      await signInAtOp(page, stack, target);

      const echo = await echoShown(page);
      expect(echo.url).toBe('/echo/page');
      expect(echo.headers['x-remote-user']).toBe('alice');
      expect(echo.headers['x-remote-email']).toBe('alice@example.com');
      // sluss's own cookies never reach the app.
      expect(String(echo.headers.cookie ?? '')).not.toContain(SESSION_COOKIE);
      await expectSessionCookie(stack, context);

      const authorizations = authorizationRequests(stack);
      expect(authorizations).toBe(1);
      await page.reload();
      expect(page.url()).toBe(target);
      expect((await echoShown(page)).headers['x-remote-user']).toBe('alice');
      expect(authorizationRequests(stack)).toBe(authorizations);
    });
  });

  it('OIDC implicit form_post: the cross-site POST carries the SameSite=None transaction cookie and the login completes', async () => {
    await withBrowserStack(
      {
        idp: 'oidc',
        opOptions: { responseTypes: ['code', 'id_token'] },
        // A web client (the redirect URI is https); oidc-provider refuses the host name
        // `localhost` in an implicit web client's URIs, so sluss is at https://sluss.localhost:<port>.
        publicHost: 'sluss.localhost',
        client: { response_types: ['id_token'], grant_types: ['implicit'], application_type: 'web' },
        idpConfig: { responseType: 'id_token' },
      },
      async (stack, context) => {
        const page = await context.newPage();
        const target = `${stack.publicUrl}/echo/implicit`;
        await page.goto(target);
        await page.waitForURL((url) => url.origin === stack.op?.issuer);

        const pending = (await context.cookies(stack.publicUrl)).filter((c) => c.name.startsWith(TXN_PREFIX));
        expect(pending, JSON.stringify(pending)).toHaveLength(1);
        expect(pending[0]).toMatchObject({ secure: true, httpOnly: true, sameSite: 'None' });

        await signInAtOp(page, stack, target);
        // The OP answered with a cross-site POST, and the browser sent the transaction cookie with it.
        expect(cookiesSentWith(stack, 'POST', '/.sluss/callback')).toContain(pending[0]?.name);
        expect((await echoShown(page)).headers['x-remote-user']).toBe('alice');
        await expectSessionCookie(stack, context);
      },
    );
  });

  it('SAML SP-initiated login: HTTP-Redirect to the IdP, HTTP-POST back cross-site, then the session works', async () => {
    await withBrowserStack({ idp: 'saml' }, async (stack, context) => {
      const idp = stack.samlIdp;
      if (!idp) throw new Error('no SAML IdP');
      const page = await context.newPage();
      const target = `${stack.publicUrl}/echo/saml`;
      // The IdP signs in without a page of its own and auto-posts its Response to the ACS.
      await page.goto(target);
      await page.waitForURL(target);
      expect(idp.authnRequests).toHaveLength(1);
      expect(cookiesSentWith(stack, 'POST', '/.sluss/saml/acs').some((n) => n.startsWith(TXN_PREFIX))).toBe(
        true,
      );
      const echo = await echoShown(page);
      expect(echo.headers['x-remote-user']).toBe('alice@example.com');
      expect(echo.headers['x-remote-name']).toBe('Alice Liddell');
      await expectSessionCookie(stack, context);

      const next = `${stack.publicUrl}/echo/next`;
      await page.goto(next);
      expect(page.url()).toBe(next);
      expect((await echoShown(page)).headers['x-remote-email']).toBe('alice@example.com');
      expect(idp.authnRequests).toHaveLength(1);
    });
  });

  it('a second tab is signed in too; /.sluss/logout ends the session and the next navigation goes to the IdP', async () => {
    await withBrowserStack({ idp: 'oidc' }, async (stack, context) => {
      const first = await context.newPage();
      const target = `${stack.publicUrl}/echo/first`;
      await first.goto(target);
      await signInAtOp(first, stack, target);

      const second = await context.newPage();
      const other = `${stack.publicUrl}/echo/second`;
      await second.goto(other);
      expect(second.url()).toBe(other);
      expect((await echoShown(second)).headers['x-remote-user']).toBe('alice');
      expect(authorizationRequests(stack)).toBe(1);

      // Logout: sluss ends the session, then RP-initiated logout at the OP, which returns to logged-out.
      await second.goto(`${stack.publicUrl}/.sluss/logout`);
      await second.waitForURL(`${stack.publicUrl}/.sluss/logged-out`);
      expect(cookieNamed(await context.cookies(stack.publicUrl), SESSION_COOKIE)).toBeUndefined();

      await first.goto(`${stack.publicUrl}/echo/again`);
      await first.waitForURL(
        (url) => url.origin === stack.op?.issuer && url.pathname.startsWith('/interaction/'),
      );
      await expect(first.locator('input[name=password]').count()).resolves.toBe(1);
      expect(authorizationRequests(stack)).toBe(2);
    });
  });

  it('the demo legacy app behind sluss verifies the identity JWT against the JWKS (screenshot), and its Log out link works', async () => {
    await withBrowserStack({ idp: 'oidc', upstream: 'legacy-app' }, async (stack, context) => {
      const page = await context.newPage();
      const home = `${stack.publicUrl}/`;
      await page.goto(home);
      await signInAtOp(page, stack, home);

      const verdict = page.locator('p.verdict');
      await expect(verdict.innerText()).resolves.toContain('JWT signature verified');
      await expect(page.locator('tr.identity', { hasText: 'x-remote-user' }).innerText()).resolves.toContain(
        'alice',
      );
      mkdirSync(RESULTS_DIR, { recursive: true });
      await page.screenshot({
        path: new URL('browser-legacy-app.png', RESULTS_DIR).pathname,
        fullPage: true,
      });

      // A same-origin link click (Sec-Fetch-Site: same-origin) signs out without a confirmation page.
      await Promise.all([
        page.waitForURL(`${stack.publicUrl}/.sluss/logged-out`),
        page.getByRole('link', { name: 'Log out' }).click(),
      ]);
      expect(cookieNamed(await context.cookies(stack.publicUrl), SESSION_COOKIE)).toBeUndefined();
    });
  });

  it('with cookies.sameSite strict, the navigation after the cross-site login is still signed in (no loop)', async () => {
    await withBrowserStack({ idp: 'oidc', cookies: { sameSite: 'strict' } }, async (stack, context) => {
      const page = await context.newPage();
      const target = `${stack.publicUrl}/echo/strict`;
      await page.goto(target);
      await page.waitForURL(
        (url) => url.origin === stack.op?.issuer && url.pathname.startsWith('/interaction/'),
      );
      await page.locator('input[name=login]').fill('alice');
      await page.locator('input[name=password]').fill('alice');
      await page.locator('form[action$="/login"] button[type=submit]').click();
      // A loop ends in Chromium's ERR_TOO_MANY_REDIRECTS page instead; then look at what it shows.
      await page.waitForURL(target, { timeout: 5000 }).catch(() => undefined);
      const shown = (await page.locator('body').innerText()).slice(0, 500);
      expect(page.url(), shown).toBe(target);
      expect(authorizationRequests(stack), shown).toBe(1);
      expect((await echoShown(page)).headers['x-remote-user']).toBe('alice');
    });
  });
});
