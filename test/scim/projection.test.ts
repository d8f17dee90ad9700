/** attributes / excludedAttributes (RFC 7644 §3.4.2.5), and POST /.search (§3.4.3). */
import { describe, expect, it } from 'vitest';
import { ENTERPRISE, expectError, GROUP, LIST_SCHEMA, scimClient, USER } from './scim-client.ts';

const user = {
  schemas: [USER, ENTERPRISE],
  userName: 'bjensen',
  externalId: 'e1',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [{ value: 'b@example.com', type: 'work', primary: true }],
  [ENTERPRISE]: { department: 'Ops', costCenter: 'C1' },
};

describe('projection', () => {
  it('attributes= keeps the named attributes plus id and schemas', async () => {
    const { call } = scimClient();
    const { body } = await call('POST', '/Users', user);
    const reply = await call(
      'GET',
      `/Users/${body.id}?attributes=userName,emails.value,name.familyName,${ENTERPRISE}:department`,
    );
    expect(reply.body).toEqual({
      schemas: [USER, ENTERPRISE],
      id: body.id,
      userName: 'bjensen',
      emails: [{ value: 'b@example.com' }],
      name: { familyName: 'Jensen' },
      [ENTERPRISE]: { department: 'Ops' },
    });
    const meta = await call('GET', `/Users/${body.id}?attributes=meta.version,USERNAME`);
    expect(meta.body).toEqual({
      schemas: [USER, ENTERPRISE],
      id: body.id,
      userName: 'bjensen',
      meta: { version: 'W/"1"' },
    });
    const wholeExtension = await call('GET', `/Users/${body.id}?attributes=${ENTERPRISE}`);
    expect(wholeExtension.body[ENTERPRISE]).toEqual({ department: 'Ops', costCenter: 'C1' });
  });

  it('excludedAttributes= drops attributes and sub-attributes, never id', async () => {
    const { call } = scimClient();
    const { body } = await call('POST', '/Users', user);
    const reply = await call(
      'GET',
      `/Users/${body.id}?excludedAttributes=emails,name.givenName,id,meta,${ENTERPRISE}:costCenter`,
    );
    expect(reply.body).toEqual({
      schemas: [USER, ENTERPRISE],
      id: body.id,
      userName: 'bjensen',
      externalId: 'e1',
      active: true,
      name: { familyName: 'Jensen' },
      [ENTERPRISE]: { department: 'Ops' },
    });
  });

  it('applies to lists, POST and PUT answers too', async () => {
    const { call } = scimClient();
    const created = await call('POST', '/Users?attributes=userName', user);
    expect(created.body).toEqual({ schemas: [USER, ENTERPRISE], id: created.body.id, userName: 'bjensen' });
    const list = await call('GET', '/Users?attributes=userName');
    expect(list.body.Resources).toEqual([created.body]);
    const { body: group } = await call('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'G',
      members: [{ value: created.body.id }],
    });
    const groups = await call('GET', '/Groups?excludedAttributes=members');
    expect(groups.body.Resources[0].members).toBeUndefined();
    expect(groups.body.Resources[0].id).toBe(group.id);
    const withGroups = await call('GET', `/Users/${created.body.id}?attributes=groups.display`);
    expect(withGroups.body.groups).toEqual([{ display: 'G' }]);
  });

  it('POST /Users/.search', async () => {
    const { call } = scimClient();
    await call('POST', '/Users', user);
    await call('POST', '/Users', { schemas: [USER], userName: 'other' });
    const reply = await call('POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'userName eq "BJENSEN"',
      attributes: ['userName'],
      startIndex: 1,
      count: 10,
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      schemas: [LIST_SCHEMA],
      totalResults: 1,
      startIndex: 1,
      itemsPerPage: 1,
      Resources: [{ schemas: [USER, ENTERPRISE], id: expect.any(String), userName: 'bjensen' }],
    });
    expectError(await call('POST', '/Users/.search', { filter: 'userName eq' }), 400, 'invalidFilter');
    expectError(await call('POST', '/Users/.search', { filter: { a: 1 } }), 400, 'invalidValue');
  });
});
