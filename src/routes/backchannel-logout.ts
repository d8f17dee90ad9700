/**
 * POST /.sluss/backchannel-logout (OpenID Connect Back-Channel Logout 1.0):
 * the IdP tells sluss a user's session there has ended. The logout token is
 * validated by the IdP that issued it (chosen by `iss` and `aud` among the
 * tenant's IdPs), its `jti` is single-use, and then every sluss session opened
 * under that IdP session (`sid`) — or, without `sid`, every session of that
 * user (`sub`) — is revoked. Answers 200, or 400 with an OAuth-style error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { epochSeconds } from '../clock.ts';
import type { Components } from '../components.ts';
import { SlussError, toSlussError } from '../errors.ts';
import { newReference } from '../http/errors.ts';
import { readForm } from '../http/form-body.ts';
import type { LogoutClaims } from '../protocols/oidc/logout-token.ts';
import { unverifiedIssuer } from '../protocols/oidc/logout-token.ts';
import type { OidcRelyingParty } from '../protocols/oidc/oidc-client.ts';
import { userKeyOf } from '../sessions/revocations.ts';
import { STORE_KEYS } from '../store/store.ts';
import type { Tenant } from '../tenancy/tenants.ts';

function reply(res: ServerResponse, status: number, body?: object): void {
  const text = body ? JSON.stringify(body) : '';
  res.writeHead(status, {
    'cache-control': 'no-store',
    ...(body ? { 'content-type': 'application/json' } : {}),
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function handleBackchannelLogout(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
): Promise<void> {
  const log = components.log.child({ tenant: tenant.prefix, event: 'backchannel_logout' });
  try {
    const token = (await readForm(req)).get('logout_token') ?? '';
    const { rp, claims } = await verifyWithTenantIdps(tenant, token);
    const ttl = Math.max(60, claims.exp - epochSeconds(components.clock) + rp.idp.clockSkewSeconds);
    if (!(await components.store.addOnce(STORE_KEYS.logoutJti(claims.issuer, claims.jti), ttl))) {
      throw new SlussError('ERR_LOGOUT_TOKEN_INVALID', 'The logout token was already used.');
    }
    const ended = await endSessions(components, tenant, rp, claims);
    log.info({ idp: rp.idp.id, sub: claims.sub, idpSid: claims.sid, sessions: ended }, 'back-channel logout');
    components.audit.record({
      type: 'session_revoked',
      tenant: tenant.prefix,
      idp: rp.idp.id,
      ...(claims.sub ? { sub: claims.sub } : {}),
      reason: 'backchannel-logout',
      sessions: ended,
    });
    reply(res, 200);
  } catch (error) {
    const failure = toSlussError(error, 'ERR_LOGOUT_TOKEN_INVALID');
    const reference = newReference();
    log.warn({ ref: reference, code: failure.code, err: failure.cause ?? undefined }, failure.message);
    // §2.8: 400 with an OAuth error; the detail stays in our log.
    reply(res, 400, {
      error: 'invalid_request',
      error_description: `${failure.code} (reference ${reference})`,
    });
  }
}

async function verifyWithTenantIdps(
  tenant: Tenant,
  token: string,
): Promise<{ rp: OidcRelyingParty; claims: LogoutClaims }> {
  const issuer = unverifiedIssuer(token);
  const candidates = [...tenant.oidc.values()].filter((rp) => rp.idp.issuer === issuer);
  if (candidates.length === 0)
    throw new SlussError('ERR_LOGOUT_TOKEN_INVALID', 'The logout token is from an unknown issuer.');
  let lastError: unknown;
  // Several IdP entries may share an issuer (different clients): the audience picks one.
  for (const rp of candidates) {
    try {
      return { rp, claims: await rp.verifyLogoutToken(token) };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** Revokes the sessions the token names; returns how many (or -1 for "all of the user's"). */
async function endSessions(
  components: Components,
  tenant: Tenant,
  rp: OidcRelyingParty,
  claims: LogoutClaims,
): Promise<number> {
  const now = epochSeconds(components.clock);
  const until = now + tenant.config.session.maxAgeSeconds;
  if (claims.sid) {
    const sids = await components.sessionData.sessionsOfIdpSession(tenant.prefix, rp.idp.id, claims.sid);
    for (const sid of sids) {
      components.revocations.revoke(sid, until);
      components.identityHeaders.evict(sid);
      await components.sessionData.remove(sid);
    }
    return sids.length;
  }
  const sub = claims.sub ?? '';
  components.revocations.revokeUser(
    userKeyOf({ tenant: tenant.prefix, identity: { issuer: claims.issuer, sub } }),
    now,
    until,
  );
  return -1;
}
