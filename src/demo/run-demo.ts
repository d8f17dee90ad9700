/**
 * `sluss demo` (`npm start`): the whole picture on loopback. A demo OpenID
 * Provider (oidc-provider, two users), a demo legacy app that shows what it
 * receives, and sluss in front of it with config/demo/. Secrets are generated
 * per run and handed to the config through `${env:...}` references.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/loader.ts';
import { createLogger } from '../observability/logger.ts';
import type { RunningSluss } from '../server.ts';
import { startSluss } from '../server.ts';
import { startLegacyApp } from './legacy-app.ts';
import { DEMO_USERS, startOidcProvider } from './oidc-provider.ts';

export const DEMO_CONFIG_DIR = fileURLToPath(new URL('../../config/demo/', import.meta.url));
const OP_PORT = 9400;
const APP_PORT = 3000;

export interface RunningDemo {
  readonly sluss: RunningSluss;
  close(): Promise<void>;
}

/** Secrets for one demo run, as the environment variables config/demo/ refers to. */
export function demoEnvironment(): Record<string, string> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    SLUSS_DEMO_COOKIE_SECRET: randomBytes(32).toString('base64url'),
    SLUSS_DEMO_SIGNING_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    SLUSS_DEMO_CLIENT_SECRET: randomBytes(24).toString('base64url'),
  };
}

export async function runDemo(): Promise<RunningDemo> {
  const env = { ...process.env, ...demoEnvironment() };
  const config = loadConfig(DEMO_CONFIG_DIR, { env });
  const tenant = config.tenants[0];
  const idp = tenant?.idps[0];
  if (!tenant || idp?.type !== 'oidc') throw new Error('config/demo must have one tenant with one OIDC IdP');
  const log = createLogger({ level: config.logging.level });

  const op = await startOidcProvider({
    port: OP_PORT,
    clients: [
      {
        client_id: idp.clientId,
        client_secret: idp.clientSecret ?? '',
        redirect_uris: [`${tenant.publicOrigin}/.sluss/callback`],
        post_logout_redirect_uris: [`${tenant.publicOrigin}/.sluss/logged-out`],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
  });
  const app = await startLegacyApp({
    port: APP_PORT,
    jwksUrl: `http://127.0.0.1:${config.listen.public.port}/.sluss/jwks.json`,
    jwtHeader: config.identityHeaders.jwt.header,
    audience: config.identityHeaders.jwt.audience,
    issuer: tenant.publicOrigin,
  });
  const sluss = await startSluss({ config, logger: log });

  const users = DEMO_USERS.map(
    (user) => `    ${user.sub} / ${user.password}  (${user.name}, groups: ${user.groups.join(', ')})`,
  );
  process.stdout.write(
    [
      '',
      'sluss demo is running:',
      `  open ${tenant.publicOrigin}/ and sign in at the demo OpenID Provider as`,
      ...users,
      `  demo IdP:        ${op.issuer}`,
      `  legacy app:      ${app.url} (only reachable through sluss in production)`,
      `  JWKS:            ${tenant.publicOrigin}/.sluss/jwks.json`,
      `  metrics/health:  ${sluss.adminUrl}/metrics ${sluss.adminUrl}/readyz`,
      '  stop with Ctrl+C',
      '',
    ].join('\n'),
  );

  return {
    sluss,
    async close() {
      await sluss.close();
      await Promise.all([app.close(), op.close()]);
    },
  };
}
