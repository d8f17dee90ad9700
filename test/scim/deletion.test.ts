import { expect, it } from 'vitest';
import {
  DEFAULT_DELETION_POLICY,
  type DeletionPolicy,
  type RetentionEvent,
  runRetention,
} from '../../src/scim/deletion.ts';
import { describeEachDirectory } from './directory-contract.ts';
import { expectError, GROUP, type scimClient, USER } from './scim-client.ts';

const DAY = 24 * 60 * 60 * 1000;
const person = {
  schemas: [USER, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
  userName: 'jane@example.com',
  externalId: 'ext-jane',
  name: { givenName: 'Jane', familyName: 'Doe' },
  displayName: 'Jane Doe',
  emails: [{ value: 'jane@example.com', type: 'work', primary: true }],
  phoneNumbers: [{ value: '+46 70 000 00 00', type: 'mobile' }],
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: '42', department: 'HR' },
};

type Mode = 'mark' | 'delete' | 'anonymise';
type ScimClient = typeof scimClient;

async function setupWith(newClient: ScimClient, mode?: Mode) {
  const client = newClient(mode ? { deletion: mode } : {});
  const { body: user } = await client.call('POST', '/Users', person);
  const { body: group } = await client.call('POST', '/Groups', {
    schemas: [GROUP],
    displayName: 'Staff',
    members: [{ value: user.id }],
  });
  const deleted = await client.call('DELETE', `/Users/${user.id}`);
  expect(deleted.status).toBe(204);
  return { ...client, user, group };
}

