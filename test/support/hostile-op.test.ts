import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loginThroughOp } from './browserless-login.ts';
import { CookieJar } from './cookie-jar.ts';
import {
  BACKCHANNEL_LOGOUT_EVENT,
  buildLogoutToken,
  type HostileOp,
  halfHash,
  type LogoutTokenDefect,
  type Scenario,
  startHostileOp,
} from './hostile-op.ts';

const CLIENT_ID = 'sluss-rp';
const CLIENT_SECRET = 'sluss-rp-secret';

/** Stands in for the RP's callback: records what arrives (GET query or form_post body). */
async function startCallbackServer(): Promise<{
  url: string;
  posts: URLSearchParams[];
  close(): Promise<void>;
}> {
  const posts: URLSearchParams[] = [];
  const server = http.createServer(async (req, res) => {
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      posts.push(new URLSearchParams(body));
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('callback reached');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function discover(op: HostileOp): Promise<client.Configuration> {
  return client.discovery(new URL(op.issuer), CLIENT_ID, undefined, client.ClientSecretBasic(CLIENT_SECRET), {
    execute: [client.allowInsecureRequests],
  });
}

/** Runs a code + PKCE login through the fixture and hands the callback to openid-client. */
async function codeLogin(config: client.Configuration) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const result = await loginThroughOp(url.href, new CookieJar(), { login: 'x', password: 'x' });
  await result.response.body?.cancel();
  const callback = new URL(result.finalUrl);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return { tokens, callback, verifier, nonce, state };
}

/** openid-client wraps oauth4webapi's specific error in `cause`; both messages, for matching. */
function failureText(outcome: unknown): string {
  if (!(outcome instanceof Error)) return `did not fail: ${typeof outcome}`;
  const cause = outcome.cause instanceof Error ? outcome.cause.message : '';
  return `${outcome.message} | ${cause}`;
}

let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let redirectUri: string;
let op: HostileOp;

beforeAll(async () => {
  callback = await startCallbackServer();
  redirectUri = `${callback.url}/callback`;
  op = await startHostileOp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri });
});
afterAll(async () => {
  await op?.close();
  await callback?.close();
});
afterEach(() => {
  op.scenario = 'valid';
  vi.useRealTimers();
});

