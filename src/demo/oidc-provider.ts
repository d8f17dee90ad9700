/**
 * A real OpenID Provider (panva's `oidc-provider`) for the demo (`npm start`) and for
 * integration tests. It has its own password login page (no dev interactions) so tests
 * can drive a whole login with a plain HTTP client, and it grants consent on its own
 * because the demo relying party is first-party.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
// oidc-provider ships no type declarations; the minimal shapes we rely on are below.
// @ts-expect-error -- untyped module
import ProviderImport from 'oidc-provider';

/** A demo account of the OP. `password` is checked by the login page. */
export type DemoUser = {
  sub: string;
  password: string;
  email: string;
  name: string;
  given_name: string;
  family_name: string;
  groups: string[];
  /** Authentication methods reported in the ID token's `amr`; default `['pwd']`. */
  amr?: string[];
  /**
   * Claims this OP leaves out of the ID token and releases only at the UserInfo endpoint
   * (e.g. `['groups']`), as some IdPs do; lets tests show a relying party merging UserInfo.
   */
  userinfoOnlyClaims?: string[];
  /** The `email_verified` claim sent (default `true`); `null` leaves it out, as Entra does. */
  emailVerified?: boolean | string | null;
  /**
   * Claims in another IdP's shape (Entra's `oid`, Keycloak's `realm_access`…), released
   * with the `openid` scope; a null value removes a standard claim (e.g. `groups`).
   */
  extraClaims?: Readonly<Record<string, unknown>>;
};

/** The two default demo users: `alice`/`alice` (an admin) and `bob`/`bob`. */
export const DEMO_USERS: readonly DemoUser[] = Object.freeze([
  {
    sub: 'alice',
    password: 'alice',
    email: 'alice@example.com',
    name: 'Alice Andersson',
    given_name: 'Alice',
    family_name: 'Andersson',
    groups: ['staff', 'app-admins'],
  },
  {
    sub: 'bob',
    password: 'bob',
    email: 'bob@example.org',
    name: 'Bob Berg',
    given_name: 'Bob',
    family_name: 'Berg',
    groups: ['staff'],
  },
]);

/** Client metadata as oidc-provider takes it (snake_case, as in dynamic registration). */
export type OidcClientMetadata = {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  grant_types?: string[];
  response_types?: string[];
  token_endpoint_auth_method?: string;
  [key: string]: unknown;
};

/** Lifetimes in seconds of oidc-provider artifacts (keys as in its `ttl` configuration). */
export type OidcTtl = Partial<
  Record<
    'AccessToken' | 'AuthorizationCode' | 'IdToken' | 'RefreshToken' | 'Interaction' | 'Session' | 'Grant',
    number
  >
>;

export type OidcProviderOptions = {
  clients: OidcClientMetadata[];
  users?: readonly DemoUser[];
  host?: string;
  port?: number;
  ttl?: OidcTtl;
  cookieKeys?: string[];
  /** Private signing keys (JWK Set). Default: one fresh RS256 key with a `kid`. */
  jwks?: { keys: JWK[] };
  /** Offer pairwise subject identifiers too (`subject_type: 'pairwise'` clients). Default: public only. */
  pairwise?: boolean;
  /**
   * Response types the OP supports, e.g. add `'id_token token'` for implicit clients.
   * Default: oidc-provider's (`code id_token`, `code`, `id_token`, `none`).
   */
  responseTypes?: string[];
  /**
   * Issue a refresh token to every client allowed the `refresh_token` grant, as Okta, Entra ID
   * or Keycloak do. Default (oidc-provider's, OIDC Core §11): only when `offline_access` was
   * granted, which it drops from requests that do not carry `prompt=consent`.
   */
  alwaysIssueRefreshTokens?: boolean;
};

/** One request the OP received (kept for test assertions; the last 500 only). */
export type OpRequest = {
  method: string;
  /** Path and query. */
  url: string;
  headers: http.IncomingHttpHeaders;
};

/** The parts of an oidc-provider `Provider` instance that callers use; everything else is reachable untyped. */
export type OidcProviderInstance = {
  issuer: string;
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: GrantConstructor;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  [key: string]: unknown;
};

