import { ManualClock } from '../../src/clock.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { storeContract } from './store-contract.ts';

storeContract('memory', async () => {
  const clock = new ManualClock(Date.now());
  const store = new MemoryStore(clock);
  return {
    store,
    clock,
    advance: async (ms) => clock.advance(ms),
    // One process, one map: a "second replica" of the memory store is the same store.
    peer: async () => store,
    deliversAcrossInstances: false,
    cleanup: () => store.close(),
  };
});
