/**
 * A small, deliberately misbehaving OpenID Provider for sluss's relying-party attack
 * suite. It is a real HTTP server on 127.0.0.1 (node:http, no framework) that logs
 * every user in at once (no UI) and then answers according to `op.scenario`: either
 * correctly ('valid') or broken in exactly one way. Each scenario family lives in one
 * function below (signing, ID token claims, authorization response, endpoint failures),
 * so a reader can see precisely what a scenario changes.
 *
 * References: OpenID Connect Core 1.0 (errata set 2), "Core" below; OpenID Connect
 * Back-Channel Logout 1.0, "BCL" below; RFC 6749 (OAuth 2.0); RFC 7636 (PKCE).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';

export type Scenario =
  | 'valid'
  | 'bad-signature'
  | 'alg-none'
  | 'hs256-with-rsa-public-key-pem'
  | 'hs256-with-rsa-public-key-jwk'
  | 'wrong-iss'
  | 'wrong-aud'
  | 'extra-aud-without-azp'
  | 'extra-aud-wrong-azp'
  | 'expired'
  | 'iat-future'
  | 'missing-nonce'
  | 'wrong-nonce'
  | 'wrong-state'
  | 'missing-state'
  | 'at-hash-mismatch'
  | 'c-hash-mismatch'
  | 'userinfo-sub-mismatch'
  | 'kid-absent-multiple-keys'
  | 'kid-absent-single-key'
  | 'rotated-key'
  | 'token-endpoint-500'
  | 'token-endpoint-garbage'
  | 'discovery-down';

/** Every scenario, for parameterised tests. */
export const SCENARIOS: readonly Scenario[] = [
  'valid',
  'bad-signature',
  'alg-none',
  'hs256-with-rsa-public-key-pem',
  'hs256-with-rsa-public-key-jwk',
  'wrong-iss',
  'wrong-aud',
  'extra-aud-without-azp',
  'extra-aud-wrong-azp',
  'expired',
  'iat-future',
  'missing-nonce',
  'wrong-nonce',
  'wrong-state',
  'missing-state',
  'at-hash-mismatch',
  'c-hash-mismatch',
  'userinfo-sub-mismatch',
  'kid-absent-multiple-keys',
  'kid-absent-single-key',
  'rotated-key',
  'token-endpoint-500',
  'token-endpoint-garbage',
  'discovery-down',
];

export interface TokenRequest {
  headers: Record<string, string | string[] | undefined>;
  body: URLSearchParams;
}

export interface HostileOp {
  /** http://127.0.0.1:<port> */
  readonly issuer: string;
  /** Settable between tests; read on every request. */
  scenario: Scenario;
  /** Every /authorize query seen, in order. */
  readonly authorizationRequests: URLSearchParams[];
  /** Every /token request seen (headers and form body), in order. */
  readonly tokenRequests: TokenRequest[];
  /** Every authorization code successfully redeemed (each at most once), for replay assertions. */
  readonly codesRedeemed: string[];
  /** Every /logout query seen (id_token_hint, post_logout_redirect_uri, state, ...). */
  readonly logoutRequests: URLSearchParams[];
  /** How many times /jwks has been fetched. */
  readonly jwksFetches: number;
  /** The `sid` of the most recent login (also in its ID tokens), for back-channel logout tokens. */
  readonly lastSid: string | undefined;
  /** Generates a new signing key (new kid); the JWKS serves only the new key afterwards. */
  rotateKeys(): Promise<void>;
  close(): Promise<void>;
}

