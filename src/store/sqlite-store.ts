/**
 * The embedded Store: one SQLite file on a volume (node:sqlite, no native
 * addon), for a single replica that must keep its state across restarts.
 * Several processes may open the same file (SQLite locks it), but
 * revocations are delivered at once only within this process; more than
 * one replica needs the Redis store.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { BusStatus, RevocationEvent } from './revocation-bus.ts';
import { parseRevocationEvent, serializeRevocationEvent } from './revocation-bus.ts';
import { openSqliteFile } from './sqlite-file.ts';
import type { SharedStore } from './store.ts';
import { ttlMillis } from './store.ts';

export interface SqliteStoreOptions {
  /** The database file; its directory is created when missing. */
  readonly path: string;
  readonly clock: Clock;
  /** How long a writer waits for another process's lock before failing. */
  readonly busyTimeoutMs?: number;
  /** How often expired rows are deleted. */
  readonly sweepIntervalMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at);
CREATE TABLE IF NOT EXISTS set_members (
  key TEXT NOT NULL,
  member TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (key, member)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS set_members_expires_at ON set_members (expires_at);
CREATE TABLE IF NOT EXISTS revocations (
  event TEXT PRIMARY KEY,
  until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS revocations_until ON revocations (until);
`;

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(db: DatabaseSync) {
  return {
    get: db.prepare('SELECT value FROM kv WHERE key = ? AND expires_at > ?'),
    set: db.prepare(
      'INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
    ),
    deleteKey: db.prepare('DELETE FROM kv WHERE key = ?'),
    deleteSet: db.prepare('DELETE FROM set_members WHERE key = ?'),
    // One statement, so it is atomic across processes too: a live row wins
    // (0 changes); an absent or expired one is (re)written (1 change).
    addOnce: db.prepare(
      "INSERT INTO kv (key, value, expires_at) VALUES (?, '1', ?) " +
        'ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at ' +
        'WHERE kv.expires_at <= ?',
    ),
    // A set expires as a whole: adding a member raises every member's expiry to the latest.
    dropExpiredSet: db.prepare('DELETE FROM set_members WHERE key = ? AND expires_at <= ?'),
    addMember: db.prepare(
      'INSERT INTO set_members (key, member, expires_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (key, member) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)',
    ),
    extendSet: db.prepare(
      'UPDATE set_members SET expires_at = (SELECT max(expires_at) FROM set_members WHERE key = ?1) WHERE key = ?1',
    ),
    members: db.prepare('SELECT member FROM set_members WHERE key = ? AND expires_at > ? ORDER BY member'),
    addRevocation: db.prepare(
      'INSERT INTO revocations (event, until) VALUES (?, ?) ON CONFLICT (event) DO NOTHING',
    ),
    revocations: db.prepare('SELECT event FROM revocations WHERE until >= ?'),
    sweepKv: db.prepare('DELETE FROM kv WHERE expires_at <= ?'),
    sweepSets: db.prepare('DELETE FROM set_members WHERE expires_at <= ?'),
    sweepRevocations: db.prepare('DELETE FROM revocations WHERE until < ?'),
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
  } satisfies Record<string, StatementSync>;
}

export class SqliteStore implements SharedStore {
  private readonly db: DatabaseSync;
  private readonly sql: Statements;
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout;
  private readonly handlers = new Set<(event: RevocationEvent) => void>();
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.clock = options.clock;
    ({ db: this.db, sql: this.sql } = openSqliteFile(
      options.path,
      options.busyTimeoutMs,
      SCHEMA,
      prepareStatements,
    ));
    this.sweeper = setInterval(() => this.sweepSafely(), options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  private open(): Statements {
    if (this.closed) throw new Error('store is closed');
    return this.sql;
  }

  private expiry(ttlSeconds: number): number {
    return this.clock.now() + ttlMillis(ttlSeconds);
  }

  private transaction<T>(sql: Statements, body: () => T): T {
    sql.begin.run();
    try {
      const result = body();
      sql.commit.run();
      return result;
    } catch (error) {
      if (this.db.isTransaction) sql.rollback.run();
      throw error;
    }
  }

  async get(key: string): Promise<string | undefined> {
    const row = this.open().get.get(key, this.clock.now());
    return typeof row?.value === 'string' ? row.value : undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.open().set.run(key, value, this.expiry(ttlSeconds));
  }

  async delete(key: string): Promise<void> {
    const sql = this.open();
    this.transaction(sql, () => {
      sql.deleteKey.run(key);
      sql.deleteSet.run(key);
    });
  }

  async addOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.clock.now();
    const result = this.open().addOnce.run(key, now + ttlMillis(ttlSeconds), now);
    return Number(result.changes) === 1;
  }

  async addToSet(key: string, member: string, ttlSeconds: number): Promise<void> {
    const sql = this.open();
    const now = this.clock.now();
    const expiresAt = now + ttlMillis(ttlSeconds);
    this.transaction(sql, () => {
      sql.dropExpiredSet.run(key, now);
      sql.addMember.run(key, member, expiresAt);
      sql.extendSet.run(key);
    });
  }

  async members(key: string): Promise<string[]> {
    const rows = this.open().members.all(key, this.clock.now());
    return rows.flatMap((row) => (typeof row.member === 'string' ? [row.member] : []));
  }

  async publishRevocation(event: RevocationEvent): Promise<void> {
    this.open().addRevocation.run(serializeRevocationEvent(event), event.until);
    for (const handler of [...this.handlers]) handler(event);
  }

  subscribeRevocations(handler: (event: RevocationEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async loadRevocations(): Promise<RevocationEvent[]> {
    const rows = this.open().revocations.all(epochSeconds(this.clock));
    return rows.flatMap((row) => {
      const event = typeof row.event === 'string' ? parseRevocationEvent(row.event) : undefined;
      return event ? [event] : [];
    });
  }

  async ping(): Promise<void> {
    this.open();
  }

  onStatusChange(_listener: (status: BusStatus) => void): () => void {
    return () => {};
  }

  /** Deletes expired rows; runs on a timer, callable from tests. */
  sweep(): void {
    const sql = this.open();
    const now = this.clock.now();
    this.transaction(sql, () => {
      sql.sweepKv.run(now);
      sql.sweepSets.run(now);
      sql.sweepRevocations.run(epochSeconds(this.clock));
    });
  }

  private sweepSafely(): void {
    try {
      this.sweep();
    } catch {
      // A busy or closing database: the next sweep tries again, and reads ignore expired rows anyway.
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.handlers.clear();
    this.db.close();
  }
}
