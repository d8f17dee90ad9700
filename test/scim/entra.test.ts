/**
 * Replays Microsoft Entra ID's documented SCIM provisioning requests ("Develop and plan
 * provisioning for a SCIM endpoint", request/response examples), with Entra's dialect:
 * capitalised ops, string booleans, `excludedAttributes=members`, PATCH-based updates.
 */
import { expect, it } from 'vitest';
import { describeEachDirectory } from './directory-contract.ts';
import { BASE, ENTERPRISE, expectMeta, GROUP, LIST_SCHEMA, patchOf, USER } from './scim-client.ts';

const entraUser = {
  schemas: [USER, ENTERPRISE],
  externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
  userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
  active: true,
  emails: [
    { primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' },
  ],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
};

describeEachDirectory('Entra ID provisioning sequence', ({ scimClient }) => {
  it('test connection: a filter for a random userName answers an empty list', async () => {
    const { call } = scimClient();
    const reply = await call('GET', '/Users?filter=userName eq "d2b5b1a4-0b0f-4c8e-9f4e-1d3c2b1a0f9e"');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      schemas: [LIST_SCHEMA],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
  });

  it('user: create → find by filter → PATCH attributes → PATCH deactivate → DELETE', async () => {
    const { call, events, clock } = scimClient();

    // Create
    const created = await call('POST', '/Users', entraUser);
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.headers.Location).toBe(`${BASE}/Users/${id}`);
    expect(created.headers.ETag).toBe('W/"1"');
    expect(created.body).toEqual({
      schemas: [USER],
      id,
      externalId: entraUser.externalId,
      userName: entraUser.userName,
      active: true,
      emails: entraUser.emails,
      name: entraUser.name,
      meta: expect.any(Object),
    });
    expectMeta(created.body, 'User', 1);
    expect(events).toEqual([
      {
        type: 'user-created',
        tenant: 'acme',
        id,
        userName: entraUser.userName,
        externalId: entraUser.externalId,
        at: '2026-01-01T12:00:00.000Z',
      },
    ]);

    // Find by filter (Entra URL-encodes; userName compares case-insensitively)
    const query = `filter=${encodeURIComponent(`userName eq "${entraUser.userName.toUpperCase()}"`)}`;
    const found = await call('GET', `/Users?${query}`);
    expect(found.status).toBe(200);
    expect(found.body.schemas).toEqual([LIST_SCHEMA]);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.itemsPerPage).toBe(1);
    expect(found.body.startIndex).toBe(1);
    expect(found.body.Resources[0]).toEqual(created.body);

    // Find by externalId too (Entra's matching attribute can be externalId)
    const byExternal = await call('GET', `/Users?filter=externalId eq "${entraUser.externalId}"`);
    expect(byExternal.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);

    // PATCH: multi-valued by value filter, single-valued, enterprise manager as a bare id, string boolean
    clock.advance(60_000);
    const manager = await call('POST', '/Users', { schemas: [USER], userName: 'manager@testuser.com' });
    const patched = await call(
      'PATCH',
      `/Users/${id}`,
      patchOf(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        { op: 'Add', path: 'displayName', value: 'Updated Display' },
        { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Finance' },
        { op: 'Add', path: `${ENTERPRISE}:manager`, value: manager.body.id },
        { op: 'Replace', path: 'active', value: 'True' },
      ),
    );
    expect(patched.status).toBe(200);
    expect(patched.headers.ETag).toBe('W/"2"');
    expect(patched.body.schemas).toEqual([USER, ENTERPRISE]);
    expect(patched.body.emails).toEqual([
      { primary: true, type: 'work', value: 'updatedEmail@microsoft.com' },
    ]);
    expect(patched.body.name).toEqual({
      formatted: 'givenName familyName',
      familyName: 'updatedFamilyName',
      givenName: 'givenName',
    });
    expect(patched.body.displayName).toBe('Updated Display');
    expect(patched.body[ENTERPRISE]).toEqual({ department: 'Finance', manager: { value: manager.body.id } });
    expect(patched.body.active).toBe(true);
    expectMeta(patched.body, 'User', 2);
    expect(patched.body.meta.lastModified).toBe('2026-01-01T12:01:00.000Z');
    expect(patched.body.meta.created).toBe('2026-01-01T12:00:00.000Z');
    expect(events.at(-1)).toMatchObject({ type: 'user-updated', id });

    // PATCH userName (single-valued)
    const renamed = await call(
      'PATCH',
      `/Users/${id}`,
      patchOf({
        op: 'Replace',
        path: 'userName',
        value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com',
      }),
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body.userName).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');

    // PATCH deactivate, with Entra's string boolean
    const deactivated = await call(
      'PATCH',
      `/Users/${id}`,
      patchOf({ op: 'Replace', path: 'active', value: 'False' }),
    );
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.active).toBe(false);
    expect(events.at(-1)).toMatchObject({
      type: 'user-deactivated',
      tenant: 'acme',
      id,
      externalId: entraUser.externalId,
    });
    const stillListed = await call('GET', `/Users?filter=active eq false`);
    expect(stillListed.body.totalResults).toBe(1);

    // A retried deactivation is reported again (revocation is idempotent)
    const again = await call(
      'PATCH',
      `/Users/${id}`,
      patchOf({ op: 'Replace', path: 'active', value: false }),
    );
    expect(again.status).toBe(200);
    expect(again.headers.ETag).toBe(deactivated.headers.ETag);
    expect(events.filter((e) => e.type === 'user-deactivated')).toHaveLength(2);

    // Reactivate (path-less replace with a string boolean)
    const reactivated = await call(
      'PATCH',
      `/Users/${id}`,
      patchOf({ op: 'Replace', value: { active: 'true' } }),
    );
    expect(reactivated.body.active).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'user-reactivated', id });

    // DELETE
    const deleted = await call('DELETE', `/Users/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'user-deleted', id, deletion: 'mark' });
    expect((await call('GET', `/Users/${id}`)).status).toBe(404);
    expect((await call('GET', `/Users?${query}`)).body.totalResults).toBe(0);
  });

  it('path-less replace with path-shaped keys, as Entra sends', async () => {
    const { call } = scimClient();
    const { body: user } = await call('POST', '/Users', entraUser);
    const reply = await call(
      'PATCH',
      `/Users/${user.id}`,
      patchOf({
        op: 'replace',
        value: {
          'name.givenName': 'Barbara',
          'emails[type eq "work"].value': 'bjensen@example.com',
          [`${ENTERPRISE}:employeeNumber`]: '701984',
          displayName: 'Babs',
        },
      }),
    );
    expect(reply.status).toBe(200);
    expect(reply.body.name.givenName).toBe('Barbara');
    expect(reply.body.emails).toEqual([{ primary: true, type: 'work', value: 'bjensen@example.com' }]);
    expect(reply.body[ENTERPRISE]).toEqual({ employeeNumber: '701984' });
    expect(reply.body.displayName).toBe('Babs');
  });

  it("accepts Entra's array-wrapped manager and removes it again", async () => {
    const { call } = scimClient();
    const { body: user } = await call('POST', '/Users', entraUser);
    const added = await call(
      'PATCH',
      `/Users/${user.id}`,
      patchOf({ op: 'Add', path: `${ENTERPRISE}:manager`, value: [{ $ref: null, value: 'mgr-1' }] }),
    );
    expect(added.body[ENTERPRISE]).toEqual({ manager: { value: 'mgr-1' } });
    const removed = await call(
      'PATCH',
      `/Users/${user.id}`,
      patchOf({ op: 'Remove', path: `${ENTERPRISE}:manager` }),
    );
    expect(removed.body[ENTERPRISE]).toBeUndefined();
    expect(removed.body.schemas).toEqual([USER]);
  });

  it('adds a work email through the value filter when the user has none', async () => {
    const { call } = scimClient();
    const { body: user } = await call('POST', '/Users', { schemas: [USER], userName: 'noemail' });
    const reply = await call(
      'PATCH',
      `/Users/${user.id}`,
      patchOf({ op: 'Add', path: 'emails[type eq "work"].value', value: 'new@example.com' }),
    );
    expect(reply.body.emails).toEqual([{ type: 'work', value: 'new@example.com' }]);
  });

  it('group: create → GET excludedAttributes=members → add member → remove member → rename → DELETE', async () => {
    const { call, events } = scimClient();
    const { body: user } = await call('POST', '/Users', entraUser);
    const { body: user2 } = await call('POST', '/Users', {
      ...entraUser,
      userName: 'second@testuser.com',
      externalId: 'x2',
    });

    const created = await call('POST', '/Groups', {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    expect(created.body).toEqual({
      schemas: [GROUP],
      id,
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: expect.any(Object),
    });
    expectMeta(created.body, 'Group', 1);
    expect(created.headers.Location).toBe(`${BASE}/Groups/${id}`);
    expect(events.at(-1)).toEqual({
      type: 'group-created',
      tenant: 'acme',
      id,
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      at: '2026-01-01T12:00:00.000Z',
    });

    const byName = await call(
      'GET',
      '/Groups?excludedAttributes=members&filter=displayName eq "displayName"',
    );
    expect(byName.status).toBe(200);
    expect(byName.body.totalResults).toBe(1);
    expect(byName.body.Resources[0]).toEqual(created.body);

    // Add members (Entra sends "$ref": null)
    const added = await call(
      'PATCH',
      `/Groups/${id}`,
      patchOf({
        op: 'Add',
        path: 'members',
        value: [
          { $ref: null, value: user.id },
          { $ref: null, value: user2.id },
        ],
      }),
    );
    expect(added.status).toBe(204);
    expect(added.body).toBeUndefined();
    expect(added.headers.ETag).toBe('W/"2"');
    expect(events.at(-1)).toMatchObject({ type: 'group-updated', id });

    const full = await call('GET', `/Groups/${id}`);
    expect(full.body.members).toEqual([
      { value: user.id, type: 'User', $ref: `${BASE}/Users/${user.id}` },
      { value: user2.id, type: 'User', $ref: `${BASE}/Users/${user2.id}` },
    ]);
    const withoutMembers = await call('GET', `/Groups/${id}?excludedAttributes=members`);
    expect(withoutMembers.body.members).toBeUndefined();
    expect(withoutMembers.body.displayName).toBe('displayName');

    // The user sees the group
    const member = await call('GET', `/Users/${user.id}`);
    expect(member.body.groups).toEqual([
      { value: id, $ref: `${BASE}/Groups/${id}`, display: 'displayName', type: 'direct' },
    ]);

    // Adding the same member again changes nothing
    const dup = await call(
      'PATCH',
      `/Groups/${id}`,
      patchOf({ op: 'Add', path: 'members', value: [{ value: user.id }] }),
    );
    expect(dup.status).toBe(204);
    expect(dup.headers.ETag).toBe('W/"2"');

    // Remove a member (Entra: path "members" with a value list)
    const removed = await call(
      'PATCH',
      `/Groups/${id}`,
      patchOf({ op: 'Remove', path: 'members', value: [{ $ref: null, value: user.id }] }),
    );
    expect(removed.status).toBe(204);
    expect((await call('GET', `/Groups/${id}`)).body.members).toEqual([
      { value: user2.id, type: 'User', $ref: `${BASE}/Users/${user2.id}` },
    ]);
    expect((await call('GET', `/Users/${user.id}`)).body.groups).toBeUndefined();

    // Removing an absent member is not an error
    const absent = await call(
      'PATCH',
      `/Groups/${id}`,
      patchOf({ op: 'Remove', path: 'members', value: [{ value: user.id }] }),
    );
    expect(absent.status).toBe(204);

    // Rename
    const renamed = await call(
      'PATCH',
      `/Groups/${id}`,
      patchOf({
        op: 'Replace',
        path: 'displayName',
        value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName',
      }),
    );
    expect(renamed.status).toBe(204);
    const afterRename = await call('GET', `/Groups/${id}?excludedAttributes=members`);
    expect(afterRename.body.displayName).toBe('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
    expectMeta(afterRename.body, 'Group', 4);

    // PATCH with attributes asked for answers the group
    const asked = await call(
      'PATCH',
      `/Groups/${id}?excludedAttributes=members`,
      patchOf({ op: 'Replace', path: 'externalId', value: 'e2' }),
    );
    expect(asked.status).toBe(200);
    expect(asked.body.externalId).toBe('e2');

    // DELETE
    const deleted = await call('DELETE', `/Groups/${id}`);
    expect(deleted.status).toBe(204);
    expect(events.at(-1)).toMatchObject({ type: 'group-deleted', id });
    expect((await call('GET', `/Groups/${id}`)).status).toBe(404);
    expect((await call('GET', `/Users/${user2.id}`)).body.groups).toBeUndefined();
  });
});
