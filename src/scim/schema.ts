/**
 * The schemas this service provider implements (RFC 7643 §4, §8.7): core User with the
 * enterprise extension, core Group. The definitions drive input coercion, filter case
 * sensitivity, PATCH path resolution, mutability and the `/Schemas` endpoint.
 */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export type AttributeType =
  | 'string'
  | 'boolean'
  | 'decimal'
  | 'integer'
  | 'dateTime'
  | 'reference'
  | 'complex';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';

export interface AttributeDef {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

export type ResourceTypeName = 'User' | 'Group';

export interface ResourceTypeDef {
  name: ResourceTypeName;
  endpoint: '/Users' | '/Groups';
  schema: SchemaDef;
  extensions: Array<{ schema: SchemaDef; required: boolean }>;
}

type AttrOptions = Partial<Omit<AttributeDef, 'name' | 'type'>>;

function attr(name: string, type: AttributeType, options: AttrOptions = {}): AttributeDef {
  return {
    name,
    type,
    multiValued: false,
    description: name,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
  };
}

const str = (name: string, options: AttrOptions = {}): AttributeDef => attr(name, 'string', options);

/** The sub-attributes of the standard multi-valued attributes (emails, phoneNumbers, …). */
function multi(name: string, options: AttrOptions & { types?: string[]; valueType?: AttributeType } = {}) {
  const { types, valueType, ...rest } = options;
  return attr(name, 'complex', {
    multiValued: true,
    subAttributes: [
      attr('value', valueType ?? 'string'),
      str('display'),
      str('type', types ? { canonicalValues: types } : {}),
      attr('primary', 'boolean'),
    ],
    ...rest,
  });
}

const id = str('id', {
  description: 'Unique identifier for the resource, assigned by the service provider.',
  caseExact: true,
  mutability: 'readOnly',
  returned: 'always',
  uniqueness: 'server',
});
const externalId = str('externalId', {
  description: "The provisioning client's identifier for the resource.",
  caseExact: true,
});

export const USER_SCHEMA_DEF: SchemaDef = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    id,
    externalId,
    str('userName', {
      description: 'Unique identifier for the User, used to authenticate; case-insensitive.',
      required: true,
      uniqueness: 'server',
    }),
    attr('name', 'complex', {
      subAttributes: [
        str('formatted'),
        str('familyName'),
        str('givenName'),
        str('middleName'),
        str('honorificPrefix'),
        str('honorificSuffix'),
      ],
    }),
    str('displayName'),
    str('nickName'),
    attr('profileUrl', 'reference', { referenceTypes: ['external'] }),
    str('title'),
    str('userType'),
    str('preferredLanguage'),
    str('locale'),
    str('timezone'),
    attr('active', 'boolean'),
    str('password', { mutability: 'writeOnly', returned: 'never' }),
    multi('emails', { types: ['work', 'home', 'other'] }),
    multi('phoneNumbers', { types: ['work', 'home', 'mobile', 'fax', 'pager', 'other'] }),
    multi('ims'),
    multi('photos', { valueType: 'reference' }),
    attr('addresses', 'complex', {
      multiValued: true,
      subAttributes: [
        str('formatted'),
        str('streetAddress'),
        str('locality'),
        str('region'),
        str('postalCode'),
        str('country'),
        str('type', { canonicalValues: ['work', 'home', 'other'] }),
        attr('primary', 'boolean'),
      ],
    }),
    attr('groups', 'complex', {
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        str('value', { mutability: 'readOnly' }),
        attr('$ref', 'reference', { mutability: 'readOnly', referenceTypes: ['Group'] }),
        str('display', { mutability: 'readOnly' }),
        str('type', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    }),
    multi('entitlements'),
    multi('roles'),
    multi('x509Certificates'),
  ],
};