export type RunningOidcProvider = {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  issuer: string;
  /** The current Provider instance (a new one after `rotateKeys`). */
  readonly provider: OidcProviderInstance;
  /** The JWK Set the OP signs with (private parts included); the new set after `rotateKeys`. */
  readonly jwks: { keys: JWK[] };
  /** Requests received, oldest first (at most the last 500). */
  readonly requests: OpRequest[];
  /**
   * Key rotation: replaces the signing keys. oidc-provider's keystore is fixed when a
   * Provider is built, so this builds a new Provider with the same issuer, port, clients,
   * cookie keys and storage (sessions and grants survive) and routes every new request to
   * it. Listeners added with `provider.on` must be added again on the new instance.
   */
  rotateKeys(jwks: { keys: JWK[] }): void;
  close(): Promise<void>;
};

const MAX_RECORDED_REQUESTS = 500;

type InteractionDetails = {
  uid: string;
  prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
  params: Record<string, unknown>;
  session?: { accountId?: string };
  grantId?: string;
};

type Grant = {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
};

type GrantConstructor = {
  new (init: { accountId: string; clientId: string }): Grant;
  find(id: string): Promise<Grant | undefined>;
};

type ProviderConstructor = new (
  issuer: string,
  configuration: Record<string, unknown>,
) => OidcProviderInstance;
const Provider = ProviderImport as ProviderConstructor;

const DEFAULT_TTL: Required<OidcTtl> = {
  AccessToken: 600,
  AuthorizationCode: 60,
  IdToken: 600,
  RefreshToken: 24 * 60 * 60,
  Interaction: 600,
  Session: 8 * 60 * 60,
  Grant: 8 * 60 * 60,
};

/**
 * Starts an OpenID Provider on `http://127.0.0.1:<port>` with a password login page at
 * `/interaction/<uid>`. The server listens before the Provider exists so the issuer can
 * carry the real port.
 */
export async function startOidcProvider(options: OidcProviderOptions): Promise<RunningOidcProvider> {
  const users = options.users ?? DEMO_USERS;
  const host = options.host ?? '127.0.0.1';
  let handler: http.RequestListener = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = http.createServer((req, res) => handler(req, res));
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let jwks = options.jwks ?? { keys: [await generateSigningKey()] };
  // Shared by every Provider built for this OP, so sessions and grants survive key rotation.
  const adapter = createMemoryAdapter();
  const cookieKeys = options.cookieKeys ?? [randomBytes(32).toString('base64url')];
  const build = (keys: { keys: JWK[] }) => createProvider(issuer, options, users, keys, adapter, cookieKeys);
  let provider = build(jwks);
  let providerCallback = provider.callback();
  const requests: OpRequest[] = [];

  handler = (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    if (requests.length > MAX_RECORDED_REQUESTS) requests.shift();
    if (req.url?.startsWith('/interaction/')) {
      handleInteraction(provider, users, req, res).catch((error: unknown) => {
        if (!res.headersSent) sendHtml(res, 500, page('Error', `<p>${escapeHtml(String(error))}</p>`));
        else res.destroy();
      });
      return;
    }
    providerCallback(req, res);
  };

  return {
    issuer,
    get provider() {
      return provider;
    },
    get jwks() {
      return jwks;
    },
    requests,
    rotateKeys(next) {
      provider = build(next);
      providerCallback = provider.callback();
      jwks = next;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets would otherwise hold close() open for seconds.
      server.closeAllConnections();
      await closed;
    },
  };
}

