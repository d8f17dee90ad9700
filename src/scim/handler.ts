/**
 * The SCIM 2.0 service provider (RFC 7643/7644), independent of HTTP: the lead's route
 * authenticates the bearer token, reads the body (size-limited) and calls
 * `handleScimRequest` with the path after `/.sluss/scim/v2`.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { type DeletionMode, finishDeletion, markDeleted } from './deletion.ts';
import {
  type Directory,
  DirectoryConflictError,
  DirectoryVersionError,
  type ListQuery,
  memberIds,
  type StoredResource,
} from './directory.ts';
import {
  badRequest,
  errorResponse,
  notFound,
  SCIM_CONTENT_TYPE,
  ScimError,
  type ScimResponse,
} from './errors.ts';
import { compileFilter, DEFAULT_FILTER_LIMITS, type FilterLimits } from './filter.ts';
import { deepEqual, inspectJson, isObject, type JsonObject, type JsonValue } from './json.ts';
import { applyPatch, parsePatchRequest } from './patch.ts';
import { normaliseInput, type Projection, parseAttributeList, project, schemasOf } from './resource.ts';
import {
  ALL_SCHEMAS,
  type AttributeDef,
  LIST_RESPONSE_SCHEMA,
  RESOURCE_TYPE_SCHEMA,
  RESOURCE_TYPES,
  type ResourceTypeDef,
  type ResourceTypeName,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG_SCHEMA,
} from './schema.ts';

export interface ScimRequest {
  method: string;
  /** The path after `/.sluss/scim/v2`, e.g. `/Users/2819c223`; may carry a query string, which is ignored. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  /** The parsed JSON body (undefined when there was none). */
  body: unknown;
}

export interface ScimLimits {
  /** Largest page; `count` above it is capped (ServiceProviderConfig `filter.maxResults`). */
  maxPageSize: number;
  /** Operations in one PATCH (more → 413 tooMany). */
  maxOperations: number;
  /** Members added/removed in one PATCH, or listed in one POST/PUT of a group (more → 413 tooMany). */
  maxMembersPerRequest: number;
  /** Body structure: nesting depth, number of JSON values, longest string. */
  maxDepth: number;
  maxNodes: number;
  maxStringLength: number;
  filter: FilterLimits;
}

export const DEFAULT_SCIM_LIMITS: ScimLimits = {
  maxPageSize: 200,
  maxOperations: 100,
  maxMembersPerRequest: 1000,
  maxDepth: 16,
  maxNodes: 20_000,
  maxStringLength: 16_384,
  filter: DEFAULT_FILTER_LIMITS,
};

export type ScimChangeType =
  | 'user-created'
  | 'user-updated'
  | 'user-deactivated'
  | 'user-reactivated'
  | 'user-deleted'
  | 'group-created'
  | 'group-updated'
  | 'group-deleted';

/**
 * One provisioning change, for the audit stream and session revocation. `user-deactivated`
 * and `user-deleted` (any `deletion` mode) must end the user's sessions.
 */
export interface ScimChangeEvent {
  type: ScimChangeType;
  tenant: string;
  id: string;
  userName?: string;
  externalId?: string;
  displayName?: string;
  /** ISO 8601, from the context's clock. */
  at: string;
  /** For `user-deleted`: what the tenant's delete option did. */
  deletion?: DeletionMode;
}

export interface ScimContext {
  tenant: string;
  directory: Directory;
  clock: Clock;
  /** Absolute URL of the SCIM root, e.g. `https://app.example/.sluss/scim/v2` (for `meta.location`). */
  baseUrl: string;
  limits?: Partial<ScimLimits>;
  /** The tenant's delete option; default `mark`. */
  deletion?: DeletionMode;
  /** Awaited before the response; a throw becomes a 500 (the change is stored; the IdP retries). */
  onChange(event: ScimChangeEvent): void | Promise<void>;
  /** Unexpected errors (500s), for the log. */
  onError?(error: unknown): void;
  /** Id generator (tests); default randomUUID. */
  newId?(): string;
}

interface Ctx extends ScimContext {
  limits: ScimLimits;
  base: string;
}

const JSON_HEADERS = { 'Content-Type': SCIM_CONTENT_TYPE };

