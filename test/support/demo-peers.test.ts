import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startLegacyApp } from '../../src/demo/legacy-app.ts';
import { type RunningOidcProvider, startOidcProvider } from '../../src/demo/oidc-provider.ts';
import { loginThroughOp } from './browserless-login.ts';
import { CookieJar } from './cookie-jar.ts';
import { downloadPattern, type RunningUpstream, startUpstream } from './upstream.ts';

const CLIENT_ID = 'demo-rp';
const CLIENT_SECRET = 'demo-rp-secret-that-is-long-enough';

describe('demo OpenID Provider', () => {
  let op: RunningOidcProvider;
  let rp: { url: string; callbacks: string[]; close(): Promise<void> };
  let config: client.Configuration;

  beforeAll(async () => {
    // The RP callback server must exist first: its port goes into the client's redirect_uris.
    rp = await startCallbackServer();
    op = await startOidcProvider({
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: [`${rp.url}/callback`],
          post_logout_redirect_uris: [`${rp.url}/`],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
    });
    config = await client.discovery(new URL(op.issuer), CLIENT_ID, CLIENT_SECRET, undefined, {
      execute: [client.allowInsecureRequests],
    });
  });
  afterAll(async () => {
    await op?.close();
    await rp?.close();
  });

  it('serves a discovery document for its loopback issuer', async () => {
    const res = await fetch(`${op.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(op.issuer);
    expect(doc.authorization_endpoint).toBe(`${op.issuer}/auth`);
    expect(doc.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'email', 'profile', 'groups', 'offline_access']),
    );
    expect(doc.claims_supported).toEqual(expect.arrayContaining(['email', 'name', 'groups']));
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    const jwks = (await (await fetch(String(doc.jwks_uri))).json()) as {
      keys: { kid?: string; d?: string }[];
    };
    expect(jwks.keys[0]?.kid).toBe(op.jwks.keys[0]?.kid);
    expect(jwks.keys[0]?.d).toBeUndefined();
  });

  it('logs alice in with code + PKCE and puts her claims in the ID token', async () => {
    const { url, verifier, state } = await authorizationUrl(config, rp.url);
    const jar = new CookieJar();
    const result = await loginThroughOp(url.href, jar, { login: 'alice', password: 'alice' });

    expect(result.response.status).toBe(200);
    expect(result.finalUrl.startsWith(`${rp.url}/callback?`)).toBe(true);
    expect(result.hops.some((h) => h.startsWith(`POST ${op.issuer}/interaction/`))).toBe(true);
    // Session cookies stay with the OP's origin, and are not Secure on plain http.
    expect(jar.names(rp.url)).toEqual([]);
    expect(jar.get('_session', op.issuer)).toMatchObject({ httpOnly: true, secure: false, sameSite: 'lax' });

    const tokens = await client.authorizationCodeGrant(config, new URL(result.finalUrl), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: op.issuer,
      aud: CLIENT_ID,
      sub: 'alice',
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Andersson',
      given_name: 'Alice',
      family_name: 'Andersson',
      groups: ['staff', 'app-admins'],
      amr: ['pwd'],
    });
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, 'alice');
    expect(userinfo.groups).toEqual(['staff', 'app-admins']);
  });

  it('issues a refresh token for offline_access with prompt=consent, reusing the OP session', async () => {
    const jar = new CookieJar();
    await loginThroughOp((await authorizationUrl(config, rp.url)).url.href, jar, {
      login: 'bob',
      password: 'bob',
    });
    // Second authorization in the same OP session: no login form, consent is re-granted silently.
    const { url, verifier, state } = await authorizationUrl(config, rp.url, {
      scope: 'openid email offline_access',
      prompt: 'consent',
    });
    const result = await loginThroughOp(url.href, jar, { login: 'bob', password: 'unused' });
    expect(result.hops.some((h) => h.startsWith('POST '))).toBe(false);
    const tokens = await client.authorizationCodeGrant(config, new URL(result.finalUrl), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.refresh_token).toBeTypeOf('string');
    expect(tokens.claims()).toMatchObject({ sub: 'bob', email: 'bob@example.org' });
  });

  it('ends the OP session on RP-initiated logout without a confirmation step', async () => {
    const jar = new CookieJar();
    await loginThroughOp((await authorizationUrl(config, rp.url)).url.href, jar, {
      login: 'alice',
      password: 'alice',
    });
    expect(jar.get('_session', op.issuer)).toBeDefined();
    const logoutUrl = client.buildEndSessionUrl(config, { post_logout_redirect_uri: `${rp.url}/` });
    const result = await loginThroughOp(logoutUrl.href, jar, { login: '', password: '' });
    expect(result.finalUrl).toBe(`${rp.url}/`);
    expect(jar.get('_session', op.issuer)).toBeUndefined();
  });

  it('rejects a wrong password with an error on the login page', async () => {
    const { url } = await authorizationUrl(config, rp.url);
    const jar = new CookieJar();
    const result = await loginThroughOp(url.href, jar, { login: 'bob', password: 'wrong' });

    expect(result.response.status).toBe(401);
    expect(result.finalUrl.startsWith(`${op.issuer}/interaction/`)).toBe(true);
    const html = await result.response.text();
    expect(html).toContain('Invalid login or password.');
    expect(html).toMatch(/<label for="login">/);
    expect(html).toMatch(/<label for="password">/);
    expect(rp.callbacks.some((c) => c.includes(`state=${url.searchParams.get('state')}`))).toBe(false);
  });

  it('requires PKCE', async () => {
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rp.url}/callback`,
      scope: 'openid',
      state: client.randomState(),
    });
    const res = await fetch(url, { redirect: 'manual' });
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });
});

