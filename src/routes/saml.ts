/**
 * The SAML endpoints under /.sluss/saml/:
 *   metadata  the SP metadata ops paste into the IdP
 *   acs       Assertion Consumer Service (HTTP-POST): SP- and IdP-initiated login
 *   slo       single logout: the IdP's LogoutRequest (Redirect or POST) ends the
 *             matching sessions and is answered with a LogoutResponse; the IdP's
 *             LogoutResponse to our own LogoutRequest ends on the logged-out page
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { epochSeconds } from '../clock.ts';
import type { Components } from '../components.ts';
import { SlussError } from '../errors.ts';
import { expireCookie, readCookie } from '../http/cookies.ts';
import { replyError } from '../http/errors.ts';
import { readForm } from '../http/form-body.ts';
import { redirect } from '../http/reply.ts';
import { safeReturnPath } from '../http/return-url.ts';
import { identityFromOidcClaims } from '../identity/identity.ts';
import { PATHS } from '../paths.ts';
import type { SamlServiceProvider } from '../protocols/saml/saml-sp.ts';
import { children, decodePostedMessage, parseXml, SAML_NS, textOf } from '../protocols/saml/xml.ts';
import { transactionCookieName } from '../sessions/login-transaction.ts';
import { userKeyOf } from '../sessions/revocations.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { loginPath, transactionCookieAttributes, useLoginOnce } from './login.ts';
import { failLogin } from './login-failure.ts';
import { openSession } from './open-session.ts';

/** The IdP-session handle a SAML session is indexed under for single logout. */
export function samlSessionHandle(nameId: string, sessionIndex: string): string {
  return `${nameId}\n${sessionIndex}`;
}

