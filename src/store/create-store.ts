/**
 * Builds the configured store: SQLite (embedded, one replica), Redis (shared
 * by many replicas) or memory (tests).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { SlussConfig } from '../config/types.ts';
import type { Directory } from '../scim/directory.ts';
import { MemoryDirectory } from '../scim/directory.ts';
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

/** The SCIM directory on the same backend as the store (memory until the SQLite/Redis directories are wired). */
export async function createDirectory(
  _config: SlussConfig['store'],
  _store: SharedStore,
): Promise<Directory> {
  return new MemoryDirectory();
}
