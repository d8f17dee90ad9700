/**
 * /.sluss/callback: the IdP's answer to a login, as a query (GET) or a
 * form_post (POST). The transaction cookie named after `state` must exist, be
 * intact and belong to this tenant; the state is single-use across replicas
 * (store); then the OIDC adapter validates tokens and claims. Only then is a
 * new session (new ID: no fixation) sealed into the session cookie, and the
 * IdP's tokens kept server side. The transaction cookie is deleted whatever
 * the outcome.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Components } from '../components.ts';
import type { IdpConfig } from '../config/types.ts';
import { SlussError } from '../errors.ts';
import { expireCookie, readCookie } from '../http/cookies.ts';
import { readForm } from '../http/form-body.ts';
import { identityFromOidcClaims } from '../identity/identity.ts';
import type { CompletedLogin } from '../protocols/oidc/oidc-client.ts';
import { transactionCookieName } from '../sessions/login-transaction.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { loginPath, transactionCookieAttributes, useLoginOnce } from './login.ts';
import { failLogin } from './login-failure.ts';
import { openSession } from './open-session.ts';

const MAX_STATE_LENGTH = 256;

export async function handleCallback(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  url: URL,
): Promise<void> {
  const { config, log, metrics } = components;
  let form: URLSearchParams | undefined;
  if (req.method === 'POST') {
    try {
      form = await readForm(req);
    } catch (error) {
      failLogin(components, req, res, tenant, undefined, error as SlussError);
      return;
    }
  }
  const params = form ?? url.searchParams;
  const state = params.get('state') ?? '';
  const validState = state.length > 0 && state.length <= MAX_STATE_LENGTH && /^[A-Za-z0-9_-]+$/.test(state);
  const txnCookie = validState ? transactionCookieName(config.cookies.txnPrefix, state) : undefined;
  const sealed = txnCookie ? readCookie(req.headers.cookie, txnCookie) : undefined;
  const clearTxnFor = (idp: IdpConfig | undefined): string[] =>
    txnCookie && sealed !== undefined
      ? [expireCookie(txnCookie, transactionCookieAttributes(components, idp))]
      : [];
  let clearTxn = clearTxnFor(undefined);

  if (!validState) {
    failLogin(
      components,
      req,
      res,
      tenant,
      undefined,
      new SlussError(
        'ERR_OIDC_STATE_MISMATCH',
        'This sign-in response does not belong to a sign-in started here.',
      ),
    );
    return;
  }
  const transaction = await components.transactions.open(sealed, state);
  if (!transaction) {
    failLogin(
      components,
      req,
      res,
      tenant,
      undefined,
      new SlussError(
        'ERR_LOGIN_EXPIRED',
        'This sign-in has expired or was already used. Please sign in again.',
      ),
      clearTxn,
    );
    return;
  }
  const rp = tenant.oidc.get(transaction.idp);
  clearTxn = clearTxnFor(rp?.idp);
  if (transaction.tenant !== tenant.prefix || !rp) {
    failLogin(
      components,
      req,
      res,
      tenant,
      undefined,
      new SlussError('ERR_OIDC_STATE_MISMATCH', 'This sign-in response belongs to another site.'),
      clearTxn,
    );
    return;
  }
  // Single use, recorded in the store (shared by replicas once the store is): a copied transaction
  // cookie replayed with the callback is refused.
  const used = await useLoginOnce(components, state);
  if (used) {
    failLogin(components, req, res, tenant, rp.idp, used, clearTxn);
    return;
  }

  const stopTimer = metrics.loginDuration.startTimer({ tenant: tenant.prefix, idp: rp.idp.id });
  let completed: CompletedLogin;
  let identity: ReturnType<typeof identityFromOidcClaims>;
  try {
    completed = await rp.completeAuthorization(
      { url, ...(form ? { form } : {}) },
      { ...transaction, maxAgeSeconds: tenant.config.session.reauthenticateAfterSeconds },
    );
    identity = identityFromOidcClaims(completed.claims, rp.idp.mfa);
  } catch (error) {
    const failure =
      error instanceof SlussError
        ? error
        : new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The sign-in could not be completed.', {
            cause: error,
          });
    failLogin(components, req, res, tenant, rp.idp, failure, clearTxn, loginPath(transaction.returnTo));
    return;
  } finally {
    stopTimer();
  }

  if (rp.idp.refresh.enabled && !completed.tokens.refreshToken) {
    log.warn(
      { tenant: tenant.prefix, idp: rp.idp.id },
      'refresh is enabled but the IdP issued no refresh token (request offline_access, or allow refresh tokens for this client at the IdP)',
    );
  }
  await openSession(components, req, res, tenant, {
    idp: rp.idp,
    identity,
    claims: completed.claims,
    idpSid: typeof completed.claims.sid === 'string' ? completed.claims.sid : undefined,
    idpSessionEnd: undefined,
    serverData: {
      idToken: completed.tokens.idToken,
      ...(completed.tokens.refreshToken && rp.idp.refresh.enabled
        ? { refreshToken: completed.tokens.refreshToken }
        : {}),
    },
    returnTo: transaction.returnTo,
    setCookies: clearTxn,
    forced: transaction.forced === true,
  });
}
