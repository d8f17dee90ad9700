/**
 * The SCIM directory in Redis (ioredis), shared by every replica. Per tenant, under
 * `<prefix>scim:{<tenant>}:` (the braces are a Cluster hash tag: one tenant, one slot):
 *
 * - `r:<type>:<id>`              hash: `json` (the StoredResource), `version`, `index` (JSON of
 *                                what the resource is indexed under, so a script can unindex it)
 * - `all:<type>` / `live:<type>` sorted sets, all scores 0, members `<created>\0<id>`: creation
 *                                order by lex range, for listing and paging (`live` = not marked deleted)
 * - `ix:<type>:<attr>:<value>`   set of ids with that userName / displayName (lower-cased) or
 *                                externalId, live or not: what `indexHint` filters are answered from
 * - `un:<lower userName>`        the id of the one live user holding the userName (uniqueness)
 * - `mem:<memberId>`             set of ids of groups listing the member (`groupsOf`, user deletion)
 *
 * Every write is one Lua script that checks (existence, version, the `un:` owner) and writes,
 * so two replicas cannot both create a userName or both win one version. A hard delete of a
 * user also edits the groups listing it: the new group documents are computed here and the
 * script applies them only if the membership set and the groups' versions are still what was
 * read (else it is retried), since re-encoding JSON in Lua (cjson) would not round-trip.
 */
import { createHash } from 'node:crypto';
import type { RedisOptions } from 'ioredis';
import { Redis } from 'ioredis';
import type { Directory, ListQuery, ListResult, StoredResource } from './directory.ts';
import {
  DirectoryConflictError,
  DirectoryVersionError,
  filterView,
  indexKeys,
  memberIds,
} from './directory.ts';
import { indexHint } from './filter.ts';
import { isObject } from './json.ts';
import type { ResourceTypeName } from './schema.ts';

export type RedisDirectoryOptions = {
  /** Prepended to every key, so several deployments can share one Redis. Default `sluss:`. */
  readonly keyPrefix?: string;
} & (
  | {
      /** A connection owned by the caller (close() leaves it open). */
      readonly redis: Redis;
    }
  | {
      /** `redis://[:password@]host:port[/db]` or `rediss://…`; the directory opens its own connection. */
      readonly url: string;
      readonly connectTimeoutMs?: number;
      readonly commandTimeoutMs?: number;
      readonly onError?: (error: Error) => void;
    }
);

/** The index entry of a resource, as stored in the hash's `index` field and given to the scripts. */
interface IndexEntry {
  order: string;
  deleted: boolean;
  userName?: string;
  externalId?: string;
  displayName?: string;
  members?: string[];
}

const LUA_INDEX = `
local base = KEYS[1]
local function unindex(rtype, id, e)
  redis.call('ZREM', base .. 'all:' .. rtype, e.order)
  redis.call('ZREM', base .. 'live:' .. rtype, e.order)
  for _, attr in ipairs({'userName', 'externalId', 'displayName'}) do
    if type(e[attr]) == 'string' then
      redis.call('SREM', base .. 'ix:' .. rtype .. ':' .. attr .. ':' .. e[attr], id)
    end
  end
  if rtype == 'User' and not e.deleted and type(e.userName) == 'string' then
    local key = base .. 'un:' .. e.userName
    if redis.call('GET', key) == id then redis.call('DEL', key) end
  end
  if type(e.members) == 'table' then
    for _, m in ipairs(e.members) do redis.call('SREM', base .. 'mem:' .. m, id) end
  end
end
local function index(rtype, id, e)
  redis.call('ZADD', base .. 'all:' .. rtype, 0, e.order)
  if not e.deleted then redis.call('ZADD', base .. 'live:' .. rtype, 0, e.order) end
  for _, attr in ipairs({'userName', 'externalId', 'displayName'}) do
    if type(e[attr]) == 'string' then
      redis.call('SADD', base .. 'ix:' .. rtype .. ':' .. attr .. ':' .. e[attr], id)
    end
  end
  if rtype == 'User' and not e.deleted and type(e.userName) == 'string' then
    redis.call('SET', base .. 'un:' .. e.userName, id)
  end
  if type(e.members) == 'table' then
    for _, m in ipairs(e.members) do redis.call('SADD', base .. 'mem:' .. m, id) end
  end
end
-- Overwrites a stored resource (its key exists) with a new document and index entry.
local function rewrite(rtype, id, json, version, entry)
  local key = base .. 'r:' .. rtype .. ':' .. id
  unindex(rtype, id, cjson.decode(redis.call('HGET', key, 'index')))
  index(rtype, id, cjson.decode(entry))
  redis.call('HSET', key, 'json', json, 'version', version, 'index', entry)
end
`;

