import { describe, expect, it } from 'vitest';
import { ScimError } from '../../src/scim/errors.ts';
import { compileFilter, indexHint, parseFilter } from '../../src/scim/filter.ts';
import type { JsonObject } from '../../src/scim/json.ts';
import { RESOURCE_TYPES } from '../../src/scim/schema.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const babs: JsonObject = {
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: 'Ext-ABC',
  userName: 'Bjensen@Example.com',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  title: 'Tour Guide',
  userType: 'Employee',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  [ENTERPRISE]: { department: 'Tour Operations', manager: { value: 'mgr-1' } },
  meta: {
    resourceType: 'User',
    created: '2026-01-01T00:00:00Z',
    lastModified: '2026-03-01T12:00:00Z',
    version: 'W/"3"',
  },
};

const test = (filter: string, doc: JsonObject = babs) =>
  compileFilter(filter, RESOURCE_TYPES.User).matches(doc);

describe('filter evaluation (RFC 7644 §3.4.2.2)', () => {
  it.each([
    ['userName eq "bjensen@example.com"', true],
    ['userName eq "BJENSEN@EXAMPLE.COM"', true],
    ['USERNAME EQ "bjensen@example.com"', true],
    ['userName ne "bjensen@example.com"', false],
    ['userName ne "someone"', true],
    ['userName co "JENSEN"', true],
    ['userName sw "bj"', true],
    ['userName ew "example.com"', true],
    ['userName ew "example.org"', false],
    ['userName gt "a"', true],
    ['userName lt "a"', false],
    ['userName ge "bjensen@example.com"', true],
    ['userName le "bjensen@example.com"', true],
    ['externalId eq "Ext-ABC"', true],
    ['externalId eq "ext-abc"', false],
    ['id eq "2819c223-7f76-453a-919d-413861904646"', true],
    ['title pr', true],
    ['nickName pr', false],
    ['nickName ne "x"', true],
    ['nickName eq null', true],
    ['title eq null', false],
    ['title ne null', true],
    ['name.familyName co "ens"', true],
    ['name pr', true],
    ['urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "barbara"', true],
    ['active eq true', true],
    ['active eq false', false],
    ['active ne false', true],
    ['active eq "True"', true],
    ['emails co "example.com"', true],
    ['emails.value ew "jensen.org"', true],
    ['emails.type eq "WORK"', true],
    ['emails[type eq "work" and value co "@example.com"]', true],
    ['emails[type eq "home" and value co "@example.com"]', false],
    ['emails[type eq "home" or primary eq true]', true],
    ['emails[not (type eq "work")]', true],
    ['emails[primary eq true]', true],
    ['emails.primary eq true', true],
    ['emails pr', true],
    ['phoneNumbers pr', false],
    ['phoneNumbers[type eq "work"]', false],
    ['meta.lastModified gt "2026-02-01T00:00:00Z"', true],
    ['meta.lastModified gt "2026-03-01T12:00:00.000Z"', false],
    ['meta.lastModified ge "2026-03-01T12:00:00.000Z"', true],
    ['meta.created lt "2026-01-01T00:00:01Z"', true],
    ['meta.created le "2025-12-31T23:59:59Z"', false],
    ['meta.resourceType eq "User"', true],
    [`${ENTERPRISE}:department eq "tour operations"`, true],
    [`${ENTERPRISE}:manager.value eq "mgr-1"`, true],
    [`${ENTERPRISE}:manager.value eq "MGR-1"`, false],
    [`${ENTERPRISE}:employeeNumber pr`, false],
    ['title pr and userType eq "Employee"', true],
    ['title pr and userType eq "Intern"', false],
    ['title pr or userType eq "Intern"', true],
    ['userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', true],
    ['userType eq "Employee" and (emails.type eq "work")', true],
    ['userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', false],
    ['not (userName eq "x")', true],
    ['not(userName eq "bjensen@example.com")', false],
    ['userName eq "x" or userName eq "y" or title eq "Tour Guide"', true],
    ['userName eq "x" or title eq "Tour Guide" and active eq false', false],
    ['title eq "Tour Guide" and active eq false or userName sw "b"', true],
    ['userName eq "quote \\" inside"', false],
  ])('%s → %s', (filter, expected) => {
    expect(test(filter)).toBe(expected);
  });

  it('and binds tighter than or', () => {
    expect(parseFilter('a eq 1 or b eq 2 and c eq 3')).toEqual({
      op: 'or',
      filters: [
        { op: 'eq', path: { attribute: 'a' }, value: 1 },
        {
          op: 'and',
          filters: [
            { op: 'eq', path: { attribute: 'b' }, value: 2 },
            { op: 'eq', path: { attribute: 'c' }, value: 3 },
          ],
        },
      ],
    });
  });

  it('parses values: strings with escapes, numbers, booleans, null', () => {
    expect(parseFilter('a eq "x\\"y\\u00e9"')).toMatchObject({ value: 'x"yé' });
    expect(parseFilter('a eq -1.5e3')).toMatchObject({ value: -1500 });
    expect(parseFilter('a eq TRUE')).toMatchObject({ value: true });
    expect(parseFilter('a eq null')).toMatchObject({ value: null });
    expect(parseFilter('a eq "with ] and ) inside"')).toMatchObject({ value: 'with ] and ) inside' });
  });

  it('groups: displayName is case-insensitive, members.value exact', () => {
    const group: JsonObject = {
      id: 'g',
      displayName: 'Sales Team',
      members: [{ value: 'User-1', type: 'User' }],
    };
    const g = (f: string) => compileFilter(f, RESOURCE_TYPES.Group).matches(group);
    expect(g('displayName eq "sales team"')).toBe(true);
    expect(g('members[value eq "User-1"]')).toBe(true);
    expect(g('members.value eq "user-1"')).toBe(false);
    expect(g('members eq "User-1"')).toBe(true);
    expect(() => g('userName eq "x"')).toThrow(ScimError);
  });

  it('every error is 400 invalidFilter', () => {
    for (const bad of [
      '',
      '   ',
      '(',
      ')',
      '[',
      'a',
      'a eq',
      'a eq b',
      'a pr pr',
      'and',
      'a eq "x" or',
      'x.y.z eq 1',
      '1abc eq 1',
    ]) {
      try {
        compileFilter(bad, RESOURCE_TYPES.User);
        expect.fail(`accepted ${JSON.stringify(bad)}`);
      } catch (error) {
        expect(error).toBeInstanceOf(ScimError);
        expect(error).toMatchObject({ status: 400, scimType: 'invalidFilter' });
      }
    }
  });

  it('index hints for backends', () => {
    const hint = (f: string) => indexHint(compileFilter(f, RESOURCE_TYPES.User));
    expect(hint('userName eq "A@b"')).toEqual({ attribute: 'userName', value: 'A@b' });
    expect(hint('active eq true and externalId eq "x"')).toEqual({ attribute: 'externalId', value: 'x' });
    expect(hint('userName eq "a" or userName eq "b"')).toBeUndefined();
    expect(hint('userName co "a"')).toBeUndefined();
    expect(indexHint(compileFilter('displayName eq "G"', RESOURCE_TYPES.Group))).toEqual({
      attribute: 'displayName',
      value: 'G',
    });
  });
});
