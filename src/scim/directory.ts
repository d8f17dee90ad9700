/**
 * Where provisioned users and groups live, per tenant. The interface is owned here and kept
 * small so SQLite and Redis backends are easy: each resource is one JSON document
 * (`StoredResource`, serialisable with JSON.stringify) plus an index on lower-cased userName,
 * externalId and lower-cased displayName (`indexKeys`), and group membership derived from
 * the groups' `members`. `MemoryDirectory` is the reference implementation and the tests' backend.
 */
import { type CompiledFilter, indexHint } from './filter.ts';
import { isObject, type JsonObject } from './json.ts';
import type { ResourceTypeName } from './schema.ts';

export interface StoredResource {
  id: string;
  resourceType: ResourceTypeName;
  /** SCIM attributes with canonical names, extensions under their URN; no id, meta or schemas. */
  attributes: JsonObject;
  /** ISO 8601. */
  created: string;
  lastModified: string;
  /** Incremented on every write; the weak ETag is `W/"<version>"`. */
  version: number;
  /** Set when the resource was deleted in `mark` or `anonymise` mode: hidden from SCIM, kept for retention. */
  deletedAt?: string;
  anonymisedAt?: string;
}

export interface ListQuery {
  filter?: CompiledFilter;
  /** 1-based, as SCIM's startIndex. */
  startIndex: number;
  count: number;
  /** Which resources marked deleted to consider; default `exclude`. */
  deleted?: 'exclude' | 'include' | 'only';
}

export interface ListResult {
  /** Matches across all pages. */
  total: number;
  resources: StoredResource[];
}

/** A write that would give two live users the same userName (case-insensitively). */
export class DirectoryConflictError extends Error {
  constructor(userName: string) {
    super(`userName "${userName}" is already taken`);
    this.name = 'DirectoryConflictError';
  }
}

/** A replace whose expected version is no longer the stored one (a concurrent write won). */
export class DirectoryVersionError extends Error {
  constructor(id: string) {
    super(`resource ${id} changed concurrently`);
    this.name = 'DirectoryVersionError';
  }
}

export interface Directory {
  /** Stores a new resource; DirectoryConflictError when a live user has the same userName. */
  create(tenant: string, resource: StoredResource): Promise<void>;
  /** The resource, also when marked deleted (callers decide what to show). */
  get(tenant: string, type: ResourceTypeName, id: string): Promise<StoredResource | undefined>;
  /**
   * Overwrites a resource if its stored version is still `expectedVersion`
   * (DirectoryVersionError otherwise, DirectoryConflictError on a userName clash).
   */
  replace(tenant: string, resource: StoredResource, expectedVersion: number): Promise<void>;
  /** Removes a resource for good; a user is also removed from every group's members. False when absent. */
  delete(tenant: string, type: ResourceTypeName, id: string): Promise<boolean>;
  /** Matches ordered by creation (then id), sliced by startIndex/count; `total` counts all matches. */
  list(tenant: string, type: ResourceTypeName, query: ListQuery): Promise<ListResult>;
  /** The live (not marked deleted) user with this userName, compared case-insensitively. */
  findByUserName(tenant: string, userName: string): Promise<StoredResource | undefined>;
  /** Live groups that list `userId` among their members. */
  groupsOf(tenant: string, userId: string): Promise<StoredResource[]>;
}

/** The index entries a backend keeps for a resource. */
export function indexKeys(resource: StoredResource): {
  userName?: string;
  externalId?: string;
  displayName?: string;
} {
  const keys: { userName?: string; externalId?: string; displayName?: string } = {};
  const { userName, externalId, displayName } = resource.attributes;
  if (typeof userName === 'string') keys.userName = userName.toLowerCase();
  if (typeof externalId === 'string') keys.externalId = externalId;
  if (typeof displayName === 'string') keys.displayName = displayName.toLowerCase();
  return keys;
}

/** The document filters are evaluated against: attributes plus `id` and `meta`. */
export function filterView(resource: StoredResource): JsonObject {
  return {
    ...resource.attributes,
    id: resource.id,
    meta: {
      resourceType: resource.resourceType,
      created: resource.created,
      lastModified: resource.lastModified,
      version: `W/"${resource.version}"`,
    },
  };
}

export function memberIds(group: StoredResource): string[] {
  const members = group.attributes.members;
  if (!Array.isArray(members)) return [];
  return members.flatMap((m) => (isObject(m) && typeof m.value === 'string' ? [m.value] : []));
}

