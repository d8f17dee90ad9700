/**
 * Logins consult the SCIM directory of tenants that have one: a deactivated
 * or deleted user is refused, an unknown one too when the tenant requires
 * provisioning (else created: just-in-time provisioning into the same
 * directory), and the groups the IdP provisioned join the identity's groups
 * (so they feed the whitelist and the identity headers).
 */
import { randomUUID } from 'node:crypto';
import type { Components } from '../components.ts';
import type { ScimConfig } from '../config/schema.ts';
import { SlussError } from '../errors.ts';
import type { Identity } from '../identity/identity.ts';
import type { DenyReason } from '../identity/policy.ts';
import { DirectoryConflictError, type StoredResource } from '../scim/directory.ts';
import { compileFilter, DEFAULT_FILTER_LIMITS } from '../scim/filter.ts';
import { RESOURCE_TYPES } from '../scim/schema.ts';
import type { Tenant } from '../tenancy/tenants.ts';

export type DirectoryVerdict =
  | { readonly allow: true; readonly identity: Identity; readonly expectedIdp: string | undefined }
  | {
      readonly allow: false;
      readonly reason: DenyReason | 'user-deactivated' | 'user-unknown';
      readonly detail: string;
    };

/**
 * A filter string literal for any value: the filter grammar's strings are JSON strings
 * (src/scim/filter.ts), so JSON.stringify escapes quotes, backslashes and control characters
 * alike. Escaping only `\\` and `"` let a login with a tab make every login a 500.
 */
const quoted = (value: string): string => JSON.stringify(value);

/** No length limit: the value comes from the IdP, not from a SCIM client. */
const LOGIN_FILTER_LIMITS = { ...DEFAULT_FILTER_LIMITS, maxLength: Number.POSITIVE_INFINITY };

/**
 * The user whose attribute equals `value`. A live user wins over ones marked deleted: after
 * a delete (mark mode) and a re-provisioning with the same userName/externalId both exist,
 * and the old record is older, so it would otherwise lock the new one out.
 */
async function findBy(
  components: Components,
  tenant: Tenant,
  attribute: string,
  value: string,
): Promise<StoredResource | undefined> {
  const filter = compileFilter(`${attribute} eq ${quoted(value)}`, RESOURCE_TYPES.User, LOGIN_FILTER_LIMITS);
  for (const deleted of ['exclude', 'include'] as const) {
    const found = await components.directory.list(tenant.prefix, 'User', {
      filter,
      startIndex: 1,
      count: 1,
      deleted,
    });
    if (found.resources[0]) return found.resources[0];
  }
  return undefined;
}

/** The user the login names: by the configured IdP-user-ID attribute, else by userName (login). */
async function findUser(
  components: Components,
  tenant: Tenant,
  scim: ScimConfig,
  identity: Identity,
): Promise<StoredResource | undefined> {
  const byId = identity.idpUserId
    ? await findBy(components, tenant, scim.idpUserIdAttribute, identity.idpUserId)
    : undefined;
  if (byId) return byId;
  return identity.login ? findBy(components, tenant, 'userName', identity.login) : undefined;
}

export async function consultDirectory(
  components: Components,
  tenant: Tenant,
  identity: Identity,
): Promise<DirectoryVerdict> {
  const scim = tenant.config.scim;
  if (!scim) return { allow: true, identity, expectedIdp: undefined };
  const expectedIdp = scim.idp ?? tenant.config.idps[0]?.id;
  const user = await findUser(components, tenant, scim, identity);
  if (!user) {
    if (scim.requireProvisioning) {
      return {
        allow: false,
        reason: 'user-unknown',
        detail: 'The user has not been provisioned for this tenant.',
      };
    }
    const holder = await provisionJustInTime(components, tenant, scim, identity);
    // The userName was taken: a deactivated holder refuses the login. An active one lets it go
    // ahead as before, but lends it no groups (it may be a concurrent first login, or another
    // record that only shares the userName).
    if (holder && isDeactivated(holder)) return deactivated();
    return { allow: true, identity, expectedIdp };
  }
  if (isDeactivated(user)) return deactivated();
  await followEmailChange(components, tenant, user, identity);
  const provisioned = (await components.directory.groupsOf(tenant.prefix, user.id))
    .map((group) => group.attributes.displayName)
    .filter((name): name is string => typeof name === 'string');
  const groups = [...new Set([...identity.groups, ...provisioned])];
  return { allow: true, identity: { ...identity, groups, directoryId: user.id }, expectedIdp };
}