export interface HostileOpOptions {
  clientId: string;
  /** When set, the token endpoint requires it (client_secret_basic or client_secret_post). */
  clientSecret?: string;
  redirectUri: string;
  /** Extra or overriding claims for ID tokens and userinfo (e.g. `sub`, `groups`, `amr`). */
  claims?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------
// Keys

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public JWK exactly as the JWKS serves it. */
  readonly publicJwk: JWK;
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = `k-${randomBytes(6).toString('hex')}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicKey, publicJwk };
}

// ---------------------------------------------------------------------------------------
// Small JWS helpers

function b64url(input: string | Uint8Array): string {
  return Buffer.from(input).toString('base64url');
}

/** at_hash / c_hash (Core 3.2.2.10, 3.3.2.11): base64url of the left half of SHA-256 (RS256) of the ASCII value. */
export function halfHash(value: string): string {
  const digest = createHash('sha256').update(value, 'ascii').digest();
  return b64url(digest.subarray(0, digest.length / 2));
}

/** Flips bits in the first signature byte: the token still parses, the signature does not verify. */
function corruptSignature(jwt: string): string {
  const [header, payload, signature] = jwt.split('.');
  const bytes = Buffer.from(signature ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

/** An Unsecured JWS (RFC 7515 appendix A.5): header {alg:'none'}, empty signature. */
function unsignedJwt(payload: Record<string, unknown>, typ?: string): string {
  const header = typ ? { alg: 'none', typ } : { alg: 'none' };
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.`;
}

// ---------------------------------------------------------------------------------------
// Internal state shared by the endpoints and buildLogoutToken

interface Grant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly nonce: string | undefined;
  readonly codeChallenge: string | undefined;
  readonly scope: string;
  readonly sid: string;
}

interface OpState {
  readonly options: HostileOpOptions;
  issuer: string;
  scenario: Scenario;
  current: SigningKey;
  /** A second, unrelated key published only in 'kid-absent-multiple-keys'. */
  readonly decoy: SigningKey;
  /** True once the JWKS has been fetched since the last rotation (the RP may know the key). */
  currentKeyPublished: boolean;
  jwksFetches: number;
  lastSid: string | undefined;
  readonly codes: Map<string, Grant>;
  readonly accessTokens: Map<string, Grant>;
  readonly refreshTokens: Map<string, Grant>;
}

const internals = new WeakMap<HostileOp, OpState>();

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function subject(state: OpState): string {
  const sub = state.options.claims?.sub;
  return typeof sub === 'string' ? sub : 'user-1';
}

function profileClaims(state: OpState): Record<string, unknown> {
  return {
    sub: 'user-1',
    email: 'user-1@example.test',
    given_name: 'User',
    family_name: 'One',
    name: 'User One',
    groups: ['staff'],
    ...state.options.claims,
  };
}

// ---------------------------------------------------------------------------------------
// Scenario family 1: ID token claims (Core 2, 3.1.3.7, 3.2.2.11, 3.3.2.12)

interface IdTokenContext {
  readonly grant: Grant;
  /** Access token issued alongside (token endpoint, or 'id_token token'): at_hash. */
  readonly accessToken?: string;
  /** Code issued alongside in the hybrid flow ('code id_token'): c_hash. */
  readonly code?: string;
}

/**
 * The ID token claims for `scenario`. The correct set is Core 2 (iss, sub, aud, exp,
 * iat, nonce when requested, azp when several audiences) plus at_hash (Core 3.3.2.11,
 * 3.1.3.6) and c_hash (Core 3.3.2.11) when an access token or code travels with it.
 */