export async function handleScimRequest(request: ScimRequest, context: ScimContext): Promise<ScimResponse> {
  const ctx: Ctx = {
    ...context,
    limits: { ...DEFAULT_SCIM_LIMITS, ...context.limits },
    base: context.baseUrl.replace(/\/+$/, ''),
  };
  try {
    if (request.body !== undefined) inspectJson(request.body, ctx.limits);
    return await route(request, ctx);
  } catch (error) {
    if (error instanceof ScimError) return errorResponse(error);
    if (error instanceof DirectoryConflictError) {
      return errorResponse(new ScimError(409, 'A user with this userName already exists.', 'uniqueness'));
    }
    if (error instanceof DirectoryVersionError) {
      const busy = errorResponse(new ScimError(503, 'The resource is being changed concurrently; retry.'));
      return { ...busy, headers: { ...busy.headers, 'Retry-After': '1' } };
    }
    context.onError?.(error);
    return errorResponse(new ScimError(500, 'Internal error.'));
  }
}

async function route(request: ScimRequest, ctx: Ctx): Promise<ScimResponse> {
  const method = request.method.toUpperCase();
  const segments = request.path
    .split('?')[0]
    ?.split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
  if (!segments || segments.length === 0 || segments.length > 2) throw notFound('Unknown SCIM endpoint.');
  const [head, id] = segments as [string, string | undefined];
  const endpoint = head.toLowerCase();

  if (endpoint === 'users' || endpoint === 'groups') {
    const type = RESOURCE_TYPES[endpoint === 'users' ? 'User' : 'Group'];
    if (id === undefined) {
      if (method === 'GET') return list(type, request.query, ctx);
      if (method === 'POST') return create(type, request, ctx);
      throw methodNotAllowed();
    }
    if (id === '.search' && method === 'POST') return search(type, request.body, ctx);
    if (method === 'GET') return getOne(type, id, request, ctx);
    if (method === 'PUT') return replace(type, id, request, ctx);
    if (method === 'PATCH') return patch(type, id, request, ctx);
    if (method === 'DELETE') return remove(type, id, request, ctx);
    throw methodNotAllowed();
  }
  if (method !== 'GET') throw methodNotAllowed();
  if (endpoint === 'serviceproviderconfig' && id === undefined) return ok(serviceProviderConfig(ctx));
  if (endpoint === 'resourcetypes') {
    const all = Object.values(RESOURCE_TYPES).map((t) => resourceTypeRepresentation(t, ctx));
    if (id === undefined) return ok(listResponse(all, all.length, 1));
    const one = all.find((r) => r.id === id);
    if (!one) throw notFound(`No resource type "${id}".`);
    return ok(one);
  }
  if (endpoint === 'schemas') {
    const all = ALL_SCHEMAS.map((s) => schemaRepresentation(s, ctx));
    if (id === undefined) return ok(listResponse(all, all.length, 1));
    const one = all.find((s) => s.id === id);
    if (!one) throw notFound(`No schema "${id}".`);
    return ok(one);
  }
  throw notFound('Unknown SCIM endpoint.');
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw notFound('Unknown SCIM endpoint.');
  }
}

function methodNotAllowed(): ScimError {
  return new ScimError(405, 'Method not allowed on this endpoint.');
}

function ok(body: unknown, status = 200, extra: Record<string, string> = {}): ScimResponse {
  return { status, headers: { ...JSON_HEADERS, ...extra }, body };
}

