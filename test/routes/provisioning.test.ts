/**
 * Logins consulting the SCIM directory (consultDirectory) against a MemoryDirectory:
 * which record a login resolves to, logins with unusual characters, and just-in-time
 * provisioning failing closed.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { Components } from '../../src/components.ts';
import { SlussError } from '../../src/errors.ts';
import type { Identity } from '../../src/identity/identity.ts';
import { consultDirectory } from '../../src/routes/provisioning.ts';
import { type Directory, MemoryDirectory, type StoredResource } from '../../src/scim/directory.ts';
import type { Tenant } from '../../src/tenancy/tenants.ts';

const TENANT = 'acme';

function setup(options: { idpUserIdAttribute?: 'externalId' | 'userName'; directory?: Directory } = {}) {
  const directory = options.directory ?? new MemoryDirectory();
  const audit: Record<string, unknown>[] = [];
  const components = {
    directory,
    clock: new ManualClock(Date.UTC(2026, 0, 1, 12)),
    audit: { record: (event: Record<string, unknown>) => audit.push(event) },
    log: { debug() {}, warn() {}, error() {} },
  } as unknown as Components;
  const tenant = {
    prefix: TENANT,
    config: {
      idps: [{ id: 'corp' }],
      scim: {
        idpUserIdAttribute: options.idpUserIdAttribute ?? 'externalId',
        requireProvisioning: false,
      },
    },
  } as unknown as Tenant;
  let n = 0;
  async function user(attributes: Record<string, unknown>, deletedAt?: string): Promise<StoredResource> {
    n += 1;
    const created = new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();
    const resource: StoredResource = {
      id: `user-${n}`,
      resourceType: 'User',
      attributes: { active: true, ...attributes } as StoredResource['attributes'],
      created,
      lastModified: created,
      version: 1,
      ...(deletedAt ? { deletedAt } : {}),
    };
    await directory.create(TENANT, resource);
    return resource;
  }
  const login = (identity: Partial<Identity>) =>
    consultDirectory(components, tenant, {
      sub: 's',
      issuer: 'https://idp',
      groups: [],
      mfa: false,
      ...identity,
    });
  return { directory, audit, user, login };
}

describe('which directory user a login is', () => {
  it('a user deleted (mark mode) and provisioned again with the same externalId and userName can log in', async () => {
    const { user, login } = setup();
    await user({ userName: 'alice', externalId: 'ext-alice' }, '2026-01-01T06:00:00.000Z');
    await user({ userName: 'alice', externalId: 'ext-alice' });
    expect(await login({ idpUserId: 'ext-alice', login: 'alice' })).toMatchObject({ allow: true });
    // Found by login alone too.
    expect(await login({ login: 'alice' })).toMatchObject({ allow: true });
  });

  it('a user only marked deleted is still refused', async () => {
    const { user, login } = setup();
    await user({ userName: 'alice', externalId: 'ext-alice' }, '2026-01-01T06:00:00.000Z');
    expect(await login({ idpUserId: 'ext-alice', login: 'alice' })).toMatchObject({
      allow: false,
      reason: 'user-deactivated',
    });
  });

  it.each([
    ['a tab', 'ali\tce'],
    ['a newline', 'ali\nce'],
    ['a NUL', 'ali\u0000ce'],
    ['a quote and a backslash', 'al"i\\ce'],
    ['a lone surrogate', 'ali\ud800ce'],
    ['filter syntax', 'x" or userName pr or userName eq "y'],
    ['a 10 000-character login', 'a'.repeat(10_000)],
  ])('a login with %s is looked up literally, not a 500', async (_attack, name) => {
    const { user, login } = setup({ idpUserIdAttribute: 'userName' });
    await user({ userName: 'bob', active: false });
    await user({ userName: name, active: false });
    expect(await login({ idpUserId: name, login: name })).toMatchObject({
      allow: false,
      reason: 'user-deactivated',
    });
    // Unknown: created just in time under exactly that name, not matched to bob.
    const other = `${name}-2`;
    expect(await login({ idpUserId: other, login: other })).toMatchObject({ allow: true });
  });
});

describe('just-in-time provisioning', () => {
  it('a login whose userName belongs to a deactivated user is refused (the conflict is not swallowed)', async () => {
    const { user, login, audit } = setup();
    // Found neither by IdP user ID nor by login; JIT would name the new user by email.
    await user({ userName: 'carol@example.com', externalId: 'ext-old', active: false });
    expect(await login({ idpUserId: 'ext-new', email: 'carol@example.com' })).toMatchObject({
      allow: false,
      reason: 'user-deactivated',
    });
    expect(audit).toEqual([]);
  });

  it('a login whose userName an active user already holds goes ahead, without that user’s groups', async () => {
    const { user, login, directory } = setup();
    const holder = await user({ userName: 'dave@example.com', externalId: 'ext-other' });
    await directory.create(TENANT, {
      id: 'g1',
      resourceType: 'Group',
      attributes: { displayName: 'admins', members: [{ value: holder.id, type: 'User' }] },
      created: holder.created,
      lastModified: holder.created,
      version: 1,
    });
    const verdict = await login({ idpUserId: 'ext-new', email: 'dave@example.com', groups: ['staff'] });
    expect(verdict).toMatchObject({ allow: true, identity: { groups: ['staff'] } });
  });

  it.each([
    ['the directory failing on create', 'create'],
    ['the directory failing on the lookup after a conflict', 'findByUserName'],
  ] as const)('fails closed with ERR_STORE_UNAVAILABLE on %s', async (_case, failing) => {
    const inner = new MemoryDirectory();
    const directory: Directory = Object.create(inner);
    if (failing === 'create') {
      directory.create = async () => {
        throw new Error('store timeout');
      };
    } else {
      directory.findByUserName = async () => {
        throw new Error('store timeout');
      };
    }
    const { user, login } = setup({ directory });
    if (failing === 'findByUserName') await user({ userName: 'erin@example.com', externalId: 'ext-old' });
    const refused = login({ idpUserId: 'ext-new', email: 'erin@example.com' });
    await expect(refused).rejects.toBeInstanceOf(SlussError);
    await expect(refused).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', status: 503 });
  });
});
