/**
 * GET /.sluss/login?rd=<path>&idp=<id>: starts a login at the tenant's IdP.
 * The state, nonce and PKCE verifier go into a sealed transaction cookie;
 * the return path is checked to be same-origin before it is stored.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import type { IdpConfig } from '../config/types.ts';
import { SlussError } from '../errors.ts';
import { cookieNamesWithPrefix, expireCookie, serializeCookie } from '../http/cookies.ts';
import { replyError } from '../http/errors.ts';
import { redirect } from '../http/reply.ts';
import { safeReturnPath } from '../http/return-url.ts';
import { PATHS } from '../paths.ts';
import type { SamlServiceProvider } from '../protocols/saml/saml-sp.ts';
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
  const idpId = url.searchParams.get('idp') ?? tenant.defaultIdp;
  const rp = tenant.oidc.get(idpId);
  const sp = rp ? undefined : tenant.saml.get(idpId);
  const idp = rp?.idp ?? sp?.idp;
  if (!idp) {
    replyError(
      req,
      res,
      components.log,
      new SlussError('ERR_IDP_UNKNOWN', 'This sign-in option does not exist.'),
      {
        retryPath: loginPath('/'),
      },
    );
    return;
  }

  let start: { url: string; state: string; nonce: string; codeVerifier: string; requestId?: string };
  try {
    if (rp) {
      start = await rp.startAuthorization(tenant.callbackUrl);
    } else {
      // The RelayState names the transaction cookie, as `state` does for OIDC.
      const state = randomBytes(24).toString('base64url');
      const saml = await (sp as SamlServiceProvider).startLogin(state);
      start = { url: saml.url, state, nonce: '', codeVerifier: '', requestId: saml.requestId };
    }
  } catch (error) {
    const failure =
      error instanceof SlussError
        ? error
        : new SlussError('ERR_IDP_UNAVAILABLE', 'The sign-in service is not reachable.', { cause: error });
    failLogin(components, req, res, tenant, idp, failure, [], loginPath(returnTo));
    return;
  }

  const { cookies } = components.config;
  const attributes = transactionCookieAttributes(components, idp);
  const { sealed } = components.transactions.create({
    state: start.state,
    nonce: start.nonce,
    codeVerifier: start.codeVerifier,
    ...(start.requestId ? { requestId: start.requestId } : {}),
    tenant: tenant.prefix,
    idp: idp.id,
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
 * cookies accompany; a form_post (or a SAML HTTP-POST) is a cross-site POST, which only
 * SameSite=None cookies do, and those must be Secure (browsers accept Secure
 * cookies on http://localhost, so the demo works too).
 */
export function transactionCookieAttributes(components: Components, idp: IdpConfig | undefined) {
  // SAML responses always arrive by HTTP-POST to the ACS.
  const formPost = idp?.type === 'saml' || (idp?.type === 'oidc' && idp.responseMode === 'form_post');
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