describe('hostile OP, valid scenario', () => {
  it('completes a code + PKCE login with openid-client and the claims match', async () => {
    const config = await discover(op);
    const before = op.tokenRequests.length;
    const { tokens, callback: cb, verifier, nonce } = await codeLogin(config);

    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: op.issuer,
      aud: CLIENT_ID,
      sub: 'user-1',
      nonce,
      email: 'user-1@example.test',
      name: 'User One',
      groups: ['staff'],
      sid: op.lastSid,
    });
    // at_hash computed per Core 3.3.2.11.
    expect(claims?.at_hash).toBe(halfHash(tokens.access_token));
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(300);

    const request = op.tokenRequests[before];
    expect(request?.body.get('code_verifier')).toBe(verifier);
    expect(request?.headers.authorization).toMatch(/^Basic /);
    const code = cb.searchParams.get('code');
    expect(op.codesRedeemed).toContain(code);
    expect(op.authorizationRequests.at(-1)?.get('code_challenge_method')).toBe('S256');

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, 'user-1');
    expect(userinfo).toMatchObject({ sub: 'user-1', email: 'user-1@example.test', groups: ['staff'] });

    // A replayed code is refused (RFC 6749 4.1.2).
    await expect(
      client.authorizationCodeGrant(config, cb, {
        pkceCodeVerifier: verifier,
        expectedState: cb.searchParams.get('state') ?? '',
        expectedNonce: nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a wrong PKCE verifier with invalid_grant', async () => {
    const config = await discover(op);
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const result = await loginThroughOp(url.href, new CookieJar(), { login: 'x', password: 'x' });
    await result.response.body?.cancel();
    await expect(
      client.authorizationCodeGrant(config, new URL(result.finalUrl), {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: state,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('answers id_token with form_post in a page browserless-login auto-submits; openid-client accepts it', async () => {
    const config = await discover(op);
    client.useIdTokenResponseType(config);
    const nonce = client.randomNonce();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      response_mode: 'form_post',
      nonce,
      state,
    });
    const posted = callback.posts.length;
    const result = await loginThroughOp(url.href, new CookieJar(), { login: 'x', password: 'x' });
    expect(await result.response.text()).toBe('callback reached');
    const body = callback.posts[posted];
    expect(body?.get('state')).toBe(state);
    const request = new Request(redirectUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body?.toString() ?? '',
    });
    const claims = await client.implicitAuthentication(config, request, nonce, { expectedState: state });
    expect(claims).toMatchObject({ sub: 'user-1', nonce });
  });

  it("answers 'id_token token' with a correct at_hash and 'code id_token' with a correct c_hash", async () => {
    for (const responseType of ['id_token token', 'code id_token']) {
      const posted = callback.posts.length;
      const url = new URL(`${op.issuer}/authorize`);
      url.search = new URLSearchParams({
        client_id: CLIENT_ID,
        redirect_uri: redirectUri,
        response_type: responseType,
        response_mode: 'form_post',
        scope: 'openid',
        nonce: 'n-1',
        state: 's-1',
      }).toString();
      const result = await loginThroughOp(url.href, new CookieJar(), { login: 'x', password: 'x' });
      await result.response.body?.cancel();
      const body = callback.posts[posted];
      const claims = decodeJwt(body?.get('id_token') ?? '');
      if (responseType === 'id_token token') {
        expect(body?.get('token_type')).toBe('Bearer');
        expect(claims.at_hash).toBe(halfHash(body?.get('access_token') ?? ''));
      } else {
        expect(claims.c_hash).toBe(halfHash(body?.get('code') ?? ''));
      }
    }
  });

  it('serves the logout page and records its query', async () => {
    const res = await fetch(`${op.issuer}/logout?id_token_hint=t&post_logout_redirect_uri=x&state=s`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('logged out');
    expect(op.logoutRequests.at(-1)?.get('state')).toBe('s');
  });
});

describe('hostile OP, hostile scenarios against openid-client', () => {
  /**
   * With enableNonRepudiationChecks openid-client also verifies the ID token's signature
   * from the token endpoint (by default it relies on TLS, Core 3.1.3.7 (6)).
   */
  async function strictConfig(): Promise<client.Configuration> {
    const config = await discover(op);
    client.enableNonRepudiationChecks(config);
    return config;
  }

  /** Each hostile scenario and the reason openid-client gives for refusing it. */
  const rejected: [Scenario, RegExp][] = [
    ['bad-signature', /JWT signature verification failed/],
    ['alg-none', /unexpected JWT "alg" header parameter/],
    ['hs256-with-rsa-public-key-pem', /unexpected JWT "alg" header parameter/],
    ['hs256-with-rsa-public-key-jwk', /unexpected JWT "alg" header parameter/],
    ['wrong-iss', /"iss" \(issuer\) claim value/],
    ['wrong-aud', /"aud" \(audience\) claim value/],
    ['extra-aud-without-azp', /additional untrusted audiences/],
    ['extra-aud-wrong-azp', /"azp" \(authorized party\) claim value/],
    ['expired', /"exp" \(expiration time\) claim value/],
    ['missing-nonce', /"nonce" \(nonce\) claim missing/],
    ['wrong-nonce', /"nonce" claim value/],
    ['wrong-state', /unexpected "state" response parameter value/],
    ['missing-state', /response parameter "state" missing/],
    ['kid-absent-multiple-keys', /multiple applicable keys found/],
    ['token-endpoint-500', /unexpected HTTP response status code/],
    ['token-endpoint-garbage', /failed to parse "response" body as JSON/],
  ];
  it.each(rejected)('openid-client (non-repudiation on) rejects %s', async (scenario, reason) => {
    const config = await strictConfig();
    op.scenario = scenario;
    expect(failureText(await codeLogin(config).catch((e: unknown) => e))).toMatch(reason);
  });

  it.each(['bad-signature', 'wrong-aud', 'alg-none', 'missing-nonce'] as const)(
    'openid-client with its defaults rejects %s, or (bad-signature) does not check it',
    async (scenario) => {
      const config = await discover(op);
      op.scenario = scenario;
      if (scenario === 'bad-signature') {
        // Surprise worth knowing: by default openid-client does not verify the signature of
        // an ID token received over TLS from the token endpoint (Core 3.1.3.7 (6) allows it).
        await expect(codeLogin(config)).resolves.toBeDefined();
      } else {
        await expect(codeLogin(config)).rejects.toBeInstanceOf(client.ClientError);
      }
    },
  );

  it("accepts 'kid-absent-single-key'", async () => {
    const config = await strictConfig();
    op.scenario = 'kid-absent-single-key';
    const { tokens } = await codeLogin(config);
    expect(tokens.claims()?.sub).toBe('user-1');
  });

  it("does not reject 'iat-future' or 'at-hash-mismatch' in the code flow (no such checks)", async () => {
    for (const scenario of ['iat-future', 'at-hash-mismatch'] as const) {
      const config = await strictConfig();
      op.scenario = scenario;
      await expect(codeLogin(config)).resolves.toBeDefined();
    }
  });

  it("rejects 'c-hash-mismatch' in the hybrid flow", async () => {
    const config = await strictConfig();
    client.useCodeIdTokenResponseType(config);
    op.scenario = 'c-hash-mismatch';
    const nonce = client.randomNonce();
    const state = client.randomState();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      response_mode: 'form_post',
      nonce,
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const posted = callback.posts.length;
    const result = await loginThroughOp(url.href, new CookieJar(), { login: 'x', password: 'x' });
    await result.response.body?.cancel();
    const request = () =>
      new Request(redirectUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: callback.posts[posted]?.toString() ?? '',
      });
    const outcome = await client
      .authorizationCodeGrant(config, request(), {
        pkceCodeVerifier: verifier,
        expectedNonce: nonce,
        expectedState: state,
      })
      .catch((e: unknown) => e);
    expect(failureText(outcome)).toMatch(/invalid ID Token "c_hash"/);
  });

  it("rejects 'userinfo-sub-mismatch' at the userinfo step", async () => {
    const config = await discover(op);
    const { tokens } = await codeLogin(config);
    op.scenario = 'userinfo-sub-mismatch';
    const outcome = await client
      .fetchUserInfo(config, tokens.access_token, 'user-1')
      .catch((e: unknown) => e);
    expect(failureText(outcome)).toMatch(/unexpected "response" body "sub" property value/);
  });

  it("fails discovery in 'discovery-down'", async () => {
    op.scenario = 'discovery-down';
    expect(failureText(await discover(op).catch((e: unknown) => e))).toMatch(
      /unexpected HTTP response status/,
    );
  });

  it("'rotated-key': refetches the JWKS on an unknown kid only once its cached copy is 60 s old", async () => {
    const config = await strictConfig();
    await codeLogin(config); // caches the JWKS
    const fetches = op.jwksFetches;
    const kidBefore = (await (await fetch(`${op.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    op.scenario = 'rotated-key';

    // Within 60 s of the last fetch, openid-client refuses the unknown kid without refetching.
    expect(failureText(await codeLogin(config).catch((e: unknown) => e))).toMatch(/no applicable keys/);
    expect(op.jwksFetches).toBe(fetches + 1); // only our own fetch above

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    const { tokens } = await codeLogin(config);
    expect(op.jwksFetches).toBe(fetches + 2); // the RP refetched exactly once
    const header = decodeProtectedHeader(tokens.id_token ?? '');
    expect(header.kid).not.toBe(kidBefore.keys[0]?.kid);
  });

  it("serves two keys in 'kid-absent-multiple-keys', and only the new key after rotateKeys()", async () => {
    op.scenario = 'kid-absent-multiple-keys';
    const two = (await (await fetch(`${op.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(two.keys).toHaveLength(2);
    op.scenario = 'valid';
    await op.rotateKeys();
    const one = (await (await fetch(`${op.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(one.keys).toHaveLength(1);
    expect(two.keys.map((k) => k.kid)).not.toContain(one.keys[0]?.kid);
  });
});

describe('buildLogoutToken', () => {
  const verify = (token: string) =>
    jwtVerify(token, createRemoteJWKSet(new URL(`${op.issuer}/jwks`)), {
      issuer: op.issuer,
      audience: CLIENT_ID,
      typ: 'logout+jwt',
      algorithms: ['RS256'],
    });

  it('signs a valid back-channel logout token with the current key', async () => {
    const { payload, protectedHeader } = await verify(await buildLogoutToken(op, { sid: 'sid-1' }));
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'logout+jwt' });
    expect(payload).toMatchObject({
      sid: 'sid-1',
      sub: 'user-1',
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.nonce).toBeUndefined();
  });

  it('removes claims set to undefined', async () => {
    const { payload } = await verify(await buildLogoutToken(op, { sub: undefined, sid: 's' }));
    expect(payload.sub).toBeUndefined();
  });

  it.each(['bad-signature', 'alg-none', 'wrong-aud', 'wrong-iss', 'expired', 'wrong-typ'] as const)(
    'the %s defect fails JWS/JWT validation',
    async (defect: LogoutTokenDefect) => {
      await expect(verify(await buildLogoutToken(op, {}, { defect }))).rejects.toThrow();
    },
  );

  it('the no-events, has-nonce and no-sub-or-sid defects alter the claims', async () => {
    const claims = async (defect: LogoutTokenDefect) =>
      (await verify(await buildLogoutToken(op, { sid: 's' }, { defect }))).payload;
    expect((await claims('no-events')).events).toBeUndefined();
    expect((await claims('has-nonce')).nonce).toEqual(expect.any(String));
    const anonymous = await claims('no-sub-or-sid');
    expect([anonymous.sub, anonymous.sid]).toEqual([undefined, undefined]);
  });
});