function listResponse(resources: unknown[], total: number, startIndex: number): JsonObject {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources as JsonValue[],
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

const etag = (resource: StoredResource): string => `W/"${resource.version}"`;

function location(type: ResourceTypeDef, id: string, ctx: Ctx): string {
  return `${ctx.base}${type.endpoint}/${encodeURIComponent(id)}`;
}

/** The full SCIM representation of a stored resource, before projection. */
async function render(
  type: ResourceTypeDef,
  resource: StoredResource,
  ctx: Ctx,
  projection: Projection,
): Promise<JsonObject> {
  const doc: JsonObject = { schemas: schemasOf(resource.attributes, type), id: resource.id };
  for (const [key, value] of Object.entries(resource.attributes)) doc[key] = value;
  if (type.name === 'Group' && Array.isArray(doc.members)) {
    doc.members = doc.members.map((m) => {
      if (!isObject(m) || typeof m.value !== 'string') return m;
      const memberType = m.type === 'Group' ? RESOURCE_TYPES.Group : RESOURCE_TYPES.User;
      return { ...m, $ref: location(memberType, m.value, ctx) };
    });
  }
  if (type.name === 'User' && wants(projection, 'groups')) {
    const groups = await ctx.directory.groupsOf(ctx.tenant, resource.id);
    if (groups.length > 0) {
      doc.groups = groups.map((g) => ({
        value: g.id,
        $ref: location(RESOURCE_TYPES.Group, g.id, ctx),
        display: typeof g.attributes.displayName === 'string' ? g.attributes.displayName : g.id,
        type: 'direct',
      }));
    }
  }
  doc.meta = {
    resourceType: type.name,
    created: resource.created,
    lastModified: resource.lastModified,
    location: location(type, resource.id, ctx),
    version: etag(resource),
  };
  return project(doc, type, projection);
}

function wants(projection: Projection, name: string): boolean {
  if (projection.attributes) return projection.attributes.some((a) => a === name || a.startsWith(`${name}.`));
  return !projection.excludedAttributes?.includes(name);
}

function projectionFrom(query: URLSearchParams, type: ResourceTypeDef): Projection {
  const projection: Projection = {};
  const attributes = parseAttributeList(query.get('attributes'), type);
  const excluded = parseAttributeList(query.get('excludedAttributes'), type);
  if (attributes) projection.attributes = attributes;
  if (excluded) projection.excludedAttributes = excluded;
  return projection;
}

// ---------------------------------------------------------------------------------------------
// Endpoints

function parseIndex(value: string | null | undefined, name: string): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (!/^-?[0-9]{1,9}$/.test(value)) throw badRequest('invalidValue', `"${name}" must be an integer.`);
  return Number(value);
}

async function list(type: ResourceTypeDef, query: URLSearchParams, ctx: Ctx): Promise<ScimResponse> {
  return listWith(
    type,
    {
      filter: query.get('filter') ?? undefined,
      startIndex: parseIndex(query.get('startIndex'), 'startIndex'),
      count: parseIndex(query.get('count'), 'count'),
    },
    projectionFrom(query, type),
    ctx,
  );
}

/** POST /Users/.search (RFC 7644 §3.4.3): the same query in a body. */
async function search(type: ResourceTypeDef, body: unknown, ctx: Ctx): Promise<ScimResponse> {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'The request body must be a JSON object.');
  const text = (key: string): string | null => {
    const value = body[key];
    if (value === undefined || value === null) return null;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
    if (typeof value === 'string' || typeof value === 'number') return String(value);
    throw badRequest('invalidValue', `"${key}" has the wrong type.`);
  };
  const query = new URLSearchParams();
  for (const key of ['attributes', 'excludedAttributes']) {
    const value = text(key);
    if (value !== null) query.set(key, value);
  }
  return listWith(
    type,
    {
      filter: text('filter') ?? undefined,
      startIndex: parseIndex(text('startIndex'), 'startIndex'),
      count: parseIndex(text('count'), 'count'),
    },
    projectionFrom(query, type),
    ctx,
  );
}

async function listWith(
  type: ResourceTypeDef,
  params: { filter: string | undefined; startIndex: number | undefined; count: number | undefined },
  projection: Projection,
  ctx: Ctx,
): Promise<ScimResponse> {
  const startIndex = Math.max(1, params.startIndex ?? 1);
  const count = Math.min(ctx.limits.maxPageSize, Math.max(0, params.count ?? ctx.limits.maxPageSize));
  const query: ListQuery = { startIndex, count };
  if (params.filter !== undefined && params.filter.trim() !== '') {
    query.filter = compileFilter(params.filter, type, ctx.limits.filter);
  }
  const result = await ctx.directory.list(ctx.tenant, type.name, query);
  const resources: JsonObject[] = [];
  for (const resource of result.resources) resources.push(await render(type, resource, ctx, projection));
  return ok(listResponse(resources, result.total, startIndex));
}

async function load(type: ResourceTypeDef, id: string, ctx: Ctx): Promise<StoredResource> {
  const resource = await ctx.directory.get(ctx.tenant, type.name, id);
  if (!resource || resource.deletedAt !== undefined) throw notFound(`${type.name} ${id} not found.`);
  return resource;
}

