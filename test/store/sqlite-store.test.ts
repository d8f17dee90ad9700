import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { storeContract } from './store-contract.ts';

storeContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluss-sqlite-'));
  const path = join(dir, 'state', 'sluss.db');
  const clock = new ManualClock(Date.now());
  const store = new SqliteStore({ path, clock });
  return {
    store,
    clock,
    advance: async (ms) => clock.advance(ms),
    peer: async () => new SqliteStore({ path, clock }),
    deliversAcrossInstances: false,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
