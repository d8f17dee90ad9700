/**
 * Answers a policy denial: browsers get the access-denied page (or the
 * MFA-required page) with the reason code and a reference, API clients a 403
 * JSON body; the denial goes to the log and the audit stream with the same
 * reference.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import { newReference } from '../http/errors.ts';
import { sendHtml, sendJson } from '../http/reply.ts';
import { isBrowserNavigation } from '../http/request-kind.ts';
import type { DenyReason } from '../identity/policy.ts';
import { negotiateLanguage } from '../pages/i18n.ts';
import { accessDeniedPage, mfaRequiredPage } from '../pages/pages.ts';
import { PATHS } from '../paths.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { brandingOf } from '../tenancy/tenants.ts';

export interface Denial {
  /** A policy reason, or the directory's: the user is deactivated/deleted, or was never provisioned. */
  readonly reason: DenyReason | 'user-deactivated' | 'user-unknown';
  readonly detail?: string | undefined;
  readonly idp?: string | undefined;
  readonly sub?: string | undefined;
  readonly sid?: string | undefined;
  /** Where the MFA page's "try again" goes (a forced login with step-up). */
  readonly retryHref?: string | undefined;
}

export function denyAccess(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  denial: Denial,
  setCookies: readonly string[] = [],
): void {
  const reference = newReference();
  const code = denial.reason === 'mfa-required' ? 'ERR_MFA_REQUIRED' : 'ERR_ACCESS_DENIED';
  components.log.warn(
    { ref: reference, code, reason: denial.reason, tenant: tenant.prefix, idp: denial.idp, sub: denial.sub },
    denial.detail ?? 'access denied',
  );
  components.audit.record({
    type: 'denied',
    tenant: tenant.prefix,
    reason: denial.reason,
    ref: reference,
    ...(denial.idp ? { idp: denial.idp } : {}),
    ...(denial.sub ? { sub: denial.sub } : {}),
    ...(denial.sid ? { sid: denial.sid } : {}),
    ...(denial.detail ? { detail: denial.detail } : {}),
  });
  const browser =
    isBrowserNavigation(req) || (req.method === 'POST' && req.headers['sec-fetch-mode'] !== 'cors');
  if (!browser) {
    sendJson(
      res,
      403,
      { error: code, reason: denial.reason, reference },
      setCookies.length > 0 ? { 'set-cookie': [...setCookies] } : {},
    );
    return;
  }
  const context = {
    lang: negotiateLanguage(req.headers['accept-language']),
    branding: brandingOf(tenant),
    reference,
    logoutHref: PATHS.logout,
  };
  const html =
    denial.reason === 'mfa-required'
      ? mfaRequiredPage({ ...context, ...(denial.retryHref ? { retryHref: denial.retryHref } : {}) })
      : accessDeniedPage({ ...context, reason: denial.reason });
  sendHtml(res, 403, html, setCookies);
}