function header(request: ScimRequest, name: string): string | undefined {
  for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** RFC 7644 §3.14: If-Match with a stale version → 412. */
function checkIfMatch(request: ScimRequest, resource: StoredResource): void {
  const ifMatch = header(request, 'if-match');
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  const tags = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (!tags.includes(`"${resource.version}"`))
    throw new ScimError(412, 'The resource has changed (ETag mismatch).');
}

async function getOne(
  type: ResourceTypeDef,
  id: string,
  request: ScimRequest,
  ctx: Ctx,
): Promise<ScimResponse> {
  const resource = await load(type, id, ctx);
  const body = await render(type, resource, ctx, projectionFrom(request.query, type));
  return ok(body, 200, { ETag: etag(resource), Location: location(type, id, ctx) });
}

async function create(type: ResourceTypeDef, request: ScimRequest, ctx: Ctx): Promise<ScimResponse> {
  const attributes = normaliseInput(request.body, type);
  const now = new Date(ctx.clock.now()).toISOString();
  const id = ctx.newId?.() ?? randomUUID();
  if (type.name === 'User') {
    if (attributes.active === undefined) attributes.active = true;
    await assertUserNameFree(attributes, undefined, ctx);
  } else {
    await validateMembers(attributes, [], id, ctx);
  }
  const resource: StoredResource = {
    id,
    resourceType: type.name,
    attributes,
    created: now,
    lastModified: now,
    version: 1,
  };
  await ctx.directory.create(ctx.tenant, resource);
  await ctx.onChange(event(type.name === 'User' ? 'user-created' : 'group-created', resource, ctx, now));
  const body = await render(type, resource, ctx, projectionFrom(request.query, type));
  return ok(body, 201, { ETag: etag(resource), Location: location(type, id, ctx) });
}

async function assertUserNameFree(attributes: JsonObject, id: string | undefined, ctx: Ctx): Promise<void> {
  if (typeof attributes.userName !== 'string') return;
  const existing = await ctx.directory.findByUserName(ctx.tenant, attributes.userName);
  if (existing && existing.id !== id)
    throw new ScimError(409, 'A user with this userName already exists.', 'uniqueness');
}

/**
 * Group members: each `value` must name a live user or group of the tenant; duplicates are
 * merged; `type` is set from what the id names. Only newly added ids are looked up.
 */
async function validateMembers(
  attributes: JsonObject,
  before: string[],
  groupId: string,
  ctx: Ctx,
): Promise<void> {
  const members = attributes.members;
  if (!Array.isArray(members)) return;
  const seen = new Map<string, JsonObject>();
  for (const member of members) {
    if (!isObject(member) || typeof member.value !== 'string' || member.value === '') {
      throw badRequest('invalidValue', 'Every member needs a "value" (the member\'s id).');
    }
    const merged = { ...seen.get(member.value), ...member };
    seen.set(member.value, merged);
  }
  // A Set: a large group's PATCH would otherwise compare every member with every member.
  const existing = new Set(before);
  const added = [...seen.keys()].filter((id) => !existing.has(id));
  if (added.length > ctx.limits.maxMembersPerRequest) {
    throw new ScimError(
      413,
      `At most ${ctx.limits.maxMembersPerRequest} members can be added at once.`,
      'tooMany',
    );
  }
  for (const id of added) {
    const member = seen.get(id) as JsonObject;
    const user = await ctx.directory.get(ctx.tenant, 'User', id);
    if (user && user.deletedAt === undefined) {
      member.type = 'User';
      continue;
    }
    const group = id === groupId ? undefined : await ctx.directory.get(ctx.tenant, 'Group', id);
    if (group && group.deletedAt === undefined) {
      member.type = 'Group';
      continue;
    }
    throw badRequest('invalidValue', `Member "${id}" is not a user or group of this tenant.`);
  }
  attributes.members = [...seen.values()];
}

/** Read-modify-write with optimistic concurrency: retried when another write won. */
async function update(
  type: ResourceTypeDef,
  id: string,
  request: ScimRequest,
  ctx: Ctx,
  change: (current: StoredResource) => { attributes: JsonObject; touched: Set<string> },
): Promise<{ before: StoredResource; after: StoredResource; touched: Set<string> }> {
  for (let attempt = 0; ; attempt += 1) {
    const before = await load(type, id, ctx);
    checkIfMatch(request, before);
    const { attributes, touched } = change(before);
    if (type.name === 'User') {
      await assertUserNameFree(attributes, id, ctx);
    } else {
      await validateMembers(attributes, memberIds(before), id, ctx);
    }
    if (deepEqual(attributes, before.attributes)) return { before, after: before, touched };
    const after: StoredResource = {
      ...before,
      attributes,
      lastModified: new Date(ctx.clock.now()).toISOString(),
      version: before.version + 1,
    };
    try {
      await ctx.directory.replace(ctx.tenant, after, before.version);
      return { before, after, touched };
    } catch (error) {
      await backoffOrThrow(error, attempt);
    }
  }
}

const MAX_ATTEMPTS = 20;

/** After a lost optimistic-concurrency race: wait a jittered moment and retry, or give up (→ 503). */
async function backoffOrThrow(error: unknown, attempt: number): Promise<void> {
  if (!(error instanceof DirectoryVersionError) || attempt >= MAX_ATTEMPTS - 1) throw error;
  await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * (attempt + 1))));
}

