import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/scim/json.ts';
import { applyPatch, type PatchOperation, parsePatchRequest } from '../../src/scim/patch.ts';
import { RESOURCE_TYPES } from '../../src/scim/schema.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const LIMITS = { maxOperations: 10, maxMembers: 5 };

const base: JsonObject = {
  userName: 'bjensen',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  phoneNumbers: [{ value: '555-1', type: 'work' }],
};

function run(...ops: unknown[]): JsonObject {
  const operations = parsePatchRequest(
    { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops },
    LIMITS,
  );
  return applyPatch(base, operations, RESOURCE_TYPES.User, 'id-1').attributes;
}

describe('PATCH (RFC 7644 §3.5.2)', () => {
  it.each<[string, unknown[], Partial<JsonObject>]>([
    ['add simple', [{ op: 'add', path: 'title', value: 'Boss' }], { title: 'Boss' }],
    ['Add (Entra capitalised)', [{ op: 'Add', path: 'title', value: 'Boss' }], { title: 'Boss' }],
    ['replace simple, any-case name', [{ op: 'REPLACE', path: 'USERNAME', value: 'b2' }], { userName: 'b2' }],
    ['replace boolean from string', [{ op: 'Replace', path: 'active', value: 'False' }], { active: false }],
    [
      'replace sub-attribute',
      [{ op: 'replace', path: 'name.familyName', value: 'J' }],
      { name: { givenName: 'Barbara', familyName: 'J' } },
    ],
    [
      'add complex merges',
      [{ op: 'add', path: 'name', value: { middleName: 'M' } }],
      { name: { givenName: 'Barbara', familyName: 'Jensen', middleName: 'M' } },
    ],
    [
      'replace complex merges (RFC: unspecified sub-attributes unchanged)',
      [{ op: 'replace', path: 'name', value: { givenName: 'B' } }],
      { name: { givenName: 'B', familyName: 'Jensen' } },
    ],
    ['remove sub-attribute', [{ op: 'remove', path: 'name.givenName' }], { name: { familyName: 'Jensen' } }],
    ['remove simple', [{ op: 'remove', path: 'phoneNumbers' }], { phoneNumbers: undefined }],
    [
      'add to multi-valued appends, no duplicates',
      [
        {
          op: 'add',
          path: 'emails',
          value: [
            { value: 'babs@jensen.org', type: 'home' },
            { value: 'x@y', type: 'other' },
          ],
        },
      ],
      { emails: [...(base.emails as JsonObject[]), { value: 'x@y', type: 'other' }] },
    ],
    [
      'replace multi-valued replaces all',
      [{ op: 'replace', path: 'phoneNumbers', value: [{ value: '9' }] }],
      { phoneNumbers: [{ value: '9' }] },
    ],
    [
      'replace through a value filter',
      [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'new@example.com' }],
      {
        emails: [
          { value: 'new@example.com', type: 'work', primary: true },
          { value: 'babs@jensen.org', type: 'home' },
        ],
      },
    ],
    [
      'value filter compares case-insensitively',
      [{ op: 'replace', path: 'emails[type eq "WORK"].value', value: 'new@example.com' }],
      {
        emails: [
          { value: 'new@example.com', type: 'work', primary: true },
          { value: 'babs@jensen.org', type: 'home' },
        ],
      },
    ],
    [
      'replace a filtered element whole',
      [{ op: 'replace', path: 'emails[type eq "home"]', value: { value: 'h@h', type: 'home' } }],
      {
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: true },
          { value: 'h@h', type: 'home' },
        ],
      },
    ],
    [
      'remove by value filter',
      [{ op: 'remove', path: 'emails[type eq "home"]' }],
      { emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }] },
    ],
    [
      'remove the last element drops the attribute',
      [{ op: 'remove', path: 'phoneNumbers[type eq "work"]' }],
      { phoneNumbers: undefined },
    ],
    [
      'remove a sub-attribute of filtered elements',
      [{ op: 'remove', path: 'emails[type eq "work"].primary' }],
      {
        emails: [
          { value: 'bjensen@example.com', type: 'work' },
          { value: 'babs@jensen.org', type: 'home' },
        ],
      },
    ],
    [
      'a new primary clears the old one',
      [{ op: 'add', path: 'emails', value: [{ value: 'p@p', type: 'other', primary: 'True' }] }],
      {
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: false },
          { value: 'babs@jensen.org', type: 'home' },
          { value: 'p@p', type: 'other', primary: true },
        ],
      },
    ],
    ['path-less add', [{ op: 'add', value: { title: 'T', nickName: 'N' } }], { title: 'T', nickName: 'N' }],
    [
      'path-less replace with sub-paths (Entra)',
      [{ op: 'Replace', value: { 'name.givenName': 'G', active: 'false' } }],
      { name: { givenName: 'G', familyName: 'Jensen' }, active: false },
    ],
    [
      'path-less value ignores schemas and meta',
      [{ op: 'replace', value: { schemas: ['x'], meta: {}, title: 'T' } }],
      { title: 'T' },
    ],
    [
      'enterprise attribute by URN path',
      [{ op: 'add', path: `${ENTERPRISE}:department`, value: 'Ops' }],
      { [ENTERPRISE]: { department: 'Ops' } },
    ],
    [
      'enterprise manager as bare id (Entra)',
      [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: 'm-1' }],
      { [ENTERPRISE]: { manager: { value: 'm-1' } } },
    ],
    [
      'enterprise manager sub-attribute',
      [{ op: 'add', path: `${ENTERPRISE}:manager.value`, value: 'm-2' }],
      { [ENTERPRISE]: { manager: { value: 'm-2' } } },
    ],
    [
      'whole extension object',
      [{ op: 'add', path: ENTERPRISE, value: { costCenter: 'C', division: 'D' } }],
      { [ENTERPRISE]: { costCenter: 'C', division: 'D' } },
    ],
    [
      'path-less extension object',
      [{ op: 'add', value: { [ENTERPRISE]: { division: 'D' } } }],
      { [ENTERPRISE]: { division: 'D' } },
    ],
    [
      'core schema URN prefix',
      [{ op: 'replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User:title', value: 'X' }],
      { title: 'X' },
    ],
    [
      'core URN prefix with value filter',
      [{ op: 'remove', path: 'urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "home"]' }],
      { emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }] },
    ],
    [
      'null value unassigns',
      [{ op: 'replace', path: 'name.givenName', value: null }],
      { name: { familyName: 'Jensen' } },
    ],
    [
      'filter with "]" inside the string',
      [{ op: 'add', path: 'emails[type eq "a]b"].value', value: 'v' }],
      { emails: [...(base.emails as JsonObject[]), { type: 'a]b', value: 'v' }] },
    ],
    ['remove of an absent attribute is a no-op', [{ op: 'remove', path: 'nickName' }], {}],
    ['removing a filtered absent element is a no-op', [{ op: 'remove', path: 'ims[type eq "aim"]' }], {}],
  ])('%s', (_name, ops, expected) => {
    const result = run(...ops);
    const want: JsonObject = { ...base };
    for (const [k, v] of Object.entries(expected)) {
      if (v === undefined) delete want[k];
      else want[k] = v;
    }
    expect(result).toEqual(want);
  });

  it('does not touch its input', () => {
    const before = structuredClone(base);
    run({ op: 'replace', path: 'emails[type eq "work"].value', value: 'x' }, { op: 'remove', path: 'name' });
    expect(base).toEqual(before);
  });

  it('records touched attributes', () => {
    const ops: PatchOperation[] = [
      { op: 'replace', path: 'active', value: false },
      { op: 'add', path: `${ENTERPRISE}:department`, value: 'x' },
    ];
    expect([...applyPatch(base, ops, RESOURCE_TYPES.User, 'id-1').touched]).toEqual([
      'active',
      `${ENTERPRISE}:department`,
    ]);
  });

  it('groups: members add/remove by value list, by filter, dedupe', () => {
    const group: JsonObject = { displayName: 'G', members: [{ value: 'a' }, { value: 'b' }] };
    const apply = (ops: PatchOperation[]) => applyPatch(group, ops, RESOURCE_TYPES.Group, 'g').attributes;
    expect(apply([{ op: 'add', path: 'members', value: [{ value: 'b' }, { value: 'c' }] }]).members).toEqual([
      { value: 'a' },
      { value: 'b' },
      { value: 'c' },
    ]);
    expect(
      apply([{ op: 'remove', path: 'members', value: [{ value: 'a' }, { value: 'zz' }] }]).members,
    ).toEqual([{ value: 'b' }]);
    expect(apply([{ op: 'remove', path: 'members[value eq "b"]' }]).members).toEqual([{ value: 'a' }]);
    expect(apply([{ op: 'remove', path: 'members' }]).members).toBeUndefined();
    expect(apply([{ op: 'replace', path: 'members', value: [{ value: 'z' }] }]).members).toEqual([
      { value: 'z' },
    ]);
    expect(apply([{ op: 'remove', path: 'members[value eq "B"]' }]).members).toHaveLength(2);
  });

  it('limits: operations and members per request → 413 tooMany', () => {
    const many = Array.from({ length: 11 }, () => ({ op: 'add', path: 'title', value: 'x' }));
    expect(() =>
      parsePatchRequest(
        { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: many },
        LIMITS,
      ),
    ).toThrow(expect.objectContaining({ status: 413, scimType: 'tooMany' }));
    const members = Array.from({ length: 6 }, (_, i) => ({ value: `u${i}` }));
    expect(() =>
      parsePatchRequest(
        {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Add', path: 'members', value: members }],
        },
        LIMITS,
      ),
    ).toThrow(expect.objectContaining({ status: 413, scimType: 'tooMany' }));
    expect(() =>
      parsePatchRequest(
        {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', value: { members } }],
        },
        LIMITS,
      ),
    ).toThrow(expect.objectContaining({ status: 413 }));
  });
});