function idTokenClaims(state: OpState, scenario: Scenario, ctx: IdTokenContext): Record<string, unknown> {
  const t = now();
  const claims: Record<string, unknown> = {
    ...profileClaims(state),
    iss: state.issuer,
    aud: ctx.grant.clientId,
    exp: t + 300,
    iat: t,
    auth_time: t,
    sid: ctx.grant.sid,
  };
  if (ctx.grant.nonce !== undefined) claims.nonce = ctx.grant.nonce;
  if (ctx.accessToken !== undefined) claims.at_hash = halfHash(ctx.accessToken);
  if (ctx.code !== undefined) claims.c_hash = halfHash(ctx.code);

  switch (scenario) {
    case 'wrong-iss': // Core 3.1.3.7 (2): iss MUST exactly match the issuer
      claims.iss = `${state.issuer}/evil`;
      break;
    case 'wrong-aud': // Core 3.1.3.7 (3): aud MUST contain the client_id
      claims.aud = 'another-client';
      break;
    case 'extra-aud-without-azp': // Core 3.1.3.7 (3): untrusted extra audiences → reject
      claims.aud = [ctx.grant.clientId, 'other-client'];
      delete claims.azp;
      break;
    case 'extra-aud-wrong-azp': // Core 3.1.3.7 (4)/(5): azp, when present, MUST be the client_id
      claims.aud = [ctx.grant.clientId, 'other'];
      claims.azp = 'other';
      break;
    case 'expired': // Core 3.1.3.7 (9): now MUST be before exp; 600 s beats any sane skew
      claims.iat = t - 900;
      claims.auth_time = t - 900;
      claims.exp = t - 600;
      break;
    case 'iat-future': // Core 3.1.3.7 (10): RP MAY reject iat too far from now
      claims.iat = t + 3600;
      claims.exp = t + 3900;
      break;
    case 'missing-nonce': // Core 3.1.3.7 (11): nonce sent → MUST be present and equal
      delete claims.nonce;
      break;
    case 'wrong-nonce':
      claims.nonce = `not-${ctx.grant.nonce ?? 'the-nonce'}`;
      break;
    case 'at-hash-mismatch': // Core 3.2.2.9 / 3.3.2.9: at_hash MUST match the access token
      claims.at_hash = halfHash(`not-${ctx.accessToken ?? 'the-access-token'}`);
      break;
    case 'c-hash-mismatch': // Core 3.3.2.10: c_hash MUST match the code
      claims.c_hash = halfHash(`not-${ctx.code ?? 'the-code'}`);
      break;
    default:
      break;
  }
  return claims;
}

// ---------------------------------------------------------------------------------------
// Scenario family 2: how the ID token is signed (Core 3.1.3.7 (6)-(8), 10.1)

/**
 * Signs `claims` as an ID token. Correct: RS256 with the current key, `kid` in the
 * header (Core 10.1: kid is needed when the JWKS holds several keys).
 */
async function signIdToken(
  state: OpState,
  scenario: Scenario,
  claims: Record<string, unknown>,
): Promise<string> {
  const rs256 = (key: SigningKey, withKid: boolean): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader(withKid ? { alg: 'RS256', typ: 'JWT', kid: key.kid } : { alg: 'RS256', typ: 'JWT' })
      .sign(key.privateKey);

  switch (scenario) {
    case 'bad-signature': // Core 3.1.3.7 (6): signature MUST validate
      return corruptSignature(await rs256(state.current, true));
    case 'alg-none': // Core 3.1.3.7 (7): alg MUST be the registered/default RS256
      return unsignedJwt(claims, 'JWT');
    case 'hs256-with-rsa-public-key-pem': {
      // Key-confusion attack: HMAC secret = the RSA public key's SPKI PEM text (Core 10.1 says
      // HS* keys are the client_secret, never the OP's public key).
      const pem = await exportSPKI(state.current.publicKey);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: state.current.kid })
        .sign(new TextEncoder().encode(pem));
    }
    case 'hs256-with-rsa-public-key-jwk': {
      // Same attack, secret = the public JWK's JSON exactly as /jwks serves it.
      const json = JSON.stringify(state.current.publicJwk);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: state.current.kid })
        .sign(new TextEncoder().encode(json));
    }
    case 'kid-absent-multiple-keys': // JWKS serves current + decoy; without kid the key is ambiguous
    case 'kid-absent-single-key': // JWKS serves one key; no kid is fine (Core 10.1)
      return rs256(state.current, false);
    case 'rotated-key':
      // Core 10.1.1: the OP rotates by publishing a new kid; the RP refetches on an unknown kid.
      // Rotate only if the RP may already know the current key, so the token's kid is always new.
      if (state.currentKeyPublished) await rotate(state);
      return rs256(state.current, true);
    default:
      return rs256(state.current, true);
  }
}

async function rotate(state: OpState): Promise<void> {
  state.current = await newSigningKey();
  state.currentKeyPublished = false;
}

