/**
 * Mapping presets for the IdPs tenants use, so most need no mapping at all. Each
 * preset is a `MappingSpec` in the default path syntax (`.` and `|`); names with a
 * `:` (SAML attribute URIs, OIDs) are exact claim names. SAML presets read the
 * claims `src/protocols/saml/saml-sp.ts` builds: every attribute by its full Name,
 * `sub` = NameID, plus convenience `email`, `given_name`, `family_name`, `name`, `groups`.
 */
import {
  type CompiledMapping,
  compileMapping,
  MAPPED_FIELDS,
  type MappedField,
  type MappingSpec,
  type PathList,
  type PathSyntax,
  type RelaxableField,
} from './mapping.ts';

/** Common SAML attribute names: WS-Federation claim URIs, X.500/eduPerson OIDs, friendly names. */
const SAML = {
  email: [
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
    'urn:oid:0.9.2342.19200300.100.1.3',
    'mail',
    'email',
    'emailAddress',
    'Email',
  ],
  upn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  /** Entra SAML puts the UPN here; ADFS often the account name. */
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  windowsAccount: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/windowsaccountname',
  uid: ['urn:oid:0.9.2342.19200300.100.1.1', 'uid'],
  eppn: ['urn:oid:1.3.6.1.4.1.5923.1.1.1.6', 'eduPersonPrincipalName'],
  givenName: [
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname',
    'urn:oid:2.5.4.42',
    'givenName',
    'firstName',
    'FirstName',
    'given_name',
  ],
  familyName: [
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname',
    'urn:oid:2.5.4.4',
    'sn',
    'surname',
    'lastName',
    'LastName',
    'family_name',
  ],
  displayName: [
    'http://schemas.microsoft.com/identity/claims/displayname',
    'urn:oid:2.16.840.1.113730.3.1.241',
    'displayName',
    'urn:oid:2.5.4.3',
    'cn',
  ],
  groups: [
    'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
    'http://schemas.xmlsoap.org/claims/Group',
    'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
    'isMemberOf',
    'memberOf',
    'groups',
    'Role',
  ],
  /** Stable subject identifiers (SAML V2.0 Subject Identifier Attributes, eduPerson). */
  subjectIds: [
    'urn:oasis:names:tc:SAML:attribute:subject-id',
    'urn:oasis:names:tc:SAML:attribute:pairwise-id',
    'urn:oid:1.3.6.1.4.1.5923.1.1.1.13',
  ],
  entraObjectId: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
  entraGroupsLink: 'http://schemas.microsoft.com/claims/groups.link',
} as const;

const ENTRA: MappingSpec = {
  fields: {
    login: ['preferred_username', 'upn', SAML.name, SAML.upn],
    email: ['email', 'upn', 'preferred_username', ...SAML.email, SAML.upn, SAML.name],
    givenName: ['given_name', ...SAML.givenName],
    familyName: ['family_name', ...SAML.familyName],
    displayName: ['name', ...SAML.displayName],
    groups: [
      'groups',
      'roles',
      'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
      'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
    ],
    idpUserId: ['oid', SAML.entraObjectId, 'sub'],
  },
  // More than 200 (JWT) / 150 (SAML) groups: Entra sends a pointer to Graph instead.
  groupsOverage: ['_claim_names.groups', 'hasgroups', SAML.entraGroupsLink],
};

const ADFS: MappingSpec = {
  fields: {
    login: ['upn', 'unique_name', SAML.upn, SAML.windowsAccount, SAML.name],
    email: ['email', ...SAML.email, 'upn', SAML.upn],
    givenName: ['given_name', ...SAML.givenName],
    familyName: ['family_name', ...SAML.familyName],
    displayName: ['name', ...SAML.displayName, 'unique_name', SAML.name],
    groups: [
      'group',
      'groups',
      'role',
      'roles',
      'http://schemas.xmlsoap.org/claims/Group',
      'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
      'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
    ],
    idpUserId: [
      'primarysid',
      'http://schemas.microsoft.com/ws/2008/06/identity/claims/primarysid',
      ...SAML.subjectIds,
      'sub',
    ],
  },
  // ADFS sends several groups in one value when a rule joins them.
  groupsDelimiter: ';',
};

const OKTA: MappingSpec = {
  fields: {
    login: ['preferred_username', 'login', 'email', ...SAML.email],
    email: ['email', ...SAML.email],
    givenName: ['given_name', ...SAML.givenName],
    familyName: ['family_name', ...SAML.familyName],
    displayName: ['name', ...SAML.displayName],
    groups: ['groups', ...SAML.groups],
    idpUserId: ['sub'],
  },
};

