/**
 * Wires config into components and serves them: the public listener with the
 * fixed, ordered request pipeline (see `handleRequest`), the websocket
 * upgrade path, the admin listener, and graceful shutdown.
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DestinationStream } from 'pino';
import type { Clock } from './clock.ts';
import { epochSeconds, systemClock } from './clock.ts';
import type { Components } from './components.ts';
import { loadConfig } from './config/loader.ts';
import type { SlussConfig } from './config/types.ts';
import { configWarnings } from './config/warnings.ts';
import { SlussError, toSlussError } from './errors.ts';
import { replyError } from './http/errors.ts';
import { redirect, sendJson } from './http/reply.ts';
import { isBrowserNavigation } from './http/request-kind.ts';
import type { Identity } from './identity/identity.ts';
import type { HeaderPairs } from './identity/identity-headers.ts';
import { IdentityHeaders } from './identity/identity-headers.ts';
import { evaluateRequest } from './identity/policy.ts';
import { loadKeyRing } from './identity/signing-keys.ts';
import type { Audit } from './observability/audit.ts';
import { createAudit } from './observability/audit.ts';
import type { Logger } from './observability/logger.ts';
import { createLogger } from './observability/logger.ts';
import { createMetrics } from './observability/metrics.ts';
import { PATHS, SLUSS_PREFIX } from './paths.ts';
import { Forwarder } from './proxy/forward.ts';
import type { HeaderPolicy } from './proxy/header-hygiene.ts';
import { trustedPeerList } from './proxy/header-hygiene.ts';
import { isPublicPath } from './proxy/public-paths.ts';
import { rejectUpgrade, WebsocketForwarder } from './proxy/websocket.ts';
import { denyAccess } from './routes/access-denied.ts';
import { handleAdminRequest } from './routes/admin.ts';
import { reviewIdentity } from './routes/admission.ts';
import { loginRedirectFor } from './routes/login.ts';
import { ScimRateLimiter } from './routes/scim.ts';
import { handleSlussRoute, sendJwks } from './routes/sluss-routes.ts';
import { runRetention } from './scim/deletion.ts';
import { idleState, needsReauthentication } from './sessions/lifetime.ts';
import { LoginTransactions } from './sessions/login-transaction.ts';
import type { SessionLookup } from './sessions/reader.ts';
import { SessionReader } from './sessions/reader.ts';
import { SessionRefresher } from './sessions/refresh.ts';
import { CookieSealer } from './sessions/sealed-cookie.ts';
import type { Session } from './sessions/session.ts';
import { SessionCookies } from './sessions/session-cookie.ts';
import { SessionDataStore } from './sessions/session-data.ts';
import type { ClosableDirectory } from './store/create-store.ts';
import { createDirectory, createStore } from './store/create-store.ts';
import { StoreRevocationView } from './store/revocation-view.ts';
import type { Tenant } from './tenancy/tenants.ts';
import { brandingOf, isTenantAvailable, TenantRegistry } from './tenancy/tenants.ts';

export interface StartOptions {
  /** Config directory (sluss.yaml + tenants/). Ignored when `config` is given. */
  readonly configDir?: string;
  readonly config?: SlussConfig;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where audit events go instead of config.audit.destination (tests). */
  readonly auditDestination?: DestinationStream;
  /** Longest wait for in-flight requests at shutdown. */
  readonly drainTimeoutMs?: number;
}

export interface RunningSluss {
  readonly publicUrl: string;
  readonly adminUrl: string;
  readonly components: Components;
  close(): Promise<void>;
}

