/**
 * Opens a SQLite file the way every sluss table wants it (the store, the SCIM
 * directory): the folder created, the schema applied, statements prepared,
 * and the handle closed again if any of that fails.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export function openSqliteFile<T>(
  path: string,
  busyTimeoutMs: number | undefined,
  schema: string,
  prepare: (db: DatabaseSync) => T,
): { readonly db: DatabaseSync; readonly sql: T } {
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  try {
    // Wait for another process's write lock instead of failing at once with SQLITE_BUSY.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs ?? 5000))}`);
    // WAL: readers never block the writer, and a commit is one append to the log.
    // synchronous=NORMAL: the log is fsynced at checkpoints, not at every commit.
    // A commit that returned is in the OS page cache, so it survives the process
    // being killed (kill -9, OOM, crash); only an OS crash or power loss can lose
    // the last commits, and never corrupts the file. What is lost then is replay
    // cache entries, revocations or directory writes of the last moments before the
    // machine died, at the price of no fsync per write; synchronous=FULL would close that gap.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec(schema);
    return { db, sql: prepare(db) };
  } catch (error) {
    db.close();
    throw error;
  }
}
