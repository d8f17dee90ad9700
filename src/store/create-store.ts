/**
 * Builds the configured store: SQLite (embedded, one replica), Redis (shared
 * by many replicas) or memory (tests).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { SlussConfig } from '../config/types.ts';
import type { Directory } from '../scim/directory.ts';
import { MemoryDirectory } from '../scim/directory.ts';
import { RedisDirectory } from '../scim/directory-redis.ts';
import { SqliteDirectory } from '../scim/directory-sqlite.ts';
import { MemoryStore } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { SharedStore } from './store.ts';

/** How long start-up waits for Redis before serving degraded (sessions then ride on the grace period). */
const REDIS_READY_TIMEOUT_MS = 5_000;

export async function createStore(
  config: SlussConfig['store'],
  clock: Clock,
  log: Logger,
): Promise<SharedStore> {
  switch (config.type) {
    case 'memory':
      return new MemoryStore(clock);
    case 'sqlite':
      return new SqliteStore({ path: config.path, clock });
    case 'redis': {
      const store = new RedisStore({
        url: config.url ?? '',
        clock,
        keyPrefix: config.keyPrefix,
        onError: (error) => log.warn({ err: error, event: 'store_error' }, 'redis connection problem'),
      });
      if (!(await store.ready(REDIS_READY_TIMEOUT_MS)))
        log.warn({ event: 'store_down' }, 'redis not reachable at start');
      return store;
    }
  }
}

/** A directory that holds a connection or a file. */
export type ClosableDirectory = Directory & { close?(): Promise<void> };

/** The SCIM directory on the same backend as the store: the SQLite file (own tables), or Redis (own connection). */
export async function createDirectory(config: SlussConfig['store'], log: Logger): Promise<ClosableDirectory> {
  switch (config.type) {
    case 'memory':
      return new MemoryDirectory();
    case 'sqlite':
      return new SqliteDirectory({ path: config.path });
    case 'redis':
      return new RedisDirectory({
        url: config.url ?? '',
        keyPrefix: config.keyPrefix,
        onError: (error: Error) =>
          log.warn({ err: error, event: 'directory_error' }, 'redis directory connection problem'),
      });
  }
}
