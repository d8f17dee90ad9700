/**
 * How a failed login is answered: API clients get JSON with the code; a
 * browser goes to the IdP's configured error redirect (with the code and
 * reference, never the cause) or sees sluss's error page with a retry link.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import type { IdpConfig } from '../config/types.ts';
import type { SlussError } from '../errors.ts';
import { newReference, replyError } from '../http/errors.ts';
import { redirect } from '../http/reply.ts';
import { isBrowserNavigation } from '../http/request-kind.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { brandingOf } from '../tenancy/tenants.ts';
import { loginPath } from './login.ts';

export function failLogin(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  idp: IdpConfig | undefined,
  error: SlussError,
  setCookies: readonly string[] = [],
  retryPath: string = loginPath('/'),
): void {
  const log = components.log.child({ tenant: tenant.prefix, idp: idp?.id ?? 'unknown' });
  components.metrics.logins.inc({ tenant: tenant.prefix, idp: idp?.id ?? 'unknown', result: error.code });
  // A form_post callback is a top-level navigation too, even though it is a POST.
  const browser =
    isBrowserNavigation(req) || (req.method === 'POST' && req.headers['sec-fetch-mode'] !== 'cors');
  // The IdP's own error redirect wins over the tenant's.
  const errorRedirectUrl =
    (idp?.type === 'oidc' ? idp.errorRedirectUrl : undefined) ?? tenant.config.errorRedirectUrl;
  if (errorRedirectUrl && browser) {
    const reference = newReference();
    log.warn({ ref: reference, code: error.code, err: error.cause ?? undefined }, error.message);
    const target = new URL(errorRedirectUrl);
    target.searchParams.set('error', error.code);
    target.searchParams.set('reference', reference);
    redirect(res, target.href, setCookies);
    auditFailure(components, tenant, idp, error, reference);
    return;
  }
  const reference = replyError(req, res, log, error, {
    branding: brandingOf(tenant),
    retryPath,
    setCookies,
    ...(browser ? { format: 'html' as const } : {}),
  });
  auditFailure(components, tenant, idp, error, reference);
}

function auditFailure(
  components: Components,
  tenant: Tenant,
  idp: IdpConfig | undefined,
  error: SlussError,
  ref: string,
): void {
  components.audit.record({
    type: 'login_failed',
    tenant: tenant.prefix,
    ...(idp ? { idp: idp.id } : {}),
    reason: error.code,
    ref,
  });
}
