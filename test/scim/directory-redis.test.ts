/** The Directory contract against a real redis-server, plus key layout, prefixes and outages. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredResource } from '../../src/scim/directory.ts';
import { RedisDirectory } from '../../src/scim/directory-redis.ts';
import { compileFilter } from '../../src/scim/filter.ts';
import { RESOURCE_TYPES } from '../../src/scim/schema.ts';
import { type RunningRedis, startRedis } from '../support/redis.ts';
import { directoryContract, redisBackend } from './directory-contract.ts';

directoryContract(redisBackend());

const created = '2026-01-01T12:00:00.000Z';
const user = (id: string, userName: string): StoredResource => ({
  id,
  resourceType: 'User',
  attributes: { userName, externalId: `ext-${id}`, displayName: `Name ${id}` },
  created,
  lastModified: created,
  version: 1,
});

describe('RedisDirectory keys and connections', () => {
  let server: RunningRedis;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    await redis.ping();
  });
  afterAll(async () => {
    await redis.quit();
    await server.dispose();
  });

  it('keeps every key under its prefix and the tenant hash tag; prefixes are separate', async () => {
    const a = new RedisDirectory({ redis, keyPrefix: 'one:' });
    const b = new RedisDirectory({ redis, keyPrefix: 'two:' });
    const byDefault = new RedisDirectory({ redis });
    await a.create('acme', user('u1', 'same@example.com'));
    await b.create('acme', user('u1', 'same@example.com'));
    await byDefault.create('ac:me', user('u1', 'x'));
    expect((await a.get('acme', 'User', 'u1'))?.attributes.userName).toBe('same@example.com');
    await a.delete('acme', 'User', 'u1');
    expect(await a.get('acme', 'User', 'u1')).toBeUndefined();
    expect((await b.findByUserName('acme', 'SAME@example.com'))?.id).toBe('u1');
    const keys = await redis.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^(two:scim:\{acme\}:|sluss:scim:\{ac%3Ame\}:)/);
    // A deleted user leaves no index entry behind
    await b.delete('acme', 'User', 'u1');
    expect(await redis.keys('two:*')).toEqual([]);
  });

  it('answers userName/externalId/id/displayName eq from the index, without reading other resources', async () => {
    const directory = new RedisDirectory({ redis, keyPrefix: 'ix:' });
    await directory.create('acme', user('u1', 'Indexed@Example.com'));
    // A resource a scan would choke on: the indexed lookups must never read it.
    const base = 'ix:scim:{acme}:';
    await redis.hset(`${base}r:User:bad`, 'json', '{not json', 'version', '1', 'index', '{}');
    await redis.zadd(`${base}live:User`, 0, `${created}\0bad`);
    await redis.zadd(`${base}all:User`, 0, `${created}\0bad`);
    const list = (text: string) =>
      directory.list('acme', 'User', {
        startIndex: 1,
        count: 10,
        filter: compileFilter(text, RESOURCE_TYPES.User),
      });
    for (const text of [
      'userName eq "INDEXED@example.com"',
      'externalId eq "ext-u1"',
      'id eq "u1"',
      'displayName eq "name U1"',
      'title pr or userName eq "indexed@example.com" and displayName eq "name u1"',
    ]) {
      if (text.startsWith('title')) {
        // An `or` at the top has no index: that one is a scan.
        await expect(list(text)).rejects.toThrow(SyntaxError);
        continue;
      }
      expect((await list(text)).resources.map((r) => r.id)).toEqual(['u1']);
    }
  });

  it('an own connection: ready() and close(); commands fail fast while Redis is unreachable', async () => {
    const own = new RedisDirectory({ url: server.url, keyPrefix: 'own:' });
    expect(await own.ready(5000)).toBe(true);
    await own.create('acme', user('u1', 'a'));
    await own.close();
    await expect(own.get('acme', 'User', 'u1')).rejects.toThrow('closed');

    const unreachable = new RedisDirectory({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 200 });
    expect(await unreachable.ready(300)).toBe(false);
    const started = Date.now();
    await expect(unreachable.get('acme', 'User', 'u1')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
    await unreachable.close();
  });
});
