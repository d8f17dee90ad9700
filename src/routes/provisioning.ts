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
import type { Identity } from '../identity/identity.ts';
import type { DenyReason } from '../identity/policy.ts';
import type { StoredResource } from '../scim/directory.ts';
import { compileFilter } from '../scim/filter.ts';
import { RESOURCE_TYPES } from '../scim/schema.ts';
import type { Tenant } from '../tenancy/tenants.ts';

export type DirectoryVerdict =
  | { readonly allow: true; readonly identity: Identity; readonly expectedIdp: string | undefined }
  | {
      readonly allow: false;
      readonly reason: DenyReason | 'user-deactivated' | 'user-unknown';
      readonly detail: string;
    };

function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The user the login names: by the configured IdP-user-ID attribute, else by userName (login). */
async function findUser(
  components: Components,
  tenant: Tenant,
  scim: ScimConfig,
  identity: Identity,
): Promise<StoredResource | undefined> {
  const byId = identity.idpUserId;
  if (byId) {
    const filter = compileFilter(`${scim.idpUserIdAttribute} eq ${quoted(byId)}`, RESOURCE_TYPES.User);
    const found = await components.directory.list(tenant.prefix, 'User', {
      filter,
      startIndex: 1,
      count: 1,
      deleted: 'include',
    });
    if (found.resources[0]) return found.resources[0];
  }
  if (identity.login) {
    const filter = compileFilter(`userName eq ${quoted(identity.login)}`, RESOURCE_TYPES.User);
    const found = await components.directory.list(tenant.prefix, 'User', {
      filter,
      startIndex: 1,
      count: 1,
      deleted: 'include',
    });
    return found.resources[0];
  }
  return undefined;
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
    await provisionJustInTime(components, tenant, scim, identity);
    return { allow: true, identity, expectedIdp };
  }
  if (user.deletedAt !== undefined || user.attributes.active === false) {
    return {
      allow: false,
      reason: 'user-deactivated',
      detail: 'The user is deactivated or deleted in the directory.',
    };
  }
  await followEmailChange(components, tenant, user, identity);
  const provisioned = (await components.directory.groupsOf(tenant.prefix, user.id))
    .map((group) => group.attributes.displayName)
    .filter((name): name is string => typeof name === 'string');
  const groups = [...new Set([...identity.groups, ...provisioned])];
  return { allow: true, identity: { ...identity, groups }, expectedIdp };
}

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

/** First login of a user the IdP has not provisioned: the same directory gets the user. */
async function provisionJustInTime(
  components: Components,
  tenant: Tenant,
  scim: ScimConfig,
  identity: Identity,
): Promise<void> {
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
  } catch (error) {
    // A concurrent first login created the user: the login goes ahead either way.
    components.log.debug({ err: error, tenant: tenant.prefix }, 'JIT provisioning skipped');
  }
}
