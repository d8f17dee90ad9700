/**
 * `email_verified` through real logins at a real OpenID Provider (oidc-provider): an
 * email the IdP marks unverified (self-signup lets a user type any address) must not
 * pass `policy.emailDomains` nor reach the app, at login and at a refresh alike,
 * unless the IdP entry sets `trustUnverifiedEmail`. Without `email_verified` (Entra)
 * the email is used as before.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DemoUser } from '../../src/demo/oidc-provider.ts';
import type { Stack, StackOptions } from '../support/sluss-stack.ts';
import { startStack } from '../support/sluss-stack.ts';

/** A self-registered account that claims the CEO's address at the allowed domain. */
function mallory(emailVerified: DemoUser['emailVerified']): DemoUser {
  return {
    sub: 'mallory',
    password: 'mallory',
    email: 'ceo@example.com',
    emailVerified,
    name: 'Mallory Mole',
    given_name: 'Mallory',
    family_name: 'Mole',
    groups: ['staff'],
  };
}
const MALLORY = { login: 'mallory', password: 'mallory' };
const DOMAIN_POLICY = { policy: { emailDomains: ['example.com'] } };

const stacks: Stack[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
});

async function stackWith(options: StackOptions): Promise<Stack> {
  const stack = await startStack(options);
  stacks.push(stack);
  return stack;
}

async function get(url: string, cookie: string) {
  const response = await request(url, { method: 'GET', headers: { cookie } });
  const text = await response.body.text();
  return { status: response.statusCode, text };
}

function audit(stack: Stack): Record<string, unknown>[] {
  return stack.audit.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

function jwtPayload(token: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(token?.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

describe('an email the IdP marks unverified', () => {
  it.each([
    ['self-set email with email_verified false passes emailDomains', false],
    ['self-set email with email_verified "false" (a string) passes emailDomains', 'false'],
  ])('%s → refused, no session, nothing upstream', async (_attack, emailVerified) => {
    const stack = await stackWith({
      opOptions: { users: [mallory(emailVerified)] },
      tenant: DOMAIN_POLICY,
    });
    const { response, jar } = await stack.login(MALLORY);
    const text = await response.text();
    expect(response.status, text).toBe(403);
    expect(text).toContain('"reason":"identity-incomplete"');
    expect(jar.header(stack.publicUrl) ?? '').not.toContain('__Host-sluss=');
    expect(
      stack.upstream.requests.some((seen) => JSON.stringify(seen.headers).includes('ceo@example.com')),
    ).toBe(false);
    expect(audit(stack)).toContainEqual(
      expect.objectContaining({ event: 'denied', reason: 'identity-incomplete', sub: 'mallory' }),
    );
  });

  it('is not forwarded either: with email optional the login succeeds and the app never sees it', async () => {
    const stack = await stackWith({
      opOptions: { users: [mallory(false)] },
      idp: { mapping: { required: ['login', 'givenName', 'familyName'] } },
    });
    const { response } = await stack.login(MALLORY);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const echo = JSON.parse(text) as { headers: Record<string, string> };
    expect(echo.headers['x-remote-email']).toBeUndefined();
    expect(text).not.toContain('ceo@example.com');
    const payload = jwtPayload(echo.headers['x-sluss-identity']);
    expect(payload.email).toBeUndefined();
    // The preset's login fallback (preferred_username, email, sub) skips the dropped email too.
    expect(JSON.stringify(payload)).not.toContain('ceo@example.com');
  });

  it.each([
    ['email_verified true', true],
    ['no email_verified claim (as Entra sends it)', null],
  ])('%s: the email is used and passes emailDomains', async (_label, emailVerified) => {
    const stack = await stackWith({ opOptions: { users: [mallory(emailVerified)] }, tenant: DOMAIN_POLICY });
    const { response } = await stack.login(MALLORY);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const echo = JSON.parse(text) as { headers: Record<string, string> };
    expect(echo.headers['x-remote-email']).toBe('ceo@example.com');
  });

  it('trustUnverifiedEmail: true on the IdP accepts it', async () => {
    const stack = await stackWith({
      opOptions: { users: [mallory(false)] },
      idp: { trustUnverifiedEmail: true },
      tenant: DOMAIN_POLICY,
    });
    const { response } = await stack.login(MALLORY);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const echo = JSON.parse(text) as { headers: Record<string, string> };
    expect(echo.headers['x-remote-email']).toBe('ceo@example.com');
    expect(jwtPayload(echo.headers['x-sluss-identity']).email).toBe('ceo@example.com');
  });

  it('an email that turns unverified at the IdP ends the session at the next refresh', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now());
    const users = [mallory(true)];
    const stack = await stackWith({
      opOptions: { alwaysIssueRefreshTokens: true, users },
      client: { grant_types: ['authorization_code', 'refresh_token'] },
      idp: { refresh: { enabled: true, intervalSeconds: 30 } },
      tenant: DOMAIN_POLICY,
    });
    const { response, jar } = await stack.login(MALLORY);
    expect(response.status, await response.text()).toBe(200);
    const cookie = jar.header(stack.publicUrl) ?? '';
    expect((await get(`${stack.publicUrl}/echo/before`, cookie)).status).toBe(200);

    for (const user of users) user.emailVerified = 'false';
    vi.setSystemTime(Date.now() + 31_000);
    expect((await get(`${stack.publicUrl}/echo/after`, cookie)).status).toBe(401);
    expect(audit(stack)).toContainEqual(
      expect.objectContaining({
        event: 'session_revoked',
        reason: 'refused-on-refresh',
        denied: 'identity-incomplete',
        sub: 'mallory',
      }),
    );
  });
});
