/**
 * GET /.sluss/callback: the IdP's answer to a login. The transaction cookie
 * named after `state` must exist, be intact and belong to this tenant; then
 * openid-client validates the code exchange and the ID token. Only then is a
 * new session (new ID: no fixation) sealed into the session cookie. The
 * transaction cookie is deleted whatever the outcome, so a callback URL
 * cannot be replayed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { epochSeconds } from '../clock.ts';
import type { Components } from '../components.ts';
import { SlussError } from '../errors.ts';
import { expireCookie, readCookie } from '../http/cookies.ts';
import { replyError } from '../http/errors.ts';
import { redirect } from '../http/reply.ts';
import { identityFromOidcClaims } from '../identity/identity.ts';
import { transactionCookieName } from '../sessions/login-transaction.ts';
import { createSession } from '../sessions/session.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { loginPath } from './login.ts';

const MAX_STATE_LENGTH = 256;

export async function handleCallback(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  url: URL,
): Promise<void> {
  const { config, log, metrics } = components;
  const state = url.searchParams.get('state') ?? '';
  const cookieAttributes = { secure: config.cookies.secure, sameSite: 'lax', path: '/' } as const;
  const txnCookie = state ? transactionCookieName(config.cookies.txnPrefix, state) : undefined;
  const clearTxn =
    txnCookie && readCookie(req.headers.cookie, txnCookie) !== undefined
      ? [expireCookie(txnCookie, cookieAttributes)]
      : [];
  const fail = (error: SlussError, idp = 'unknown') => {
    metrics.logins.inc({ tenant: tenant.prefix, idp, result: error.code });
    replyError(req, res, log.child({ tenant: tenant.prefix, idp }), error, {
      retryPath: loginPath('/'),
      setCookies: clearTxn,
    });
  };

  if (!state || state.length > MAX_STATE_LENGTH || !/^[A-Za-z0-9_-]+$/.test(state) || !txnCookie) {
    fail(
      new SlussError(
        'ERR_OIDC_STATE_MISMATCH',
        'This sign-in response does not belong to a sign-in started here.',
      ),
    );
    return;
  }
  const transaction = await components.transactions.open(readCookie(req.headers.cookie, txnCookie), state);
  if (!transaction) {
    fail(
      new SlussError(
        'ERR_LOGIN_EXPIRED',
        'This sign-in has expired or was already used. Please sign in again.',
      ),
    );
    return;
  }
  const rp = tenant.idps.get(transaction.idp);
  if (transaction.tenant !== tenant.prefix || !rp) {
    fail(
      new SlussError('ERR_OIDC_STATE_MISMATCH', 'This sign-in response belongs to another site.'),
      transaction.idp,
    );
    return;
  }

  const stopTimer = metrics.loginDuration.startTimer({ tenant: tenant.prefix, idp: rp.idp.id });
  let identity: ReturnType<typeof identityFromOidcClaims>;
  try {
    const completed = await rp.completeAuthorization(url, transaction);
    identity = identityFromOidcClaims(completed.claims);
  } catch (error) {
    stopTimer();
    fail(
      error instanceof SlussError
        ? error
        : new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The sign-in could not be completed.', {
            cause: error,
          }),
      rp.idp.id,
    );
    return;
  }
  stopTimer();

  const session = createSession(
    { tenant: tenant.prefix, idp: rp.idp.id, identity, maxAgeSeconds: tenant.config.session.maxAgeSeconds },
    components.clock,
  );
  const sealed = await components.sessions.seal(session);
  const sessionCookies = components.sessionCookies.write(
    sealed,
    session.exp - epochSeconds(components.clock),
    req.headers.cookie,
  );
  metrics.logins.inc({ tenant: tenant.prefix, idp: rp.idp.id, result: 'success' });
  log.info(
    {
      event: 'login',
      tenant: tenant.prefix,
      idp: rp.idp.id,
      sub: identity.sub,
      sid: session.sid,
      exp: session.exp,
    },
    'login succeeded',
  );
  redirect(res, transaction.returnTo, [...clearTxn, ...sessionCookies]);
}
