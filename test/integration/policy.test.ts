/**
 * The access policy and the claim mapping through real logins at a real
 * OpenID Provider (alice: staff + app-admins, bob: staff): each rule alone,
 * combined, the empty whitelist, MFA with its one step-up, per-path rules,
 * and a mapping that cannot complete the identity. Every denial shows its
 * reason and reference, and lands in the audit stream.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEMO_USERS } from '../../src/demo/oidc-provider.ts';
import { loginThroughOp } from '../support/browserless-login.ts';
import type { Stack, StackOptions } from '../support/sluss-stack.ts';
import { startStack } from '../support/sluss-stack.ts';

const ALICE = { login: 'alice', password: 'alice' };
const BOB = { login: 'bob', password: 'bob' };

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function withPolicy(policy: Record<string, unknown>, extra: StackOptions = {}): Promise<Stack> {
  stack = await startStack({ ...extra, tenant: { ...extra.tenant, policy } });
  return stack;
}

/** The login's final status, and the denial's reason and reference when it was refused. */
async function loginOutcome(s: Stack, user: { login: string; password: string }) {
  const { response, hops } = await s.login(user);
  const text = await response.text();
  const reason = /"reason":"([a-z-]+)"/.exec(text)?.[1];
  return { status: response.status, reason, text, hops };
}

function audit(s: Stack): Record<string, unknown>[] {
  return s.audit.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('login policy, each rule alone', () => {
  it.each([
    ['an inactive whitelist lets everyone in', { groupWhitelist: { active: false, groups: [] } }, 200, 200],
    [
      'an active whitelist with an empty list lets nobody in',
      { groupWhitelist: { active: true, groups: [] } },
      403,
      403,
    ],
    [
      'a whitelist of app-admins lets alice in, not bob',
      { groupWhitelist: { active: true, groups: ['app-admins'] } },
      200,
      403,
    ],
    [
      'email domain example.com lets alice in, not bob (example.org)',
      { emailDomains: ['example.com'] },
      200,
      403,
    ],
    ['a subdomain wildcard does not match the bare domain', { emailDomains: ['*.example.com'] }, 403, 403],
  ])('%s', async (_label, policy, aliceStatus, bobStatus) => {
    const s = await withPolicy(policy);
    expect((await loginOutcome(s, ALICE)).status).toBe(aliceStatus);
    expect((await loginOutcome(s, BOB)).status).toBe(bobStatus);
  });

  it('a denial carries its reason code and a reference, in the JSON body and the audit stream', async () => {
    const s = await withPolicy({ groupWhitelist: { active: true, groups: ['app-admins'] } });
    const bob = await loginOutcome(s, BOB);
    expect(bob.status).toBe(403);
    expect(bob.reason).toBe('group-not-allowed');
    const reference = /"reference":"([0-9a-f]{12})"/.exec(bob.text)?.[1];
    expect(reference).toBeDefined();
    expect(audit(s)).toContainEqual(
      expect.objectContaining({ event: 'denied', reason: 'group-not-allowed', ref: reference, sub: 'bob' }),
    );
    expect(bob.text).not.toContain('__Host-sluss');
  });
});

describe('rules combined', () => {
  it('all rules must pass: whitelist, domain and path rules together', async () => {
    const s = await withPolicy({
      groupWhitelist: { active: true, groups: ['staff'] },
      emailDomains: ['example.com', 'example.org'],
      pathRules: [{ path: '/echo/admin', groups: ['app-admins'] }],
    });
    const alice = await s.login(ALICE);
    const bob = await s.login(BOB);
    expect(alice.response.status).toBe(200);
    expect(bob.response.status).toBe(200);
    const get = async (jar: typeof alice.jar, path: string) => {
      const response = await request(`${s.publicUrl}${path}`, {
        headers: { cookie: jar.header(s.publicUrl) ?? '' },
      });
      const body = await response.body.text();
      return { status: response.statusCode, body };
    };
    expect((await get(alice.jar, '/echo/admin/users')).status).toBe(200);
    const denied = await get(bob.jar, '/echo/admin/users');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ error: 'ERR_ACCESS_DENIED', reason: 'path-not-allowed' });
    // Path rules match on the normalised path, never the query string.
    expect((await get(bob.jar, '/echo/x/../admin/users')).status).toBe(403);
    expect((await get(bob.jar, '/echo/ADMIN/users')).status).toBe(403);
    expect((await get(bob.jar, '/echo/public?next=/echo/admin')).status).toBe(200);
    expect((await get(bob.jar, '/echo/administrator')).status).toBe(200);
  });
});