export function handleSamlMetadata(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
): void {
  const sp = tenant.saml.values().next().value;
  if (!sp) {
    replyError(req, res, components.log, new SlussError('ERR_NOT_FOUND', 'This site has no SAML sign-in.'));
    return;
  }
  const body = sp.metadataXml();
  res.writeHead(200, {
    'content-type': 'application/samlmetadata+xml; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'public, max-age=300',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export async function handleSamlAcs(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
): Promise<void> {
  let form: URLSearchParams;
  try {
    form = await readForm(req, 1024 * 1024);
  } catch (error) {
    failLogin(components, req, res, tenant, undefined, error as SlussError);
    return;
  }
  const samlResponse = form.get('SAMLResponse') ?? '';
  const relayState = form.get('RelayState') ?? '';
  const { config } = components;

  // SP-initiated: the RelayState names this browser's transaction cookie.
  const isState = /^[A-Za-z0-9_-]{32}$/.test(relayState);
  const txnCookie = isState ? transactionCookieName(config.cookies.txnPrefix, relayState) : undefined;
  const sealed = txnCookie ? readCookie(req.headers.cookie, txnCookie) : undefined;
  const transaction = sealed ? await components.transactions.open(sealed, relayState) : undefined;
  const txnSp =
    transaction && transaction.tenant === tenant.prefix ? tenant.saml.get(transaction.idp) : undefined;
  const clearTxn =
    txnCookie && sealed ? [expireCookie(txnCookie, transactionCookieAttributes(components, txnSp?.idp))] : [];

  // IdP-initiated (unsolicited) otherwise: the IdP is found by the issuer it claims; its key then decides.
  const solicited = transaction !== undefined && txnSp !== undefined;
  const sp = txnSp ?? (await spForIssuer(tenant, samlResponse));
  if (!sp) {
    failLogin(
      components,
      req,
      res,
      tenant,
      undefined,
      refusal('The SAML response comes from an unknown identity provider.'),
      clearTxn,
    );
    return;
  }
  const used = solicited ? await useLoginOnce(components, relayState) : undefined;
  if (used) {
    failLogin(components, req, res, tenant, sp.idp, used, clearTxn);
    return;
  }
  const landing = relayState.startsWith('/') ? safeReturnPath(relayState, tenant.publicOrigin, '') : '';
  const returnTo =
    solicited && transaction ? transaction.returnTo : landing || sp.idp.idpInitiatedLandingPath;

  let result: Awaited<ReturnType<SamlServiceProvider['acceptResponse']>>;
  try {
    result = await sp.acceptResponse(samlResponse, solicited ? transaction?.requestId : undefined);
  } catch (error) {
    const failure =
      error instanceof SlussError
        ? error
        : refusal('The SAML response was refused.', 'ERR_SAML_RESPONSE_INVALID', error);
    failLogin(components, req, res, tenant, sp.idp, failure, clearTxn, loginPath(returnTo));
    return;
  }
  let identity: ReturnType<typeof identityFromOidcClaims>;
  try {
    identity = identityFromOidcClaims(result.claims, { source: 'acr', acrValues: sp.idp.mfaAuthnContexts });
    // MFA from the AuthnContextClassRef, or from the methods Entra ID / AD FS list (authnmethodsreferences).
    if (!identity.mfa && identity.amr?.some((method) => sp.idp.mfaAuthnContexts.includes(method))) {
      identity = { ...identity, mfa: true };
    }
  } catch (error) {
    failLogin(components, req, res, tenant, sp.idp, error as SlussError, clearTxn);
    return;
  }
  await openSession(components, req, res, tenant, {
    idp: sp.idp,
    identity,
    claims: result.claims,
    idpSid: result.sessionIndex ? samlSessionHandle(result.nameId, result.sessionIndex) : undefined,
    idpSessionEnd: result.sessionNotOnOrAfter,
    serverData: {
      saml: {
        nameId: result.nameId,
        nameIdFormat: result.nameIdFormat,
        ...(result.sessionIndex ? { sessionIndex: result.sessionIndex } : {}),
      },
    },
    returnTo,
    setCookies: clearTxn,
    forced: solicited && transaction?.forced === true,
  });
}

function refusal(
  message: string,
  code: 'ERR_SAML_RESPONSE_INVALID' | 'ERR_LOGIN_EXPIRED' = 'ERR_SAML_RESPONSE_INVALID',
  cause?: unknown,
): SlussError {
  return new SlussError(code, message, cause === undefined ? undefined : { cause });
}

/** The tenant's SAML IdP whose entity ID the (not yet verified) response names as its issuer. */
async function spForIssuer(tenant: Tenant, samlResponse: string): Promise<SamlServiceProvider | undefined> {
  let issuer: string | undefined;
  try {
    const root = parseXml(decodePostedMessage(samlResponse)).documentElement as unknown as Element;
    const element = children(root, SAML_NS.assertion, 'Issuer')[0];
    issuer = element ? textOf(element) : undefined;
  } catch {
    return undefined;
  }
  for (const sp of tenant.saml.values()) {
    try {
      if ((await sp.entityId()) === issuer) return sp;
    } catch {
      // An IdP whose metadata cannot be loaded cannot be the issuer we verify against.
    }
  }
  return undefined;
}

export async function handleSamlSlo(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  url: URL,
): Promise<void> {
  let form: URLSearchParams | undefined;
  if (req.method === 'POST') {
    try {
      form = await readForm(req, 1024 * 1024);
    } catch (error) {
      replyError(req, res, components.log, error as SlussError, { format: 'html' });
      return;
    }
  }
  const params = form ?? url.searchParams;
  const input = form ? { form } : { query: url.searchParams, rawQuery: url.search.slice(1) };
  const log = components.log.child({ tenant: tenant.prefix, event: 'saml_slo' });

  if (params.has('SAMLResponse')) {
    // The IdP confirms the logout sluss asked for; the local session ended before we sent it.
    for (const sp of tenant.saml.values()) {
      try {
        await sp.acceptLogoutResponse(input);
        redirect(res, PATHS.loggedOut);
        return;
      } catch (error) {
        log.debug({ err: error, idp: sp.idp.id }, 'LogoutResponse not from this IdP');
      }
    }
    redirect(res, PATHS.loggedOut);
    return;
  }

  let lastError: unknown = refusal('The logout request names no known identity provider.');
  for (const sp of tenant.saml.values()) {
    let request: Awaited<ReturnType<SamlServiceProvider['acceptLogoutRequest']>>;
    try {
      request = await sp.acceptLogoutRequest(input);
    } catch (error) {
      lastError = error;
      continue;
    }
    // The browser carrying the request is usually the user's: its cookie goes too, if it is that user's.
    const own = await components.sessions.lookup(
      components.sessionCookies.read(req.headers.cookie),
      tenant.prefix,
    );
    const sameUser =
      'session' in own && own.session.idp === sp.idp.id && own.session.identity.sub === request.nameId;
    const ended = await endSamlSessions(components, tenant, sp, request.nameId, request.sessionIndex);
    log.info({ idp: sp.idp.id, sessions: ended }, 'IdP-initiated single logout');
    components.audit.record({
      type: 'session_revoked',
      tenant: tenant.prefix,
      idp: sp.idp.id,
      sub: request.nameId,
      reason: 'saml-single-logout',
      sessions: ended,
    });
    redirect(
      res,
      await request.responseUrl(params.get('RelayState') ?? '', true),
      sameUser ? components.sessionCookies.clear(req.headers.cookie) : [],
    );
    return;
  }
  replyError(
    req,
    res,
    log,
    lastError instanceof SlussError
      ? lastError
      : refusal('The logout request was refused.', 'ERR_SAML_RESPONSE_INVALID', lastError),
    {
      format: 'html',
    },
  );
}

/** Ends the sessions a LogoutRequest names: by SessionIndex, or every session of that NameID. */
async function endSamlSessions(
  components: Components,
  tenant: Tenant,
  sp: SamlServiceProvider,
  nameId: string,
  sessionIndex: string | undefined,
): Promise<number> {
  const now = epochSeconds(components.clock);
  const until = now + tenant.config.session.maxAgeSeconds;
  if (sessionIndex) {
    const sids = await components.sessionData.sessionsOfIdpSession(
      tenant.prefix,
      sp.idp.id,
      samlSessionHandle(nameId, sessionIndex),
    );
    for (const sid of sids) {
      components.revocations.revoke(sid, until);
      components.identityHeaders.evict(sid);
      await components.sessionData.remove(sid);
    }
    return sids.length;
  }
  const issuer = await sp.entityId();
  components.revocations.revokeUser(
    userKeyOf({ tenant: tenant.prefix, identity: { issuer, sub: nameId } }),
    now,
    until,
  );
  return -1;
}