async function replace(
  type: ResourceTypeDef,
  id: string,
  request: ScimRequest,
  ctx: Ctx,
): Promise<ScimResponse> {
  const input = normaliseInput(request.body, type);
  const result = await update(type, id, request, ctx, (current) => {
    const attributes = { ...input };
    // A PUT without "active" keeps the current state rather than silently reactivating.
    if (type.name === 'User' && attributes.active === undefined) {
      attributes.active = current.attributes.active ?? true;
    }
    return { attributes, touched: new Set(Object.keys(input)) };
  });
  await emitUpdate(type, result, ctx);
  const body = await render(type, result.after, ctx, projectionFrom(request.query, type));
  return ok(body, 200, { ETag: etag(result.after), Location: location(type, id, ctx) });
}

async function patch(
  type: ResourceTypeDef,
  id: string,
  request: ScimRequest,
  ctx: Ctx,
): Promise<ScimResponse> {
  const operations = parsePatchRequest(request.body, {
    maxOperations: ctx.limits.maxOperations,
    maxMembers: ctx.limits.maxMembersPerRequest,
  });
  const result = await update(type, id, request, ctx, (current) =>
    applyPatch(current.attributes, operations, type, current.id),
  );
  await emitUpdate(type, result, ctx);
  const projection = projectionFrom(request.query, type);
  const headers = { ETag: etag(result.after), Location: location(type, id, ctx) };
  // Entra's documented group PATCH answers 204; users (and groups asked for attributes) get the resource.
  if (type.name === 'Group' && !projection.attributes && !projection.excludedAttributes) {
    return { status: 204, headers, body: undefined };
  }
  return ok(await render(type, result.after, ctx, projection), 200, headers);
}

async function emitUpdate(
  type: ResourceTypeDef,
  { before, after, touched }: { before: StoredResource; after: StoredResource; touched: Set<string> },
  ctx: Ctx,
): Promise<void> {
  const at = after.lastModified;
  if (type.name === 'Group') {
    if (after !== before) await ctx.onChange(event('group-updated', after, ctx, at));
    return;
  }
  const wasActive = before.attributes.active !== false;
  const isActive = after.attributes.active !== false;
  // A repeated deactivation (an IdP retry) is reported again: revoking twice is harmless,
  // missing a revocation because the first attempt's event failed is not.
  if (!isActive && (wasActive || touched.has('active'))) {
    await ctx.onChange(event('user-deactivated', after, ctx, new Date(ctx.clock.now()).toISOString()));
  } else if (isActive && !wasActive) {
    await ctx.onChange(event('user-reactivated', after, ctx, at));
  } else if (after !== before) {
    await ctx.onChange(event('user-updated', after, ctx, at));
  }
}

async function remove(
  type: ResourceTypeDef,
  id: string,
  request: ScimRequest,
  ctx: Ctx,
): Promise<ScimResponse> {
  const now = ctx.clock.now();
  const at = new Date(now).toISOString();
  if (type.name === 'User') return removeUser(id, request, ctx, now);
  for (let attempt = 0; ; attempt += 1) {
    const resource = await load(type, id, ctx);
    checkIfMatch(request, resource);
    try {
      await ctx.directory.delete(ctx.tenant, 'Group', id);
      await ctx.onChange(event('group-deleted', resource, ctx, at));
      return { status: 204, headers: {}, body: undefined };
    } catch (error) {
      await backoffOrThrow(error, attempt);
    }
  }
}

/**
 * Mark deleted, revoke, then finish (the mode's own step and group cleanup). The revocation
 * comes right after the mark so that a later failure (a store timeout in the group cleanup)
 * cannot lose it: the IdP retries, and a DELETE of a user already marked deleted revokes again
 * (idempotent) and finishes the cleanup before answering 404 (RFC 7644 §3.6; Entra and Okta
 * take a 404 to a DELETE as done).
 */
