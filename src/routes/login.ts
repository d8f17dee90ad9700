/**
 * GET /.sluss/login: starts a login.
 *   ?idp=<id> or ?sso=<id>   that IdP directly (SSO links skip the chooser)
 *   ?email=<address>         home-realm discovery: the IdP serving that domain
 *   (neither)                the only active IdP, or the chooser page
 *   ?rd=<path>               where to return; same-origin paths only
 * The state, nonce and PKCE verifier (or SAML request ID) go into a sealed
 * transaction cookie; the chosen IdP is remembered for the chooser.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import type { IdpConfig } from '../config/types.ts';
import { SlussError } from '../errors.ts';
import { cookieNamesWithPrefix, expireCookie, readCookie, serializeCookie } from '../http/cookies.ts';
import { replyError } from '../http/errors.ts';
import { redirect, sendHtml } from '../http/reply.ts';
import { safeReturnPath } from '../http/return-url.ts';
import { negotiateLanguage } from '../pages/i18n.ts';
import { chooserPage } from '../pages/pages.ts';
import { PATHS } from '../paths.ts';
import type { SamlServiceProvider } from '../protocols/saml/saml-sp.ts';
import {
  LOGIN_TTL_SECONDS,
  MAX_PENDING_LOGINS,
  transactionCookieName,
} from '../sessions/login-transaction.ts';
import { STORE_KEYS } from '../store/store.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { failLogin } from './login-failure.ts';

const LAST_IDP_MAX_AGE_SECONDS = 365 * 24 * 3600;

export function loginPath(returnTo: string): string {
  return `${PATHS.login}?rd=${encodeURIComponent(returnTo)}`;
}

/**
 * Where an unauthenticated browser goes: the login, keeping its place. An
 * SSO link (`?sso=<idp>` on any page) names the IdP and is dropped from the return path.
 */
export function loginRedirectFor(requestUrl: string): string {
  const queryAt = requestUrl.indexOf('?');
  if (queryAt === -1 || !requestUrl.includes('sso=', queryAt)) return loginPath(requestUrl);
  const path = requestUrl.slice(0, queryAt);
  const query = new URLSearchParams(requestUrl.slice(queryAt + 1));
  const sso = query.get('sso');
  query.delete('sso');
  const rest = query.toString();
  const returnTo = rest ? `${path}?${rest}` : path;
  return sso
    ? `${PATHS.login}?idp=${encodeURIComponent(sso)}&rd=${encodeURIComponent(returnTo)}`
    : loginPath(returnTo);
}

/** The tenant's active IdPs in config order. */
function activeIdps(tenant: Tenant): IdpConfig[] {
  return tenant.config.idps.filter((idp) => idp.active);
}

/** Home-realm discovery: the active IdP that lists the address's domain. */
function idpForEmail(tenant: Tenant, email: string): IdpConfig | undefined {
  const domain = email.trim().toLowerCase().split('@')[1];
  if (!domain) return undefined;
  return activeIdps(tenant).find((idp) => idp.emailDomains.includes(domain));
}