describeEachDirectory('the delete option', ({ scimClient }) => {
  const setup = (mode?: Mode) => setupWith(scimClient, mode);
  it('mark (default): kept inactive with deletedAt, hidden, out of groups, reported', async () => {
    const { call, directory, tenant, user, group, events } = await setup();
    const reported = [...events];
    expect(DEFAULT_DELETION_POLICY.mode).toBe('mark');
    expectError(await call('GET', `/Users/${user.id}`), 404);
    expectError(await call('DELETE', `/Users/${user.id}`), 404);
    expectError(
      await call('PATCH', `/Users/${user.id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'active', value: true }],
      }),
      404,
    );
    expect((await call('GET', '/Users')).body.totalResults).toBe(0);
    const stored = await directory.get(tenant, 'User', user.id);
    expect(stored).toMatchObject({
      deletedAt: '2026-01-01T12:00:00.000Z',
      attributes: { userName: 'jane@example.com', active: false },
    });
    expect(stored?.anonymisedAt).toBeUndefined();
    expect((await call('GET', `/Groups/${group.id}`)).body.members).toBeUndefined();
    // The repeated DELETE (404) revoked again: an IdP retry after a lost revocation.
    expect(events.slice(reported.length)).toEqual([
      expect.objectContaining({ type: 'user-deleted', id: user.id }),
    ]);
    expect(reported.slice(-2)).toEqual([
      {
        type: 'user-deleted',
        tenant: 'acme',
        id: user.id,
        userName: 'jane@example.com',
        externalId: 'ext-jane',
        at: '2026-01-01T12:00:00.000Z',
        deletion: 'mark',
      },
      {
        type: 'group-updated',
        tenant: 'acme',
        id: group.id,
        displayName: 'Staff',
        at: '2026-01-01T12:00:00.000Z',
      },
    ]);
  });

  it('delete: gone for good', async () => {
    const { call, directory, tenant, user, group, events } = await setup('delete');
    expect(await directory.get(tenant, 'User', user.id)).toBeUndefined();
    expect((await call('GET', `/Groups/${group.id}`)).body.members).toBeUndefined();
    expect(events.find((e) => e.type === 'user-deleted')).toMatchObject({ id: user.id, deletion: 'delete' });
  });

  it('anonymise: ids kept, personal data gone, hidden', async () => {
    const { call, directory, tenant, user, events } = await setup('anonymise');
    expectError(await call('GET', `/Users/${user.id}`), 404);
    const stored = await directory.get(tenant, 'User', user.id);
    expect(stored?.attributes).toEqual({
      userName: `anonymised-${user.id}`,
      active: false,
      externalId: 'ext-jane',
    });
    expect(stored?.anonymisedAt).toBe('2026-01-01T12:00:00.000Z');
    expect(JSON.stringify(stored)).not.toMatch(/Jane|jane@|HR|\+46|"42"/);
    expect(events.find((e) => e.type === 'user-deleted')).toMatchObject({
      id: user.id,
      deletion: 'anonymise',
    });
  });

  it.each<Mode>(['mark', 'anonymise', 'delete'])(
    '%s: a group cleanup that fails (store timeout) cannot lose the revocation; the retry finishes the job',
    async (mode) => {
      const client = scimClient({ deletion: mode });
      const { call, directory, tenant, events } = client;
      const { body: user } = await call('POST', '/Users', person);
      const { body: group } = await call('POST', '/Groups', {
        schemas: [GROUP],
        displayName: 'Staff',
        members: [{ value: user.id }],
      });
      const groupsOf = directory.groupsOf.bind(directory);
      let failures = 1;
      directory.groupsOf = async (...args) => {
        if (failures-- > 0) throw new Error('store timeout');
        return groupsOf(...args);
      };
      expectError(await call('DELETE', `/Users/${user.id}`), 500);
      expect(events.filter((e) => e.type === 'user-deleted')).toEqual([
        expect.objectContaining({ id: user.id, userName: 'jane@example.com', externalId: 'ext-jane' }),
      ]);
      // The IdP retries: 404 (already deleted), and the group cleanup is done now.
      expectError(await call('DELETE', `/Users/${user.id}`), 404);
      expect((await call('GET', `/Groups/${group.id}`)).body.members).toBeUndefined();
      const stored = await directory.get(tenant, 'User', user.id);
      if (mode === 'delete') expect(stored).toBeUndefined();
      else expect(stored?.deletedAt).toBeDefined();
      if (mode === 'anonymise') expect(stored?.attributes.userName).toBe(`anonymised-${user.id}`);
    },
  );

  it.each<Mode>(['mark', 'anonymise', 'delete'])(
    '%s: a revocation that could not be stored is made by the retry, by the user’s real names',
    async (mode) => {
      let failures = 1;
      const client = scimClient({
        deletion: mode,
        onChange: (e) => {
          if (e.type === 'user-deleted' && failures-- > 0) throw new Error('revocation not stored');
        },
      });
      const { call, directory, tenant, events } = client;
      const { body: user } = await call('POST', '/Users', person);
      expectError(await call('DELETE', `/Users/${user.id}`), 500);
      expectError(await call('DELETE', `/Users/${user.id}`), 404);
      expect(events.filter((e) => e.type === 'user-deleted')).toEqual([
        expect.objectContaining({
          id: user.id,
          userName: 'jane@example.com',
          externalId: 'ext-jane',
          deletion: mode,
        }),
        expect.objectContaining({
          id: user.id,
          userName: 'jane@example.com',
          externalId: 'ext-jane',
          deletion: mode,
        }),
      ]);
      const stored = await directory.get(tenant, 'User', user.id);
      if (mode === 'delete') expect(stored).toBeUndefined();
      if (mode === 'anonymise') expect(stored?.attributes.userName).toBe(`anonymised-${user.id}`);
    },
  );

  it('a replayed DELETE of an old record does not revoke the user provisioned again under the same names', async () => {
    const { call, events } = await setup();
    const { body: again } = await call('POST', '/Users', person);
    expect(again.id).toBeDefined();
    const oldId = events.find((e) => e.type === 'user-deleted')?.id;
    const before = events.length;
    expectError(await call('DELETE', `/Users/${oldId}`), 404);
    expect(events.slice(before).filter((e) => e.type === 'user-deleted')).toEqual([]);
  });

  it('groups are always deleted for good', async () => {
    const { call, directory, tenant, group } = await setup();
    expect((await call('DELETE', `/Groups/${group.id}`)).status).toBe(204);
    expect(await directory.get(tenant, 'Group', group.id)).toBeUndefined();
  });
});

describeEachDirectory('runRetention', ({ scimClient }) => {
  const setup = (mode?: Mode) => setupWith(scimClient, mode);
  const policy = (action: DeletionPolicy['retention']['action'], afterDays = 30): DeletionPolicy => ({
    mode: 'mark',
    retention: { afterDays, action },
  });

  it('does nothing before N days, then deletes', async () => {
    const { directory, tenant, user, clock } = await setup();
    const start = clock.now();
    expect(await runRetention(directory, tenant, policy('delete'), start + 29 * DAY)).toEqual({
      deleted: [],
      anonymised: [],
    });
    expect(await directory.get(tenant, 'User', user.id)).toBeDefined();
    const events: RetentionEvent[] = [];
    expect(
      await runRetention(directory, tenant, policy('delete'), start + 30 * DAY, (e) => void events.push(e)),
    ).toEqual({
      deleted: [user.id],
      anonymised: [],
    });
    expect(await directory.get(tenant, 'User', user.id)).toBeUndefined();
    expect(events).toEqual([
      {
        type: 'user-deleted',
        tenant,
        id: user.id,
        externalId: 'ext-jane',
        at: new Date(start + 30 * DAY).toISOString(),
        deletion: 'delete',
        retention: true,
      },
    ]);
    expect(await runRetention(directory, tenant, policy('delete'), start + 31 * DAY)).toEqual({
      deleted: [],
      anonymised: [],
    });
  });

  it('anonymises once', async () => {
    const { directory, tenant, user, clock } = await setup();
    const later = clock.now() + 31 * DAY;
    expect(await runRetention(directory, tenant, policy('anonymise'), later)).toEqual({
      deleted: [],
      anonymised: [user.id],
    });
    const stored = await directory.get(tenant, 'User', user.id);
    expect(stored?.attributes).toEqual({
      userName: `anonymised-${user.id}`,
      active: false,
      externalId: 'ext-jane',
    });
    expect(await runRetention(directory, tenant, policy('anonymise'), later + DAY)).toEqual({
      deleted: [],
      anonymised: [],
    });
    // and a later delete policy still removes it
    expect((await runRetention(directory, tenant, policy('delete'), later)).deleted).toEqual([user.id]);
  });

  it('nothing leaves marked users alone; live users are never touched', async () => {
    const { directory, tenant, user, clock, call } = await setup();
    const { body: live } = await call('POST', '/Users', { schemas: [USER], userName: 'live' });
    expect(await runRetention(directory, tenant, policy('nothing'), clock.now() + 400 * DAY)).toEqual({
      deleted: [],
      anonymised: [],
    });
    expect(await directory.get(tenant, 'User', user.id)).toBeDefined();
    expect(
      (await runRetention(directory, tenant, policy('delete', 0), clock.now() + 400 * DAY)).deleted,
    ).toEqual([user.id]);
    expect(await directory.get(tenant, 'User', live.id)).toBeDefined();
  });

  it('pages through many marked users', async () => {
    const client = scimClient();
    const ids: string[] = [];
    for (let i = 0; i < 450; i += 1) {
      const { body } = await client.call('POST', '/Users', { schemas: [USER], userName: `u${i}` });
      await client.call('DELETE', `/Users/${body.id}`);
      ids.push(body.id);
    }
    const result = await runRetention(
      client.directory,
      client.tenant,
      policy('delete', 1),
      client.clock.now() + 2 * DAY,
    );
    expect(result.deleted.sort()).toEqual(ids.sort());
  });
});