/**
 * ARGV: mode (create|replace), type, id, expected version, json, version, index entry.
 * Returns ok, exists (create), version (replace: absent or changed), conflict (userName taken).
 */
const WRITE = `${LUA_INDEX}
local mode, rtype, id, expected, json, version, entry = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local key = base .. 'r:' .. rtype .. ':' .. id
if mode == 'create' then
  if redis.call('EXISTS', key) == 1 then return 'exists' end
else
  if redis.call('HGET', key, 'version') ~= expected then return 'version' end
end
local e = cjson.decode(entry)
if rtype == 'User' and not e.deleted and type(e.userName) == 'string' then
  local owner = redis.call('GET', base .. 'un:' .. e.userName)
  if owner and owner ~= id then return 'conflict' end
end
if mode == 'create' then
  index(rtype, id, e)
  redis.call('HSET', key, 'json', json, 'version', version, 'index', entry)
else
  rewrite(rtype, id, json, version, entry)
end
return 'ok'`;

/**
 * ARGV: type, id, n, then n × (group id, expected version, json, version, index entry): the
 * groups listing the resource (a user) as read, with the user removed from their members.
 * Returns 1 deleted, 0 absent, -1 the groups changed meanwhile (read again and retry).
 */
const DELETE = `${LUA_INDEX}
local rtype, id, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key = base .. 'r:' .. rtype .. ':' .. id
if redis.call('EXISTS', key) == 0 then return 0 end
if rtype == 'User' then
  if redis.call('SCARD', base .. 'mem:' .. id) ~= n then return -1 end
  for i = 0, n - 1 do
    local g = ARGV[4 + i * 5]
    if redis.call('SISMEMBER', base .. 'mem:' .. id, g) == 0 then return -1 end
    if redis.call('HGET', base .. 'r:Group:' .. g, 'version') ~= ARGV[5 + i * 5] then return -1 end
  end
end
unindex(rtype, id, cjson.decode(redis.call('HGET', key, 'index')))
redis.call('DEL', key)
if rtype == 'User' then
  for i = 0, n - 1 do
    rewrite('Group', ARGV[4 + i * 5], ARGV[6 + i * 5], ARGV[7 + i * 5], ARGV[8 + i * 5])
  end
end
return 1`;

/** ARGV: sorted set suffix, offset, count. Returns the set's size, then the page's documents. */
const PAGE = `
local base = KEYS[1]
local set = base .. ARGV[1]
local out = { redis.call('ZCARD', set) }
if tonumber(ARGV[3]) > 0 then
  for _, member in ipairs(redis.call('ZRANGEBYLEX', set, '-', '+', 'LIMIT', ARGV[2], ARGV[3])) do
    local id = string.sub(member, string.find(member, '\\0', 1, true) + 1)
    out[#out + 1] = redis.call('HGET', base .. 'r:' .. ARGV[4] .. ':' .. id, 'json') or false
  end
end
return out`;

/**
 * ARGV: kind (zset|set|one), key suffix, type. The documents of every id in the (sorted) set,
 * or of the one id given. One script, so a listing is one consistent snapshot.
 */
const FETCH = `
local base = KEYS[1]
local kind, suffix, rtype = ARGV[1], ARGV[2], ARGV[3]
local ids
if kind == 'zset' then
  ids = {}
  for _, member in ipairs(redis.call('ZRANGEBYLEX', base .. suffix, '-', '+')) do
    ids[#ids + 1] = string.sub(member, string.find(member, '\\0', 1, true) + 1)
  end
elseif kind == 'set' then
  ids = redis.call('SMEMBERS', base .. suffix)
else
  ids = { suffix }
end
local out = {}
for _, id in ipairs(ids) do
  local json = redis.call('HGET', base .. 'r:' .. rtype .. ':' .. id, 'json')
  if json then out[#out + 1] = json end
end
return out`;