async function removeUser(id: string, request: ScimRequest, ctx: Ctx, now: number): Promise<ScimResponse> {
  const mode = ctx.deletion ?? 'mark';
  const at = new Date(now).toISOString();
  for (let attempt = 0; ; attempt += 1) {
    const user = await ctx.directory.get(ctx.tenant, 'User', id);
    if (!user) throw notFound(`User ${id} not found.`);
    const retry = user.deletedAt !== undefined;
    let marked = user;
    if (!retry) {
      checkIfMatch(request, user);
      try {
        marked = await markDeleted(ctx.directory, ctx.tenant, user, now);
      } catch (error) {
        await backoffOrThrow(error, attempt);
        continue;
      }
    }
    // A retry of a user provisioned again since (same userName/externalId) must not end the
    // new user's sessions: they are revoked by those names.
    if (!retry || !(await reprovisioned(marked, ctx))) {
      await ctx.onChange({ ...event('user-deleted', marked, ctx, at), deletion: mode });
    }
    const groups = await finishDeletion(ctx.directory, ctx.tenant, marked, mode, now);
    for (const group of groups) await ctx.onChange(event('group-updated', group, ctx, at));
    if (retry) throw notFound(`User ${id} not found.`);
    return { status: 204, headers: {}, body: undefined };
  }
}

/** Whether a live user now holds a deleted user's userName or externalId. */
async function reprovisioned(deleted: StoredResource, ctx: Ctx): Promise<boolean> {
  const { userName, externalId } = deleted.attributes;
  if (typeof userName === 'string' && (await ctx.directory.findByUserName(ctx.tenant, userName))) return true;
  if (typeof externalId !== 'string') return false;
  const filter = compileFilter(`externalId eq ${JSON.stringify(externalId)}`, RESOURCE_TYPES.User, {
    ...DEFAULT_FILTER_LIMITS,
    maxLength: Number.POSITIVE_INFINITY,
  });
  const live = await ctx.directory.list(ctx.tenant, 'User', { filter, startIndex: 1, count: 1 });
  return live.total > 0;
}

function event(type: ScimChangeType, resource: StoredResource, ctx: Ctx, at: string): ScimChangeEvent {
  const e: ScimChangeEvent = { type, tenant: ctx.tenant, id: resource.id, at };
  const { userName, externalId, displayName } = resource.attributes;
  if (typeof userName === 'string') e.userName = userName;
  if (typeof externalId === 'string') e.externalId = externalId;
  if (typeof displayName === 'string' && resource.resourceType === 'Group') e.displayName = displayName;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Discovery (RFC 7644 §4)

function serviceProviderConfig(ctx: Ctx): JsonObject {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: ctx.limits.maxPageSize },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: "Authentication with the tenant's SCIM bearer token (sluss scim-token).",
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${ctx.base}/ServiceProviderConfig` },
  };
}

function resourceTypeRepresentation(type: ResourceTypeDef, ctx: Ctx): JsonObject & { id: string } {
  return {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: type.name,
    name: type.name,
    endpoint: type.endpoint,
    description: type.schema.description,
    schema: type.schema.id,
    schemaExtensions: type.extensions.map((e) => ({ schema: e.schema.id, required: e.required })),
    meta: { resourceType: 'ResourceType', location: `${ctx.base}/ResourceTypes/${type.name}` },
  };
}

function attributeRepresentation(def: AttributeDef): JsonObject {
  const out: JsonObject = {
    name: def.name,
    type: def.type,
    multiValued: def.multiValued,
    description: def.description,
    required: def.required,
    caseExact: def.caseExact,
    mutability: def.mutability,
    returned: def.returned,
    uniqueness: def.uniqueness,
  };
  if (def.canonicalValues) out.canonicalValues = def.canonicalValues;
  if (def.referenceTypes) out.referenceTypes = def.referenceTypes;
  if (def.subAttributes) out.subAttributes = def.subAttributes.map(attributeRepresentation);
  return out;
}

function schemaRepresentation(schema: (typeof ALL_SCHEMAS)[number], ctx: Ctx): JsonObject & { id: string } {
  return {
    schemas: [SCHEMA_SCHEMA],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(attributeRepresentation),
    meta: { resourceType: 'Schema', location: `${ctx.base}/Schemas/${schema.id}` },
  };
}

export type { ResourceTypeName };