describe('path rules on websockets', () => {
  function open(url: string, cookie: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers: { cookie } });
      socket.once('open', () => {
        socket.close();
        resolve(101);
      });
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('error', reject);
    });
  }

  it('an upgrade to a ruled path needs the rule’s groups too', async () => {
    const s = await withPolicy({ pathRules: [{ path: '/ws', groups: ['app-admins'] }] });
    const alice = await s.login(ALICE);
    const bob = await s.login(BOB);
    const ws = s.publicUrl.replace('http', 'ws');
    expect(await open(`${ws}/ws`, alice.jar.header(s.publicUrl) ?? '')).toBe(101);
    expect(await open(`${ws}/ws`, bob.jar.header(s.publicUrl) ?? '')).toBe(403);
    expect(audit(s)).toContainEqual(
      expect.objectContaining({ event: 'denied', reason: 'path-not-allowed', sub: 'bob' }),
    );
  });
});

describe('MFA required', () => {
  it('a login without MFA gets one step-up attempt at the IdP, then the MFA page', async () => {
    const s = await withPolicy({ mfaRequired: true });
    const first = await s.login(BOB);
    // The step-up: a second authorization request with prompt=login, and the OP asks again.
    const authorizations = first.hops.filter((hop) => hop.includes('/auth?')).map((hop) => new URL(hop));
    expect(authorizations).toHaveLength(2);
    expect(authorizations[1]?.searchParams.get('prompt')).toBe('login');
    expect(await first.response.text()).toContain('name="password"');
    // Bob signs in again, still without a second factor: the MFA page, no second step-up.
    const again = await loginThroughOp(first.hops.at(-1) ?? '', first.jar, BOB);
    const text = await again.response.text();
    expect(again.response.status).toBe(403);
    expect(/"reason":"([a-z-]+)"/.exec(text)?.[1]).toBe('mfa-required');
    expect(again.hops.filter((hop) => hop.includes('/auth?'))).toHaveLength(0);
    expect(audit(s).map((event) => event.event)).toEqual(expect.arrayContaining(['step_up', 'denied']));
  });

  it('a user whose IdP reports a second factor gets in', async () => {
    const users = DEMO_USERS.map((user) => (user.sub === 'alice' ? { ...user, amr: ['pwd', 'otp'] } : user));
    const s = await withPolicy({ mfaRequired: true }, { opOptions: { users } });
    const alice = await loginOutcome(s, ALICE);
    expect(alice.status).toBe(200);
    expect(alice.hops.filter((hop) => hop.includes('/auth?'))).toHaveLength(1);
  });
});

describe('identity mapping through a real login', () => {
  it('a required field the IdP does not send is a clear denial, not a crash', async () => {
    const s = await withPolicy({}, { idp: { mapping: { preset: 'oidc-generic', givenName: 'nickname' } } });
    const alice = await loginOutcome(s, ALICE);
    expect(alice.status).toBe(403);
    expect(alice.reason).toBe('identity-incomplete');
    expect(audit(s)).toContainEqual(
      expect.objectContaining({ event: 'denied', reason: 'identity-incomplete' }),
    );
  });

  it('userIdentifier login puts the mapped login into the JWT sub and the user header', async () => {
    stack = await startStack({ tenant: { userIdentifier: 'login' }, idp: { mapping: { login: 'email' } } });
    const { response } = await stack.login(ALICE);
    const echo = (await response.json()) as { headers: Record<string, string> };
    expect(echo.headers['x-remote-user']).toBe('alice@example.com');
    const payload = JSON.parse(
      Buffer.from(echo.headers['x-sluss-identity']?.split('.')[1] ?? '', 'base64url').toString(),
    );
    expect(payload).toMatchObject({
      sub: 'alice@example.com',
      idp_user_id: 'alice',
      given_name: 'Alice',
      family_name: 'Andersson',
    });
  });
});
