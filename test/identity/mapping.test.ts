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
import {
  compiledPreset,
  compileMappingConfig,
  MAPPING_PRESET_NAMES,
  type MappingPresetName,
} from '../../src/identity/presets.ts';

const WS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims';

// ---- Realistic claim fixtures ---------------------------------------------------------------

/** Entra ID v2 ID token with optional claims email, given_name, family_name and groups. */
const ENTRA_OIDC = {
  aud: '6731de76-14a6-49ae-97bc-6eba6914391e',
  iss: 'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0',
  iat: 1_700_000_000,
  exp: 1_700_003_600,
  name: 'Abe Lincoln',
  given_name: 'Abe',
  family_name: 'Lincoln',
  oid: '00000000-0000-0000-66f3-3332eca7ea81',
  preferred_username: 'abeli@contoso.onmicrosoft.com',
  email: 'abe.lincoln@contoso.com',
  sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
  tid: '9188040d-6c67-4c5b-b112-36a304b66dad',
  groups: ['0f9c4b3a-6b1e-4b7d-9d2a-1a2b3c4d5e6f', 'a1b2c3d4-0000-4000-8000-000000000001'],
  roles: ['Reports.Reader'],
  amr: ['pwd', 'mfa'],
  ver: '2.0',
};

/** Entra ID token whose groups did not fit (overage). */
const ENTRA_OVERAGE = {
  ...ENTRA_OIDC,
  groups: undefined,
  _claim_names: { groups: 'src1' },
  _claim_sources: {
    src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/00000000/getMemberObjects' },
  },
};

/** Entra ID SAML claims as saml-sp.ts builds them. */
const ENTRA_SAML = {
  sub: 'x4Yk3QwQYr8jz2Xn4b_fMnHrl9qMxQ8FQeIHq3eMk2E',
  iss: 'https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/',
  name_id_format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'http://schemas.microsoft.com/identity/claims/tenantid': '9188040d-6c67-4c5b-b112-36a304b66dad',
  'http://schemas.microsoft.com/identity/claims/objectidentifier': '66f3-3332eca7ea81',
  'http://schemas.microsoft.com/identity/claims/displayname': 'Abe Lincoln',
  [`${WS}/name`]: 'abeli@contoso.com',
  [`${WS}/givenname`]: 'Abe',
  [`${WS}/surname`]: 'Lincoln',
  [`${WS}/emailaddress`]: 'abe.lincoln@contoso.com',
  [`${MS}/groups`]: ['0f9c4b3a-6b1e-4b7d-9d2a-1a2b3c4d5e6f', 'a1b2c3d4-0000-4000-8000-000000000001'],
  email: 'abe.lincoln@contoso.com',
  given_name: 'Abe',
  family_name: 'Lincoln',
  groups: ['0f9c4b3a-6b1e-4b7d-9d2a-1a2b3c4d5e6f', 'a1b2c3d4-0000-4000-8000-000000000001'],
};

/** ADFS SAML 2.0 with the usual claim rules (UPN, email, names, Group as ;-joined). */
const ADFS_SAML = {
  sub: 'CONTOSO\\jdoe',
  iss: 'http://adfs.contoso.com/adfs/services/trust',
  name_id_format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  [`${WS}/upn`]: 'jdoe@contoso.com',
  [`${WS}/emailaddress`]: 'john.doe@contoso.com',
  [`${WS}/givenname`]: 'John',
  [`${WS}/surname`]: 'Doe',
  [`${MS}/primarysid`]: 'S-1-5-21-3623811015-3361044348-30300820-1013',
  'http://schemas.xmlsoap.org/claims/Group': ['Domain Users', 'App-Users;App-Admins'],
  [`${MS}/role`]: 'Helpdesk',
  email: 'john.doe@contoso.com',
  given_name: 'John',
  family_name: 'Doe',
};

/** ADFS OIDC (application group) ID token. */
const ADFS_OIDC = {
  aud: 'c2f8b1d2-0000-4000-8000-000000000000',
  iss: 'https://adfs.contoso.com/adfs',
  sub: 'hYx6jQ3pC0k8Kf0oS6r3f4pZtq0=',
  upn: 'jdoe@contoso.com',
  unique_name: 'CONTOSO\\jdoe',
  given_name: 'John',
  family_name: 'Doe',
  email: 'john.doe@contoso.com',
  group: 'App-Users',
  sid: 'S-1-5-21-3623811015-3361044348-30300820-1013',
};

const OKTA_OIDC = {
  sub: '00uid4BxXw6I6TV4m0g3',
  name: 'Jane Roe',
  email: 'jane.roe@example.org',
  ver: 1,
  iss: 'https://dev-123456.okta.com/oauth2/default',
  aud: '0oa1a2b3c4d5e6f7g8h9',
  preferred_username: 'jane.roe@example.org',
  given_name: 'Jane',
  family_name: 'Roe',
  groups: ['Everyone', 'Engineering'],
  amr: ['pwd', 'mfa', 'otp'],
};