async function buildIdToken(state: OpState, ctx: IdTokenContext): Promise<string> {
  const scenario = state.scenario;
  return signIdToken(state, scenario, idTokenClaims(state, scenario, ctx));
}

// ---------------------------------------------------------------------------------------
// Scenario family 3: the authorization response (RFC 6749 4.1.2, 10.12; Core 3.1.2.5)

/** Correct: `state` echoed exactly (RFC 6749 4.1.2). Broken: another state, or none. */
function applyStateScenario(scenario: Scenario, request: URLSearchParams, response: URLSearchParams): void {
  const state = request.get('state');
  if (scenario === 'wrong-state') response.set('state', `not-${state ?? 'the-state'}`);
  else if (scenario === 'missing-state') response.delete('state');
  else if (state !== null) response.set('state', state);
}

// ---------------------------------------------------------------------------------------
// Scenario family 4: endpoint failures (discovery, token endpoint)

/** Returns true when the scenario answered the request itself. */
function endpointFailure(
  scenario: Scenario,
  endpoint: 'discovery' | 'token',
  res: http.ServerResponse,
): boolean {
  if (endpoint === 'discovery' && scenario === 'discovery-down') {
    send(res, 503, 'text/plain', 'service unavailable');
    return true;
  }
  if (endpoint === 'token' && scenario === 'token-endpoint-500') {
    send(res, 500, 'text/html', '<h1>Internal Server Error</h1>');
    return true;
  }
  if (endpoint === 'token' && scenario === 'token-endpoint-garbage') {
    send(res, 200, 'application/json', '{"access_token": "abc", <html>not json');
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// HTTP plumbing

function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  send(res, status, 'application/json', JSON.stringify(body), headers);
}

function oauthError(res: http.ServerResponse, status: number, error: string, description: string): void {
  sendJson(res, status, { error, error_description: description });
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * OAuth 2.0 Form Post Response Mode: a page that POSTs the parameters to redirect_uri
 * on load. Shape kept compatible with browserless-login.ts (`document.forms[0].submit()`).
 */
function formPostPage(action: string, params: URLSearchParams): string {
  const inputs = [...params]
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n    ');
  return `<!doctype html>
<html><head><title>Submit this form</title></head>
<body>
  <form method="post" action="${escapeHtml(action)}">
    ${inputs}
    <noscript><button type="submit">Continue</button></noscript>
  </form>
  <script>document.forms[0].submit()</script>
</body></html>`;
}

function deliverAuthorizationResponse(
  res: http.ServerResponse,
  redirectUri: string,
  mode: string,
  params: URLSearchParams,
): void {
  if (mode === 'form_post') {
    send(res, 200, 'text/html; charset=utf-8', formPostPage(redirectUri, params));
    return;
  }
  const target = new URL(redirectUri);
  if (mode === 'fragment') target.hash = params.toString();
  else for (const [name, value] of params) target.searchParams.append(name, value);
  res.writeHead(302, { location: target.href, 'cache-control': 'no-store' });
  res.end();
}

// ---------------------------------------------------------------------------------------
// Endpoints

function discoveryDocument(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/jwks`,
    end_session_endpoint: `${issuer}/logout`,
    scopes_supported: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    response_types_supported: ['code', 'id_token', 'id_token token', 'code id_token'],
    response_modes_supported: ['query', 'form_post', 'fragment'],
    grant_types_supported: ['authorization_code', 'implicit', 'refresh_token'],
    id_token_signing_alg_values_supported: ['RS256'],
    subject_types_supported: ['public'],
    token_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'none',
      'private_key_jwt',
    ],
    code_challenge_methods_supported: ['S256'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'sid', 'email', 'name', 'groups'],
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
  };
}

const RESPONSE_TYPES = new Set(['code', 'id_token', 'id_token token', 'code id_token']);

/** Core 3.1.2 / 3.2.2 / 3.3.2: validate, "authenticate" the user at once, answer. */
async function handleAuthorize(state: OpState, url: URL, res: http.ServerResponse): Promise<void> {
  const query = url.searchParams;
  const clientId = query.get('client_id');
  const redirectUri = query.get('redirect_uri');
  // RFC 6749 4.1.2.1: bad client or redirect_uri → tell the user, never redirect.
  if (clientId !== state.options.clientId || redirectUri !== state.options.redirectUri) {
    send(res, 400, 'text/plain', 'unknown client_id or redirect_uri');
    return;
  }
  // Sorted, so 'token id_token' and 'id_token token' are one response type.
  const normalized = (query.get('response_type') ?? '').split(' ').sort().join(' ');
  const mode = query.get('response_mode') ?? (normalized === 'code' ? 'query' : 'fragment');
  const reply = new URLSearchParams();
  const error = (code: string, description: string) => {
    reply.set('error', code);
    reply.set('error_description', description);
    applyStateScenario(state.scenario, query, reply);
    deliverAuthorizationResponse(res, redirectUri, mode, reply);
  };
  if (!RESPONSE_TYPES.has(normalized))
    return error('unsupported_response_type', `not supported: ${normalized}`);
  if (!(query.get('scope') ?? '').split(' ').includes('openid'))
    return error('invalid_scope', 'openid is required');
  const method = query.get('code_challenge_method');
  const challenge = query.get('code_challenge') ?? undefined;
  if (challenge !== undefined && method !== 'S256')
    return error('invalid_request', 'only S256 PKCE is supported');
  const nonce = query.get('nonce') ?? undefined;
  // Core 3.2.2.1: nonce is REQUIRED when an ID token comes from the authorization endpoint.
  if (normalized !== 'code' && nonce === undefined) return error('invalid_request', 'nonce is required');

  const sid = randomUUID();
  state.lastSid = sid;
  const grant: Grant = {
    clientId,
    redirectUri,
    nonce,
    codeChallenge: challenge,
    scope: query.get('scope') ?? 'openid',
    sid,
  };

  let code: string | undefined;
  let accessToken: string | undefined;
  if (normalized === 'code' || normalized === 'code id_token') {
    code = randomBytes(24).toString('base64url');
    state.codes.set(code, grant);
    reply.set('code', code);
  }
  if (normalized === 'id_token token') {
    accessToken = randomBytes(24).toString('base64url');
    state.accessTokens.set(accessToken, grant);
    reply.set('access_token', accessToken);
    reply.set('token_type', 'Bearer');
    reply.set('expires_in', '300');
  }
  if (normalized !== 'code') {
    const ctx: IdTokenContext = {
      grant,
      ...(accessToken !== undefined ? { accessToken } : {}),
      ...(code !== undefined ? { code } : {}),
    };
    reply.set('id_token', await buildIdToken(state, ctx));
  }
  applyStateScenario(state.scenario, query, reply);
  deliverAuthorizationResponse(res, redirectUri, mode, reply);
}

/** RFC 6749 2.3.1: client_secret_basic (form-urlencoded, then base64) or client_secret_post. */
function authenticateClient(
  state: OpState,
  req: http.IncomingMessage,
  body: URLSearchParams,
): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    const id = unform(decoded.slice(0, colon));
    const secret = unform(decoded.slice(colon + 1));
    return id === state.options.clientId && secret === state.options.clientSecret ? id : undefined;
  }
  const id = body.get('client_id');
  if (id !== state.options.clientId) return undefined;
  // private_key_jwt is accepted unverified: tests inspect tokenRequests for the assertion.
  if (body.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    return body.get('client_assertion') ? id : undefined;
  }
  if (state.options.clientSecret === undefined) return id; // 'none'
  return body.get('client_secret') === state.options.clientSecret ? id : undefined;
}

/** Core 3.1.3: the token endpoint (authorization_code and refresh_token grants). */
async function handleToken(
  state: OpState,
  op: HostileOp,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const body = new URLSearchParams(await readBody(req));
  op.tokenRequests.push({ headers: { ...req.headers }, body });
  if (endpointFailure(state.scenario, 'token', res)) return;
  if (!authenticateClient(state, req, body)) {
    oauthError(res, 401, 'invalid_client', 'client authentication failed');
    return;
  }

  let grant: Grant;
  const grantType = body.get('grant_type');
  if (grantType === 'authorization_code') {
    const code = body.get('code') ?? '';
    const found = state.codes.get(code);
    // RFC 6749 4.1.2: a code is single-use (a replayed code is invalid_grant).
    if (!found) return oauthError(res, 400, 'invalid_grant', 'unknown or already used code');
    state.codes.delete(code);
    if (body.get('redirect_uri') !== found.redirectUri) {
      return oauthError(res, 400, 'invalid_grant', 'redirect_uri does not match');
    }
    // RFC 7636 4.6: BASE64URL(SHA256(code_verifier)) must equal the stored challenge.
    const verifier = body.get('code_verifier');
    if (found.codeChallenge !== undefined || verifier !== null) {
      const computed = verifier === null ? undefined : b64url(createHash('sha256').update(verifier).digest());
      if (computed !== found.codeChallenge)
        return oauthError(res, 400, 'invalid_grant', 'PKCE verification failed');
    }
    op.codesRedeemed.push(code);
    grant = found;
  } else if (grantType === 'refresh_token') {
    const found = state.refreshTokens.get(body.get('refresh_token') ?? '');
    if (!found) return oauthError(res, 400, 'invalid_grant', 'unknown refresh token');
    // Core 12.2: a refreshed ID token carries no nonce.
    grant = { ...found, nonce: undefined };
  } else {
    return oauthError(res, 400, 'unsupported_grant_type', `not supported: ${grantType}`);
  }

  const accessToken = randomBytes(24).toString('base64url');
  state.accessTokens.set(accessToken, grant);
  const response: Record<string, unknown> = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: 300,
    id_token: await buildIdToken(state, { grant, accessToken }),
  };
  if (grant.scope.split(' ').includes('offline_access')) {
    const refreshToken = randomBytes(24).toString('base64url');
    state.refreshTokens.set(refreshToken, grant);
    response.refresh_token = refreshToken;
  }
  sendJson(res, 200, response);
}

/** Core 5.3: UserInfo; sub MUST equal the ID token's (5.3.2), broken in 'userinfo-sub-mismatch'. */
function handleUserinfo(state: OpState, req: http.IncomingMessage, res: http.ServerResponse): void {
  const authorization = req.headers.authorization ?? '';
  const token = /^Bearer (.+)$/i.exec(authorization)?.[1];
  if (!token || !state.accessTokens.has(token)) {
    send(res, 401, 'application/json', '{}', { 'www-authenticate': 'Bearer error="invalid_token"' });
    return;
  }
  const claims = profileClaims(state);
  if (state.scenario === 'userinfo-sub-mismatch') claims.sub = `not-${subject(state)}`;
  sendJson(res, 200, claims);
}

function handleJwks(state: OpState, res: http.ServerResponse): void {
  state.jwksFetches += 1;
  state.currentKeyPublished = true;
  const keys = [state.current.publicJwk];
  if (state.scenario === 'kid-absent-multiple-keys') keys.push(state.decoy.publicJwk);
  sendJson(res, 200, { keys });
}

// ---------------------------------------------------------------------------------------
// Server

export async function startHostileOp(options: HostileOpOptions): Promise<HostileOp> {
  const [current, decoy] = await Promise.all([newSigningKey(), newSigningKey()]);
  const state: OpState = {
    options,
    issuer: '',
    scenario: 'valid',
    current,
    decoy,
    currentKeyPublished: false,
    jwksFetches: 0,
    lastSid: undefined,
    codes: new Map(),
    accessTokens: new Map(),
    refreshTokens: new Map(),
  };

  const server = http.createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `hostile-op crashed: ${String(error)}`);
      else res.destroy();
    });
  });

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', state.issuer);
    const key = `${req.method} ${url.pathname}`;
    switch (key) {
      case 'GET /.well-known/openid-configuration':
        if (!endpointFailure(state.scenario, 'discovery', res))
          sendJson(res, 200, discoveryDocument(state.issuer));
        return;
      case 'GET /authorize':
        op.authorizationRequests.push(new URLSearchParams(url.searchParams));
        return handleAuthorize(state, url, res);
      case 'POST /token':
        return handleToken(state, op, req, res);
      case 'GET /userinfo':
        return handleUserinfo(state, req, res);
      case 'GET /jwks':
        return handleJwks(state, res);
      case 'GET /logout':
        op.logoutRequests.push(new URLSearchParams(url.searchParams));
        send(res, 200, 'text/html; charset=utf-8', '<!doctype html><p>logged out</p>');
        return;
      default:
        send(res, 404, 'text/plain', 'not found');
    }
  };

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const op: HostileOp = {
    issuer: state.issuer,
    get scenario() {
      return state.scenario;
    },
    set scenario(value: Scenario) {
      state.scenario = value;
    },
    authorizationRequests: [],
    tokenRequests: [],
    codesRedeemed: [],
    logoutRequests: [],
    get jwksFetches() {
      return state.jwksFetches;
    },
    get lastSid() {
      return state.lastSid;
    },
    rotateKeys: () => rotate(state),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
  internals.set(op, state);
  return op;
}

// ---------------------------------------------------------------------------------------
// Back-channel logout tokens (BCL 2.4 contents, 2.6 validation)

/** Ways to break a logout token; each violates one rule of BCL 2.6. */
export type LogoutTokenDefect =
  | 'no-events' // 2.6 (4)/2.4: events MUST contain the back-channel-logout member
  | 'has-nonce' // 2.4: a nonce MUST NOT be present (stops ID-token substitution)
  | 'bad-signature' // 2.6 (3): signature MUST validate
  | 'alg-none' // 2.6 (3): alg none MUST be rejected
  | 'wrong-aud' // 2.6 (3): aud MUST contain the client_id
  | 'wrong-iss' // 2.6 (3): iss MUST be the issuer
  | 'expired' // 2.6 (3): exp in the past, iat long ago
  | 'no-sub-or-sid' // 2.6 (5): sub, sid or both MUST be present
  | 'wrong-typ'; // 2.4 (explicit typing): a token typed as something else (an access token, at+jwt) is refused

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * Signs a back-channel logout token with the OP's current key (RS256, typ logout+jwt).
 * Defaults: iss, aud client_id, iat now, exp now+120, random jti, the logout event, sub
 * of the configured user and sid of the latest login. `claims` override these; an
 * `undefined` value removes a claim. `defect` breaks the token in one way.
 */
export async function buildLogoutToken(
  op: HostileOp,
  claims: Record<string, unknown> = {},
  options: { defect?: LogoutTokenDefect } = {},
): Promise<string> {
  const state = internals.get(op);
  if (!state) throw new Error('buildLogoutToken: not a HostileOp from startHostileOp()');
  const t = now();
  const payload: Record<string, unknown> = {
    iss: state.issuer,
    aud: state.options.clientId,
    iat: t,
    exp: t + 120,
    jti: randomUUID(),
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    sub: subject(state),
    ...(state.lastSid !== undefined ? { sid: state.lastSid } : {}),
  };
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) delete payload[name];
    else payload[name] = value;
  }
  let typ = 'logout+jwt';
  switch (options.defect) {
    case 'no-events':
      delete payload.events;
      break;
    case 'has-nonce':
      payload.nonce = randomBytes(8).toString('hex');
      break;
    case 'wrong-aud':
      payload.aud = 'another-client';
      break;
    case 'wrong-iss':
      payload.iss = `${state.issuer}/evil`;
      break;
    case 'expired':
      payload.iat = t - 3600;
      payload.exp = t - 600;
      break;
    case 'no-sub-or-sid':
      delete payload.sub;
      delete payload.sid;
      break;
    case 'wrong-typ':
      typ = 'at+jwt';
      break;
    case 'alg-none':
      return unsignedJwt(payload, typ);
    default:
      break;
  }
  const jwt = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', typ, kid: state.current.kid })
    .sign(state.current.privateKey);
  return options.defect === 'bad-signature' ? corruptSignature(jwt) : jwt;
}