function createProvider(
  issuer: string,
  options: OidcProviderOptions,
  users: readonly DemoUser[],
  jwks: { keys: JWK[] },
  adapter: (model: string) => unknown,
  cookieKeys: string[],
): OidcProviderInstance {
  return new Provider(issuer, {
    clients: options.clients,
    jwks,
    // An explicit adapter keeps the process quiet (the built-in default warns on every start).
    adapter,
    cookies: { keys: cookieKeys },
    claims: {
      // amr (from the login result) is only released when a requested scope lists it.
      openid: ['sub', 'amr', ...new Set(users.flatMap((user) => Object.keys(user.extraClaims ?? {})))],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    // sluss may run without userinfo, taking every claim from the ID token, so put them there.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ...(options.responseTypes ? { responseTypes: options.responseTypes } : {}),
    ...(options.pairwise ? { subjectTypes: ['public', 'pairwise'] } : {}),
    ...(options.alwaysIssueRefreshTokens
      ? {
          issueRefreshToken: (
            _ctx: unknown,
            client: { grantTypeAllowed(grant: string): boolean },
            _code: unknown,
          ) => client.grantTypeAllowed('refresh_token'),
        }
      : {}),
    findAccount: (_ctx: unknown, sub: string) => {
      const user = users.find((u) => u.sub === sub);
      if (!user) return undefined;
      return {
        accountId: user.sub,
        // `use` is 'id_token' or 'userinfo'.
        claims: (use: string) => {
          const claims: Record<string, unknown> = {
            sub: user.sub,
            email: user.email,
            ...(user.emailVerified === null ? {} : { email_verified: user.emailVerified ?? true }),
            name: user.name,
            given_name: user.given_name,
            family_name: user.family_name,
            groups: [...user.groups],
          };
          for (const [name, value] of Object.entries(user.extraClaims ?? {})) {
            if (value === null) delete claims[name];
            else claims[name] = value;
          }
          if (use !== 'userinfo') for (const name of user.userinfoOnlyClaims ?? []) delete claims[name];
          return claims;
        },
      };
    },
    // Demo-only: pairwise subjects as a stable hash (offered when `pairwise` is set).
    pairwiseIdentifier: (_ctx: unknown, accountId: string, client: { sectorIdentifier: string }) =>
      createHash('sha256').update(`${client.sectorIdentifier}:${accountId}`).digest('base64url'),
    renderError,
    clientBasedCORS: () => true,
    ttl: { ...DEFAULT_TTL, ...options.ttl },
    // Back-channel logout targets are on loopback, which oidc-provider's SSRF guard refuses;
    // this OP only ever talks to test and demo peers, so drop the guarded dispatcher.
    fetch: (url: string, init: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher: _guarded, ...rest } = init;
      return globalThis.fetch(url, rest);
    },
  });
}

/** A fresh RS256 private JWK with a `kid`, usable in `jwks` (and for key-rotation tests). */
export async function generateSigningKey(kid = `demo-${randomBytes(6).toString('hex')}`): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

async function handleInteraction(
  provider: OidcProviderInstance,
  users: readonly DemoUser[],
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://op').pathname;
  const match = /^\/interaction\/([^/]+)(?:\/(login|abort))?$/.exec(path);
  if (!match) return sendHtml(res, 404, page('Not found', '<p>Not found.</p>'));
  const [, uid, action] = match;

  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    // Missing or expired interaction cookie: tell the user rather than a stack trace.
    return sendHtml(res, 400, page('Sign-in expired', '<p>This sign-in has expired. Start again.</p>'));
  }
  if (details.uid !== uid) return sendHtml(res, 400, page('Sign-in expired', '<p>Start again.</p>'));

  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'login') return sendHtml(res, 200, loginPage(uid));
    if (details.prompt.name === 'consent') return grantConsent(provider, details, req, res);
    return sendHtml(res, 400, page('Error', `<p>Unsupported prompt ${escapeHtml(details.prompt.name)}.</p>`));
  }
  if (req.method !== 'POST' || !action)
    return sendHtml(res, 405, page('Error', '<p>Method not allowed.</p>'));

  if (action === 'abort') {
    return provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' },
      { mergeWithLastSubmission: false },
    );
  }

  const form = new URLSearchParams(await readBody(req));
  const login = form.get('login') ?? '';
  const password = form.get('password') ?? '';
  const user = users.find((u) => u.sub === login);
  if (details.prompt.name !== 'login' || !user || !safeEqual(user.password, password)) {
    return sendHtml(res, 401, loginPage(uid, login, 'Invalid login or password.'));
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.sub, amr: user.amr ?? ['pwd'] } },
    { mergeWithLastSubmission: false },
  );
}

