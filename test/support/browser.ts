/**
 * End-to-end browser tests: Debian's Chromium driven by playwright-core, and a stack laid
 * out as in production with the IdP on another site. Browsers reach sluss through an HTTPS
 * front (tls-front.ts, the ingress) at `https://localhost:<port>`, which is sluss's
 * publicUrl, so the real `__Host-` Secure cookies are used; the OpenID Provider and the
 * SAML IdP listen on `http://127.0.0.1:<port>`, another site, so every answer from the IdP
 * is a cross-site navigation (a cross-site POST for SAML and form_post).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { type Browser, chromium } from 'playwright-core';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/loader.ts';
import type { RunningLegacyApp } from '../../src/demo/legacy-app.ts';
import { startLegacyApp } from '../../src/demo/legacy-app.ts';
import type {
  OidcClientMetadata,
  OidcProviderOptions,
  RunningOidcProvider,
} from '../../src/demo/oidc-provider.ts';
import { startOidcProvider } from '../../src/demo/oidc-provider.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { RunningSluss } from '../../src/server.ts';
import { startSluss } from '../../src/server.ts';
import type { RunningSamlIdp, SamlUser } from './saml-idp.ts';
import { startSamlIdp } from './saml-idp.ts';
import { AUDIENCE, CLIENT_ID, freePort, JWT_HEADER, LogSink } from './sluss-stack.ts';
import type { TlsFront } from './tls-front.ts';
import { startTlsFront } from './tls-front.ts';
import type { RunningUpstream } from './upstream.ts';
import { startUpstream } from './upstream.ts';

/** Debian's chromium; SLUSS_CHROMIUM overrides the path. */
export const CHROMIUM_PATH = process.env.SLUSS_CHROMIUM ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The front's certificate is self-signed (its names are right: localhost, 127.0.0.1).
  '--ignore-certificate-errors',
];

/** Launches headless Chromium, or fails with a message saying how to get it (never skips). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser login tests need it: install Debian's ` +
        '`chromium` package (.ci/run does: need_pkg chromium chromium), or set SLUSS_CHROMIUM to a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 15_000 });
}

export interface BrowserStackOptions {
  /** The tenant's one IdP: the test OpenID Provider or the test SAML IdP. */
  readonly idp: 'oidc' | 'saml';
  /** Merged into the client registered at the OP (response types, grant types…). */
  readonly client?: Partial<OidcClientMetadata>;
  /** Options for the OP besides its clients. */
  readonly opOptions?: Omit<OidcProviderOptions, 'clients'>;
  /** Merged into the tenant's IdP entry. */
  readonly idpConfig?: Record<string, unknown>;
  /** Merged into sluss.yaml's `cookies` block (e.g. `{ sameSite: 'strict' }`). */
  readonly cookies?: Record<string, unknown>;
  /** The protected app: the echo upstream (default) or the demo legacy app. */
  readonly upstream?: 'echo' | 'legacy-app';
  /**
   * sluss's public host name: `localhost` (default) or a `*.localhost` name (oidc-provider
   * refuses `localhost` redirect URIs for implicit web clients, not `sluss.localhost`).
   */
  readonly publicHost?: string;
  /** The user the SAML IdP signs in. */
  readonly samlUser?: SamlUser;
}

export interface BrowserStack {
  /** `https://localhost:<front port>` (or `publicHost`): sluss's publicUrl. */
  readonly publicUrl: string;
  readonly front: TlsFront;
  readonly op?: RunningOidcProvider;
  readonly samlIdp?: RunningSamlIdp;
  readonly upstream?: RunningUpstream;
  readonly legacyApp?: RunningLegacyApp;
  readonly sluss: RunningSluss;
  readonly logs: LogSink;
  readonly audit: LogSink;
  close(): Promise<void>;
}

export const SAML_ALICE: SamlUser = {
  nameId: 'alice@example.com',
  nameIdFormat: 'email',
  attributes: {
    email: 'alice@example.com',
    givenName: 'Alice',
    surname: 'Liddell',
    displayName: 'Alice Liddell',
    groups: ['staff'],
  },
};

