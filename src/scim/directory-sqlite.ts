/**
 * The SCIM directory in SQLite (node:sqlite): one row per resource holding its JSON document
 * and the columns the indexes need (lower-cased userName and displayName, externalId, created,
 * deleted_at), plus a membership table (group → member id) that answers `groupsOf`.
 *
 * Uniqueness of userName among live users is a partial unique index, and every write runs in
 * a `BEGIN IMMEDIATE` transaction, so the existence, version and uniqueness checks and the
 * write are one atomic step, also across processes sharing the file. The tables live beside
 * SqliteStore's (same file is fine, different connection); WAL and synchronous=NORMAL as there.
 *
 * Lower-casing is JavaScript's `toLowerCase` (via `indexKeys`), never SQLite's ASCII-only
 * `lower()`, so the index agrees with MemoryDirectory and the filter evaluator.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openSqliteFile } from '../store/sqlite-file.ts';
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

export type SqliteDirectoryOptions =
  | {
      /** The database file (may be SqliteStore's); its directory is created when missing. */
      readonly path: string;
      /** How long a writer waits for another process's lock before failing. */
      readonly busyTimeoutMs?: number;
    }
  | {
      /** An open database; the caller owns it (close() leaves it open) and its pragmas. */
      readonly db: DatabaseSync;
    };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS scim_resources (
  tenant TEXT NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  json TEXT NOT NULL,
  version INTEGER NOT NULL,
  created TEXT NOT NULL,
  deleted_at TEXT,
  user_name TEXT,
  external_id TEXT,
  display_name TEXT,
  PRIMARY KEY (tenant, type, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS scim_resources_live_user_name
  ON scim_resources (tenant, user_name) WHERE type = 'User' AND deleted_at IS NULL AND user_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS scim_resources_user_name ON scim_resources (tenant, type, user_name);
CREATE INDEX IF NOT EXISTS scim_resources_external_id ON scim_resources (tenant, type, external_id);
CREATE INDEX IF NOT EXISTS scim_resources_display_name ON scim_resources (tenant, type, display_name);
CREATE INDEX IF NOT EXISTS scim_resources_created ON scim_resources (tenant, type, created, id);
CREATE TABLE IF NOT EXISTS scim_members (
  tenant TEXT NOT NULL,
  member_id TEXT NOT NULL,
  group_id TEXT NOT NULL,
  PRIMARY KEY (tenant, member_id, group_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS scim_members_group ON scim_members (tenant, group_id);
`;

const DELETED = {
  exclude: 'AND deleted_at IS NULL',
  include: '',
  only: 'AND deleted_at IS NOT NULL',
} as const;

/** The index column an `indexHint` attribute is answered from, and how its value is keyed. */
const HINT_COLUMNS = {
  userName: { column: 'user_name', fold: true },
  externalId: { column: 'external_id', fold: false },
  id: { column: 'id', fold: false },
  displayName: { column: 'display_name', fold: true },
} as const;

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(db: DatabaseSync) {
  const byHint = (deleted: keyof typeof DELETED) =>
    Object.fromEntries(
      Object.entries(HINT_COLUMNS).map(([attribute, { column }]) => [
        attribute,
        db.prepare(
          `SELECT json FROM scim_resources WHERE tenant = ? AND type = ? AND ${column} = ? ${DELETED[deleted]} ORDER BY created, id`,
        ),
      ]),
    ) as Record<keyof typeof HINT_COLUMNS, StatementSync>;
  const perDeleted = <T>(make: (deleted: keyof typeof DELETED) => T) => ({
    exclude: make('exclude'),
    include: make('include'),
    only: make('only'),
  });
  return {
    get: db.prepare('SELECT json FROM scim_resources WHERE tenant = ? AND type = ? AND id = ?'),
    version: db.prepare('SELECT version FROM scim_resources WHERE tenant = ? AND type = ? AND id = ?'),
    liveOwner: db.prepare(
      "SELECT id FROM scim_resources WHERE tenant = ? AND type = 'User' AND deleted_at IS NULL AND user_name = ?",
    ),
    findByUserName: db.prepare(
      "SELECT json FROM scim_resources WHERE tenant = ? AND type = 'User' AND deleted_at IS NULL AND user_name = ?",
    ),
    insert: db.prepare(
      'INSERT INTO scim_resources (tenant, type, id, json, version, created, deleted_at, user_name, external_id, display_name) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    update: db.prepare(
      'UPDATE scim_resources SET json = ?, version = ?, created = ?, deleted_at = ?, user_name = ?, external_id = ?, display_name = ? ' +
        'WHERE tenant = ? AND type = ? AND id = ?',
    ),
    remove: db.prepare('DELETE FROM scim_resources WHERE tenant = ? AND type = ? AND id = ?'),
    addMember: db.prepare(
      'INSERT INTO scim_members (tenant, member_id, group_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    removeGroupMembers: db.prepare('DELETE FROM scim_members WHERE tenant = ? AND group_id = ?'),
    removeMember: db.prepare('DELETE FROM scim_members WHERE tenant = ? AND member_id = ?'),
    /** Every group (also marked deleted) listing the member: what a hard delete of a user edits. */
    groupsListing: db.prepare(
      "SELECT r.json FROM scim_members m JOIN scim_resources r ON r.tenant = m.tenant AND r.type = 'Group' AND r.id = m.group_id " +
        'WHERE m.tenant = ? AND m.member_id = ?',
    ),
    groupsOf: db.prepare(
      "SELECT r.json FROM scim_members m JOIN scim_resources r ON r.tenant = m.tenant AND r.type = 'Group' AND r.id = m.group_id " +
        'WHERE m.tenant = ? AND m.member_id = ? AND r.deleted_at IS NULL ORDER BY r.created, r.id',
    ),
    count: perDeleted((d) =>
      db.prepare(`SELECT count(*) AS n FROM scim_resources WHERE tenant = ? AND type = ? ${DELETED[d]}`),
    ),
    page: perDeleted((d) =>
      db.prepare(
        `SELECT json FROM scim_resources WHERE tenant = ? AND type = ? ${DELETED[d]} ORDER BY created, id LIMIT ? OFFSET ?`,
      ),
    ),
    scan: perDeleted((d) =>
      db.prepare(
        `SELECT json FROM scim_resources WHERE tenant = ? AND type = ? ${DELETED[d]} ORDER BY created, id`,
      ),
    ),
    byHint: perDeleted(byHint),
    beginRead: db.prepare('BEGIN'),
    beginWrite: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
  };
}

function parse(json: unknown): StoredResource {
  if (typeof json !== 'string') throw new Error('scim_resources.json is not text');
  return JSON.parse(json) as StoredResource;
}

function parseRows(rows: Record<string, unknown>[]): StoredResource[] {
  return rows.map((row) => parse(row.json));
}

/** The column values of a resource, in the order of `insert` after tenant/type/id. */
function columns(resource: StoredResource) {
  const keys = indexKeys(resource);
  return [
    JSON.stringify(resource),
    resource.version,
    resource.created,
    resource.deletedAt ?? null,
    keys.userName ?? null,
    keys.externalId ?? null,
    keys.displayName ?? null,
  ] as const;
}

export class SqliteDirectory implements Directory {
  private readonly db: DatabaseSync;
  private readonly owned: boolean;
  private readonly sql: Statements;
  private closed = false;

  constructor(options: SqliteDirectoryOptions) {
    if ('db' in options) {
      this.db = options.db;
      this.owned = false;
      this.db.exec(SCHEMA);
      this.sql = prepareStatements(this.db);
      return;
    }
    ({ db: this.db, sql: this.sql } = openSqliteFile(
      options.path,
      options.busyTimeoutMs,
      SCHEMA,
      prepareStatements,
    ));
    this.owned = true;
  }

  private open(): Statements {
    if (this.closed) throw new Error('directory is closed');
    return this.sql;
  }

  private transaction<T>(begin: StatementSync, body: () => T): T {
    const sql = this.open();
    begin.run();
    try {
      const result = body();
      sql.commit.run();
      return result;
    } catch (error) {
      if (this.db.isTransaction) sql.rollback.run();
      throw error;
    }
  }

  private write<T>(body: (sql: Statements) => T): T {
    const sql = this.open();
    return this.transaction(sql.beginWrite, () => body(sql));
  }

  private read<T>(body: (sql: Statements) => T): T {
    const sql = this.open();
    // A nested read (inside a caller's transaction on a shared db) just runs in that one.
    if (this.db.isTransaction) return body(sql);
    return this.transaction(sql.beginRead, () => body(sql));
  }

  private assertUnique(sql: Statements, tenant: string, resource: StoredResource): void {
    if (resource.resourceType !== 'User' || resource.deletedAt !== undefined) return;
    const userName = indexKeys(resource).userName;
    if (userName === undefined) return;
    const owner = sql.liveOwner.get(tenant, userName);
    if (owner && owner.id !== resource.id)
      throw new DirectoryConflictError(String(resource.attributes.userName));
  }

  private indexMembers(sql: Statements, tenant: string, resource: StoredResource): void {
    if (resource.resourceType !== 'Group') return;
    sql.removeGroupMembers.run(tenant, resource.id);
    for (const member of memberIds(resource)) sql.addMember.run(tenant, member, resource.id);
  }

  async create(tenant: string, resource: StoredResource): Promise<void> {
    this.write((sql) => {
      if (sql.version.get(tenant, resource.resourceType, resource.id)) {
        throw new Error(`resource ${resource.resourceType}/${resource.id} exists`);
      }
      this.assertUnique(sql, tenant, resource);
      sql.insert.run(tenant, resource.resourceType, resource.id, ...columns(resource));
      this.indexMembers(sql, tenant, resource);
    });
  }

  async get(tenant: string, type: ResourceTypeName, id: string): Promise<StoredResource | undefined> {
    const row = this.open().get.get(tenant, type, id);
    return row ? parse(row.json) : undefined;
  }

  async replace(tenant: string, resource: StoredResource, expectedVersion: number): Promise<void> {
    this.write((sql) => {
      const current = sql.version.get(tenant, resource.resourceType, resource.id);
      if (!current || Number(current.version) !== expectedVersion) {
        throw new DirectoryVersionError(resource.id);
      }
      this.assertUnique(sql, tenant, resource);
      sql.update.run(...columns(resource), tenant, resource.resourceType, resource.id);
      this.indexMembers(sql, tenant, resource);
    });
  }

  async delete(tenant: string, type: ResourceTypeName, id: string): Promise<boolean> {
    return this.write((sql) => {
      const existed = Number(sql.remove.run(tenant, type, id).changes) > 0;
      if (!existed) return false;
      if (type === 'Group') sql.removeGroupMembers.run(tenant, id);
      if (type !== 'User') return true;
      // As MemoryDirectory: the user leaves every group's members (marked-deleted groups too);
      // each edited group's version goes up, its lastModified stays.
      for (const group of parseRows(sql.groupsListing.all(tenant, id))) {
        const members = group.attributes.members;
        if (!Array.isArray(members)) continue;
        const remaining = members.filter((m) => !(isObject(m) && m.value === id));
        if (remaining.length > 0) group.attributes.members = remaining;
        else delete group.attributes.members;
        group.version += 1;
        sql.update.run(...columns(group), tenant, 'Group', group.id);
      }
      sql.removeMember.run(tenant, id);
      return true;
    });
  }

  async list(tenant: string, type: ResourceTypeName, query: ListQuery): Promise<ListResult> {
    const deleted = query.deleted ?? 'exclude';
    const start = Math.max(1, Math.trunc(query.startIndex)) - 1;
    const count = Math.max(0, Math.trunc(query.count));
    const filter = query.filter;
    return this.read((sql) => {
      if (!filter) {
        const total = Number(sql.count[deleted].get(tenant, type)?.n ?? 0);
        const resources =
          count > 0 && start < total ? parseRows(sql.page[deleted].all(tenant, type, count, start)) : [];
        return { total, resources };
      }
      const hint = indexHint(filter);
      const rows = hint
        ? sql.byHint[deleted][hint.attribute].all(
            tenant,
            type,
            HINT_COLUMNS[hint.attribute].fold ? hint.value.toLowerCase() : hint.value,
          )
        : sql.scan[deleted].all(tenant, type);
      // id and externalId are caseExact, so their exact index holds every resource the filter can match.
      const matches = parseRows(rows).filter((r) => filter.matches(filterView(r)));
      return { total: matches.length, resources: matches.slice(start, start + count) };
    });
  }

  async findByUserName(tenant: string, userName: string): Promise<StoredResource | undefined> {
    const row = this.open().findByUserName.get(tenant, userName.toLowerCase());
    return row ? parse(row.json) : undefined;
  }

  async groupsOf(tenant: string, userId: string): Promise<StoredResource[]> {
    return parseRows(this.open().groupsOf.all(tenant, userId));
  }

  /** Closes the database when this directory opened it; a given `db` stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) this.db.close();
  }
}
