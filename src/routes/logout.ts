/**
 * /.sluss/logout ends the session: its ID is revoked (so a copied cookie is
 * dead too), the cookies are deleted, and the browser lands on the
 * logged-out page. /.sluss/logged-out shows that page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import { redirect, sendHtml } from '../http/reply.ts';
import { loggedOutPage } from '../pages/pages.ts';
import { PATHS } from '../paths.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { loginPath } from './login.ts';

export async function handleLogout(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
): Promise<void> {
  const lookup = await components.sessions.lookup(
    components.sessionCookies.read(req.headers.cookie),
    tenant.prefix,
  );
  if ('session' in lookup) {
    const { session } = lookup;
    components.revocations.revoke(session.sid, session.exp);
    components.identityHeaders.evict(session.sid);
    components.log.info(
      {
        event: 'logout',
        tenant: tenant.prefix,
        idp: session.idp,
        sub: session.identity.sub,
        sid: session.sid,
      },
      'logout',
    );
  }
  redirect(res, PATHS.loggedOut, components.sessionCookies.clear(req.headers.cookie));
}

export function handleLoggedOut(res: ServerResponse): void {
  sendHtml(res, 200, loggedOutPage(loginPath('/')));
}