export const ENTERPRISE_USER_SCHEMA_DEF: SchemaDef = {
  id: ENTERPRISE_USER_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    str('employeeNumber'),
    str('costCenter'),
    str('organization'),
    str('division'),
    str('department'),
    attr('manager', 'complex', {
      subAttributes: [
        str('value', { caseExact: true }),
        attr('$ref', 'reference', { referenceTypes: ['User'] }),
        str('displayName', { mutability: 'readOnly' }),
      ],
    }),
  ],
};

export const GROUP_SCHEMA_DEF: SchemaDef = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    id,
    externalId,
    str('displayName', { description: 'A human-readable name for the Group.', required: true }),
    attr('members', 'complex', {
      multiValued: true,
      subAttributes: [
        str('value', { mutability: 'immutable', caseExact: true }),
        attr('$ref', 'reference', { mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
        str('display', { mutability: 'immutable' }),
        str('type', { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
      ],
    }),
  ],
};

/** `meta` is common to every resource (RFC 7643 §3.1); read-only. */
export const META_DEF: AttributeDef = attr('meta', 'complex', {
  mutability: 'readOnly',
  subAttributes: [
    str('resourceType', { mutability: 'readOnly', caseExact: true }),
    attr('created', 'dateTime', { mutability: 'readOnly' }),
    attr('lastModified', 'dateTime', { mutability: 'readOnly' }),
    attr('location', 'reference', { mutability: 'readOnly', caseExact: true }),
    str('version', { mutability: 'readOnly', caseExact: true }),
  ],
});

export const RESOURCE_TYPES: Record<ResourceTypeName, ResourceTypeDef> = {
  User: {
    name: 'User',
    endpoint: '/Users',
    schema: USER_SCHEMA_DEF,
    extensions: [{ schema: ENTERPRISE_USER_SCHEMA_DEF, required: false }],
  },
  Group: { name: 'Group', endpoint: '/Groups', schema: GROUP_SCHEMA_DEF, extensions: [] },
};

export const ALL_SCHEMAS: SchemaDef[] = [USER_SCHEMA_DEF, ENTERPRISE_USER_SCHEMA_DEF, GROUP_SCHEMA_DEF];

export function findAttribute(attributes: readonly AttributeDef[], name: string): AttributeDef | undefined {
  const lower = name.toLowerCase();
  return attributes.find((a) => a.name.toLowerCase() === lower);
}

/** An attribute located in a resource type: in which schema (core or an extension) and its definition. */
export interface ResolvedAttribute {
  /** The extension URN the attribute lives under, or undefined for the core schema. */
  extension: string | undefined;
  def: AttributeDef;
}

/**
 * Resolves `[urn:]name` against a resource type. `schemaUrn` is the URN prefix from the path
 * (core or extension, any case), or undefined. `meta` resolves too (read-only).
 */
export function resolveAttribute(
  type: ResourceTypeDef,
  schemaUrn: string | undefined,
  name: string,
): ResolvedAttribute | undefined {
  if (schemaUrn !== undefined) {
    const urn = schemaUrn.toLowerCase();
    if (urn === type.schema.id.toLowerCase()) {
      const def = findAttribute(type.schema.attributes, name) ?? findAttribute([META_DEF], name);
      return def ? { extension: undefined, def } : undefined;
    }
    const extension = type.extensions.find((e) => e.schema.id.toLowerCase() === urn);
    if (!extension) return undefined;
    const def = findAttribute(extension.schema.attributes, name);
    return def ? { extension: extension.schema.id, def } : undefined;
  }
  const core = findAttribute(type.schema.attributes, name) ?? findAttribute([META_DEF], name);
  if (core) return { extension: undefined, def: core };
  return undefined;
}

/** The extension whose URN equals `urn` (any case), if the resource type has it. */
export function findExtension(type: ResourceTypeDef, urn: string): SchemaDef | undefined {
  const lower = urn.toLowerCase();
  return type.extensions.find((e) => e.schema.id.toLowerCase() === lower)?.schema;
}