/** Builds every component from one config snapshot. */
export async function buildComponents(
  config: SlussConfig,
  log: Logger,
  clock: Clock,
  audit?: Audit,
): Promise<Components> {
  const sealer = new CookieSealer({
    current: config.cookies.secret,
    previous: config.cookies.previousSecrets,
  });
  const keys = loadKeyRing(config.signingKeys);
  const metrics = createMetrics();
  metrics.configInfo.set(config.tenants.length);
  const store = await createStore(config.store, clock, log);
  const revocations = new StoreRevocationView({
    bus: store,
    clock,
    graceSeconds: config.store.graceSeconds,
    hooks: {
      onHealthChange: (ok) => {
        metrics.storeUp.set(ok ? 1 : 0);
        log[ok ? 'info' : 'warn'](
          { event: ok ? 'store_up' : 'store_down' },
          ok ? 'store reachable' : 'store unreachable',
        );
      },
      onEvent: (_event, source) => metrics.revocationEvents.inc({ source }),
      onFailClosed: () => metrics.storeFailClosed.inc(),
      onError: (error, phase) => {
        metrics.storeErrors.inc({ phase });
        log.debug({ err: error, phase }, 'store operation failed');
      },
    },
  });
  // Until the first snapshot is in, every session is refused (fail closed); start() never throws.
  await revocations.start();
  const sessions = new SessionReader(sealer, revocations, clock);
  const sessionCookies = new SessionCookies(config.cookies);
  const sessionData = new SessionDataStore(store, clock);
  const identityHeaders = new IdentityHeaders({ config: config.identityHeaders, keys, clock });
  for (const warning of configWarnings(config)) log.warn({ event: 'config_warning' }, warning);
  const auditStream = audit ?? createAudit(config.audit.destination);
  return {
    config,
    clock,
    log,
    metrics,
    audit: auditStream,
    tenants: new TenantRegistry(config, clock, PATHS.callback, store),
    sessions,
    sessionCookies,
    transactions: new LoginTransactions(sealer, clock),
    revocations,
    store,
    sessionData,
    directory: await createDirectory(config.store, log),
    scimRateLimiter: new ScimRateLimiter(),
    identityHeaders,
    refresher: new SessionRefresher({
      sessionData,
      sessions,
      sessionCookies,
      revocations,
      evictHeaders: (sid) => identityHeaders.evict(sid),
      clock,
      log,
      audit: auditStream,
    }),
    keys,
  };
}

/** Loads config, starts both listeners and returns once they accept connections. */
export async function startSluss(options: StartOptions): Promise<RunningSluss> {
  const config =
    options.config ??
    loadConfig(options.configDir ?? '/etc/sluss', options.env === undefined ? {} : { env: options.env });
  const log = options.logger ?? createLogger({ level: config.logging.level });
  const components = await buildComponents(
    config,
    log,
    options.clock ?? systemClock,
    options.auditDestination ? createAudit(options.auditDestination) : undefined,
  );
  const pipeline = new RequestPipeline(components);
  let ready = false;

  const publicServer = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 });
  publicServer.on('request', (req: IncomingMessage, res: ServerResponse) => pipeline.handleRequest(req, res));
  publicServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    pipeline.handleUpgrade(req, socket, head),
  );
  publicServer.on('clientError', (_error, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  const adminServer = createServer((req, res) =>
    handleAdminRequest(components, req, res, () => ready && storeWithinGrace(components)),
  );

  await listen(publicServer, config.listen.public);
  await listen(adminServer, config.listen.admin);
  ready = true;
  const publicUrl = urlOf(publicServer);
  const adminUrl = urlOf(adminServer);
  log.info(
    {
      event: 'started',
      public: publicUrl,
      admin: adminUrl,
      store: config.store.type,
      tenants: config.tenants.map((tenant) => ({
        prefix: tenant.prefix,
        version: tenant.version,
        active: tenant.active,
      })),
    },
    'sluss is listening',
  );

  const retention = setInterval(() => void runScimRetention(components), SCIM_RETENTION_INTERVAL_MS);
  retention.unref();
  // A first run soon after start, so pods restarted more often than the interval still run it.
  const firstRetention = setTimeout(() => void runScimRetention(components), 60_000);
  firstRetention.unref();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      ready = false;
      clearInterval(retention);
      clearTimeout(firstRetention);
      log.info({ event: 'stopping' }, 'draining connections');
      await drain(publicServer, options.drainTimeoutMs ?? 10_000, () => pipeline.closeWebsockets());
      await Promise.all([pipeline.close(), closeServer(adminServer)]);
      await components.revocations.stop();
      await components.store.close();
      await (components.directory as ClosableDirectory).close?.();
      log.info({ event: 'stopped' }, 'sluss stopped');
    })();
    return closing;
  };
  return { publicUrl, adminUrl, components, close };
}

/**
 * The public request pipeline, in order: sluss routes → tenant → public path →
 * session (expiry, revocation, tenant binding) → identity headers → forward.
 * The common case (known session, cached headers) does no await, no crypto
 * and no I/O before forwarding.
 */