describe('cookie jar', () => {
  it('keeps cookies per origin and path, and deletes on Max-Age=0', () => {
    const jar = new CookieJar();
    const a = 'http://127.0.0.1:1000/app/page';
    const b = 'http://127.0.0.1:2000/';
    jar.store(a, { 'set-cookie': ['s=1; Path=/; HttpOnly; Secure; SameSite=Lax', 'p=2; Path=/app'] });
    jar.store(b, new Headers([['set-cookie', 's=other; Path=/']]));
    expect(jar.header(a)).toBe('p=2; s=1');
    expect(jar.header('http://127.0.0.1:1000/')).toBe('s=1');
    expect(jar.header(b)).toBe('s=other');
    expect(jar.get('s', a)).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax' });
    jar.store(a, { 'set-cookie': 's=; Path=/; Max-Age=0' });
    expect(jar.names(a)).toEqual(['p']);
    jar.set('forged', 'x', b);
    expect(jar.header(b)).toBe('s=other; forged=x');
    jar.delete('forged', b);
    expect(jar.names(b)).toEqual(['s']);
  });
});

describe('demo legacy app', () => {
  it('verifies the identity JWT against a JWKS and escapes what it shows', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const jwksServer = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    const app = await startLegacyApp({
      jwksUrl,
      jwtHeader: 'X-Sluss-JWT',
      audience: 'legacy',
      issuer: 'sluss',
    });
    try {
      const jwt = await new SignJWT({ email: 'alice@example.com', name: '<b>Alice</b>' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('sluss')
        .setAudience('legacy')
        .setSubject('alice')
        .setExpirationTime('1m')
        .sign(privateKey);
      const ok = (await (
        await fetch(`${app.url}/api/whoami`, { headers: { 'x-sluss-jwt': jwt } })
      ).json()) as {
        jwt: { verified: boolean; claims: Record<string, unknown> };
      };
      expect(ok.jwt).toMatchObject({ verified: true, claims: { sub: 'alice' } });

      const wrongAud = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('sluss')
        .setAudience('other')
        .setExpirationTime('1m')
        .sign(privateKey);
      const bad = (await (
        await fetch(`${app.url}/api/whoami`, { headers: { 'x-sluss-jwt': wrongAud } })
      ).json()) as {
        jwt: { verified: boolean; error?: string };
      };
      expect(bad.jwt.verified).toBe(false);
      expect(bad.jwt.error).toContain('aud');

      const html = await (
        await fetch(`${app.url}/`, { headers: { 'x-sluss-jwt': jwt, 'x-remote-user': '<i>' } })
      ).text();
      expect(html).toContain('<title>Demo legacy app</title>');
      expect(html).toContain('JWT signature verified ✓');
      expect(html).toContain('&lt;b&gt;Alice&lt;/b&gt;');
      expect(html).not.toContain('<i>');
      expect(html).toContain('<tr class="identity"><th scope="row">x-remote-user</th>');
      expect(html).toContain('href="/.sluss/logout">Log out</a>');
    } finally {
      await app.close();
      jwksServer.closeAllConnections();
      jwksServer.close();
    }
  });
});

describe('test upstream', () => {
  let upstream: RunningUpstream;
  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
  });

  it('echoes and records requests under /echo', async () => {
    const res = await fetch(`${upstream.url}/echo/a/b?c=d`, {
      method: 'PUT',
      headers: { 'x-test': 'yes' },
      body: 'ignored',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { method: string; url: string; headers: Record<string, string> };
    expect(body).toMatchObject({ method: 'PUT', url: '/echo/a/b?c=d' });
    expect(body.headers['x-test']).toBe('yes');
    expect(upstream.requests.at(-1)).toMatchObject({ method: 'PUT', url: '/echo/a/b?c=d', kind: 'http' });
  });

  it('hashes a streamed upload', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 7);
    const res = await fetch(`${upstream.url}/upload`, { method: 'POST', body: data });
    expect(await res.json()).toEqual({
      bytes: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
    });
  });

  it('streams a download of the requested length', async () => {
    const size = 3 * 64 * 1024 + 123;
    const res = await fetch(`${upstream.url}/download?bytes=${size}`);
    expect(res.headers.get('content-length')).toBe(String(size));
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(size);
    expect(body.equals(downloadPattern(size))).toBe(true);
  });

  it('echoes websocket messages and records the upgrade', async () => {
    const ws = new WebSocket(`${upstream.url.replace('http', 'ws')}/ws?x=1`, { headers: { 'x-ws': 'hi' } });
    await once(ws, 'open');
    ws.send('ping');
    const [message] = (await once(ws, 'message')) as [Buffer];
    expect(message.toString()).toBe('ping');
    ws.close();
    expect(upstream.requests.at(-1)).toMatchObject({ kind: 'websocket', url: '/ws?x=1' });
    expect(upstream.requests.at(-1)?.headers['x-ws']).toBe('hi');
  });
});

async function authorizationUrl(
  config: client.Configuration,
  rpUrl: string,
  extra: Record<string, string> = {},
) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: `${rpUrl}/callback`,
    scope: 'openid email profile groups',
    ...extra,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url, verifier, state };
}

// The RP side only needs to answer its redirect_uri; the test exchanges the code itself.
async function startCallbackServer(): Promise<{ url: string; callbacks: string[]; close(): Promise<void> }> {
  const callbacks: string[] = [];
  const server = http.createServer((req, res) => {
    callbacks.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('callback received');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    callbacks,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
