import { describe, expect, it } from 'vitest';
import { identityMappingSchema } from '../../src/config/schema-identity.ts';
import {
  type CompiledMapping,
  compileMapping,
  MAPPING_LIMITS,
  type MappedIdentity,
  MappingConfigError,
  type MappingResult,
  mapIdentity,
  REQUIRED_FIELDS,
  sanitizeClaims,
} from '../../src/identity/mapping.ts';
import { compiledPreset, compileMappingConfig, MAPPING_PRESET_NAMES } from '../../src/identity/presets.ts';
import {
  ADFS_OIDC,
  ENTRA_OIDC,
  FRIENDLY_SAML,
  KEYCLOAK_OIDC,
  OKTA_OIDC,
  PRESET_CASES,
  SHIBBOLETH_SAML,
  WS,
} from '../fixtures/claim-shapes.ts';

// ---- Helpers --------------------------------------------------------------------------------

function ok(result: MappingResult): MappedIdentity {
  if (!result.ok) throw new Error(`mapping failed: ${result.missing.join(', ')}`);
  return result.identity;
}

function custom(spec: Parameters<typeof compileMapping>[0], base?: CompiledMapping): CompiledMapping {
  return compileMapping(spec, base);
}

// ---- Presets --------------------------------------------------------------------------------

describe('presets', () => {
  it.each(MAPPING_PRESET_NAMES)('%s compiles', (name) => {
    expect(() => compiledPreset(name)).not.toThrow();
  });

  it.each(PRESET_CASES)('$name', ({ preset, claims, expected }) => {
    expect(ok(mapIdentity(claims, compiledPreset(preset)))).toMatchObject(expected);
  });

  it('defaults to saml-generic for SAML and oidc-generic for OIDC', () => {
    expect(ok(mapIdentity(FRIENDLY_SAML, compileMappingConfig(undefined, 'saml'))).login).toBe('u12345');
    expect(ok(mapIdentity(KEYCLOAK_OIDC, compileMappingConfig(undefined, 'oidc'))).login).toBe('mmuster');
  });

  it('a transient NameID never becomes the IdP user ID', () => {
    const claims = { ...SHIBBOLETH_SAML, 'urn:oasis:names:tc:SAML:attribute:subject-id': undefined };
    const result = mapIdentity(claims, compiledPreset('saml-generic'));
    expect(result).toMatchObject({ ok: false, reason: 'identity-incomplete', missing: ['idpUserId'] });
  });
});

// ---- Paths, separators, fallbacks -----------------------------------------------------------

const NESTED = {
  sub: 's-1',
  user: {
    name: 'nested-login',
    'first.name': 'Dotted',
    emails: ['', 'first@example.com', 'second@example.com'],
  },
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': ['uri@example.com'],
  'a.b': 'flat-with-dot',
  given_name: 'Given',
  family_name: 'Family',
  empty: '',
  blank: '   ',
  upn: 'upn@example.com',
};

