/**
 * /.sluss/logout ends the session: its ID is revoked (so a copied cookie is
 * dead too), its server-side data dropped, the cookies deleted; then the
 * browser goes on to the IdP's end-session endpoint (RP-initiated logout,
 * with the ID token as hint) when the IdP has one, else to the logged-out
 * page. /.sluss/logged-out shows that page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import { redirect, sendHtml } from '../http/reply.ts';
import { negotiateLanguage } from '../pages/i18n.ts';
import { loggedOutPageFor, logoutConfirmPageFor } from '../pages/pages.ts';
import { PATHS } from '../paths.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { brandingOf } from '../tenancy/tenants.ts';
import { loginPath } from './login.ts';

export async function handleLogout(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
): Promise<void> {
  // A cross-site page must not be able to sign users out (an <img> or a form on another site).
  if (!isSameOriginRequest(req, tenant.publicOrigin)) {
    sendHtml(res, 200, logoutConfirmPageFor({ ...pageContext(req, tenant), action: PATHS.logout }));
    return;
  }
  const clear = components.sessionCookies.clear(req.headers.cookie);
  const lookup = await components.sessions.lookup(
    components.sessionCookies.read(req.headers.cookie),
    tenant.prefix,
  );
  if (!('session' in lookup)) {
    redirect(res, PATHS.loggedOut, clear);
    return;
  }
  const { session } = lookup;
  components.revocations.revoke(session.sid, session.exp);
  components.identityHeaders.evict(session.sid);
  const data = await components.sessionData.load(session.sid);
  await components.sessionData.remove(session.sid);
  components.log.info(
    { event: 'logout', tenant: tenant.prefix, idp: session.idp, sub: session.identity.sub, sid: session.sid },
    'logout',
  );
  components.audit.record({
    type: 'logout',
    tenant: tenant.prefix,
    idp: session.idp,
    sub: session.identity.sub,
    sid: session.sid,
  });

  let endSession: string | undefined;
  try {
    const rp = tenant.oidc.get(session.idp);
    const sp = tenant.saml.get(session.idp);
    if (rp) endSession = await rp.endSessionUrl(data?.idToken, `${tenant.publicOrigin}${PATHS.loggedOut}`);
    // SAML single logout: a signed LogoutRequest; the IdP answers at /.sluss/saml/slo.
    else if (sp && data?.saml) endSession = await sp.logoutRequestUrl(data.saml, '');
  } catch (error) {
    // The local session is over either way; an unreachable IdP only skips its logout.
    components.log.warn(
      { err: error, tenant: tenant.prefix, idp: session.idp },
      'RP-initiated logout skipped',
    );
  }
  redirect(res, endSession ?? PATHS.loggedOut, clear);
}

/**
 * Fetch Metadata and Origin say where a request came from. Without either
 * (non-browser clients, old browsers) the request is taken as direct.
 */
export function isSameOriginRequest(req: IncomingMessage, origin: string): boolean {
  const site = req.headers['sec-fetch-site'];
  // Fetch Metadata is authoritative where present (Origin may be "null" under a strict referrer policy).
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const from = req.headers.origin;
  return from === undefined || from === origin;
}

export function handleLoggedOut(req: IncomingMessage, res: ServerResponse, tenant: Tenant): void {
  sendHtml(res, 200, loggedOutPageFor({ ...pageContext(req, tenant), loginHref: loginPath('/') }));
}

/** The language and the tenant's branding for a page. */
function pageContext(req: IncomingMessage, tenant: Tenant) {
  return { lang: negotiateLanguage(req.headers['accept-language']), branding: brandingOf(tenant) };
}
