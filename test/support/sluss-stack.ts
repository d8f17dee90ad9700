/**
 * A whole stack on loopback for integration tests: a real OpenID Provider,
 * the echo upstream, and sluss with a config directory written for them.
 * sluss runs in-process (startSluss) or, for memory measurements and signal
 * handling, as a child process running `src/main.ts serve`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import type { Clock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config/loader.ts';
import type {
  OidcClientMetadata,
  OidcProviderOptions,
  RunningOidcProvider,
} from '../../src/demo/oidc-provider.ts';
import { startOidcProvider } from '../../src/demo/oidc-provider.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { RunningSluss } from '../../src/server.ts';
import { startSluss } from '../../src/server.ts';
import { loginThroughOp } from './browserless-login.ts';
import { CookieJar } from './cookie-jar.ts';
import type { RunningUpstream } from './upstream.ts';
import { startUpstream } from './upstream.ts';

export const CLIENT_ID = 'sluss-test';
export const AUDIENCE = 'test-app';
export const JWT_HEADER = 'x-sluss-identity';

/** A port the OS just handed out, free again: the callback URL must be known before sluss listens. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Collects pino's JSON lines so tests can assert on logs. */
export class LogSink extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    callback();
  }

  text(): string {
    return this.lines.join('\n');
  }
}

export interface StackOptions {
  readonly clock?: Clock;
  readonly maxAgeSeconds?: number;
  readonly publicPaths?: readonly string[];
  readonly trustedProxies?: readonly string[];
  /** Override the upstream URL (e.g. a closed port to test 502). */
  readonly upstreamUrl?: string;
  /** Run sluss as a child process (`node src/main.ts serve`). */
  readonly childProcess?: boolean;
  /** sluss's public port (pick one with freePort() when an OP must know the redirect URI first). */
  readonly port?: number;
  /** Merged into the client registered at the test OP (pairwise, response types, auth method…). */
  readonly client?: Partial<OidcClientMetadata>;
  /** Options for the test OP besides its clients (users, ttl, jwks…). */
  readonly opOptions?: Omit<OidcProviderOptions, 'clients'>;
  /** Merged into the tenant's IdP entry; a null value removes the key (e.g. `{ clientSecret: null }`). */
  readonly idp?: Record<string, unknown>;
  /** Merged into the tenant file (e.g. `{ session: { maxAgeSeconds: 60 } }`). */
  readonly tenant?: Record<string, unknown>;
  /** Further tenant files, by file name (e.g. `{ 'globex.yaml': {...} }`); `LOCALHOST_URL` in a value is replaced. */
  readonly extraTenants?: Record<string, Record<string, unknown>>;
  /** Further sluss.yaml keys (e.g. `{ defaultTenant: 'acme' }`). */
  readonly global?: Record<string, unknown>;
  /** The store block of sluss.yaml (default: memory). */
  readonly store?: Record<string, unknown>;
}

export interface Stack {
  readonly op: RunningOidcProvider;
  readonly upstream: RunningUpstream;
  readonly configDir: string;
  readonly publicUrl: string;
  readonly adminUrl: string;
  readonly cookieSecret: string;
  readonly clientSecret: string;
  readonly logs: LogSink;
  /** The audit stream (in-process sluss only). */
  readonly audit: LogSink;
  /** Present when sluss runs in-process. */
  readonly sluss?: RunningSluss;
  /** Present when sluss runs as a child process. */
  readonly child?: ChildProcess;
  /** Logs in through the OP and returns the jar holding the session cookie. */
  login(
    user?: { login: string; password: string },
    returnPath?: string,
  ): Promise<{ jar: CookieJar; hops: string[]; response: Response }>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  if (options.port !== undefined) return startStackOn(options.port, options);
  // freePort() closes its probe before sluss listens, so with many servers starting in
  // parallel another one can take the port meanwhile: try a fresh port (bounded).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOn(await freePort(), options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw error;
    }
  }
}

