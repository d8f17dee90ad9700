/**
 * GET /.sluss/login?rd=<path>&idp=<id>: starts a login at the tenant's IdP.
 * The state, nonce and PKCE verifier go into a sealed transaction cookie;
 * the return path is checked to be same-origin before it is stored.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import type { OidcIdpConfig } from '../config/types.ts';
import { SlussError } from '../errors.ts';
import { cookieNamesWithPrefix, expireCookie, serializeCookie } from '../http/cookies.ts';
import { replyError } from '../http/errors.ts';
import { redirect } from '../http/reply.ts';
import { safeReturnPath } from '../http/return-url.ts';
import { PATHS } from '../paths.ts';
import {
  LOGIN_TTL_SECONDS,
  MAX_PENDING_LOGINS,
  transactionCookieName,
} from '../sessions/login-transaction.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { failLogin } from './login-failure.ts';

export function loginPath(returnTo: string): string {
  return `${PATHS.login}?rd=${encodeURIComponent(returnTo)}`;
}

export async function handleLogin(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  url: URL,
): Promise<void> {
  const returnTo = safeReturnPath(url.searchParams.get('rd'), tenant.publicOrigin);
  const requested = url.searchParams.get('idp');
  const rp = requested ? tenant.idps.get(requested) : tenant.idps.values().next().value;
  if (!rp) {
    replyError(
      req,
      res,
      components.log,
      new SlussError('ERR_IDP_UNKNOWN', 'This sign-in option does not exist.'),
      {
        retryPath: loginPath(returnTo),
      },
    );
    return;
  }

  let start: Awaited<ReturnType<typeof rp.startAuthorization>>;
  try {
    start = await rp.startAuthorization(tenant.callbackUrl);
  } catch (error) {
    const failure =
      error instanceof SlussError
        ? error
        : new SlussError('ERR_IDP_UNAVAILABLE', 'The sign-in service is not reachable.', { cause: error });
    failLogin(components, req, res, tenant, rp.idp, failure, [], loginPath(returnTo));
    return;
  }

  const { cookies } = components.config;
  const attributes = transactionCookieAttributes(components, rp.idp);
  const { sealed } = components.transactions.create({
    state: start.state,
    nonce: start.nonce,
    codeVerifier: start.codeVerifier,
    tenant: tenant.prefix,
    idp: rp.idp.id,
    returnTo,
  });
  const setCookies = [
    ...pendingLoginsToDrop(req.headers.cookie, cookies.txnPrefix).map((name) =>
      expireCookie(name, attributes),
    ),
    serializeCookie(transactionCookieName(cookies.txnPrefix, start.state), await sealed, {
      ...attributes,
      maxAgeSeconds: LOGIN_TTL_SECONDS,
    }),
  ];
  redirect(res, start.url, setCookies);
}

/**
 * The IdP comes back with a top-level GET (query mode), which SameSite=Lax
 * cookies accompany; a form_post is a cross-site POST, which only
 * SameSite=None cookies do, and those must be Secure (browsers accept Secure
 * cookies on http://localhost, so the demo works too).
 */
export function transactionCookieAttributes(components: Components, idp: OidcIdpConfig | undefined) {
  const formPost = idp?.responseMode === 'form_post';
  return {
    secure: components.config.cookies.secure || formPost,
    sameSite: formPost ? 'none' : 'lax',
    path: '/',
  } as const;
}

/** When a browser has too many logins in flight, the older ones are abandoned. */
function pendingLoginsToDrop(header: string | undefined, prefix: string): string[] {
  const pending = cookieNamesWithPrefix(header, prefix);
  return pending.length >= MAX_PENDING_LOGINS ? pending : [];
}