/** ARGV: lower-cased userName. The live user's document, or nil. */
const FIND_USER = `
local base = KEYS[1]
local id = redis.call('GET', base .. 'un:' .. ARGV[1])
if not id then return false end
return redis.call('HGET', base .. 'r:User:' .. id, 'json')`;

interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SCRIPTS = {
  write: script(WRITE),
  delete: script(DELETE),
  page: script(PAGE),
  fetch: script(FETCH),
  findUser: script(FIND_USER),
};

/** How often a user's deletion re-reads its groups after losing a race with a group write. */
const MAX_DELETE_ATTEMPTS = 50;

function entryOf(resource: StoredResource): IndexEntry {
  const entry: IndexEntry = {
    order: `${resource.created}\0${resource.id}`,
    deleted: resource.deletedAt !== undefined,
    ...indexKeys(resource),
  };
  if (resource.resourceType === 'Group') {
    const members = [...new Set(memberIds(resource))];
    // cjson decodes [] as an object; an absent list means none.
    if (members.length > 0) entry.members = members;
  }
  return entry;
}

function byCreation(a: StoredResource, b: StoredResource): number {
  return a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function parse(json: unknown): StoredResource {
  if (typeof json !== 'string') throw new Error('directory document is not text');
  return JSON.parse(json) as StoredResource;
}

export class RedisDirectory implements Directory {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly prefix: string;
  private closed = false;

  constructor(options: RedisDirectoryOptions) {
    this.prefix = `${options.keyPrefix ?? 'sluss:'}scim:`;
    if ('redis' in options) {
      this.redis = options.redis;
      this.owned = false;
      return;
    }
    const connection: RedisOptions = {
      // As RedisStore: fail fast while Redis is unreachable instead of queueing.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      retryStrategy: (attempt) => Math.min(2000, 50 * 2 ** Math.min(attempt - 1, 10)),
      connectionName: 'sluss-scim',
    };
    this.redis = new Redis(options.url, connection);
    this.redis.on('error', options.onError ?? (() => {}));
    this.owned = true;
  }

  /** Resolves true once an own connection is ready (at once for a given one), false after `timeoutMs`. */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(value);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.redis.on('ready', onReady);
    });
  }

  /** The tenant's key space; encodeURIComponent keeps `:` and the hash tag's braces out of it. */
  private base(tenant: string): string {
    return `${this.prefix}{${encodeURIComponent(tenant)}}:`;
  }

  private async run(s: Script, tenant: string, args: (string | number)[]): Promise<unknown> {
    if (this.closed) throw new Error('directory is closed');
    const base = this.base(tenant);
    try {
      return await this.redis.evalsha(s.sha, 1, base, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(s.source, 1, base, ...args);
    }
  }

  private async documents(s: Script, tenant: string, args: (string | number)[]): Promise<StoredResource[]> {
    const reply = await this.run(s, tenant, args);
    return Array.isArray(reply) ? reply.map(parse) : [];
  }

  private async write(
    mode: 'create' | 'replace',
    tenant: string,
    resource: StoredResource,
    expectedVersion: number,
  ): Promise<void> {
    const outcome = await this.run(SCRIPTS.write, tenant, [
      mode,
      resource.resourceType,
      resource.id,
      String(expectedVersion),
      JSON.stringify(resource),
      String(resource.version),
      JSON.stringify(entryOf(resource)),
    ]);
    if (outcome === 'ok') return;
    if (outcome === 'exists') throw new Error(`resource ${resource.resourceType}/${resource.id} exists`);
    if (outcome === 'version') throw new DirectoryVersionError(resource.id);
    if (outcome === 'conflict') throw new DirectoryConflictError(String(resource.attributes.userName));
    throw new Error(`unexpected directory script reply ${String(outcome)}`);
  }

  async create(tenant: string, resource: StoredResource): Promise<void> {
    await this.write('create', tenant, resource, 0);
  }

  async get(tenant: string, type: ResourceTypeName, id: string): Promise<StoredResource | undefined> {
    return (await this.documents(SCRIPTS.fetch, tenant, ['one', id, type]))[0];
  }

  async replace(tenant: string, resource: StoredResource, expectedVersion: number): Promise<void> {
    await this.write('replace', tenant, resource, expectedVersion);
  }

  async delete(tenant: string, type: ResourceTypeName, id: string): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_DELETE_ATTEMPTS; attempt += 1) {
      const edits: (string | number)[] = [];
      if (type === 'User') {
        // As MemoryDirectory: the user leaves every group's members (marked-deleted groups
        // too); each edited group's version goes up, its lastModified stays.
        const groups = await this.documents(SCRIPTS.fetch, tenant, ['set', `mem:${id}`, 'Group']);
        for (const group of groups) {
          const expected = String(group.version);
          const members = group.attributes.members;
          if (Array.isArray(members)) {
            const remaining = members.filter((m) => !(isObject(m) && m.value === id));
            if (remaining.length > 0) group.attributes.members = remaining;
            else delete group.attributes.members;
          }
          group.version += 1;
          edits.push(
            group.id,
            expected,
            JSON.stringify(group),
            String(group.version),
            JSON.stringify(entryOf(group)),
          );
        }
      }
      const outcome = await this.run(SCRIPTS.delete, tenant, [type, id, edits.length / 5, ...edits]);
      if (outcome === 1) return true;
      if (outcome === 0) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * (attempt + 1))));
    }
    throw new DirectoryVersionError(id);
  }

  async list(tenant: string, type: ResourceTypeName, query: ListQuery): Promise<ListResult> {
    const deleted = query.deleted ?? 'exclude';
    const start = Math.max(1, Math.trunc(query.startIndex)) - 1;
    const count = Math.max(0, Math.trunc(query.count));
    const filter = query.filter;
    const set = `${deleted === 'exclude' ? 'live' : 'all'}:${type}`;
    if (!filter && deleted !== 'only') {
      const reply = await this.run(SCRIPTS.page, tenant, [set, start, count, type]);
      if (!Array.isArray(reply)) throw new Error('unexpected directory script reply');
      const [total, ...documents] = reply;
      return { total: Number(total), resources: documents.filter((d) => d !== null).map(parse) };
    }
    const hint = filter ? indexHint(filter) : undefined;
    let candidates: StoredResource[];
    if (hint?.attribute === 'id') {
      candidates = await this.documents(SCRIPTS.fetch, tenant, ['one', hint.value, type]);
    } else if (hint) {
      // id and externalId are caseExact, so their exact index holds every resource the filter can match.
      const value = hint.attribute === 'externalId' ? hint.value : hint.value.toLowerCase();
      candidates = await this.documents(SCRIPTS.fetch, tenant, [
        'set',
        `ix:${type}:${hint.attribute}:${value}`,
        type,
      ]);
    } else {
      candidates = await this.documents(SCRIPTS.fetch, tenant, ['zset', set, type]);
    }
    const matches = candidates
      .filter((r) => {
        if (deleted === 'exclude' && r.deletedAt !== undefined) return false;
        if (deleted === 'only' && r.deletedAt === undefined) return false;
        return filter ? filter.matches(filterView(r)) : true;
      })
      .sort(byCreation);
    return { total: matches.length, resources: matches.slice(start, start + count) };
  }

  async findByUserName(tenant: string, userName: string): Promise<StoredResource | undefined> {
    const json = await this.run(SCRIPTS.findUser, tenant, [userName.toLowerCase()]);
    return typeof json === 'string' ? parse(json) : undefined;
  }

  async groupsOf(tenant: string, userId: string): Promise<StoredResource[]> {
    const groups = await this.documents(SCRIPTS.fetch, tenant, ['set', `mem:${userId}`, 'Group']);
    return groups.filter((g) => g.deletedAt === undefined).sort(byCreation);
  }

  /** Closes the connection when this directory opened it; a given one stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.owned) return;
    try {
      if (this.redis.status === 'ready') await this.redis.quit();
    } catch {
      // Already gone.
    } finally {
      this.redis.disconnect(false);
    }
  }
}