/** Starts front, IdP, upstream and sluss; on a failure part-way, stops what had started. */
export async function startBrowserStack(options: BrowserStackOptions): Promise<BrowserStack> {
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // Keep closing the rest.
      }
    }
  };
  try {
    const slussPort = await freePort();
    const front = await startTlsFront(slussPort, options.publicHost);
    closers.push(() => front.close());
    const publicUrl = front.url;

    const clientSecret = randomBytes(24).toString('base64url');
    let op: RunningOidcProvider | undefined;
    let samlIdp: RunningSamlIdp | undefined;
    let idp: Record<string, unknown>;
    let saml: Record<string, unknown> | undefined;
    if (options.idp === 'oidc') {
      op = await startOidcProvider({
        clients: [
          {
            client_id: CLIENT_ID,
            client_secret: clientSecret,
            redirect_uris: [`${publicUrl}/.sluss/callback`],
            post_logout_redirect_uris: [`${publicUrl}/.sluss/logged-out`],
            token_endpoint_auth_method: 'client_secret_basic',
            ...options.client,
          },
        ],
        ...options.opOptions,
      });
      const started = op;
      closers.push(() => started.close());
      idp = {
        id: 'test-op',
        type: 'oidc',
        issuer: op.issuer,
        clientId: CLIENT_ID,
        clientSecret: '${file:secrets/client}',
        scopes: ['openid', 'email', 'profile', 'groups'],
        ...options.idpConfig,
      };
    } else {
      samlIdp = await startSamlIdp({
        sp: {
          entityId: `${publicUrl}/.sluss/saml/metadata`,
          acsUrl: `${publicUrl}/.sluss/saml/acs`,
          sloUrl: `${publicUrl}/.sluss/saml/slo`,
        },
        user: structuredClone(options.samlUser ?? SAML_ALICE),
      });
      const started = samlIdp;
      closers.push(() => started.close());
      idp = {
        id: 'corp-saml',
        type: 'saml',
        metadataUrl: samlIdp.metadataUrl,
        nameIdFormat: 'email',
        ...options.idpConfig,
      };
      saml = {};
    }

    let upstream: RunningUpstream | undefined;
    let legacyApp: RunningLegacyApp | undefined;
    let upstreamUrl: string;
    if (options.upstream === 'legacy-app') {
      // The app fetches sluss's JWKS through the front, as it would through the ingress:
      // trust the front's certificate in this (test worker) process while the stack runs.
      const defaults = getCACertificates('default');
      setDefaultCACertificates([...defaults, front.certificatePem]);
      closers.push(() => setDefaultCACertificates(defaults));
      legacyApp = await startLegacyApp({
        jwksUrl: `${publicUrl}/.sluss/jwks.json`,
        jwtHeader: JWT_HEADER,
        audience: AUDIENCE,
        issuer: publicUrl,
      });
      const started = legacyApp;
      closers.push(() => started.close());
      upstreamUrl = legacyApp.url;
    } else {
      upstream = await startUpstream();
      const started = upstream;
      closers.push(() => started.close());
      upstreamUrl = upstream.url;
    }

    const configDir = writeConfigDir({
      publicUrl,
      slussPort,
      upstreamUrl,
      clientSecret,
      cookies: options.cookies ?? {},
      tenant: {
        prefix: 'acme',
        title: 'Acme Browser Test',
        idps: [idp],
        ...(saml ? { saml } : {}),
        session: { maxAgeSeconds: 3600 },
      },
    });
    closers.push(() => rmSync(configDir, { recursive: true, force: true }));

    const logs = new LogSink();
    const audit = new LogSink();
    const sluss = await startSluss({
      config: loadConfig(configDir),
      logger: createLogger({ level: 'debug', destination: logs }),
      auditDestination: audit,
      drainTimeoutMs: 1000,
    });
    closers.push(() => sluss.close());

    return {
      publicUrl,
      front,
      ...(op ? { op } : {}),
      ...(samlIdp ? { samlIdp } : {}),
      ...(upstream ? { upstream } : {}),
      ...(legacyApp ? { legacyApp } : {}),
      sluss,
      logs,
      audit,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

interface ConfigInput {
  readonly publicUrl: string;
  readonly slussPort: number;
  readonly upstreamUrl: string;
  readonly clientSecret: string;
  readonly cookies: Record<string, unknown>;
  readonly tenant: Record<string, unknown>;
}

/** A config directory like sluss-stack's, but with the front's https URL as publicUrl. */
function writeConfigDir(input: ConfigInput): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluss-browser-'));
  mkdirSync(join(dir, 'tenants'));
  mkdirSync(join(dir, 'secrets'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'secrets', 'signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'secrets', 'cookie'), `${randomBytes(32).toString('base64url')}\n`);
  writeFileSync(join(dir, 'secrets', 'client'), `${input.clientSecret}\n`);
  const global = {
    publicUrl: input.publicUrl,
    listen: {
      public: { host: '127.0.0.1', port: input.slussPort },
      admin: { host: '127.0.0.1', port: 0 },
    },
    upstream: { url: input.upstreamUrl },
    // secure is the default (true): the real `__Host-sluss` cookie.
    cookies: { secret: '${file:secrets/cookie}', ...input.cookies },
    identityHeaders: {
      jwt: { header: 'X-Sluss-Identity', audience: AUDIENCE, ttlSeconds: 60 },
      plain: {
        user: 'X-Remote-User',
        email: 'X-Remote-Email',
        name: 'X-Remote-Name',
        groups: 'X-Remote-Groups',
        tenant: 'X-Remote-Tenant',
      },
    },
    signingKeys: [{ kid: 'browser-1', privateKey: '${file:secrets/signing.pem}' }],
    store: { type: 'memory' },
  };
  writeFileSync(join(dir, 'sluss.yaml'), stringify(global));
  writeFileSync(join(dir, 'tenants', 'acme.yaml'), stringify(input.tenant));
  return dir;
}
