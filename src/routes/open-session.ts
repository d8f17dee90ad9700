/**
 * The last step of every login, OIDC or SAML: a new session (new ID, so no
 * fixation) whose expiry is the earliest of the tenant's maximum and the
 * IdP's own session end, sealed into the session cookie; the IdP's tokens and
 * logout handles kept server side; the login logged and counted; the browser
 * sent back to where it was going.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { epochSeconds } from '../clock.ts';
import type { Components } from '../components.ts';
import type { IdpConfig } from '../config/types.ts';
import { SlussError } from '../errors.ts';
import { redirect, sendHtml } from '../http/reply.ts';
import type { Identity } from '../identity/identity.ts';
import { negotiateLanguage } from '../pages/i18n.ts';
import { signedInPage } from '../pages/pages.ts';
import { PATHS } from '../paths.ts';
import { createSession } from '../sessions/session.ts';
import type { StoredSessionData } from '../sessions/session-data.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { brandingOf } from '../tenancy/tenants.ts';
import { denyAccess } from './access-denied.ts';
import { reviewIdentity } from './admission.ts';
import { failLogin } from './login-failure.ts';

export interface NewLogin {
  readonly idp: IdpConfig;
  /** What the protocol established (subject, issuer, MFA signals, auth time). */
  readonly identity: Identity;
  /** The raw claims the tenant's mapping reads. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The IdP's session handle for its logout messages (OIDC `sid`; SAML NameID + SessionIndex). */
  readonly idpSid: string | undefined;
  /** The IdP's own session end (SAML SessionNotOnOrAfter), epoch seconds. */
  readonly idpSessionEnd: number | undefined;
  readonly serverData: Omit<StoredSessionData, 'checkedAt'>;
  readonly returnTo: string;
  /** Set-Cookie values to send along (deleting the login's transaction cookie). */
  readonly setCookies: readonly string[];
  /** The login already made the IdP authenticate again. */
  readonly forced: boolean;
}

export async function openSession(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  newLogin: NewLogin,
): Promise<void> {
  let login = newLogin;
  const now = epochSeconds(components.clock);
  const admitted = await admit(components, req, res, tenant, login);
  if (!admitted) return;
  login = { ...login, identity: admitted };
  const notAfter = sessionNotAfter(tenant, login);
  if (
    notAfter !== undefined &&
    notAfter <= now &&
    !login.forced &&
    isStaleAuthentication(tenant, login, now)
  ) {
    // The IdP signed the user in silently from an authentication older than the tenant allows: ask again.
    components.audit.record({
      type: 'step_up',
      tenant: tenant.prefix,
      idp: login.idp.id,
      sub: login.identity.sub,
      reason: 'reauthenticate',
    });
    redirect(
      res,
      `${PATHS.login}?idp=${encodeURIComponent(login.idp.id)}&reauth=1&rd=${encodeURIComponent(login.returnTo)}`,
      login.setCookies,
    );
    return;
  }
  if (notAfter !== undefined && notAfter <= now) {
    failLogin(components, req, res, tenant, login.idp, sessionOver(), login.setCookies);
    return;
  }
  const session = createSession(
    {
      tenant: tenant.prefix,
      idp: login.idp.id,
      identity: login.identity,
      maxAgeSeconds: tenant.config.session.maxAgeSeconds,
      idpSid: login.idpSid,
      notAfter,
    },
    components.clock,
  );
  let sessionCookies: string[];
  try {
    sessionCookies = components.sessionCookies.write(
      await components.sessions.seal(session),
      session.exp - now,
      req.headers.cookie,
    );
  } catch (error) {
    failLogin(components, req, res, tenant, login.idp, error as SlussError, login.setCookies);
    return;
  }
  await components.sessionData.save(session, { ...login.serverData, checkedAt: now });
  components.metrics.logins.inc({ tenant: tenant.prefix, idp: login.idp.id, result: 'success' });
  const facts = {
    tenant: tenant.prefix,
    idp: login.idp.id,
    sub: login.identity.sub,
    sid: session.sid,
    mfa: login.identity.mfa,
    exp: session.exp,
  };
  components.audit.record({ type: 'login', ...facts });
  components.log.info({ event: 'login', ...facts }, 'login succeeded');
  if (components.config.cookies.sameSite === 'strict') {
    // A Strict cookie is not sent on the rest of the IdP's cross-site navigation: continue from our own origin.
    sendHtml(
      res,
      200,
      signedInPage({
        lang: negotiateLanguage(req.headers['accept-language']),
        branding: brandingOf(tenant),
        continueHref: login.returnTo,
      }),
      [...login.setCookies, ...sessionCookies],
    );
    return;
  }
  redirect(res, login.returnTo, [...login.setCookies, ...sessionCookies]);
}

/**
 * The IdP's side of the session's end: SAML SessionNotOnOrAfter, and with
 * `reauthenticateAfterSeconds` the user's last authentication at the IdP
 * (auth_time) plus that age. The tenant's own maximum applies on top.
 */
function sessionNotAfter(tenant: Tenant, login: NewLogin): number | undefined {
  const limits: number[] = [];
  if (login.idpSessionEnd !== undefined) limits.push(login.idpSessionEnd);
  const reauth = tenant.config.session.reauthenticateAfterSeconds;
  if (reauth !== undefined && login.identity.authTime !== undefined)
    limits.push(login.identity.authTime + reauth);
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

/**
 * The tenant's mapping and login policy: the identity with its mapped fields,
 * or undefined when the response has been written (denied, or sent back to
 * the IdP once for a step-up to MFA).
 */
async function admit(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  login: NewLogin,
): Promise<Identity | undefined> {
  const admission = await reviewIdentity(components, tenant, login.idp.id, login.identity, login.claims);
  if (admission.allow) return admission.identity;
  const base = { idp: login.idp.id, sub: login.identity.sub };
  const denial = {
    ...base,
    reason: admission.reason,
    ...(admission.detail ? { detail: admission.detail } : {}),
  };
  if (!admission.byPolicy) {
    denyAccess(components, req, res, tenant, denial, login.setCookies);
    return undefined;
  }
  const stepUp = `${PATHS.login}?idp=${encodeURIComponent(login.idp.id)}&reauth=1&mfa=1&rd=${encodeURIComponent(login.returnTo)}`;
  if (admission.reason === 'mfa-required' && !login.forced) {
    // One step-up attempt at the IdP (prompt=login + acr_values / ForceAuthn + MFA AuthnContext), then the MFA page.
    components.audit.record({ type: 'step_up', tenant: tenant.prefix, ...base, reason: 'mfa-required' });
    redirect(res, stepUp, login.setCookies);
    return undefined;
  }
  denyAccess(components, req, res, tenant, { ...denial, retryHref: stepUp }, login.setCookies);
  return undefined;
}

function isStaleAuthentication(tenant: Tenant, login: NewLogin, now: number): boolean {
  const reauth = tenant.config.session.reauthenticateAfterSeconds;
  return (
    reauth !== undefined && login.identity.authTime !== undefined && login.identity.authTime + reauth <= now
  );
}

function sessionOver(): SlussError {
  return new SlussError(
    'ERR_LOGIN_EXPIRED',
    "The identity provider's session has already ended. Please sign in again.",
  );
}