describe('paths and fallbacks', () => {
  const base = compileMapping({
    fields: { login: 'sub', email: 'upn', givenName: 'given_name', familyName: 'family_name' },
  });

  const cases: {
    name: string;
    spec: Parameters<typeof compileMapping>[0];
    field: keyof MappedIdentity;
    value: unknown;
  }[] = [
    {
      name: 'dotted shorthand',
      spec: { fields: { login: 'user.name' } },
      field: 'login',
      value: 'nested-login',
    },
    { name: 'JSONPath', spec: { fields: { login: '$.user.name' } }, field: 'login', value: 'nested-login' },
    {
      name: 'bracket notation for a claim URI',
      spec: { fields: { email: `$['${WS}/emailaddress']` } },
      field: 'email',
      value: 'uri@example.com',
    },
    {
      name: 'claim: prefix for a claim URI',
      spec: { fields: { email: `claim:${WS}/emailaddress` } },
      field: 'email',
      value: 'uri@example.com',
    },
    {
      name: 'a bare claim URI is one exact name',
      spec: { fields: { email: `${WS}/emailaddress` } },
      field: 'email',
      value: 'uri@example.com',
    },
    {
      name: 'claim: prefix for a name with a dot',
      spec: { fields: { login: 'claim:a.b' } },
      field: 'login',
      value: 'flat-with-dot',
    },
    {
      name: 'a custom path separator keeps dots in names',
      spec: { fields: { givenName: 'user/first.name' }, syntax: { pathSeparator: '/' } },
      field: 'givenName',
      value: 'Dotted',
    },
    {
      name: 'an index segment',
      spec: { fields: { email: 'user.emails.2' } },
      field: 'email',
      value: 'second@example.com',
    },
    {
      name: 'the first non-empty value of a multi-valued claim',
      spec: { fields: { email: 'user.emails' } },
      field: 'email',
      value: 'first@example.com',
    },
    {
      name: 'fallback list: the first that resolves wins',
      spec: { fields: { login: ['missing', 'user.name', 'sub'] } },
      field: 'login',
      value: 'nested-login',
    },
    {
      name: 'fallback separator in one string',
      spec: { fields: { login: 'missing|empty|blank|upn|sub' } },
      field: 'login',
      value: 'upn@example.com',
    },
    {
      name: 'a custom fallback separator',
      spec: { fields: { login: 'missing,,user.name' }, syntax: { fallbackSeparator: ',,' } },
      field: 'login',
      value: 'nested-login',
    },
    {
      name: 'the fallback separator is not split inside a JSONPath filter',
      spec: { fields: { email: "$.user.emails[?@ == 'x' || @ == 'second@example.com']|upn" } },
      field: 'email',
      value: 'second@example.com',
    },
    {
      name: 'empty and blank strings do not count',
      spec: { fields: { givenName: ['empty', 'blank', 'given_name'] } },
      field: 'givenName',
      value: 'Given',
    },
    {
      name: 'a value that is no email address does not count for email',
      spec: { fields: { email: ['user.name', 'upn'] } },
      field: 'email',
      value: 'upn@example.com',
    },
    {
      name: 'an object where a string is expected does not count',
      spec: { fields: { login: ['user', 'sub'] } },
      field: 'login',
      value: 's-1',
    },
    {
      name: 'display name defaults to given + family',
      spec: {},
      field: 'displayName',
      value: 'Given Family',
    },
    { name: 'idpUserId defaults to sub', spec: {}, field: 'idpUserId', value: 's-1' },
  ];

  it.each(cases)('$name', ({ spec, field, value }) => {
    expect(ok(mapIdentity(NESTED, custom(spec, base)))[field]).toEqual(value);
  });

  it('tenant fields replace the preset field, others stay', () => {
    const mapping = compileMappingConfig({ preset: 'entra', login: 'email' }, 'oidc');
    const identity = ok(mapIdentity(ENTRA_OIDC, mapping));
    expect(identity.login).toBe('abe.lincoln@contoso.com');
    expect(identity.idpUserId).toBe(ENTRA_OIDC.oid);
  });

  it('tenant separators apply to tenant paths only, not to the preset', () => {
    const mapping = compileMappingConfig(
      { preset: 'keycloak', pathSeparator: '/', login: 'realm_access/roles' },
      'oidc',
    );
    const identity = ok(mapIdentity(KEYCLOAK_OIDC, mapping));
    expect(identity.login).toBe('offline_access');
    expect(identity.groups).toContain('uma_authorization');
  });

  describe('groups', () => {
    it.each([
      { name: 'a single string', claims: { g: 'solo' }, delimiter: undefined, groups: ['solo'] },
      { name: 'an array', claims: { g: ['a', 'b'] }, delimiter: undefined, groups: ['a', 'b'] },
      {
        name: 'a delimiter splits values',
        claims: { g: ['a;b', ' c ; ;d'] },
        delimiter: ';',
        groups: ['a', 'b', 'c', 'd'],
      },
      {
        name: 'no delimiter keeps values whole',
        claims: { g: ['a;b'] },
        delimiter: undefined,
        groups: ['a;b'],
      },
      { name: 'duplicates once', claims: { g: ['a', 'a'], h: 'a' }, delimiter: undefined, groups: ['a'] },
      {
        name: 'nested arrays flatten',
        claims: { g: ['a', ['b', 'c']] },
        delimiter: undefined,
        groups: ['a', 'b', 'c'],
      },
      {
        name: 'non-strings skipped',
        claims: { g: ['a', { x: 1 }, null, true, 'b'] },
        delimiter: undefined,
        groups: ['a', 'b'],
      },
      { name: 'missing gives none', claims: {}, delimiter: undefined, groups: [] },
    ])('$name', ({ claims, delimiter, groups }) => {
      const mapping = compileMapping({
        fields: {
          login: 'sub',
          email: 'upn',
          givenName: 'given_name',
          familyName: 'family_name',
          groups: ['g', 'h'],
        },
        ...(delimiter ? { groupsDelimiter: delimiter } : {}),
      });
      expect(ok(mapIdentity({ ...NESTED, ...claims }, mapping)).groups).toEqual(groups);
    });
  });

  it.each([
    ['an empty alternative', { fields: { login: 'a||b' } }],
    ['an empty segment', { fields: { login: 'a..b' } }],
    ['an invalid JSONPath', { fields: { login: '$.[' } }],
    ['a control character', { fields: { login: 'claim:a\nb' } }],
    ['equal separators', { syntax: { pathSeparator: '|', fallbackSeparator: '|' } }],
    ['a $ separator', { syntax: { pathSeparator: '$' } }],
    ['an empty groups delimiter', { groupsDelimiter: '' }],
    ['too many paths', { fields: { login: Array.from({ length: 40 }, (_, i) => `c${i}`) } }],
  ] as const)('rejects %s at compile time', (_name, spec) => {
    expect(() => compileMapping(spec)).toThrow(MappingConfigError);
  });
});

