/** Group membership changes through the handler: only new members are validated and counted. */
import { expect, it } from 'vitest';
import { expectError, GROUP, patchOf, scimClient, USER } from './scim-client.ts';

async function groupWith(members: number) {
  const client = scimClient({ limits: { maxMembersPerRequest: members } });
  const ids: string[] = [];
  for (let i = 0; i < members + 1; i++) {
    const { body } = await client.call('POST', '/Users', { schemas: [USER], userName: `user-${i}` });
    ids.push(body.id);
  }
  const created = await client.call('POST', '/Groups', {
    schemas: [GROUP],
    displayName: 'Big',
    members: ids.slice(0, members).map((value) => ({ value })),
  });
  expect(created.status).toBe(201);
  return { ...client, ids, group: created.body };
}

it('adding one member to a full-sized group counts only the new member and keeps everyone', async () => {
  const { call, ids, group, events } = await groupWith(300);
  const added = await call(
    'PATCH',
    `/Groups/${group.id}`,
    patchOf({ op: 'add', path: 'members', value: [{ value: ids[300] }] }),
  );
  expect(added.status).toBe(204);
  const stored = (await call('GET', `/Groups/${group.id}`)).body.members.map(
    (m: { value: string }) => m.value,
  );
  expect(stored).toEqual(ids);
  expect(events.at(-1)).toMatchObject({ type: 'group-updated', id: group.id });
});

it('re-adding existing members of a large group is a no-op, not a change event', async () => {
  const { call, ids, group, events } = await groupWith(300);
  const before = events.length;
  const readded = await call(
    'PATCH',
    `/Groups/${group.id}`,
    patchOf({ op: 'add', path: 'members', value: ids.slice(0, 300).map((value) => ({ value })) }),
  );
  expect(readded.status).toBe(204);
  expect(events.length).toBe(before);
});

it('a new member that is not a user or group of the tenant is refused and the group is unchanged', async () => {
  const { call, group } = await groupWith(50);
  expectError(
    await call(
      'PATCH',
      `/Groups/${group.id}`,
      patchOf({ op: 'add', path: 'members', value: [{ value: 'nobody' }] }),
    ),
    400,
    'invalidValue',
  );
  expect((await call('GET', `/Groups/${group.id}`)).body.members).toHaveLength(50);
});