/** First-party client: grant exactly what is missing, no consent screen. */
async function grantConsent(
  provider: OidcProviderInstance,
  details: InteractionDetails,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (typeof accountId !== 'string' || typeof clientId !== 'string') {
    return sendHtml(res, 400, page('Error', '<p>No session for consent.</p>'));
  }
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details;
  if (Array.isArray(missing.missingOIDCScope)) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (Array.isArray(missing.missingOIDCClaims)) grant.addOIDCClaims(missing.missingOIDCClaims as string[]);
  const resourceScopes = missing.missingResourceScopes;
  if (resourceScopes && typeof resourceScopes === 'object') {
    for (const [indicator, scopes] of Object.entries(resourceScopes as Record<string, string[]>)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { consent: existing ? {} : { grantId } },
    { mergeWithLastSubmission: true },
  );
}

function loginPage(uid: string, login = '', error?: string): string {
  const base = `/interaction/${encodeURIComponent(uid)}`;
  return page(
    'Sign in',
    `${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${base}/login" enctype="application/x-www-form-urlencoded">
  <label for="login">Login</label>
  <input id="login" name="login" autocomplete="username" required autofocus value="${escapeHtml(login)}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
<form method="post" action="${base}/abort"><button type="submit" class="link">Cancel</button></form>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} – demo OP</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem;color:#222}
label{display:block;margin-top:.8rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.link{background:none;border:0;color:#06c;padding:0}
.error{background:#fde8e8;border:1px solid #c00;color:#900;padding:.5rem}
</style></head><body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

function sendHtml(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

async function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function safeEqual(a: string, b: string): boolean {
  // Compare digests so the comparison time does not depend on where the strings differ.
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return da.equals(db);
}

// Escapes text for HTML element content and attribute values.
function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

type KoaLikeContext = { body?: unknown; type?: string; status?: number };

// Own versions of the default pages: the defaults print "you SHOULD change it" notices.
async function renderError(ctx: KoaLikeContext, out: Record<string, unknown>): Promise<void> {
  ctx.type = 'html';
  ctx.body = page(
    'Error',
    `<dl>${Object.entries(out)
      .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(String(v))}</dd>`)
      .join('')}</dl>`,
  );
}

// The demo OP signs out without asking (as if the user confirmed), like many real IdPs: the
// default form gets logout=yes and submits itself, which browserless-login also follows.
async function logoutSource(ctx: KoaLikeContext, form: string): Promise<void> {
  ctx.type = 'html';
  ctx.body = page(
    'Sign out',
    `${form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>')}
<p>Signing you out of the demo OP…</p>
<button type="submit" form="op.logoutForm">Continue</button>
<script>document.forms[0].submit()</script>`,
  );
}

async function postLogoutSuccessSource(ctx: KoaLikeContext): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<p>You are signed out.</p>');
}

type StoredPayload = Record<string, unknown> & { uid?: string; userCode?: string; grantId?: string };
type StoredEntry = { payload: StoredPayload; expiresAt: number };

/**
 * A per-provider in-memory adapter. Per provider (not module-global) so several OPs in one
 * test process never see each other's sessions or codes.
 */
function createMemoryAdapter(): (model: string) => unknown {
  const store = new Map<string, StoredEntry>();
  const index = new Map<string, string>();
  const grants = new Map<string, Set<string>>();
  const live = (key: string): StoredEntry | undefined => {
    const entry = store.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry;
  };
  return (model: string) => ({
    async upsert(id: string, payload: StoredPayload, expiresIn?: number) {
      const key = `${model}:${id}`;
      const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
      store.set(key, { payload, expiresAt });
      if (model === 'Session' && payload.uid) index.set(`sessionUid:${payload.uid}`, id);
      if (payload.userCode) index.set(`userCode:${payload.userCode}`, id);
      if (payload.grantId) {
        const members = grants.get(payload.grantId) ?? new Set<string>();
        members.add(key);
        grants.set(payload.grantId, members);
      }
    },
    async find(id: string) {
      return live(`${model}:${id}`)?.payload;
    },
    async findByUid(uid: string) {
      const id = index.get(`sessionUid:${uid}`);
      return id ? live(`${model}:${id}`)?.payload : undefined;
    },
    async findByUserCode(userCode: string) {
      const id = index.get(`userCode:${userCode}`);
      return id ? live(`${model}:${id}`)?.payload : undefined;
    },
    async consume(id: string) {
      const entry = live(`${model}:${id}`);
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id: string) {
      store.delete(`${model}:${id}`);
    },
    async revokeByGrantId(grantId: string) {
      for (const key of grants.get(grantId) ?? []) store.delete(key);
      grants.delete(grantId);
    },
  });
}