const OKTA_SAML = {
  sub: 'jane.roe@example.org',
  iss: 'http://www.okta.com/exk1a2b3c4d5e6f7g8h9',
  name_id_format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  firstName: 'Jane',
  lastName: 'Roe',
  email: 'jane.roe@example.org',
  groups: ['Everyone', 'Engineering'],
};

const KEYCLOAK_OIDC = {
  exp: 1_700_003_600,
  iss: 'https://sso.example.com/realms/acme',
  aud: 'sluss',
  sub: 'f3a4a1d2-7c8e-4b9a-9d4e-2b3c4d5e6f70',
  typ: 'ID',
  azp: 'sluss',
  preferred_username: 'mmuster',
  email_verified: true,
  name: 'Max Mustermann',
  given_name: 'Max',
  family_name: 'Mustermann',
  email: 'max.mustermann@example.com',
  groups: ['/app/users', '/app/admins'],
  realm_access: { roles: ['offline_access', 'uma_authorization'] },
};

const KEYCLOAK_SAML = {
  sub: 'G-4b7c0f2e-8a9d-4f3b-9e1a-2c3d4e5f6a7b',
  iss: 'https://sso.example.com/realms/acme',
  name_id_format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oid:0.9.2342.19200300.100.1.1': 'mmuster',
  'urn:oid:1.2.840.113549.1.9.1': 'max.mustermann@example.com',
  'urn:oid:2.5.4.42': 'Max',
  'urn:oid:2.5.4.4': 'Mustermann',
  Role: ['app-user', 'app-admin'],
  email: 'max.mustermann@example.com',
  given_name: 'Max',
  family_name: 'Mustermann',
};

const GOOGLE_OIDC = {
  iss: 'https://accounts.google.com',
  azp: '1234987819200.apps.googleusercontent.com',
  aud: '1234987819200.apps.googleusercontent.com',
  sub: '10769150350006150715113082367',
  hd: 'example.com',
  email: 'jsmith@example.com',
  email_verified: true,
  name: 'John Smith',
  given_name: 'John',
  family_name: 'Smith',
  picture: 'https://lh3.googleusercontent.com/a/photo.jpg',
};

/** Shibboleth-style SAML: OIDs only, transient NameID, eduPerson attributes. */
const SHIBBOLETH_SAML = {
  sub: '_2b4c6d8e0f1a3b5c7d9e',
  iss: 'https://idp.uni.example/idp/shibboleth',
  name_id_format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.6': 'jdoe@uni.example',
  'urn:oid:0.9.2342.19200300.100.1.3': ['jane.doe@uni.example', 'jd@alumni.uni.example'],
  'urn:oid:2.5.4.42': 'Jane',
  'urn:oid:2.5.4.4': 'Doe',
  'urn:oid:2.16.840.1.113730.3.1.241': 'Dr. Jane Doe',
  'urn:oasis:names:tc:SAML:attribute:subject-id': 'jdoe@uni.example',
  'urn:oid:1.3.6.1.4.1.5923.1.5.1.1': [
    'cn=staff,ou=groups,dc=uni,dc=example',
    'cn=it,ou=groups,dc=uni,dc=example',
  ],
};