const KEYCLOAK: MappingSpec = {
  fields: {
    login: ['preferred_username', ...SAML.uid, 'username', 'email'],
    email: ['email', ...SAML.email],
    givenName: ['given_name', ...SAML.givenName],
    familyName: ['family_name', ...SAML.familyName],
    displayName: ['name', ...SAML.displayName],
    // `groups` needs the Group Membership mapper; realm roles are a common alternative.
    groups: ['groups', '$.realm_access.roles', 'Role'],
    idpUserId: ['sub'],
  },
};

const GOOGLE: MappingSpec = {
  fields: {
    login: ['email', ...SAML.email],
    email: ['email', ...SAML.email],
    givenName: ['given_name', ...SAML.givenName],
    familyName: ['family_name', ...SAML.familyName],
    displayName: ['name', ...SAML.displayName],
    // Google sends no groups in OIDC; `hd` (Workspace domain) is offered as a group-like value.
    groups: ['groups', 'hd'],
    idpUserId: ['sub'],
  },
};

const SAML_GENERIC: MappingSpec = {
  fields: {
    login: [
      SAML.upn,
      ...SAML.eppn,
      ...SAML.uid,
      SAML.windowsAccount,
      ...SAML.email,
      SAML.name,
      'email',
      'sub',
    ],
    email: [...SAML.email, SAML.upn],
    givenName: [...SAML.givenName],
    familyName: [...SAML.familyName],
    displayName: [...SAML.displayName, 'name'],
    groups: [...SAML.groups],
    idpUserId: [...SAML.subjectIds, SAML.entraObjectId, 'sub'],
  },
  groupsOverage: [SAML.entraGroupsLink],
};

const OIDC_GENERIC: MappingSpec = {
  fields: {
    login: ['preferred_username', 'email', 'sub'],
    email: ['email'],
    givenName: ['given_name'],
    familyName: ['family_name'],
    displayName: ['name'],
    groups: ['groups', 'roles'],
    idpUserId: ['sub'],
  },
};

export const MAPPING_PRESETS = {
  entra: ENTRA,
  adfs: ADFS,
  okta: OKTA,
  keycloak: KEYCLOAK,
  google: GOOGLE,
  'saml-generic': SAML_GENERIC,
  'oidc-generic': OIDC_GENERIC,
} as const satisfies Readonly<Record<string, MappingSpec>>;

export type MappingPresetName = keyof typeof MAPPING_PRESETS;
export const MAPPING_PRESET_NAMES = Object.keys(MAPPING_PRESETS) as [
  MappingPresetName,
  ...MappingPresetName[],
];

/** The mapping part of an IdP's config (the shape of `IdentityMappingConfig` in schema-identity.ts). */
export interface MappingConfig extends Partial<Readonly<Record<MappedField, PathList>>> {
  readonly preset?: MappingPresetName;
  readonly pathSeparator?: string;
  readonly fallbackSeparator?: string;
  readonly groupsDelimiter?: string;
  readonly required?: readonly RelaxableField[];
  readonly groupsOverage?: PathList;
}

const compiledPresets = new Map<MappingPresetName, CompiledMapping>();

export function compiledPreset(name: MappingPresetName): CompiledMapping {
  let compiled = compiledPresets.get(name);
  if (!compiled) {
    compiled = compileMapping(MAPPING_PRESETS[name]);
    compiledPresets.set(name, compiled);
  }
  return compiled;
}

/**
 * An IdP's mapping config → a compiled mapping: the preset (default by protocol), with
 * every field the config names replacing the preset's paths for that field. Throws
 * `MappingConfigError` on an unusable path.
 */
export function compileMappingConfig(
  config: MappingConfig | undefined,
  protocol: 'oidc' | 'saml',
): CompiledMapping {
  const preset = config?.preset ?? (protocol === 'saml' ? 'saml-generic' : 'oidc-generic');
  if (!config) return compiledPreset(preset);
  const fields: Partial<Record<MappedField, PathList>> = {};
  for (const field of MAPPED_FIELDS) {
    const list = config[field];
    if (list !== undefined) fields[field] = list;
  }
  const syntax: Partial<PathSyntax> = {
    ...(config.pathSeparator !== undefined ? { pathSeparator: config.pathSeparator } : {}),
    ...(config.fallbackSeparator !== undefined ? { fallbackSeparator: config.fallbackSeparator } : {}),
  };
  return compileMapping(
    {
      fields,
      syntax,
      ...(config.groupsDelimiter !== undefined ? { groupsDelimiter: config.groupsDelimiter } : {}),
      ...(config.groupsOverage !== undefined ? { groupsOverage: config.groupsOverage } : {}),
      ...(config.required !== undefined ? { required: config.required } : {}),
    },
    compiledPreset(preset),
  );
}
