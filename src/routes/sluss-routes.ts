/**
 * Dispatch for everything under /.sluss/: the only paths sluss answers
 * itself on the public port. Everything else is the upstream's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import { SlussError } from '../errors.ts';
import { replyError } from '../http/errors.ts';
import { PATHS } from '../paths.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { handleBackchannelLogout } from './backchannel-logout.ts';
import { handleCallback } from './callback.ts';
import { handleLogin } from './login.ts';
import { handleLoggedOut, handleLogout } from './logout.ts';
import { handleSamlAcs, handleSamlMetadata, handleSamlSlo } from './saml.ts';
import { handleScimRoute, SCIM_ROOT } from './scim.ts';

const JWKS_MAX_AGE_SECONDS = 300;

export async function handleSlussRoute(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
): Promise<void> {
  const url = new URL(req.url ?? '/', tenant.publicOrigin);
  const method = req.method ?? 'GET';
  const isRead = method === 'GET' || method === 'HEAD';
  switch (url.pathname) {
    case PATHS.login:
      if (isRead) return handleLogin(components, req, res, tenant, url);
      break;
    case PATHS.callback:
      if (isRead || method === 'POST') return handleCallback(components, req, res, tenant, url);
      break;
    case PATHS.samlAcs:
      if (method === 'POST') return handleSamlAcs(components, req, res, tenant);
      break;
    case PATHS.samlSlo:
      if (isRead || method === 'POST') return handleSamlSlo(components, req, res, tenant, url);
      break;
    case PATHS.samlMetadata:
      if (isRead) return handleSamlMetadata(components, req, res, tenant);
      break;
    case PATHS.backchannelLogout:
      if (method === 'POST') return handleBackchannelLogout(components, req, res, tenant);
      break;
    case PATHS.logout:
      if (isRead || method === 'POST') return handleLogout(components, req, res, tenant);
      break;
    case PATHS.loggedOut:
      if (isRead) return handleLoggedOut(req, res, tenant);
      break;
    case PATHS.jwks:
      if (isRead) return sendJwks(components, res);
      break;
    default:
      if (url.pathname === SCIM_ROOT || url.pathname.startsWith(`${SCIM_ROOT}/`)) {
        return handleScimRoute(components, req, res, tenant, url);
      }
      replyError(req, res, components.log, new SlussError('ERR_NOT_FOUND', 'There is nothing here.'));
      return;
  }
  replyError(
    req,
    res,
    components.log,
    new SlussError('ERR_METHOD_NOT_ALLOWED', `${method} is not allowed here.`),
    { format: 'json' },
  );
}

export function sendJwks(components: Components, res: ServerResponse): void {
  const body = JSON.stringify(components.keys.jwks);
  res.writeHead(200, {
    'content-type': 'application/jwk-set+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': `public, max-age=${JWKS_MAX_AGE_SECONDS}`,
    'access-control-allow-origin': '*',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
