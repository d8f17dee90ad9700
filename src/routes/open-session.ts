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
import { redirect } from '../http/reply.ts';
import type { Identity } from '../identity/identity.ts';
import { PATHS } from '../paths.ts';
import { createSession } from '../sessions/session.ts';
import type { StoredSessionData } from '../sessions/session-data.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { failLogin } from './login-failure.ts';

export interface NewLogin {
  readonly idp: IdpConfig;
  readonly identity: Identity;
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
  login: NewLogin,
): Promise<void> {
  const now = epochSeconds(components.clock);
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
  components.audit.record({
    type: 'login',
    tenant: tenant.prefix,
    idp: login.idp.id,
    sub: login.identity.sub,
    sid: session.sid,
    mfa: login.identity.mfa,
    exp: session.exp,
  });
  components.log.info(
    {
      event: 'login',
      tenant: tenant.prefix,
      idp: login.idp.id,
      sub: login.identity.sub,
      sid: session.sid,
      mfa: login.identity.mfa,
      exp: session.exp,
    },
    'login succeeded',
  );
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