const isDeactivated = (user: StoredResource): boolean =>
  user.deletedAt !== undefined || user.attributes.active === false;

const deactivated = (): DirectoryVerdict => ({
  allow: false,
  reason: 'user-deactivated',
  detail: 'The user is deactivated or deleted in the directory.',
});

/**
 * The IdP now reports another email for the same IdP user ID: the directory's
 * user is updated in place (matched on the stable ID, so never a second user).
 */
async function followEmailChange(
  components: Components,
  tenant: Tenant,
  user: StoredResource,
  identity: Identity,
): Promise<void> {
  const emails = Array.isArray(user.attributes.emails)
    ? (user.attributes.emails as { value?: unknown; primary?: unknown }[])
    : [];
  const current = emails.find((email) => email.primary === true)?.value ?? emails[0]?.value;
  if (!identity.email || current === identity.email || identity.idpUserId === undefined) return;
  const updated: StoredResource = {
    ...user,
    attributes: {
      ...user.attributes,
      emails: [{ value: identity.email, type: 'work', primary: true }],
    } as StoredResource['attributes'],
    lastModified: new Date(components.clock.now()).toISOString(),
    version: user.version + 1,
  };
  try {
    await components.directory.replace(tenant.prefix, updated, user.version);
    components.audit.record({
      type: 'provisioning',
      tenant: tenant.prefix,
      change: 'user-email-updated',
      scimId: user.id,
    });
  } catch (error) {
    components.log.debug(
      { err: error, tenant: tenant.prefix },
      'email update skipped (a concurrent write won)',
    );
  }
}

/**
 * First login of a user the IdP has not provisioned: the same directory gets the user.
 * Returns undefined when created, or the live user already holding the userName (a
 * concurrent first login, or a user the login's IdP user ID and login did not find, e.g.
 * one whose userName is this login's email). Any other failure refuses the login (fail
 * closed): an unreachable directory must not admit users it may have deactivated.
 */
async function provisionJustInTime(
  components: Components,
  tenant: Tenant,
  scim: ScimConfig,
  identity: Identity,
): Promise<StoredResource | undefined> {
  const now = new Date(components.clock.now()).toISOString();
  const userName = identity.login ?? identity.email ?? identity.idpUserId ?? identity.sub;
  const attributes: Record<string, unknown> = {
    userName,
    active: true,
    ...(scim.idpUserIdAttribute === 'externalId' && identity.idpUserId
      ? { externalId: identity.idpUserId }
      : {}),
    ...(identity.name ? { displayName: identity.name } : {}),
    ...(identity.givenName || identity.familyName
      ? {
          name: {
            ...(identity.givenName ? { givenName: identity.givenName } : {}),
            ...(identity.familyName ? { familyName: identity.familyName } : {}),
          },
        }
      : {}),
    ...(identity.email ? { emails: [{ value: identity.email, type: 'work', primary: true }] } : {}),
  };
  try {
    await components.directory.create(tenant.prefix, {
      id: randomUUID(),
      resourceType: 'User',
      attributes: attributes as StoredResource['attributes'],
      created: now,
      lastModified: now,
      version: 1,
    });
    components.audit.record({
      type: 'provisioning',
      tenant: tenant.prefix,
      change: 'user-created-jit',
      sub: userName,
    });
    return undefined;
  } catch (error) {
    const existing =
      error instanceof DirectoryConflictError
        ? await components.directory.findByUserName(tenant.prefix, userName).catch(() => undefined)
        : undefined;
    if (existing) return existing;
    throw new SlussError(
      'ERR_STORE_UNAVAILABLE',
      'Sign-in is briefly unavailable. Please try again in a moment.',
      {
        cause: error,
        hint: 'Just-in-time provisioning could not store the user in the SCIM directory (store unreachable, or a userName conflict that vanished); the login was refused. Check the store; the user can retry.',
      },
    );
  }
}
