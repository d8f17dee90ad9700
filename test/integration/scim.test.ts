/**
 * SCIM 2.0 through sluss's HTTP endpoint, with real logins at a real OpenID
 * Provider: token authentication, rate and size limits, logins consulting
 * the directory (unknown, provisioned, deactivated, provisioned groups, JIT),
 * and deactivation ending a live session, also on a second replica sharing
 * Redis, within 100 ms.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.ts';
import { DEMO_USERS } from '../../src/demo/oidc-provider.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { generateScimToken } from '../../src/scim/token.ts';
import type { RunningSluss } from '../../src/server.ts';
import { startSluss } from '../../src/server.ts';
import type { RunningRedis } from '../support/redis.ts';
import { startRedis } from '../support/redis.ts';
import type { Stack } from '../support/sluss-stack.ts';
import { LogSink, startStack } from '../support/sluss-stack.ts';

const SCIM_JSON = 'application/scim+json';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

interface Scim {
  call(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

function scimClient(baseUrl: string, token: string): Scim {
  return {
    async call(method, path, body, overrideToken) {
      const response = await request(`${baseUrl}/.sluss/scim/v2${path}`, {
        method: method as 'GET',
        headers: {
          authorization: `Bearer ${overrideToken ?? token}`,
          ...(body === undefined ? {} : { 'content-type': SCIM_JSON }),
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
  };
}

async function status(url: string, cookie: string): Promise<number> {
  const response = await request(url, { headers: { cookie } });
  await response.body.text();
  return response.statusCode;
}

async function createAlice(scim: Scim): Promise<string> {
  const created = await scim.call('POST', '/Users', {
    schemas: [USER_SCHEMA],
    userName: 'alice',
    externalId: 'alice',
    name: { givenName: 'Alice', familyName: 'Andersson' },
    emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
    active: true,
  });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

describe('SCIM over HTTP, with logins that consult the directory', () => {
  const { token, hash } = generateScimToken();
  let redis: RunningRedis;
  let stack: Stack;
  let replica: RunningSluss;
  let scim: Scim;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({
      store: { type: 'redis', url: redis.url, graceSeconds: 5 },
      tenant: {
        scim: {
          tokenHashes: [hash],
          requireProvisioning: true,
          limits: { maxBodyBytes: 16 * 1024, requestsPerMinute: 100_000 },
        },
        policy: { groupWhitelist: { active: true, groups: ['app-users'] } },
      },
    });
    const config = loadConfig(stack.configDir);
    replica = await startSluss({
      config: {
        ...config,
        listen: { public: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
      },
      logger: createLogger({ level: 'warn', destination: new LogSink() }),
      auditDestination: new LogSink(),
      drainTimeoutMs: 500,
    });
    scim = scimClient(stack.publicUrl, token);
  });
  afterAll(async () => {
    await replica?.close();
    await stack?.close();
    await redis?.dispose();
  });

  it.each([
    ['no token', ''],
    ['a wrong token', 'sluss_scim_wrong'],
  ])('refuses %s with 401 and a SCIM error body', async (_label, bad) => {
    const response = await request(`${stack.publicUrl}/.sluss/scim/v2/Users`, {
      headers: bad ? { authorization: `Bearer ${bad}` } : {},
    });
    const body = (await response.body.json()) as Record<string, unknown>;
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toContain('Bearer');
    expect(body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
  });

  it('refuses an oversized body with 413 and malformed JSON with 400 invalidSyntax', async () => {
    const big = await scim.call('POST', '/Users', {
      schemas: [USER_SCHEMA],
      userName: 'x',
      displayName: 'y'.repeat(20_000),
    });
    expect(big.status).toBe(413);
    const broken = await scim.call('POST', '/Users', '{"schemas": [');
    expect(broken.status).toBe(400);
    expect(broken.body.scimType).toBe('invalidSyntax');
  });

  it('an unknown user is refused when the tenant requires provisioning; provisioned groups open the whitelist', async () => {
    const refused = await stack.login();
    expect(refused.response.status).toBe(403);

    const aliceId = await createAlice(scim);
    const group = await scim.call('POST', '/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName: 'app-users',
      members: [{ value: aliceId }],
    });
    expect(group.status).toBe(201);

    const { jar, response } = await stack.login();
    expect(response.status).toBe(200);
    const echo = (await response.json()) as { headers: Record<string, string> };
    // The IdP's own groups plus the ones provisioned over SCIM.
    expect(echo.headers['x-remote-groups']?.split(',')).toEqual(
      expect.arrayContaining(['staff', 'app-admins', 'app-users']),
    );
    expect(jar.header(stack.publicUrl)).toContain('__Host-sluss=');
  });

  it('deactivation over SCIM ends a live session on a second replica within 100 ms, and the next login is refused', async ({
    annotate,
  }) => {
    const found = await scim.call('GET', `/Users?filter=${encodeURIComponent('userName eq "ALICE"')}`);
    expect(found.status).toBe(200);
    expect(found.body.totalResults).toBe(1);
    const aliceId = ((found.body.Resources as Record<string, unknown>[])[0] as Record<string, unknown>)
      .id as string;

    const { jar } = await stack.login();
    const cookie = jar.header(stack.publicUrl) ?? '';
    expect(await status(`${replica.publicUrl}/echo/live`, cookie)).toBe(200);

    // Entra ID's dialect: capitalised op, boolean as a string.
    const deactivate = scim.call('PATCH', `/Users/${aliceId}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    const sent = performance.now();
    expect((await deactivate).status).toBe(200);
    let took = Number.POSITIVE_INFINITY;
    while (performance.now() - sent < 2000) {
      if ((await status(`${replica.publicUrl}/echo/after`, cookie)) === 401) {
        took = performance.now() - sent;
        break;
      }
    }
    await annotate(`SCIM deactivation to refusal on the other replica: ${took.toFixed(1)} ms`);
    expect(took).toBeLessThan(100);
    expect(await status(`${stack.publicUrl}/echo/after`, cookie)).toBe(401);

    const again = await stack.login();
    expect(again.response.status).toBe(403);
    // Both replicas read one directory (Redis): the other one sees the deactivated user too.
    const viaReplica = await request(`${replica.publicUrl}/.sluss/scim/v2/Users/${aliceId}`, {
      headers: { authorization: `Bearer ${token}`, host: new URL(stack.publicUrl).host },
    });
    expect(viaReplica.statusCode).toBe(200);
    expect(await viaReplica.body.json()).toMatchObject({ userName: 'alice', active: false });
    const audit = stack.audit.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit).toContainEqual(
      expect.objectContaining({ event: 'provisioning', change: 'user-deactivated' }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({ event: 'session_revoked', reason: 'scim-deactivated' }),
    );
    expect(audit).toContainEqual(expect.objectContaining({ event: 'denied', reason: 'user-deactivated' }));
  });
});

describe('the embedded store', () => {
  it('keeps provisioned users across a restart', async () => {
    const { token, hash } = generateScimToken();
    const stack = await startStack({
      store: { type: 'sqlite', path: 'data/sluss.db' },
      tenant: { scim: { tokenHashes: [hash] } },
    });
    try {
      const aliceId = await createAlice(scimClient(stack.publicUrl, token));
      await stack.sluss?.close();
      const config = loadConfig(stack.configDir);
      const restarted = await startSluss({
        config: {
          ...config,
          listen: { public: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
        },
        logger: createLogger({ level: 'warn', destination: new LogSink() }),
        auditDestination: new LogSink(),
      });
      try {
        const response = await request(`${restarted.publicUrl}/.sluss/scim/v2/Users/${aliceId}`, {
          headers: { authorization: `Bearer ${token}`, host: new URL(stack.publicUrl).host },
        });
        expect(response.statusCode).toBe(200);
        expect(await response.body.json()).toMatchObject({ id: aliceId, userName: 'alice', active: true });
      } finally {
        await restarted.close();
      }
    } finally {
      await stack.close();
    }
  });
});

describe('just-in-time provisioning', () => {
  it('a first login of an unprovisioned user creates them in the directory', async () => {
    const { token, hash } = generateScimToken();
    const stack = await startStack({ tenant: { scim: { tokenHashes: [hash] } } });
    try {
      const scim = scimClient(stack.publicUrl, token);
      expect((await scim.call('GET', '/Users')).body.totalResults).toBe(0);
      const { response } = await stack.login();
      expect(response.status).toBe(200);
      const users = await scim.call('GET', `/Users?filter=${encodeURIComponent('externalId eq "alice"')}`);
      expect(users.body.totalResults).toBe(1);
      expect((users.body.Resources as Record<string, unknown>[])[0]).toMatchObject({
        active: true,
        externalId: 'alice',
      });
    } finally {
      await stack.close();
    }
  });

  it('a changed email at the IdP updates the user, never creates a second one', async () => {
    const { token, hash } = generateScimToken();
    const users = DEMO_USERS.map((user) => ({ ...user }));
    const stack = await startStack({ opOptions: { users }, tenant: { scim: { tokenHashes: [hash] } } });
    try {
      const scim = scimClient(stack.publicUrl, token);
      expect((await stack.login()).response.status).toBe(200);
      const alice = users.find((user) => user.sub === 'alice');
      if (!alice) throw new Error('no alice');
      alice.email = 'alice.andersson@example.com';
      expect((await stack.login()).response.status).toBe(200);
      const all = await scim.call('GET', '/Users');
      expect(all.body.totalResults).toBe(1);
      expect((all.body.Resources as Record<string, unknown>[])[0]).toMatchObject({
        externalId: 'alice',
        emails: [expect.objectContaining({ value: 'alice.andersson@example.com' })],
      });
    } finally {
      await stack.close();
    }
  });

  it('rate limits each token', async () => {
    const { token, hash } = generateScimToken();
    const stack = await startStack({
      tenant: { scim: { tokenHashes: [hash], limits: { requestsPerMinute: 3 } } },
    });
    try {
      const scim = scimClient(stack.publicUrl, token);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await scim.call('GET', '/ServiceProviderConfig')).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
    } finally {
      await stack.close();
    }
  });
});

describe('SCIM deactivation after a rename, when externalId is not the login’s IdP user ID', () => {
  const { token, hash } = generateScimToken();
  let stack: Stack;
  let scim: Scim;
  beforeAll(async () => {
    stack = await startStack({
      tenant: {
        scim: {
          tokenHashes: [hash],
          idpUserIdAttribute: 'externalId',
          limits: { requestsPerMinute: 100_000 },
        },
      },
    });
    scim = scimClient(stack.publicUrl, token);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('still ends the live session: it is revoked by the directory id the login matched', async () => {
    // Entra's default maps externalId to mailNickname, not to the ID token's subject.
    const created = await scim.call('POST', '/Users', {
      schemas: [USER_SCHEMA],
      userName: 'bob@example.org',
      externalId: 'mailnick-bob',
      active: true,
    });
    expect(created.status).toBe(201);
    const bobId = created.body.id as string;
    const { jar, response } = await stack.login({ login: 'bob', password: 'bob' });
    expect(response.status).toBe(200);
    const cookie = jar.header(stack.publicUrl) ?? '';
    expect(await status(`${stack.publicUrl}/echo/live`, cookie)).toBe(200);

    const renamed = await scim.call('PATCH', `/Users/${bobId}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'replace', path: 'userName', value: 'bob.berg@example.org' }],
    });
    expect(renamed.status).toBe(200);
    // Neither the new userName nor the externalId names the session's user: only the directory id does.
    const deactivated = await scim.call('PATCH', `/Users/${bobId}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    expect(deactivated.status).toBe(200);
    expect(await status(`${stack.publicUrl}/echo/after`, cookie), stack.audit.lines.join('\n')).toBe(401);
  });
});