/** Generic SAML with friendly names (e.g. SimpleSAMLphp, OneLogin). */
const FRIENDLY_SAML = {
  sub: 'u12345',
  iss: 'https://idp.example.net/saml2/idp/metadata.php',
  name_id_format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  uid: ['u12345'],
  mail: ['alice@example.net'],
  givenName: ['Alice'],
  sn: ['Liddell'],
  memberOf: ['readers', 'writers'],
};

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

  const cases: {
    name: string;
    preset: MappingPresetName;
    claims: Record<string, unknown>;
    expected: Partial<MappedIdentity>;
  }[] = [
    {
      name: 'Entra OIDC',
      preset: 'entra',
      claims: ENTRA_OIDC,
      expected: {
        login: 'abeli@contoso.onmicrosoft.com',
        email: 'abe.lincoln@contoso.com',
        givenName: 'Abe',
        familyName: 'Lincoln',
        displayName: 'Abe Lincoln',
        idpUserId: '00000000-0000-0000-66f3-3332eca7ea81',
        groups: [
          '0f9c4b3a-6b1e-4b7d-9d2a-1a2b3c4d5e6f',
          'a1b2c3d4-0000-4000-8000-000000000001',
          'Reports.Reader',
        ],
        groupsOverage: false,
      },
    },
    {
      name: 'Entra OIDC with groups overage',
      preset: 'entra',
      claims: ENTRA_OVERAGE,
      expected: { groups: ['Reports.Reader'], groupsOverage: true },
    },
    {
      name: 'Entra SAML',
      preset: 'entra',
      claims: ENTRA_SAML,
      expected: {
        login: 'abeli@contoso.com',
        email: 'abe.lincoln@contoso.com',
        idpUserId: '66f3-3332eca7ea81',
        displayName: 'Abe Lincoln',
        groups: ['0f9c4b3a-6b1e-4b7d-9d2a-1a2b3c4d5e6f', 'a1b2c3d4-0000-4000-8000-000000000001'],
      },
    },
    {
      name: 'Entra SAML with groups.link overage',
      preset: 'entra',
      claims: {
        ...ENTRA_SAML,
        groups: [],
        [`${MS}/groups`]: undefined,
        'http://schemas.microsoft.com/claims/groups.link':
          'https://graph.windows.net/9188040d/users/66f3/getMemberObjects',
      },
      expected: { groups: [], groupsOverage: true },
    },
    {
      name: 'ADFS SAML (claim URIs, ;-joined groups)',
      preset: 'adfs',
      claims: ADFS_SAML,
      expected: {
        login: 'jdoe@contoso.com',
        email: 'john.doe@contoso.com',
        givenName: 'John',
        familyName: 'Doe',
        displayName: 'John Doe',
        idpUserId: 'S-1-5-21-3623811015-3361044348-30300820-1013',
        groups: ['Domain Users', 'App-Users', 'App-Admins', 'Helpdesk'],
      },
    },
    {
      name: 'ADFS OIDC',
      preset: 'adfs',
      claims: ADFS_OIDC,
      expected: {
        login: 'jdoe@contoso.com',
        email: 'john.doe@contoso.com',
        idpUserId: 'hYx6jQ3pC0k8Kf0oS6r3f4pZtq0=',
        displayName: 'CONTOSO\\jdoe',
        groups: ['App-Users'],
      },
    },
    {
      name: 'Okta OIDC',
      preset: 'okta',
      claims: OKTA_OIDC,
      expected: {
        login: 'jane.roe@example.org',
        email: 'jane.roe@example.org',
        givenName: 'Jane',
        familyName: 'Roe',
        idpUserId: '00uid4BxXw6I6TV4m0g3',
        groups: ['Everyone', 'Engineering'],
      },
    },
    {
      name: 'Okta SAML',
      preset: 'okta',
      claims: OKTA_SAML,
      expected: {
        login: 'jane.roe@example.org',
        givenName: 'Jane',
        familyName: 'Roe',
        idpUserId: 'jane.roe@example.org',
        groups: ['Everyone', 'Engineering'],
      },
    },
    {
      name: 'Keycloak OIDC',
      preset: 'keycloak',
      claims: KEYCLOAK_OIDC,
      expected: {
        login: 'mmuster',
        email: 'max.mustermann@example.com',
        displayName: 'Max Mustermann',
        idpUserId: 'f3a4a1d2-7c8e-4b9a-9d4e-2b3c4d5e6f70',
        groups: ['/app/users', '/app/admins', 'offline_access', 'uma_authorization'],
      },
    },
    {
      name: 'Keycloak SAML (OIDs, Role list)',
      preset: 'keycloak',
      claims: KEYCLOAK_SAML,
      expected: {
        login: 'mmuster',
        email: 'max.mustermann@example.com',
        givenName: 'Max',
        familyName: 'Mustermann',
        idpUserId: 'G-4b7c0f2e-8a9d-4f3b-9e1a-2c3d4e5f6a7b',
        groups: ['app-user', 'app-admin'],
      },
    },
    {
      name: 'Google',
      preset: 'google',
      claims: GOOGLE_OIDC,
      expected: {
        login: 'jsmith@example.com',
        email: 'jsmith@example.com',
        givenName: 'John',
        familyName: 'Smith',
        displayName: 'John Smith',
        idpUserId: '10769150350006150715113082367',
        groups: ['example.com'],
      },
    },
    {
      name: 'generic SAML with OIDs and a transient NameID',
      preset: 'saml-generic',
      claims: SHIBBOLETH_SAML,
      expected: {
        login: 'jdoe@uni.example',
        email: 'jane.doe@uni.example',
        givenName: 'Jane',
        familyName: 'Doe',
        displayName: 'Dr. Jane Doe',
        idpUserId: 'jdoe@uni.example',
        groups: ['cn=staff,ou=groups,dc=uni,dc=example', 'cn=it,ou=groups,dc=uni,dc=example'],
      },
    },
    {
      name: 'generic SAML with friendly names (multi-valued arrays)',
      preset: 'saml-generic',
      claims: FRIENDLY_SAML,
      expected: {
        login: 'u12345',
        email: 'alice@example.net',
        givenName: 'Alice',
        familyName: 'Liddell',
        displayName: 'Alice Liddell',
        idpUserId: 'u12345',
        groups: ['readers', 'writers'],
      },
    },
    {
      name: 'generic SAML via the sluss convenience claims',
      preset: 'saml-generic',
      claims: { ...ADFS_SAML, [`${WS}/upn`]: undefined },
      expected: { email: 'john.doe@contoso.com', login: 'john.doe@contoso.com', idpUserId: 'CONTOSO\\jdoe' },
    },
    {
      name: 'generic OIDC',
      preset: 'oidc-generic',
      claims: KEYCLOAK_OIDC,
      expected: {
        login: 'mmuster',
        idpUserId: 'f3a4a1d2-7c8e-4b9a-9d4e-2b3c4d5e6f70',
        groups: ['/app/users', '/app/admins'],
      },
    },
  ];

  it.each(cases)('$name', ({ preset, claims, expected }) => {
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