// ---- Missing required fields ----------------------------------------------------------------

describe('required fields', () => {
  const claimFor = {
    login: 'preferred_username',
    email: 'email',
    givenName: 'given_name',
    familyName: 'family_name',
  };

  it.each(REQUIRED_FIELDS.filter((field) => field !== 'idpUserId'))(
    'missing %s alone is a typed denial',
    (field) => {
      const claims: Record<string, unknown> = { ...OKTA_OIDC };
      delete claims[claimFor[field]];
      // the Okta login falls back to email: drop that fallback for this check
      const mapping = compileMappingConfig({ preset: 'okta', login: 'preferred_username' }, 'oidc');
      const result = mapIdentity(claims, mapping);
      expect(result).toEqual({
        ok: false,
        reason: 'identity-incomplete',
        missing: [field],
        detail: expect.stringContaining(field),
      });
    },
  );

  it('missing idpUserId alone is a typed denial', () => {
    const { sub: _sub, ...claims } = OKTA_OIDC;
    expect(mapIdentity(claims, compiledPreset('okta'))).toMatchObject({ ok: false, missing: ['idpUserId'] });
  });

  it('lists every missing field', () => {
    expect(mapIdentity({ sub: 'x' }, compiledPreset('oidc-generic'))).toMatchObject({
      ok: false,
      missing: ['email', 'givenName', 'familyName'],
    });
  });

  it.each([undefined, null, 42, 'string', [], [OKTA_OIDC], new Date()])(
    'non-object claims %# deny, never throw',
    (claims) => {
      expect(mapIdentity(claims, compiledPreset('okta'))).toMatchObject({
        ok: false,
        reason: 'identity-incomplete',
      });
    },
  );
});

// ---- Hostile input --------------------------------------------------------------------------