class RequestPipeline {
  private readonly components: Components;
  private readonly forwarder: Forwarder;
  private readonly websockets: WebsocketForwarder;
  private readonly policy: HeaderPolicy;

  constructor(components: Components) {
    const { config } = components;
    this.components = components;
    this.policy = {
      stripped: new Set(config.identityHeaders.stripped),
      isSlussCookie: (name) => components.sessionCookies.isOwnCookie(name),
      trustedPeers: trustedPeerList(config.trustedProxies),
      preserveHost: config.upstream.preserveHost,
      isKnownHost: (host) => components.tenants.isKnownHost(host),
      upstreamHost: new URL(config.upstream.origin).host,
    };
    this.forwarder = new Forwarder(
      { origin: config.upstream.origin, timeoutMs: config.upstream.timeoutMs },
      this.policy,
    );
    this.websockets = new WebsocketForwarder(config.upstream.origin, this.policy, components.log);
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((error: unknown) => {
      replyError(req, res, this.components.log, toSlussError(error));
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { components } = this;
    const url = req.url ?? '';
    // Origin-form only: an absolute-form or `*` target is not something a browser sends us.
    if (url.charCodeAt(0) !== 47 /* / */) {
      sendJson(res, 400, { error: 'ERR_BAD_REQUEST', message: 'request target must be a path' });
      return;
    }
    // The keys are the same for every tenant; apps fetch them by any host name (often 127.0.0.1).
    if (url === PATHS.jwks && (req.method === 'GET' || req.method === 'HEAD')) {
      components.metrics.requests.inc({ outcome: 'sluss_route' });
      sendJwks(components, res);
      return;
    }
    const match = components.tenants.resolve(req.headers.host);
    if (!match) {
      components.metrics.requests.inc({ outcome: 'error' });
      replyError(
        req,
        res,
        components.log,
        new SlussError('ERR_TENANT_UNKNOWN', 'This address is not served here.'),
      );
      return;
    }
    const { tenant } = match;
    // Browsers on an alias host go to the tenant's own origin, where its cookies and callbacks live.
    if (!match.canonical && isBrowserNavigation(req)) {
      redirect(res, `${tenant.publicOrigin}${url}`);
      return;
    }
    // An inactive or expired tenant: a clear page, and its sessions stop working (checked before them).
    if (!isTenantAvailable(tenant, components.clock.now())) {
      components.metrics.requests.inc({ outcome: 'error' });
      replyError(
        req,
        res,
        components.log.child({ tenant: tenant.prefix }),
        new SlussError('ERR_TENANT_UNAVAILABLE', 'This site is not available.'),
        { branding: brandingOf(tenant) },
      );
      return;
    }
    if (url.startsWith(SLUSS_PREFIX)) {
      components.metrics.requests.inc({ outcome: 'sluss_route' });
      await handleSlussRoute(components, req, res, tenant);
      return;
    }
    if (isPublicPath(url, components.config.upstream.publicPaths)) {
      components.metrics.requests.inc({ outcome: 'public' });
      this.forward(req, res, tenant, []);
      return;
    }

    const cookie = components.sessionCookies.read(req.headers.cookie);
    const lookup: SessionLookup =
      components.sessions.lookupCached(cookie, tenant.prefix) ??
      (await components.sessions.lookup(cookie, tenant.prefix));
    if (!('session' in lookup)) {
      this.unauthenticated(req, res, tenant, lookup.rejected, lookup.expired);
      return;
    }
    let session = lookup.session;
    let setCookies: readonly string[] | undefined;
    // Idle first: an idle session is refused without a round trip to its IdP.
    const idle = tenant.config.session.idleTimeoutSeconds;
    const idleNow = epochSeconds(components.clock);
    const activity = idle === undefined ? 'active' : idleState(session, idle, idleNow);
    if (activity === 'idle') {
      this.unauthenticated(req, res, tenant, 'expired', session, 'idle');
      return;
    }
    const rp = tenant.oidc.get(session.idp);
    if (rp?.idp.refresh.enabled && components.refresher.due(session, rp.idp.refresh.intervalSeconds)) {
      const outcome = await components.refresher.refresh(session, rp, req.headers.cookie, (base, claims) =>
        reviewRefreshedIdentity(components, tenant, rp.idp.id, base, claims),
      );
      if ('rejected' in outcome) {
        this.unauthenticated(req, res, tenant, outcome.rejected);
        return;
      }
      session = outcome.session;
      setCookies = outcome.setCookies;
    }
    if (activity === 'renew') {
      // Rolling cookie: a new seal with the new activity time (the old cookie value idles out on its own).
      session = { ...session, seen: idleNow };
      setCookies = components.sessionCookies.write(
        await components.sessions.seal(session),
        session.exp - idleNow,
        req.headers.cookie,
      );
    }
    // Per-path rules (e.g. /admin needs app-admins), on the normalised path, on every request.
    if (tenant.policy.pathRules.length > 0) {
      const decision = evaluateRequest(session.identity, tenant.policy, { url });
      if (!decision.allow) {
        denyAccess(components, req, res, tenant, {
          reason: decision.reason,
          detail: decision.detail,
          idp: session.idp,
          sub: session.identity.sub,
          sid: session.sid,
        });
        return;
      }
    }
    const headers: HeaderPairs =
      components.identityHeaders.cached(session) ??
      (await components.identityHeaders.forSession(session, tenant.publicOrigin));
    components.metrics.requests.inc({ outcome: 'proxied' });
    this.forward(req, res, tenant, headers, setCookies);
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    tenant: Tenant,
    identity: HeaderPairs,
    setCookies?: readonly string[],
  ): void {
    this.forwarder.forward(
      req,
      res,
      { forwardedProto: tenant.forwardedProto, forwardedHost: tenant.forwardedHost, identity },
      (error) => {
        this.components.metrics.upstreamErrors.inc({ kind: 'unavailable' });
        replyError(req, res, this.components.log, error);
      },
      setCookies,
    );
  }

  /**
   * Browsers go to login (keeping their place); API calls get 401 JSON, never
   * a redirect. An expired session is audited, and when the user's last
   * authentication is too old, the login asks the IdP to authenticate again.
   */
  private unauthenticated(
    req: IncomingMessage,
    res: ServerResponse,
    tenant: Tenant,
    reason: string,
    expired?: Session,
    expiry: 'max-age' | 'idle' = 'max-age',
  ): void {
    const { components } = this;
    let reauthenticate = false;
    if (reason === 'expired' && expired) {
      const now = epochSeconds(components.clock);
      reauthenticate = needsReauthentication(expired, tenant.config.session.reauthenticateAfterSeconds, now);
      components.audit.record({
        type: 'expired',
        tenant: tenant.prefix,
        idp: expired.idp,
        sub: expired.identity.sub,
        sid: expired.sid,
        reason: reauthenticate ? 'reauthenticate' : expiry,
      });
    }
    const clear =
      reason === 'none' || reason === 'wrong-tenant'
        ? []
        : components.sessionCookies.clear(req.headers.cookie);
    if (isBrowserNavigation(req)) {
      components.metrics.requests.inc({ outcome: 'redirect_login' });
      const login = loginRedirectFor(req.url ?? '/');
      redirect(res, reauthenticate ? `${login}&reauth=1` : login, clear);
      return;
    }
    components.metrics.requests.inc({ outcome: 'unauthenticated' });
    sendJson(
      res,
      401,
      { error: 'ERR_UNAUTHENTICATED', message: 'Sign in first.', login: PATHS.login },
      clear.length > 0 ? { 'set-cookie': clear } : {},
    );
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgrade(req, socket, head).catch((error: unknown) => {
      this.components.log.error({ err: error }, 'websocket upgrade failed');
      rejectUpgrade(socket, 500, 'ERR_INTERNAL', 'internal error');
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { components } = this;
    socket.on('error', () => socket.destroy());
    const url = req.url ?? '';
    const tenant = components.tenants.resolve(req.headers.host)?.tenant;
    if (!tenant || url.charCodeAt(0) !== 47 || url.startsWith(SLUSS_PREFIX)) {
      rejectUpgrade(socket, 404, 'ERR_NOT_FOUND', 'no websocket here');
      return;
    }
    if (!isTenantAvailable(tenant, components.clock.now())) {
      rejectUpgrade(socket, 403, 'ERR_TENANT_UNAVAILABLE', 'This site is not available.');
      return;
    }
    let identity: HeaderPairs = [];
    if (!isPublicPath(url, components.config.upstream.publicPaths)) {
      const lookup = await components.sessions.lookup(
        components.sessionCookies.read(req.headers.cookie),
        tenant.prefix,
      );
      const idle = tenant.config.session.idleTimeoutSeconds;
      const idleOut =
        'session' in lookup &&
        idle !== undefined &&
        idleState(lookup.session, idle, epochSeconds(components.clock)) === 'idle';
      if (!('session' in lookup) || idleOut) {
        components.metrics.requests.inc({ outcome: 'unauthenticated' });
        rejectUpgrade(socket, 401, 'ERR_UNAUTHENTICATED', 'Sign in first.');
        return;
      }
      // Path rules hold for websockets too (an /admin socket needs what /admin pages need).
      const decision =
        tenant.policy.pathRules.length > 0
          ? evaluateRequest(lookup.session.identity, tenant.policy, { url })
          : undefined;
      if (decision && !decision.allow) {
        components.audit.record({
          type: 'denied',
          tenant: tenant.prefix,
          idp: lookup.session.idp,
          sub: lookup.session.identity.sub,
          sid: lookup.session.sid,
          reason: decision.reason,
        });
        rejectUpgrade(socket, 403, 'ERR_ACCESS_DENIED', 'Access denied.');
        return;
      }
      identity = await components.identityHeaders.forSession(lookup.session, tenant.publicOrigin);
    }
    components.metrics.requests.inc({ outcome: 'proxied' });
    this.websockets.forward(req, socket, head, {
      forwardedProto: tenant.forwardedProto,
      forwardedHost: tenant.forwardedHost,
      identity,
    });
  }

  closeWebsockets(): void {
    this.websockets.close();
  }

  async close(): Promise<void> {
    this.websockets.close();
    await this.forwarder.close();
  }
}

/**
 * Readiness follows the store's grace period: a pod that can still serve its
 * sessions stays in the Service during a short store outage, and leaves it
 * once it has to refuse everyone anyway.
 */
function storeWithinGrace(components: Components): boolean {
  const health = components.revocations.health();
  return health.ok || components.clock.now() - health.since < components.config.store.graceSeconds * 1000;
}

/** A refreshed identity through the tenant's mapping, directory and login policy, as at login. */
async function reviewRefreshedIdentity(
  components: Components,
  tenant: Tenant,
  idpId: string,
  base: Identity,
  claims: Readonly<Record<string, unknown>>,
): Promise<{ identity: Identity } | { denied: string }> {
  const admission = await reviewIdentity(components, tenant, idpId, base, claims);
  return admission.allow ? { identity: admission.identity } : { denied: admission.reason };
}

const SCIM_RETENTION_INTERVAL_MS = 6 * 3600 * 1000;

/** The SCIM delete option's second step: N days after marking, delete for good or anonymise. */
async function runScimRetention(components: Components): Promise<void> {
  for (const tenant of components.config.tenants) {
    if (!tenant.scim || tenant.scim.deletion.afterwards === 'nothing') continue;
    const { mode, afterDays, afterwards } = tenant.scim.deletion;
    try {
      const result = await runRetention(
        components.directory,
        tenant.prefix,
        { mode, retention: { afterDays, action: afterwards } },
        components.clock.now(),
      );
      if (result.deleted.length + result.anonymised.length > 0) {
        components.audit.record({
          type: 'provisioning',
          tenant: tenant.prefix,
          change: 'retention',
          deleted: result.deleted.length,
          anonymised: result.anonymised.length,
        });
      }
    } catch (error) {
      components.log.error({ err: error, tenant: tenant.prefix }, 'SCIM retention failed');
    }
  }
}

function listen(server: Server, address: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function urlOf(server: Server): string {
  const { address, port, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
}

/** Stops accepting, lets in-flight requests finish (bounded), then cuts the rest. */
async function drain(server: Server, timeoutMs: number, closeUpgraded: () => void): Promise<void> {
  const closed = closeServer(server);
  server.closeIdleConnections();
  const timer = setTimeout(() => {
    server.closeAllConnections();
    // Websockets hold the server open but are no longer its connections.
    closeUpgraded();
  }, timeoutMs);
  timer.unref();
  await closed;
  clearTimeout(timer);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
