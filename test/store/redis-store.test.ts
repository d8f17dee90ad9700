import { afterAll, beforeAll } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import type { RunningRedis } from '../support/redis.ts';
import { startRedis } from '../support/redis.ts';
import { storeContract } from './store-contract.ts';

let redis: RunningRedis;
let run = 0;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.dispose();
});

storeContract('redis', async () => {
  // A fresh prefix per test keeps tests apart on one server without FLUSHALL.
  const keyPrefix = `t${++run}:`;
  const open = async () => {
    const store = new RedisStore({ url: redis.url, clock: systemClock, keyPrefix });
    if (!(await store.ready(5000))) throw new Error(`redis store not ready on ${redis.url}`);
    return store;
  };
  const store = await open();
  return {
    store,
    clock: systemClock,
    // Redis keeps its own time: TTL tests really wait (they use 1-2 s TTLs).
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    peer: open,
    deliversAcrossInstances: true,
    cleanup: () => store.close(),
  };
});