describe('hostile input', () => {
  const okta = compiledPreset('okta');

  it('caps a 100k-element groups array', () => {
    const groups = Array.from({ length: 100_000 }, (_, i) => `g${i}`);
    const identity = ok(mapIdentity({ ...OKTA_OIDC, groups }, okta));
    expect(identity.groups).toHaveLength(MAPPING_LIMITS.maxGroups);
    expect(identity.groupsTruncated).toBe(true);
  });

  it('caps a 100k-element array of delimited values', () => {
    const mapping = compileMapping({ groupsDelimiter: ';' }, okta);
    const groups = Array.from({ length: 100_000 }, (_, i) => `a${i};b${i}`);
    expect(ok(mapIdentity({ ...OKTA_OIDC, groups }, mapping)).groups).toHaveLength(MAPPING_LIMITS.maxGroups);
  });

  it('bounds a huge object (node budget)', () => {
    const wide: Record<string, string> = {};
    for (let i = 0; i < 100_000; i++) wide[`k${i}`] = 'v';
    const result = mapIdentity({ ...OKTA_OIDC, wide }, okta);
    expect(result.ok).toBe(true);
  });

  it('drops oversized strings instead of cutting them', () => {
    const huge = `${'a'.repeat(2_000_000)}@example.org`;
    const result = mapIdentity({ ...OKTA_OIDC, email: huge, preferred_username: huge }, okta);
    expect(result).toMatchObject({ ok: false, missing: ['login', 'email'] });
  });

  it('ignores values with control characters (header injection)', () => {
    const result = mapIdentity({ ...OKTA_OIDC, given_name: 'Jane\r\nX-Admin: 1' }, okta);
    expect(result).toMatchObject({ ok: false, missing: ['givenName'] });
  });

  it('ignores __proto__, constructor and prototype keys and never pollutes', () => {
    const claims = JSON.parse(
      '{"sub":"u1","email":"a@b.c","preferred_username":"a","given_name":"A","family_name":"B",' +
        '"__proto__":{"polluted":"yes","groups":["admins"]},"constructor":{"prototype":{"polluted":"yes"}},' +
        '"nested":{"__proto__":{"polluted":"yes"}}}',
    ) as unknown;
    const mapping = compileMapping(
      { fields: { groups: ['groups', '$.__proto__.groups', 'constructor.prototype'] } },
      okta,
    );
    const identity = ok(mapIdentity(claims, mapping));
    expect(identity.groups).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const clean = sanitizeClaims(claims);
    expect(Object.keys(clean)).not.toContain('__proto__');
    expect(Object.getPrototypeOf(clean)).toBeNull();
  });

  it('does not read inherited properties', () => {
    const mapping = compileMapping({ fields: { login: ['toString', 'constructor', 'sub'] } }, okta);
    expect(ok(mapIdentity(OKTA_OIDC, mapping)).login).toBe(OKTA_OIDC.sub);
  });

  it.each([
    ['an object', { first: 'Jane' }],
    ['an array of objects', [{ value: 'Jane' }]],
    ['a boolean', true],
    ['null', null],
    ['a number that is not an integer', 1.5],
    ['a function', () => 'Jane'],
  ])('%s where a string is expected does not count', (_name, value) => {
    expect(mapIdentity({ ...OKTA_OIDC, given_name: value }, okta)).toMatchObject({
      ok: false,
      missing: ['givenName'],
    });
  });

  it('deep nesting is cut, not recursed without end', () => {
    let deep: Record<string, unknown> = { v: 'bottom' };
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    expect(mapIdentity({ ...OKTA_OIDC, deep }, okta).ok).toBe(true);
  });

  it('cyclic objects do not hang', () => {
    const cyclic: Record<string, unknown> = { ...OKTA_OIDC };
    cyclic.self = cyclic;
    expect(mapIdentity(cyclic, okta).ok).toBe(true);
  });
});

// ---- Config schema --------------------------------------------------------------------------

describe('identityMappingSchema', () => {
  it('parses a preset with overrides and defaults the separators', () => {
    const parsed = identityMappingSchema.parse({
      preset: 'adfs',
      login: ['upn|unique_name'],
      email: [`claim:${WS}/emailaddress`, 'email'],
    });
    expect(parsed).toMatchObject({ preset: 'adfs', pathSeparator: '.', fallbackSeparator: '|' });
    const identity = ok(mapIdentity(ADFS_OIDC, compileMappingConfig(parsed, 'oidc')));
    expect(identity.login).toBe('jdoe@contoso.com');
  });

  it.each([
    ['an unknown preset', { preset: 'ping' }],
    ['an unknown key', { loginName: 'upn' }],
    ['an invalid JSONPath', { login: '$[' }],
    ['equal separators', { pathSeparator: '|' }],
  ])('rejects %s', (_name, input) => {
    expect(identityMappingSchema.safeParse(input).success).toBe(false);
  });
});
