/**
 * /.sluss/scim/v2/*: the SCIM 2.0 service provider of a tenant. The bearer
 * token is checked against the tenant's token hashes (constant time), each
 * token is rate limited, the body is read with a hard size limit, and the
 * transport-independent SCIM core (src/scim/) does the rest. Every change is
 * audited; deactivating or deleting a user revokes all of that user's
 * sessions on every replica at once (through the store's revocation bus).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { epochSeconds } from '../clock.ts';
import type { Components } from '../components.ts';
import type { ScimConfig } from '../config/schema.ts';
import { readBoundedBody } from '../http/body.ts';
import type { ScimResponse } from '../scim/errors.ts';
import { errorResponse, ScimError, unauthorized } from '../scim/errors.ts';
import type { ScimChangeEvent } from '../scim/handler.ts';
import { handleScimRequest } from '../scim/handler.ts';
import { bearerToken, hashScimToken, verifyScimToken } from '../scim/token.ts';
import { directoryUserKeys } from '../sessions/revocations.ts';
import type { Tenant } from '../tenancy/tenants.ts';

export const SCIM_ROOT = '/.sluss/scim/v2';

/** Fixed one-minute windows per token: bounded memory (one entry per configured token). */
export class ScimRateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** Seconds to wait, or 0 when the request may go ahead. */
  take(key: string, perMinute: number, nowMs: number): number {
    const window = this.windows.get(key);
    if (!window || nowMs - window.start >= 60_000) {
      this.windows.set(key, { start: nowMs, count: 1 });
      return 0;
    }
    window.count++;
    return window.count > perMinute ? Math.ceil((window.start + 60_000 - nowMs) / 1000) : 0;
  }
}

export async function handleScimRoute(
  components: Components,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: Tenant,
  url: URL,
): Promise<void> {
  const scim = tenant.config.scim;
  if (!scim) {
    send(res, errorResponse(new ScimError(404, 'SCIM is not enabled for this tenant.')));
    return;
  }
  const token = bearerToken(req.headers.authorization);
  if (!token || !verifyScimToken(token, scim.tokenHashes)) {
    req.resume();
    components.log.warn(
      { event: 'scim_unauthorized', tenant: tenant.prefix },
      'SCIM request without a valid token',
    );
    send(res, unauthorized());
    return;
  }
  const wait = components.scimRateLimiter.take(
    hashScimToken(token),
    scim.limits.requestsPerMinute,
    components.clock.now(),
  );
  if (wait > 0) {
    req.resume();
    const limited = errorResponse(new ScimError(429, 'Too many requests for this token; slow down.'));
    send(res, { ...limited, headers: { ...limited.headers, 'Retry-After': String(wait) } });
    return;
  }
  let body: unknown;
  try {
    body = await readJsonBody(req, scim.limits.maxBodyBytes);
  } catch (error) {
    send(
      res,
      errorResponse(
        error instanceof ScimError
          ? error
          : new ScimError(400, 'The request body could not be read.', 'invalidSyntax'),
      ),
    );
    return;
  }
  const response = await handleScimRequest(
    {
      method: req.method ?? 'GET',
      path: url.pathname.slice(SCIM_ROOT.length) || '/',
      query: url.searchParams,
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(', ') : value,
        ]),
      ),
      body,
    },
    {
      tenant: tenant.prefix,
      directory: components.directory,
      clock: components.clock,
      baseUrl: `${tenant.publicOrigin}${SCIM_ROOT}`,
      limits: {
        maxPageSize: scim.limits.maxPageSize,
        maxMembersPerRequest: scim.limits.maxMembersPerRequest,
      },
      deletion: scim.deletion.mode,
      onChange: (event) => onScimChange(components, tenant, scim, event),
      onError: (error) => components.log.error({ err: error, tenant: tenant.prefix }, 'SCIM request failed'),
    },
  );
  send(res, response);
}

/**
 * Audits every change; ends every session of a deactivated or deleted user, on every replica.
 * Resolves only once the store has the revocation: rejecting makes the SCIM answer a 500, so
 * the IdP retries, rather than a success while other replicas (and any replica started
 * later) still let the user's sessions in.
 */
export async function onScimChange(
  components: Components,
  tenant: Tenant,
  scim: ScimConfig,
  event: ScimChangeEvent,
): Promise<void> {
  components.audit.record({
    type: 'provisioning',
    tenant: tenant.prefix,
    change: event.type,
    scimId: event.id,
    ...(event.userName ? { sub: event.userName } : {}),
    ...(event.deletion ? { deletion: event.deletion } : {}),
  });
  if (event.type !== 'user-deactivated' && event.type !== 'user-deleted') return;
  const now = epochSeconds(components.clock);
  const idpUserId = scim.idpUserIdAttribute === 'externalId' ? event.externalId : event.userName;
  const stored = await Promise.all(
    directoryUserKeys(tenant.prefix, { idpUserId, login: event.userName, directoryId: event.id }).map((key) =>
      components.revocations.revokeUser(key, now, now + tenant.config.session.maxAgeSeconds),
    ),
  );
  // Applied on this replica and parked for retry, but not yet shared: not done.
  if (stored.includes(false)) throw new Error('the session revocation could not be stored');
  components.audit.record({
    type: 'session_revoked',
    tenant: tenant.prefix,
    ...(event.userName ? { sub: event.userName } : {}),
    reason: event.type === 'user-deleted' ? 'scim-deleted' : 'scim-deactivated',
  });
}

async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'DELETE' || method === 'HEAD') {
    req.resume();
    return undefined;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/scim+json' && type !== 'application/json') {
    req.resume();
    throw new ScimError(400, 'The body must be application/scim+json.', 'invalidSyntax');
  }
  const read = await readBoundedBody(req, limit);
  if (!read.ok && read.problem === 'too-large')
    throw new ScimError(413, `The body is larger than ${limit} bytes.`, 'tooMany');
  if (!read.ok) throw new ScimError(408, 'The body was not received in time.');
  try {
    return JSON.parse(read.body.toString('utf8'));
  } catch {
    throw new ScimError(400, 'The body is not valid JSON.', 'invalidSyntax');
  }
}

function send(res: ServerResponse, response: ScimResponse): void {
  const text = response.body === undefined ? '' : JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...response.headers,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