async function startStackOn(port: number, options: StackOptions): Promise<Stack> {
  const publicUrl = `http://127.0.0.1:${port}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const cookieSecret = randomBytes(32).toString('base64url');
  const op = await startOidcProvider({
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        // A second tenant can live on the same port as http://localhost:<port> (not with pairwise
        // subjects, whose redirect URIs must share one host).
        redirect_uris: [
          `${publicUrl}/.sluss/callback`,
          ...(options.extraTenants ? [`http://localhost:${port}/.sluss/callback`] : []),
        ],
        post_logout_redirect_uris: [
          `${publicUrl}/.sluss/logged-out`,
          ...(options.extraTenants ? [`http://localhost:${port}/.sluss/logged-out`] : []),
        ],
        token_endpoint_auth_method: 'client_secret_basic',
        ...options.client,
      },
    ],
    ...options.opOptions,
  });
  const upstream = await startUpstream();
  const configDir = writeConfigDir({
    publicUrl,
    port,
    issuer: op.issuer,
    clientSecret,
    cookieSecret,
    upstreamUrl: options.upstreamUrl ?? upstream.url,
    maxAgeSeconds: options.maxAgeSeconds ?? 3600,
    publicPaths: options.publicPaths ?? [],
    trustedProxies: options.trustedProxies ?? [],
    idp: options.idp ?? {},
    tenant: options.tenant ?? {},
    extraTenants: options.extraTenants ?? {},
    global: { store: options.store ?? { type: 'memory' }, ...options.global },
  });

  const logs = new LogSink();
  const audit = new LogSink();
  let sluss: RunningSluss | undefined;
  let child: ChildProcess | undefined;
  let adminUrl: string;
  if (options.childProcess) {
    const started = await startChildSluss(configDir);
    child = started.child;
    adminUrl = started.adminUrl;
  } else {
    const config = loadConfig(configDir);
    try {
      sluss = await startSluss({
        config,
        logger: createLogger({ level: 'debug', destination: logs }),
        auditDestination: audit,
        ...(options.clock ? { clock: options.clock } : {}),
        drainTimeoutMs: 1000,
      });
    } catch (error) {
      await Promise.all([op.close(), upstream.close()]);
      rmSync(configDir, { recursive: true, force: true });
      throw error;
    }
    adminUrl = sluss.adminUrl;
  }

  return {
    op,
    upstream,
    configDir,
    publicUrl,
    adminUrl,
    cookieSecret,
    clientSecret,
    logs,
    audit,
    ...(sluss ? { sluss } : {}),
    ...(child ? { child } : {}),
    async login(user = { login: 'alice', password: 'alice' }, returnPath = '/echo/after-login') {
      const jar = new CookieJar();
      const result = await loginThroughOp(
        `${publicUrl}/.sluss/login?rd=${encodeURIComponent(returnPath)}`,
        jar,
        user,
      );
      return { jar, hops: result.hops, response: result.response };
    },
    async close() {
      if (sluss) await sluss.close();
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child?.once('exit', resolve));
      }
      await Promise.all([op.close(), upstream.close()]);
      rmSync(configDir, { recursive: true, force: true });
    },
  };
}

interface ConfigInput {
  readonly publicUrl: string;
  readonly port: number;
  readonly issuer: string;
  readonly clientSecret: string;
  readonly cookieSecret: string;
  readonly upstreamUrl: string;
  readonly maxAgeSeconds: number;
  readonly publicPaths: readonly string[];
  readonly trustedProxies: readonly string[];
  readonly idp: Record<string, unknown>;
  readonly tenant: Record<string, unknown>;
  readonly extraTenants: Record<string, Record<string, unknown>>;
  readonly global: Record<string, unknown>;
}

/** Shallow merge where a null value deletes the key. */
function merge(base: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return out;
}

function writeConfigDir(input: ConfigInput): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluss-test-'));
  mkdirSync(join(dir, 'tenants'));
  mkdirSync(join(dir, 'secrets'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'secrets', 'signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'secrets', 'cookie'), `${input.cookieSecret}\n`);
  writeFileSync(join(dir, 'secrets', 'client'), `${input.clientSecret}\n`);
  writeFileSync(
    join(dir, 'sluss.yaml'),
    `publicUrl: ${input.publicUrl}
listen:
  public: { host: 127.0.0.1, port: ${input.port} }
  admin: { host: 127.0.0.1, port: 0 }
trustedProxies: ${JSON.stringify(input.trustedProxies)}
upstream:
  url: ${input.upstreamUrl}
  publicPaths: ${JSON.stringify(input.publicPaths)}
cookies:
  secret: \${file:secrets/cookie}
identityHeaders:
  jwt:
    header: X-Sluss-Identity
    audience: ${AUDIENCE}
    ttlSeconds: 60
  plain:
    user: X-Remote-User
    email: X-Remote-Email
    name: X-Remote-Name
    groups: X-Remote-Groups
    tenant: X-Remote-Tenant
signingKeys:
  - kid: test-1
    privateKey: \${file:secrets/signing.pem}
`,
  );
  const idp = merge(
    {
      id: 'test-op',
      type: 'oidc',
      issuer: input.issuer,
      clientId: CLIENT_ID,
      clientSecret: '${file:secrets/client}',
      scopes: ['openid', 'email', 'profile', 'groups'],
    },
    input.idp,
  );
  const tenant = merge(
    { prefix: 'acme', title: 'Acme Test', idps: [idp], session: { maxAgeSeconds: input.maxAgeSeconds } },
    input.tenant,
  );
  const placeholders = (text: string) =>
    text.replaceAll('LOCALHOST_URL', `http://localhost:${input.port}`).replaceAll('ISSUER_URL', input.issuer);
  writeFileSync(join(dir, 'tenants', 'acme.yaml'), placeholders(stringify(tenant)));
  for (const [name, extra] of Object.entries(input.extraTenants)) {
    writeFileSync(join(dir, 'tenants', name), placeholders(stringify(extra)));
  }
  if (Object.keys(input.global).length > 0) {
    writeFileSync(
      join(dir, 'sluss.yaml'),
      `${readFileSync(join(dir, 'sluss.yaml'), 'utf8')}${stringify(input.global)}`,
    );
  }
  return dir;
}

const ROOT = new URL('../../', import.meta.url);

/** Starts `node src/main.ts serve --config DIR` and waits for its "listening" log line. */
async function startChildSluss(configDir: string): Promise<{ child: ChildProcess; adminUrl: string }> {
  const node = new URL('node_modules/.bin/node', ROOT).pathname;
  const child = spawn(node, ['src/main.ts', 'serve', '--config', configDir], {
    cwd: ROOT.pathname,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLUSS_LOG_LEVEL: 'info' },
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`sluss child did not start:\n${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const line = output.split('\n').find((l) => l.includes('"event":"started"'));
      if (line) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve({ child, adminUrl: (JSON.parse(line) as { admin: string }).admin });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sluss child exited with ${code}:\n${output}`));
    });
  });
}
