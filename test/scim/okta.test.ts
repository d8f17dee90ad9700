/**
 * Replays Okta's documented SCIM 2.0 requests ("SCIM 2.0 protocol reference"): lookups by
 * `userName eq` with `startIndex=1&count=100`, POST with password and empty groups, PUT-based
 * updates and `active: false`, groups by POST and PATCH.
 */
import { expect, it } from 'vitest';
import { describeEachDirectory } from './directory-contract.ts';
import { expectMeta, GROUP, LIST_SCHEMA, patchOf, USER } from './scim-client.ts';

const oktaUser = {
  schemas: [USER],
  userName: 'test.user@okta.local',
  name: { givenName: 'Test', familyName: 'User' },
  emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
  displayName: 'Test User',
  locale: 'en-US',
  externalId: '00ujl29u0le5T6Aj10h7',
  groups: [],
  password: '1mz050nq',
  active: true,
};

describeEachDirectory('Okta provisioning sequence', ({ scimClient }) => {
  it('user: lookup → POST → GET → PUT update → PUT active=false → PATCH reactivate → DELETE', async () => {
    const { call, events, clock } = scimClient();
    const lookup = '/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100';

    const none = await call('GET', lookup);
    expect(none.status).toBe(200);
    expect(none.body).toEqual({
      schemas: [LIST_SCHEMA],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });

    const created = await call('POST', '/Users', oktaUser);
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    expect(created.body.password).toBeUndefined();
    expect(created.body.groups).toBeUndefined();
    expect(created.body).toMatchObject({
      schemas: [USER],
      id,
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Test User',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      active: true,
    });
    expectMeta(created.body, 'User', 1);
    expect(JSON.stringify(created.body)).not.toContain('1mz050nq');

    const found = await call('GET', lookup);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.itemsPerPage).toBe(1);
    expect(found.body.Resources[0]).toEqual(created.body);

    const got = await call('GET', `/Users/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);
    expect(got.headers.ETag).toBe('W/"1"');

    // PUT update: Okta sends the whole user, including id, meta, groups and the password
    clock.advance(1000);
    const put = await call('PUT', `/Users/${id}`, {
      ...oktaUser,
      id,
      name: { givenName: 'Another', familyName: 'User' },
      displayName: 'Another User',
      meta: created.body.meta,
    });
    expect(put.status).toBe(200);
    expect(put.body.name).toEqual({ givenName: 'Another', familyName: 'User' });
    expect(put.body.displayName).toBe('Another User');
    expect(put.body.password).toBeUndefined();
    expectMeta(put.body, 'User', 2);
    expect(put.body.meta.created).toBe(created.body.meta.created);
    expect(events.at(-1)).toMatchObject({ type: 'user-updated', id, userName: 'test.user@okta.local' });

    // PUT without a field removes it (PUT replaces)
    const { locale: _locale, ...withoutLocale } = oktaUser;
    const put2 = await call('PUT', `/Users/${id}`, {
      ...withoutLocale,
      name: { givenName: 'Another', familyName: 'User' },
      displayName: 'Another User',
    });
    expect(put2.body.locale).toBeUndefined();

    // PUT active=false deactivates
    const deactivated = await call('PUT', `/Users/${id}`, { ...withoutLocale, active: false });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.active).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'user-deactivated', id, externalId: '00ujl29u0le5T6Aj10h7' });

    // A deactivated user is still found (Okta re-reads it)
    expect((await call('GET', lookup)).body.totalResults).toBe(1);

    // Okta's PATCH reactivation
    const reactivated = await call(
      'PATCH',
      `/Users/${id}`,
      patchOf({ op: 'replace', value: { active: true } }),
    );
    expect(reactivated.status).toBe(200);
    expect(reactivated.body.active).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'user-reactivated', id });

    // Okta's PATCH deactivation
    const patchedOff = await call(
      'PATCH',
      `/Users/${id}`,
      patchOf({ op: 'replace', value: { active: false } }),
    );
    expect(patchedOff.body.active).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'user-deactivated', id });

    // Okta never DELETEs, but the endpoint works
    expect((await call('DELETE', `/Users/${id}`)).status).toBe(204);
    expect(events.at(-1)).toMatchObject({ type: 'user-deleted', id, deletion: 'mark' });
    expect((await call('GET', lookup)).body.totalResults).toBe(0);
  });

  it('paging with startIndex and count, capped at the maximum page size', async () => {
    const { call, clock } = scimClient({ limits: { maxPageSize: 3 } });
    for (let i = 0; i < 5; i += 1) {
      clock.advance(1000);
      await call('POST', '/Users', { schemas: [USER], userName: `user${i}@okta.local` });
    }
    const names = (body: { Resources: Array<{ userName: string }> }) => body.Resources.map((r) => r.userName);
    const first = await call('GET', '/Users?startIndex=1&count=100');
    expect(first.body).toMatchObject({ totalResults: 5, startIndex: 1, itemsPerPage: 3 });
    expect(names(first.body)).toEqual(['user0@okta.local', 'user1@okta.local', 'user2@okta.local']);
    const second = await call('GET', '/Users?startIndex=4&count=2');
    expect(second.body).toMatchObject({ totalResults: 5, startIndex: 4, itemsPerPage: 2 });
    expect(names(second.body)).toEqual(['user3@okta.local', 'user4@okta.local']);
    const past = await call('GET', '/Users?startIndex=9&count=2');
    expect(past.body).toMatchObject({ totalResults: 5, startIndex: 9, itemsPerPage: 0, Resources: [] });
    const zero = await call('GET', '/Users?count=0');
    expect(zero.body).toMatchObject({ totalResults: 5, itemsPerPage: 0 });
    const below = await call('GET', '/Users?startIndex=0&count=-1');
    expect(below.body).toMatchObject({ startIndex: 1, itemsPerPage: 0 });
    const spc = await call('GET', '/ServiceProviderConfig');
    expect(spc.body.filter).toEqual({ supported: true, maxResults: 3 });
  });

  it('groups: POST → lookup → PATCH rename (with id) → add member → remove member by filter → DELETE', async () => {
    const { call, events } = scimClient();
    const { body: user } = await call('POST', '/Users', oktaUser);

    const created = await call('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'Test SCIMv2',
      members: [],
    });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    expect(created.body).toEqual({
      schemas: [GROUP],
      id,
      displayName: 'Test SCIMv2',
      meta: expect.any(Object),
    });
    expectMeta(created.body, 'Group', 1);

    const lookup = await call('GET', '/Groups?filter=displayName eq "Test SCIMv2"&startIndex=1&count=100');
    expect(lookup.body.totalResults).toBe(1);
    expect(lookup.body.Resources[0].id).toBe(id);

    const renamed = await call(
      'PATCH',
      `/Groups/${id}`,
      patchOf({ op: 'replace', value: { id, displayName: 'Test SCIMv2 renamed' } }),
    );
    expect(renamed.status).toBe(204);
    expect((await call('GET', `/Groups/${id}`)).body.displayName).toBe('Test SCIMv2 renamed');

    const added = await call(
      'PATCH',
      `/Groups/${id}`,
      patchOf({ op: 'add', path: 'members', value: [{ value: user.id, display: 'test.user@okta.local' }] }),
    );
    expect(added.status).toBe(204);
    expect((await call('GET', `/Groups/${id}`)).body.members).toEqual([
      {
        value: user.id,
        display: 'test.user@okta.local',
        type: 'User',
        $ref: expect.stringContaining(`/Users/${user.id}`),
      },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'group-updated', id, displayName: 'Test SCIMv2 renamed' });

    const removed = await call(
      'PATCH',
      `/Groups/${id}`,
      patchOf({ op: 'remove', path: `members[value eq "${user.id}"]` }),
    );
    expect(removed.status).toBe(204);
    expect((await call('GET', `/Groups/${id}`)).body.members).toBeUndefined();

    // Okta's PUT of a group replaces members
    const put = await call('PUT', `/Groups/${id}`, {
      schemas: [GROUP],
      id,
      displayName: 'Final',
      members: [{ value: user.id }],
    });
    expect(put.status).toBe(200);
    expect(put.body.members).toHaveLength(1);

    expect((await call('DELETE', `/Groups/${id}`)).status).toBe(204);
    expect((await call('GET', '/Groups?filter=displayName eq "Final"')).body.totalResults).toBe(0);
  });
});

describeEachDirectory('concurrent membership updates', ({ scimClient }) => {
  it('parallel PATCHes to one group lose no member (optimistic concurrency, retried)', async () => {
    const { call } = scimClient();
    const ids: string[] = [];
    for (let i = 0; i < 10; i += 1)
      ids.push((await call('POST', '/Users', { schemas: [USER], userName: `c${i}` })).body.id);
    const { body: group } = await call('POST', '/Groups', { schemas: [GROUP], displayName: 'busy' });
    const replies = await Promise.all(
      ids.map((value) =>
        call('PATCH', `/Groups/${group.id}`, patchOf({ op: 'Add', path: 'members', value: [{ value }] })),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(ids.map(() => 204));
    const { body } = await call('GET', `/Groups/${group.id}`);
    expect(body.members.map((m: { value: string }) => m.value).sort()).toEqual([...ids].sort());
    expect(body.meta.version).toBe('W/"11"');
  });
});