export async function handleLogin(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  url: URL,
): Promise<void> {
  const returnTo = safeReturnPath(url.searchParams.get('rd'), tenant.publicOrigin);
  if (!components.revocations.health().ok) {
    // Without the store no login can be completed safely (replay checks, revocations): say so now.
    failLogin(components, req, res, tenant, undefined, storeUnavailable(), [], loginPath(returnTo));
    return;
  }
  // reauth=1: the session ended because the last authentication is too old (or MFA is needed): no silent SSO.
  const forced = url.searchParams.get('reauth') === '1';
  // mfa=1: the tenant requires MFA and the last login had none: ask the IdP for a second factor.
  const stepUp = forced && url.searchParams.get('mfa') === '1';
  const requested = url.searchParams.get('idp') ?? url.searchParams.get('sso');
  const email = url.searchParams.get('email');
  const active = activeIdps(tenant);
  let idpId: string | undefined;
  if (requested !== null) idpId = requested;
  else if (email !== null && tenant.config.homeRealmDiscovery) {
    idpId = idpForEmail(tenant, email)?.id;
    if (!idpId) {
      showChooser(components, req, res, tenant, returnTo, 'unknown-domain');
      return;
    }
  } else if (active.length === 1) idpId = active[0]?.id;
  else {
    showChooser(components, req, res, tenant, returnTo);
    return;
  }

  const configured = active.find((idp) => idp.id === idpId);
  const rp = configured ? tenant.oidc.get(configured.id) : undefined;
  const sp = configured && !rp ? tenant.saml.get(configured.id) : undefined;
  const idp = rp?.idp ?? sp?.idp;
  if (!idp) {
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

  let start: { url: string; state: string; nonce: string; codeVerifier: string; requestId?: string };
  try {
    if (rp) {
      const reauth = tenant.config.session.reauthenticateAfterSeconds;
      const acrValues = stepUp && rp.idp.mfa.source === 'acr' ? rp.idp.mfa.acrValues : [];
      start = await rp.startAuthorization(tenant.callbackUrl, {
        ...(forced ? { prompt: 'login' as const } : {}),
        ...(acrValues.length > 0 ? { acrValues } : {}),
        // OIDC's own way to keep auth_time fresh: the IdP asks again when the last sign-in is older.
        ...(reauth !== undefined ? { maxAgeSeconds: reauth } : {}),
      });
    } else {
      // The RelayState names the transaction cookie, as `state` does for OIDC.
      const state = randomBytes(24).toString('base64url');
      const saml = await (sp as SamlServiceProvider).startLogin(state, {
        forceAuthn: forced,
        stepUpToMfa: stepUp,
      });
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
  const lastUsed = serializeCookie(lastIdpCookieName(components), idp.id, {
    secure: cookies.secure,
    sameSite: 'lax',
    path: '/',
    maxAgeSeconds: LAST_IDP_MAX_AGE_SECONDS,
  });
  const { sealed } = components.transactions.create({
    state: start.state,
    nonce: start.nonce,
    codeVerifier: start.codeVerifier,
    ...(start.requestId ? { requestId: start.requestId } : {}),
    ...(forced ? { forced: true } : {}),
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
    ...(active.length > 1 ? [lastUsed] : []),
  ];
  redirect(res, start.url, setCookies);
}

/** Remembers the IdP last chosen in this browser, so the chooser can offer it first. */
export function lastIdpCookieName(components: Components): string {
  return `${components.config.cookies.name}-idp`;
}

/** One button per active IdP, the last used first; an email field when home-realm discovery is on. */
function showChooser(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  returnTo: string,
  error?: 'unknown-domain',
): void {
  const lastUsedId = readCookie(req.headers.cookie, lastIdpCookieName(components));
  const html = chooserPage({
    lang: negotiateLanguage(req.headers['accept-language']),
    branding: { title: tenant.config.title, ...tenant.config.branding },
    idps: activeIdps(tenant).map((idp) => ({
      id: idp.id,
      title: idp.title,
      href: `${PATHS.login}?idp=${encodeURIComponent(idp.id)}&rd=${encodeURIComponent(returnTo)}`,
      ...(idp.logo ? { logoDataUri: idp.logo } : {}),
    })),
    ...(lastUsedId ? { lastUsedId } : {}),
    ...(tenant.config.homeRealmDiscovery
      ? { homeRealm: { action: PATHS.login, returnTo, ...(error ? { error } : {}) } }
      : {}),
  });
  sendHtml(res, error ? 400 : 200, html);
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

export function storeUnavailable(): SlussError {
  return new SlussError(
    'ERR_STORE_UNAVAILABLE',
    'Sign-in is briefly unavailable. Please try again in a moment.',
  );
}

/**
 * Marks a login's state used, in the store (shared by replicas when the store
 * is): a copied transaction cookie replayed with the callback is refused.
 * Returns the error to answer with, or undefined for a first use.
 */
export async function useLoginOnce(components: Components, state: string): Promise<SlussError | undefined> {
  const first = await components.store
    .addOnce(STORE_KEYS.oidcState(state), LOGIN_TTL_SECONDS)
    .catch(() => undefined);
  if (first === undefined) return storeUnavailable();
  return first
    ? undefined
    : new SlussError('ERR_LOGIN_EXPIRED', 'This sign-in was already used. Please sign in again.');
}