function byCreation(a: StoredResource, b: StoredResource): number {
  return a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * One process, no persistence. Every value in and out is a deep copy, so callers cannot
 * mutate what is stored, as with a serialising backend.
 */
export class MemoryDirectory implements Directory {
  private readonly tenants = new Map<string, Map<string, StoredResource>>();

  private bucket(tenant: string): Map<string, StoredResource> {
    let bucket = this.tenants.get(tenant);
    if (!bucket) {
      bucket = new Map();
      this.tenants.set(tenant, bucket);
    }
    return bucket;
  }

  private key(type: ResourceTypeName, id: string): string {
    return `${type}/${id}`;
  }

  private assertUnique(tenant: string, resource: StoredResource): void {
    if (resource.resourceType !== 'User' || resource.deletedAt !== undefined) return;
    const userName = indexKeys(resource).userName;
    if (userName === undefined) return;
    for (const other of this.bucket(tenant).values()) {
      if (other.resourceType !== 'User' || other.id === resource.id || other.deletedAt !== undefined)
        continue;
      if (indexKeys(other).userName === userName)
        throw new DirectoryConflictError(String(resource.attributes.userName));
    }
  }

  async create(tenant: string, resource: StoredResource): Promise<void> {
    const bucket = this.bucket(tenant);
    const key = this.key(resource.resourceType, resource.id);
    if (bucket.has(key)) throw new Error(`resource ${key} exists`);
    this.assertUnique(tenant, resource);
    bucket.set(key, structuredClone(resource));
  }

  async get(tenant: string, type: ResourceTypeName, id: string): Promise<StoredResource | undefined> {
    const found = this.bucket(tenant).get(this.key(type, id));
    return found ? structuredClone(found) : undefined;
  }

  async replace(tenant: string, resource: StoredResource, expectedVersion: number): Promise<void> {
    const bucket = this.bucket(tenant);
    const key = this.key(resource.resourceType, resource.id);
    const current = bucket.get(key);
    if (!current || current.version !== expectedVersion) throw new DirectoryVersionError(resource.id);
    this.assertUnique(tenant, resource);
    bucket.set(key, structuredClone(resource));
  }

  async delete(tenant: string, type: ResourceTypeName, id: string): Promise<boolean> {
    const bucket = this.bucket(tenant);
    const existed = bucket.delete(this.key(type, id));
    if (existed && type === 'User') {
      for (const group of bucket.values()) {
        if (group.resourceType !== 'Group' || !memberIds(group).includes(id)) continue;
        const members = group.attributes.members as JsonObject[];
        const remaining = members.filter((m) => m.value !== id);
        if (remaining.length > 0) group.attributes.members = remaining;
        else delete group.attributes.members;
        group.version += 1;
      }
    }
    return existed;
  }

  async list(tenant: string, type: ResourceTypeName, query: ListQuery): Promise<ListResult> {
    const deleted = query.deleted ?? 'exclude';
    let candidates = [...this.bucket(tenant).values()].filter((r) => r.resourceType === type);
    const hint = query.filter ? indexHint(query.filter) : undefined;
    if (hint) {
      // What an indexed backend does: narrow by the index, then evaluate the whole filter.
      candidates = candidates.filter((r) => {
        const value = hint.attribute === 'id' ? r.id : r.attributes[hint.attribute];
        return typeof value === 'string' && value.toLowerCase() === hint.value.toLowerCase();
      });
    }
    const matches = candidates
      .filter((r) => {
        if (deleted === 'exclude' && r.deletedAt !== undefined) return false;
        if (deleted === 'only' && r.deletedAt === undefined) return false;
        return query.filter ? query.filter.matches(filterView(r)) : true;
      })
      .sort(byCreation);
    const start = Math.max(1, query.startIndex) - 1;
    const page = matches.slice(start, start + Math.max(0, query.count));
    return { total: matches.length, resources: structuredClone(page) };
  }

  async findByUserName(tenant: string, userName: string): Promise<StoredResource | undefined> {
    const wanted = userName.toLowerCase();
    for (const r of this.bucket(tenant).values()) {
      if (r.resourceType === 'User' && r.deletedAt === undefined && indexKeys(r).userName === wanted) {
        return structuredClone(r);
      }
    }
    return undefined;
  }

  async groupsOf(tenant: string, userId: string): Promise<StoredResource[]> {
    return structuredClone(
      [...this.bucket(tenant).values()]
        .filter(
          (g) => g.resourceType === 'Group' && g.deletedAt === undefined && memberIds(g).includes(userId),
        )
        .sort(byCreation),
    );
  }
}
