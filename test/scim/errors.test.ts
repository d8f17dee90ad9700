/** The RFC 7644 error cases, and the discovery endpoints. */
import { describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../src/scim/directory.ts';
import { errorBody, unauthorized } from '../../src/scim/errors.ts';
import { handleScimRequest } from '../../src/scim/handler.ts';
import { describeEachDirectory } from './directory-contract.ts';
import {
  BASE,
  ENTERPRISE,
  expectError,
  GROUP,
  LIST_SCHEMA,
  patchOf,
  type Reply,
  scimClient,
  USER,
} from './scim-client.ts';

describeEachDirectory('SCIM errors', ({ scimClient }) => {
  it('409 uniqueness for a duplicate userName in any case, on POST, PUT and PATCH', async () => {
    const { call } = scimClient();
    const { body: a } = await call('POST', '/Users', { schemas: [USER], userName: 'Alice@Example.com' });
    expectError(
      await call('POST', '/Users', { schemas: [USER], userName: 'alice@example.COM' }),
      409,
      'uniqueness',
    );
    const { body: b } = await call('POST', '/Users', { schemas: [USER], userName: 'bob@example.com' });
    expectError(
      await call('PUT', `/Users/${b.id}`, { schemas: [USER], userName: 'ALICE@example.com' }),
      409,
      'uniqueness',
    );
    expectError(
      await call(
        'PATCH',
        `/Users/${b.id}`,
        patchOf({ op: 'replace', path: 'userName', value: 'alice@EXAMPLE.com' }),
      ),
      409,
      'uniqueness',
    );
    // Changing the case of one's own userName is fine
    const own = await call(
      'PATCH',
      `/Users/${a.id}`,
      patchOf({ op: 'replace', path: 'userName', value: 'alice@example.com' }),
    );
    expect(own.status).toBe(200);
    // Tenants are separate
    const other = scimClient({ tenant: 'other' });
    expect(
      (await other.call('POST', '/Users', { schemas: [USER], userName: 'alice@example.com' })).status,
    ).toBe(201);
  });

  it('a deleted (marked) user frees its userName', async () => {
    const { call } = scimClient();
    const { body } = await call('POST', '/Users', { schemas: [USER], userName: 'again' });
    await call('DELETE', `/Users/${body.id}`);
    const recreated = await call('POST', '/Users', { schemas: [USER], userName: 'AGAIN' });
    expect(recreated.status).toBe(201);
    expect(recreated.body.id).not.toBe(body.id);
  });

  it.each([
    'userName eq',
    'userName eq bob',
    'userName eq "unterminated',
    'userName xx "a"',
    '(userName eq "a"',
    'userName eq "a")',
    'userName eq "a" and',
    'not userName eq "a"',
    'emails[type eq "work"',
    'emails[emails[type eq "a"]]',
    'emails[type eq "work"].value eq "x"',
    'nosuchattribute eq "x"',
    'active gt true',
    'meta.lastModified gt "not a date"',
    'name eq "x"',
    'userName eq "a" "b"',
    'urn:foo eq "x"',
  ])('400 invalidFilter for %j', async (filter) => {
    const { call } = scimClient();
    expectError(await call('GET', `/Users?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter');
  });

  it('404 for unknown resources and endpoints, 405 for wrong methods', async () => {
    const { call } = scimClient();
    expectError(await call('GET', '/Users/does-not-exist'), 404);
    expectError(await call('PUT', '/Users/does-not-exist', { schemas: [USER], userName: 'x' }), 404);
    expectError(
      await call('PATCH', '/Users/does-not-exist', patchOf({ op: 'replace', path: 'active', value: false })),
      404,
    );
    expectError(await call('DELETE', '/Users/does-not-exist'), 404);
    expectError(await call('DELETE', '/Groups/does-not-exist'), 404);
    expectError(await call('GET', '/Nope'), 404);
    expectError(await call('GET', '/Users/a/b'), 404);
    expectError(await call('GET', '/Users/%E0%A4%A'), 404);
    expectError(await call('DELETE', '/Users'), 405);
    expectError(await call('POST', '/ServiceProviderConfig', {}), 405);
    // A user id is not a group id
    const { body } = await call('POST', '/Users', { schemas: [USER], userName: 'u' });
    expectError(await call('GET', `/Groups/${body.id}`), 404);
  });

  it('the empty filter means no filter', async () => {
    const { call } = scimClient();
    const reply = await call('GET', '/Users?filter=');
    expect(reply.status).toBe(200);
  });

  it('400 for invalid PATCH paths, values, ops and bodies', async () => {
    const { call } = scimClient();
    const { body: user } = await call('POST', '/Users', { schemas: [USER], userName: 'p' });
    const at = `/Users/${user.id}`;
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'nosuch', value: 'x' })),
      400,
      'invalidPath',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'name.nosuch', value: 'x' })),
      400,
      'invalidPath',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'emails[type eq "work"', value: 'x' })),
      400,
      'invalidPath',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'emails[type zz "w"]', value: 'x' })),
      400,
      'invalidPath',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'userName[value eq "x"]', value: 'x' })),
      400,
      'invalidPath',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'emails[type eq "w"]x', value: 'x' })),
      400,
      'invalidPath',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: '', value: 'x' })),
      400,
      'invalidPath',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 42, value: 'x' })),
      400,
      'invalidPath',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'active', value: 'maybe' })),
      400,
      'invalidValue',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'name', value: 'flat' })),
      400,
      'invalidValue',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'userName', value: ['a', 'b'] })),
      400,
      'invalidValue',
    );
    expectError(await call('PATCH', at, patchOf({ op: 'remove', path: 'userName' })), 400, 'invalidValue');
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', value: 'not an object' })),
      400,
      'invalidValue',
    );
    expectError(await call('PATCH', at, patchOf({ op: 'add', path: 'title' })), 400, 'invalidValue');
    expectError(await call('PATCH', at, patchOf({ op: 'remove' })), 400, 'noTarget');
    expectError(await call('PATCH', at, patchOf({ op: 'Remove' })), 400, 'noTarget');
    expectError(
      await call('PATCH', at, patchOf({ op: 'merge', path: 'title', value: 'x' })),
      400,
      'invalidSyntax',
    );
    expectError(await call('PATCH', at, patchOf({ path: 'title', value: 'x' })), 400, 'invalidSyntax');
    expectError(
      await call('PATCH', at, { Operations: [{ op: 'add', path: 'title', value: 'x' }] }),
      400,
      'invalidSyntax',
    );
    expectError(await call('PATCH', at, patchOf()), 400, 'invalidSyntax');
    expectError(await call('PATCH', at, patchOf('add')), 400, 'invalidSyntax');
    expectError(await call('PATCH', at, ['not', 'an', 'object']), 400, 'invalidSyntax');
    expectError(
      await call(
        'PATCH',
        at,
        patchOf({ op: 'replace', path: 'emails[type eq "work" or type eq "home"].value', value: 'x' }),
      ),
      400,
      'noTarget',
    );
    // Nothing was changed by the failed requests
    const after = await call('GET', at);
    expect(after.headers.ETag).toBe('W/"1"');
  });

  it('400 mutability for id, meta, groups and member values; an unchanged id is accepted', async () => {
    const { call } = scimClient();
    const { body: user } = await call('POST', '/Users', { schemas: [USER], userName: 'm' });
    const at = `/Users/${user.id}`;
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', path: 'id', value: 'other' })),
      400,
      'mutability',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'replace', value: { id: 'other' } })),
      400,
      'mutability',
    );
    expectError(
      await call(
        'PATCH',
        at,
        patchOf({ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }),
      ),
      400,
      'mutability',
    );
    expectError(
      await call('PATCH', at, patchOf({ op: 'add', path: 'groups', value: [{ value: 'g' }] })),
      400,
      'mutability',
    );
    expectError(
      await call(
        'PATCH',
        at,
        patchOf({ op: 'replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User:id', value: 'x' }),
      ),
      400,
      'mutability',
    );
    expect(
      (await call('PATCH', at, patchOf({ op: 'replace', value: { id: user.id, title: 'T' } }))).status,
    ).toBe(200);
    // PUT ignores read-only attributes (RFC 7644 §3.5.1): the id stays
    const put = await call('PUT', at, {
      schemas: [USER],
      id: 'other',
      userName: 'm',
      meta: { created: 'x' },
    });
    expect(put.status).toBe(200);
    expect(put.body.id).toBe(user.id);
    expect(put.body.meta.created).toBe(user.meta.created);

    const { body: group } = await call('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'g',
      members: [{ value: user.id }],
    });
    expectError(
      await call(
        'PATCH',
        `/Groups/${group.id}`,
        patchOf({ op: 'replace', path: `members[value eq "${user.id}"].value`, value: 'x' }),
      ),
      400,
      'mutability',
    );
  });

  it('400 for bodies that are not resources, members that do not exist, missing required attributes', async () => {
    const { call } = scimClient();
    expectError(await call('POST', '/Users', 'text'), 400, 'invalidSyntax');
    expectError(await call('POST', '/Users', { schemas: [GROUP], userName: 'x' }), 400, 'invalidSyntax');
    expectError(await call('POST', '/Users', { schemas: 'x', userName: 'x' }), 400, 'invalidSyntax');
    expectError(await call('POST', '/Users', { schemas: [USER] }), 400, 'invalidValue');
    expectError(await call('POST', '/Users', { schemas: [USER], userName: '  ' }), 400, 'invalidValue');
    expectError(
      await call('POST', '/Users', { schemas: [USER], userName: 'x', active: 'yes' }),
      400,
      'invalidValue',
    );
    expectError(
      await call('POST', '/Users', { schemas: [USER], userName: 'x', emails: 'a@b' }),
      400,
      'invalidValue',
    );
    expectError(await call('POST', '/Users', { schemas: [USER], userName: { a: 1 } }), 400, 'invalidValue');
    expectError(await call('POST', '/Groups', { schemas: [GROUP] }), 400, 'invalidValue');
    expectError(
      await call('POST', '/Groups', { schemas: [GROUP], displayName: 'g', members: [{ value: 'ghost' }] }),
      400,
      'invalidValue',
    );
    expectError(
      await call('POST', '/Groups', {
        schemas: [GROUP],
        displayName: 'g',
        members: [{ display: 'no value' }],
      }),
      400,
      'invalidValue',
    );
    expectError(await call('GET', '/Users?startIndex=abc'), 400, 'invalidValue');
    expectError(await call('GET', '/Users?count=1.5'), 400, 'invalidValue');
    expectError(await call('GET', '/Users?attributes=bad attr'), 400, 'invalidPath');
  });

  it('If-Match with a stale ETag answers 412', async () => {
    const { call } = scimClient();
    const { body } = await call('POST', '/Users', { schemas: [USER], userName: 'etag' });
    const stale = await call(
      'PATCH',
      `/Users/${body.id}`,
      patchOf({ op: 'replace', path: 'title', value: 'a' }),
      { 'If-Match': 'W/"7"' },
    );
    expectError(stale, 412);
    const fresh = await call(
      'PATCH',
      `/Users/${body.id}`,
      patchOf({ op: 'replace', path: 'title', value: 'a' }),
      { 'If-Match': 'W/"1"' },
    );
    expect(fresh.status).toBe(200);
    expectError(await call('DELETE', `/Users/${body.id}`, undefined, { 'if-match': 'W/"1"' }), 412);
    expect((await call('DELETE', `/Users/${body.id}`, undefined, { 'if-match': '*' })).status).toBe(204);
  });

  it('onChange failures are 500s without details, and reported', async () => {
    const errors: unknown[] = [];
    const failing = await handleScimRequest(
      {
        method: 'POST',
        path: '/Users',
        query: new URLSearchParams(),
        headers: {},
        body: { schemas: [USER], userName: 'z' },
      },
      {
        tenant: 't',
        directory: new MemoryDirectory(),
        clock: { now: () => 0 },
        baseUrl: BASE,
        onChange: () => {
          throw new Error('bus down: secret detail');
        },
        onError: (e) => errors.push(e),
      },
    );
    expectError(failing as Reply, 500);
    expect(JSON.stringify(failing.body)).not.toContain('secret');
    expect(errors).toHaveLength(1);
  });

  it('unauthorized() is the 401 for the auth layer', () => {
    const reply = unauthorized();
    expect(reply.status).toBe(401);
    expect(reply.headers['WWW-Authenticate']).toBe('Bearer realm="sluss-scim"');
    expect(reply.body).toEqual(errorBody(401, 'A valid bearer token is required.'));
    expect(reply.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '401',
    });
  });
});

describe('discovery endpoints', () => {
  it('ServiceProviderConfig', async () => {
    const { call } = scimClient();
    const reply = await call('GET', '/ServiceProviderConfig');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: 200 },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: true },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken', primary: true })],
      meta: { resourceType: 'ServiceProviderConfig', location: `${BASE}/ServiceProviderConfig` },
    });
  });

  it('ResourceTypes and ResourceTypes/{id}', async () => {
    const { call } = scimClient();
    const all = await call('GET', '/ResourceTypes');
    expect(all.body.schemas).toEqual([LIST_SCHEMA]);
    expect(all.body.totalResults).toBe(2);
    const user = await call('GET', '/ResourceTypes/User');
    expect(user.body).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: USER,
      schemaExtensions: [{ schema: ENTERPRISE, required: false }],
      meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/User` },
    });
    expect((await call('GET', '/ResourceTypes/Group')).body.schema).toBe(GROUP);
    expectError(await call('GET', '/ResourceTypes/Nope'), 404);
  });

  it('Schemas and Schemas/{id}', async () => {
    const { call } = scimClient();
    const all = await call('GET', '/Schemas');
    expect(all.body.Resources.map((s: { id: string }) => s.id)).toEqual([USER, ENTERPRISE, GROUP]);
    const user = await call('GET', `/Schemas/${USER}`);
    expect(user.body.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:Schema']);
    const userName = user.body.attributes.find((a: { name: string }) => a.name === 'userName');
    expect(userName).toMatchObject({
      type: 'string',
      required: true,
      caseExact: false,
      uniqueness: 'server',
    });
    const password = user.body.attributes.find((a: { name: string }) => a.name === 'password');
    expect(password).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    const emails = user.body.attributes.find((a: { name: string }) => a.name === 'emails');
    expect(emails.subAttributes.map((a: { name: string }) => a.name)).toEqual([
      'value',
      'display',
      'type',
      'primary',
    ]);
    expect((await call('GET', `/Schemas/${ENTERPRISE}`)).body.name).toBe('EnterpriseUser');
    expectError(await call('GET', '/Schemas/urn:nope'), 404);
  });
});
