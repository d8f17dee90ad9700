/**
 * What every Directory backend must do, as MemoryDirectory does it: one suite run against
 * memory, SQLite (a temp file) and Redis (a real redis-server), plus `describeEachDirectory`,
 * which runs a SCIM replay suite (Entra, Okta, RFC errors) once per backend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Directory, StoredResource } from '../../src/scim/directory.ts';
import { DirectoryConflictError, DirectoryVersionError, MemoryDirectory } from '../../src/scim/directory.ts';
import { RedisDirectory } from '../../src/scim/directory-redis.ts';
import { SqliteDirectory } from '../../src/scim/directory-sqlite.ts';
import { compileFilter } from '../../src/scim/filter.ts';
import type { JsonObject } from '../../src/scim/json.ts';
import type { ResourceTypeName } from '../../src/scim/schema.ts';
import { RESOURCE_TYPES } from '../../src/scim/schema.ts';
import { type RunningRedis, startRedis } from '../support/redis.ts';
import { scimClient } from './scim-client.ts';

export interface DirectoryBackend {
  readonly name: string;
  /** Before the backend's tests (starts Redis, makes a temp dir). */
  setup(): Promise<void>;
  /** A fresh, empty directory (synchronous, so it can back `scimClient()`). */
  create(): Directory;
  /** Another handle on the same storage, as a second replica or process would have; none for memory. */
  peer?(directory: Directory): Promise<Directory>;
  /** Closes the directory and opens its storage again (a restart); none for memory. */
  reopen?(directory: Directory): Promise<Directory>;
  /** After the backend's tests: closes every directory it made and removes what setup made. */
  teardown(): Promise<void>;
}

export function memoryBackend(): DirectoryBackend {
  return {
    name: 'memory',
    setup: async () => {},
    create: () => new MemoryDirectory(),
    teardown: async () => {},
  };
}

export function sqliteBackend(): DirectoryBackend {
  let dir = '';
  let n = 0;
  const paths = new Map<Directory, string>();
  const open = (path: string): SqliteDirectory => {
    const directory = new SqliteDirectory({ path });
    paths.set(directory, path);
    return directory;
  };
  const pathOf = (directory: Directory): string => {
    const path = paths.get(directory);
    if (!path) throw new Error('not a directory of this backend');
    return path;
  };
  return {
    name: 'sqlite',
    setup: async () => {
      dir = mkdtempSync(join(tmpdir(), 'sluss-directory-'));
    },
    create: () => {
      n += 1;
      return open(join(dir, `directory-${n}.db`));
    },
    peer: async (directory) => open(pathOf(directory)),
    reopen: async (directory) => {
      const path = pathOf(directory);
      await (directory as SqliteDirectory).close();
      return open(path);
    },
    teardown: async () => {
      for (const directory of paths.keys()) await (directory as SqliteDirectory).close();
      paths.clear();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function redisBackend(): DirectoryBackend {
  let server: RunningRedis | undefined;
  let shared: Redis | undefined;
  let n = 0;
  const prefixes = new Map<Directory, string>();
  const own: RedisDirectory[] = [];
  const running = (): RunningRedis => {
    if (!server) throw new Error('redis backend is not set up');
    return server;
  };
  const ownConnection = async (keyPrefix: string): Promise<RedisDirectory> => {
    const directory = new RedisDirectory({ url: running().url, keyPrefix });
    own.push(directory);
    prefixes.set(directory, keyPrefix);
    if (!(await directory.ready(5000))) throw new Error('redis directory did not connect');
    return directory;
  };
  const prefixOf = (directory: Directory): string => {
    const prefix = prefixes.get(directory);
    if (prefix === undefined) throw new Error('not a directory of this backend');
    return prefix;
  };
  return {
    name: 'redis',
    setup: async () => {
      // A missing redis-server throws here: the suite fails, it never skips.
      server = await startRedis();
      shared = new Redis(server.url, { connectionName: 'sluss-test' });
      await shared.ping();
    },
    create: () => {
      if (!shared) throw new Error('redis backend is not set up');
      n += 1;
      // One connection for all of them; each directory its own key space.
      const keyPrefix = `test${n}:`;
      const directory = new RedisDirectory({ redis: shared, keyPrefix });
      prefixes.set(directory, keyPrefix);
      return directory;
    },
    // A second replica: its own connection, the same keys.
    peer: async (directory) => ownConnection(prefixOf(directory)),
    reopen: async (directory) => {
      const prefix = prefixOf(directory);
      await (directory as RedisDirectory).close();
      return ownConnection(prefix);
    },
    teardown: async () => {
      for (const directory of own) await directory.close();
      own.length = 0;
      prefixes.clear();
      await shared?.quit();
      shared = undefined;
      await server?.dispose();
      server = undefined;
    },
  };
}

export function directoryBackends(): DirectoryBackend[] {
  return [memoryBackend(), sqliteBackend(), redisBackend()];
}

/** Sets a backend up for the enclosing describe block, and tears it down after it. */
export function useBackend(backend: DirectoryBackend): void {
  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());
}

type ScimClientOptions = NonNullable<Parameters<typeof scimClient>[0]>;

/**
 * Runs `body` once per backend, inside `describe(title [backend])`, giving it a `scimClient`
 * whose default directory is a fresh one of that backend.
 */
export function describeEachDirectory(
  title: string,
  body: (context: { scimClient: typeof scimClient; backend: DirectoryBackend }) => void,
): void {
  describe.each(directoryBackends().map((backend) => ({ name: backend.name, backend })))(
    `${title} [$name]`,
    ({ backend }) => {
      useBackend(backend);
      body({
        backend,
        scimClient: (options: ScimClientOptions = {}) =>
          scimClient({ ...options, directory: options.directory ?? backend.create() }),
      });
    },
  );
}

// ---------------------------------------------------------------------------------------------
// The contract

const T = 'acme';
const filter = (type: ResourceTypeName, text: string) => compileFilter(text, RESOURCE_TYPES[type]);

function at(second: number): string {
  return new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString();
}

function user(id: string, attributes: JsonObject, created = at(0)): StoredResource {
  return { id, resourceType: 'User', attributes, created, lastModified: created, version: 1 };
}

function group(id: string, displayName: string, members: string[] = [], created = at(0)): StoredResource {
  const attributes: JsonObject = { displayName };
  if (members.length > 0) attributes.members = members.map((value) => ({ value, type: 'User' }));
  return { id, resourceType: 'Group', attributes, created, lastModified: created, version: 1 };
}

/** The next version of a resource, as the handler writes it. */
function next(resource: StoredResource, change: Partial<StoredResource> = {}): StoredResource {
  return { ...structuredClone(resource), version: resource.version + 1, ...change };
}

const ids = (resources: StoredResource[]) => resources.map((r) => r.id);

export function directoryContract(backend: DirectoryBackend): void {
  describe(`Directory contract [${backend.name}]`, () => {
    useBackend(backend);

    it('create and get round-trip the whole document, as copies', async () => {
      const d = backend.create();
      const alice = user('u1', {
        userName: 'Alice@Example.com',
        externalId: 'ext-1',
        active: true,
        name: { givenName: 'Alice', familyName: 'Ä' },
        emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
        roles: [],
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D', costCenter: '7' },
      });
      await d.create(T, alice);
      const got = await d.get(T, 'User', 'u1');
      expect(got).toEqual(alice);
      if (!got) throw new Error('missing');
      got.attributes.userName = 'mutated';
      expect((await d.get(T, 'User', 'u1'))?.attributes.userName).toBe('Alice@Example.com');
      alice.attributes.userName = 'mutated too';
      expect((await d.get(T, 'User', 'u1'))?.attributes.userName).toBe('Alice@Example.com');
      expect(await d.get(T, 'User', 'nope')).toBeUndefined();
      expect(await d.get(T, 'Group', 'u1')).toBeUndefined();
      expect(await d.get('other', 'User', 'u1')).toBeUndefined();
    });

    it('refuses a second resource with the same type and id, but not another type', async () => {
      const d = backend.create();
      await d.create(T, user('x', { userName: 'a' }));
      const again = d.create(T, user('x', { userName: 'b' }));
      await expect(again).rejects.toThrow('exists');
      await expect(d.create(T, user('x', { userName: 'b' }))).rejects.not.toBeInstanceOf(
        DirectoryConflictError,
      );
      await d.create(T, group('x', 'G'));
      expect((await d.get(T, 'Group', 'x'))?.attributes.displayName).toBe('G');
      expect((await d.get(T, 'User', 'x'))?.attributes.userName).toBe('a');
    });

    it('keeps userName unique among live users, case-insensitively (also beyond ASCII), per tenant', async () => {
      const d = backend.create();
      await d.create(T, user('u1', { userName: 'Åsa@Example.com' }));
      await expect(d.create(T, user('u2', { userName: 'åSA@example.COM' }))).rejects.toBeInstanceOf(
        DirectoryConflictError,
      );
      await expect(d.create(T, user('u2', { userName: 'åSA@example.COM' }))).rejects.toThrow(
        'userName "åSA@example.COM" is already taken',
      );
      // Another tenant, a group with that name, a user without a userName: all fine
      await d.create('other', user('u2', { userName: 'ÅSA@EXAMPLE.COM' }));
      await d.create(T, group('g1', 'Åsa@Example.com'));
      await d.create(T, user('u3', { displayName: 'No userName' }));
      await d.create(T, user('u4', { displayName: 'No userName either' }));
      // Replace into a taken name conflicts; one's own name in another case does not
      const bob = user('u5', { userName: 'bob' });
      await d.create(T, bob);
      await expect(
        d.replace(T, next(bob, { attributes: { userName: 'ÅSA@example.com' } }), 1),
      ).rejects.toBeInstanceOf(DirectoryConflictError);
      expect((await d.get(T, 'User', 'u5'))?.version).toBe(1);
      await d.replace(T, next(bob, { attributes: { userName: 'BOB' } }), 1);
      expect((await d.findByUserName(T, 'bOb'))?.attributes.userName).toBe('BOB');
      // The old name of a renamed user is free again
      const renamed = (await d.get(T, 'User', 'u5')) as StoredResource;
      await d.replace(T, next(renamed, { attributes: { userName: 'robert' } }), 2);
      await d.create(T, user('u6', { userName: 'Bob' }));
      expect((await d.findByUserName(T, 'ROBERT'))?.id).toBe('u5');
      expect((await d.findByUserName(T, 'bob'))?.id).toBe('u6');
    });

    it('20 concurrent creates of one userName: exactly one wins', async () => {
      const d = backend.create();
      const handles = [d];
      if (backend.peer) for (let i = 0; i < 3; i += 1) handles.push(await backend.peer(d));
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          (handles[i % handles.length] as Directory).create(
            T,
            user(`racer-${i}`, { userName: i % 2 ? 'RACE@example.com' : 'race@EXAMPLE.com' }),
          ),
        ),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`racer-${i}`] : []));
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DirectoryConflictError);
      }
      for (const handle of handles) {
        expect((await handle.findByUserName(T, 'Race@Example.com'))?.id).toBe(won[0]);
        expect((await handle.list(T, 'User', { startIndex: 1, count: 100 })).total).toBe(1);
      }
    });

    it('20 concurrent replaces of one version: exactly one wins', async () => {
      const d = backend.create();
      const handles = [d];
      if (backend.peer) handles.push(await backend.peer(d));
      const base = user('u1', { userName: 'v', title: 'start' });
      await d.create(T, base);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          (handles[i % handles.length] as Directory).replace(
            T,
            next(base, { attributes: { userName: 'v', title: `t${i}` } }),
            1,
          ),
        ),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DirectoryVersionError);
      }
      const stored = await d.get(T, 'User', 'u1');
      expect(stored?.version).toBe(2);
      expect(stored?.attributes.title).toBe(`t${won[0]}`);
    });

    it('replace checks the expected version, and refuses an absent resource', async () => {
      const d = backend.create();
      const u = user('u1', { userName: 'ver' });
      await d.create(T, u);
      await expect(d.replace(T, next(u), 2)).rejects.toBeInstanceOf(DirectoryVersionError);
      await expect(d.replace(T, next(u), 0)).rejects.toThrow('resource u1 changed concurrently');
      await expect(d.replace(T, user('ghost', { userName: 'g' }), 1)).rejects.toBeInstanceOf(
        DirectoryVersionError,
      );
      await expect(d.replace('other', next(u), 1)).rejects.toBeInstanceOf(DirectoryVersionError);
      const v2 = next(u, { attributes: { userName: 'ver', title: 'two' }, lastModified: at(5) });
      await d.replace(T, v2, 1);
      expect(await d.get(T, 'User', 'u1')).toEqual(v2);
      await expect(d.replace(T, next(v2), 1)).rejects.toBeInstanceOf(DirectoryVersionError);
      await d.replace(T, next(v2), 2);
      expect((await d.get(T, 'User', 'u1'))?.version).toBe(3);
      // A version check comes before the uniqueness check
      await d.create(T, user('u2', { userName: 'taken' }));
      await expect(d.replace(T, next(v2, { attributes: { userName: 'taken' } }), 2)).rejects.toBeInstanceOf(
        DirectoryVersionError,
      );
    });

    it('soft-deleted users are kept, hidden from lists and lookups unless asked, and free their userName', async () => {
      const d = backend.create();
      const gone = user('u1', { userName: 'Ghost', externalId: 'e1' }, at(1));
      await d.create(T, gone);
      await d.create(T, user('u2', { userName: 'alive' }, at(2)));
      await d.replace(T, next(gone, { deletedAt: at(3) }), 1);
      expect((await d.get(T, 'User', 'u1'))?.deletedAt).toBe(at(3));
      expect(await d.findByUserName(T, 'ghost')).toBeUndefined();
      expect(ids((await d.list(T, 'User', { startIndex: 1, count: 10 })).resources)).toEqual(['u2']);
      expect(
        ids((await d.list(T, 'User', { startIndex: 1, count: 10, deleted: 'include' })).resources),
      ).toEqual(['u1', 'u2']);
      expect((await d.list(T, 'User', { startIndex: 1, count: 10, deleted: 'only' })).resources).toEqual([
        { ...gone, version: 2, deletedAt: at(3) },
      ]);
      const byName = filter('User', 'userName eq "GHOST"');
      expect((await d.list(T, 'User', { startIndex: 1, count: 10, filter: byName })).total).toBe(0);
      expect(
        ids(
          (await d.list(T, 'User', { startIndex: 1, count: 10, filter: byName, deleted: 'only' })).resources,
        ),
      ).toEqual(['u1']);
      // The userName is free: a new live user takes it; the marked one may keep it too
      await d.create(T, user('u3', { userName: 'ghost', externalId: 'e1' }, at(4)));
      expect((await d.findByUserName(T, 'Ghost'))?.id).toBe('u3');
      const both = await d.list(T, 'User', {
        startIndex: 1,
        count: 10,
        filter: filter('User', 'externalId eq "e1"'),
        deleted: 'include',
      });
      expect(ids(both.resources)).toEqual(['u1', 'u3']);
      // A marked user cannot come back to life under a taken name; created marked, it may
      const marked = (await d.get(T, 'User', 'u1')) as StoredResource;
      const revived: StoredResource = next(marked);
      delete revived.deletedAt;
      await expect(d.replace(T, revived, 2)).rejects.toBeInstanceOf(DirectoryConflictError);
      await d.create(T, { ...user('u4', { userName: 'GHOST' }, at(5)), deletedAt: at(5) });
      // Anonymised: replaced with a marked, renamed document
      await d.replace(
        T,
        next(marked, { attributes: { userName: 'anon-u1', active: false }, anonymisedAt: at(6) }),
        2,
      );
      expect((await d.list(T, 'User', { startIndex: 1, count: 10, deleted: 'only' })).total).toBe(2);
      expect(await d.findByUserName(T, 'anon-u1')).toBeUndefined();
    });

    it('delete removes for good, frees the userName, and takes the user out of every group', async () => {
      const d = backend.create();
      await d.create(T, user('u1', { userName: 'one' }, at(1)));
      await d.create(T, user('u2', { userName: 'two' }, at(2)));
      await d.create(T, group('g1', 'Both', ['u1', 'u2'], at(3)));
      await d.create(T, group('g2', 'Only one', ['u1'], at(4)));
      const marked = group('g3', 'Marked', ['u1'], at(5));
      await d.create(T, { ...marked, deletedAt: at(6) });
      await d.create(T, group('g4', 'Neither', ['u2'], at(7)));
      expect(ids(await d.groupsOf(T, 'u1'))).toEqual(['g1', 'g2']);

      expect(await d.delete(T, 'User', 'u1')).toBe(true);
      expect(await d.get(T, 'User', 'u1')).toBeUndefined();
      expect(await d.delete(T, 'User', 'u1')).toBe(false);
      expect(await d.delete(T, 'Group', 'u2')).toBe(false);
      expect(await d.groupsOf(T, 'u1')).toEqual([]);
      expect(await d.get(T, 'Group', 'g1')).toEqual({
        ...group('g1', 'Both', ['u2'], at(3)),
        version: 2,
      });
      const g2 = await d.get(T, 'Group', 'g2');
      expect(g2?.attributes.members).toBeUndefined();
      expect(g2?.version).toBe(2);
      expect(g2?.lastModified).toBe(at(4));
      expect((await d.get(T, 'Group', 'g3'))?.attributes.members).toBeUndefined();
      expect((await d.get(T, 'Group', 'g3'))?.version).toBe(2);
      expect((await d.get(T, 'Group', 'g4'))?.version).toBe(1);
      expect(ids(await d.groupsOf(T, 'u2'))).toEqual(['g1', 'g4']);
      await d.create(T, user('u9', { userName: 'ONE' }));

      expect(await d.delete(T, 'Group', 'g1')).toBe(true);
      expect(ids(await d.groupsOf(T, 'u2'))).toEqual(['g4']);
      expect((await d.list(T, 'Group', { startIndex: 1, count: 10 })).total).toBe(2);
      expect(
        (
          await d.list(T, 'Group', {
            startIndex: 1,
            count: 10,
            filter: filter('Group', 'displayName eq "both"'),
          })
        ).total,
      ).toBe(0);
    });

    it('groupsOf: live groups listing the member, in creation order, each once', async () => {
      const d = backend.create();
      await d.create(T, user('u1', { userName: 'm' }));
      await d.create(T, group('g2', 'Second', ['u1', 'u1'], at(2)));
      await d.create(T, group('g1', 'First', ['u1'], at(1)));
      await d.create(T, group('g0', 'Same time, lower id', ['u1'], at(2)));
      await d.create(T, group('g3', 'Other', ['x'], at(3)));
      await d.create(T, group('g4', 'Parent of a group', ['g3'], at(4)));
      expect(ids(await d.groupsOf(T, 'u1'))).toEqual(['g1', 'g0', 'g2']);
      expect(ids(await d.groupsOf(T, 'g3'))).toEqual(['g4']);
      expect(await d.groupsOf('other', 'u1')).toEqual([]);
      // Membership follows replaces
      const g1 = (await d.get(T, 'Group', 'g1')) as StoredResource;
      await d.replace(T, next(g1, { attributes: { displayName: 'First', members: [{ value: 'x' }] } }), 1);
      expect(ids(await d.groupsOf(T, 'u1'))).toEqual(['g0', 'g2']);
      expect(ids(await d.groupsOf(T, 'x'))).toEqual(['g1', 'g3']);
      const g0 = (await d.get(T, 'Group', 'g0')) as StoredResource;
      await d.replace(T, next(g0, { deletedAt: at(9) }), 1);
      expect(ids(await d.groupsOf(T, 'u1'))).toEqual(['g2']);
      expect((await d.groupsOf(T, 'u1'))[0]).toEqual(await d.get(T, 'Group', 'g2'));
    });

    it('lists in creation order (then id), pages with startIndex/count, and counts every match', async () => {
      const d = backend.create();
      // Created out of order; two share a timestamp
      for (const [id, second] of [
        ['e', 5],
        ['a', 1],
        ['c', 3],
        ['b2', 2],
        ['b1', 2],
        ['d', 4],
      ] as const) {
        await d.create(T, user(id, { userName: `user-${id}`, active: second % 2 === 0 }, at(second)));
      }
      await d.create(T, group('g', 'not a user', [], at(0)));
      const page = (startIndex: number, count: number, f?: string) =>
        d.list(T, 'User', { startIndex, count, ...(f ? { filter: filter('User', f) } : {}) });
      expect(ids((await page(1, 100)).resources)).toEqual(['a', 'b1', 'b2', 'c', 'd', 'e']);
      expect(await page(2, 2)).toEqual({
        total: 6,
        resources: [await d.get(T, 'User', 'b1'), await d.get(T, 'User', 'b2')],
      });
      expect(ids((await page(0, 2)).resources)).toEqual(['a', 'b1']);
      expect(ids((await page(-5, 1)).resources)).toEqual(['a']);
      expect(ids((await page(5, 10)).resources)).toEqual(['d', 'e']);
      expect(await page(7, 10)).toEqual({ total: 6, resources: [] });
      expect(await page(1, 0)).toEqual({ total: 6, resources: [] });
      // The same with a filter (no index)
      expect(await page(1, 100, 'active eq true')).toEqual({
        total: 3,
        resources: [await d.get(T, 'User', 'b1'), await d.get(T, 'User', 'b2'), await d.get(T, 'User', 'd')],
      });
      expect(ids((await page(2, 1, 'active eq true')).resources)).toEqual(['b2']);
      expect(await page(4, 1, 'active eq true')).toEqual({ total: 3, resources: [] });
      expect(await page(1, 0, 'userName sw "user-b"')).toEqual({ total: 2, resources: [] });
      expect((await d.list(T, 'Group', { startIndex: 1, count: 10 })).total).toBe(1);
      expect((await d.list('other', 'User', { startIndex: 1, count: 10 })).total).toBe(0);
    });

    it('filters: indexed eq (userName, externalId, id, displayName) agrees with a scan', async () => {
      const d = backend.create();
      await d.create(
        T,
        user(
          'id-A',
          { userName: 'Alice@Example.com', externalId: 'Ext-A', displayName: 'Alice A', active: true },
          at(1),
        ),
      );
      await d.create(
        T,
        user(
          'id-B',
          { userName: 'bob@example.com', externalId: 'ext-a', displayName: 'ALICE a', active: false },
          at(2),
        ),
      );
      await d.create(
        T,
        user('id-C', { userName: 'carol', emails: [{ value: 'c@x.org', type: 'work' }] }, at(3)),
      );
      await d.create(T, group('id-G', 'Alice A', ['id-A'], at(4)));
      await d.create(T, group('id-H', 'Staff', ['id-A', 'id-B'], at(5)));
      const cases: [ResourceTypeName, string, string[]][] = [
        ['User', 'userName eq "ALICE@example.COM"', ['id-A']],
        ['User', 'USERNAME eq "alice@example.com"', ['id-A']],
        ['User', 'userName eq "nobody"', []],
        ['User', 'externalId eq "Ext-A"', ['id-A']],
        ['User', 'externalId eq "ext-a"', ['id-B']],
        ['User', 'externalId eq "EXT-A"', []],
        ['User', 'id eq "id-B"', ['id-B']],
        ['User', 'id eq "ID-B"', []],
        ['User', 'id eq "id-G"', []],
        ['User', 'displayName eq "alice a"', ['id-A', 'id-B']],
        ['User', 'displayName eq "alice a" and active eq true', ['id-A']],
        ['User', 'active eq false and userName eq "BOB@example.com"', ['id-B']],
        ['User', 'userName eq "alice@example.com" or userName eq "carol"', ['id-A', 'id-C']],
        ['User', 'userName co "EXAMPLE"', ['id-A', 'id-B']],
        ['User', 'emails[type eq "work" and value sw "C@"]', ['id-C']],
        ['User', 'not (userName eq "carol")', ['id-A', 'id-B']],
        ['User', 'externalId pr', ['id-A', 'id-B']],
        ['User', 'meta.created gt "2026-01-01T12:00:01Z"', ['id-B', 'id-C']],
        ['Group', 'displayName eq "ALICE A"', ['id-G']],
        ['Group', 'displayName eq "staff" and members[value eq "id-B"]', ['id-H']],
        ['Group', 'members.value eq "id-A"', ['id-G', 'id-H']],
        ['Group', 'id eq "id-H"', ['id-H']],
        ['Group', 'externalId eq "Ext-A"', []],
      ];
      for (const [type, text, expected] of cases) {
        const result = await d.list(T, type, { startIndex: 1, count: 100, filter: filter(type, text) });
        expect({ text, found: ids(result.resources), total: result.total }).toEqual({
          text,
          found: expected,
          total: expected.length,
        });
      }
      // The index follows changes to the indexed attributes
      const a = (await d.get(T, 'User', 'id-A')) as StoredResource;
      await d.replace(
        T,
        next(a, { attributes: { userName: 'alice2', externalId: 'Ext-Z', displayName: 'Z' } }),
        1,
      );
      for (const [text, expected] of [
        ['userName eq "alice@example.com"', []],
        ['userName eq "Alice2"', ['id-A']],
        ['externalId eq "Ext-A"', []],
        ['externalId eq "Ext-Z"', ['id-A']],
        ['displayName eq "alice a"', ['id-B']],
        ['displayName eq "z"', ['id-A']],
      ] as const) {
        const result = await d.list(T, 'User', { startIndex: 1, count: 100, filter: filter('User', text) });
        expect({ text, found: ids(result.resources) }).toEqual({ text, found: expected });
      }
      await d.delete(T, 'User', 'id-B');
      expect(
        (
          await d.list(T, 'User', {
            startIndex: 1,
            count: 100,
            filter: filter('User', 'externalId eq "ext-a"'),
          })
        ).total,
      ).toBe(0);
    });

    it('findByUserName: the live user, case-insensitively', async () => {
      const d = backend.create();
      const dana = user('u1', { userName: 'Dana@Example.com', title: 'x' });
      await d.create(T, dana);
      expect(await d.findByUserName(T, 'DANA@example.com')).toEqual(dana);
      expect(await d.findByUserName(T, 'dana')).toBeUndefined();
      expect(await d.findByUserName('other', 'dana@example.com')).toBeUndefined();
      await d.create(T, group('g', 'Dana@Example.com'));
      await d.delete(T, 'User', 'u1');
      expect(await d.findByUserName(T, 'dana@example.com')).toBeUndefined();
    });

    it('tenants are separate key spaces, whatever their names contain', async () => {
      const d = backend.create();
      const tenants = ['a', 'a:b', 'a}:{b', 'b', 'with space', 'ü'];
      for (const [i, tenant] of tenants.entries()) {
        await d.create(tenant, user('same-id', { userName: 'same', title: tenant }, at(i)));
        await d.create(tenant, group('g', 'grp', ['same-id'], at(i)));
      }
      for (const tenant of tenants) {
        expect((await d.get(tenant, 'User', 'same-id'))?.attributes.title).toBe(tenant);
        expect((await d.findByUserName(tenant, 'SAME'))?.attributes.title).toBe(tenant);
        expect((await d.list(tenant, 'User', { startIndex: 1, count: 10 })).total).toBe(1);
        expect(ids(await d.groupsOf(tenant, 'same-id'))).toEqual(['g']);
      }
      await d.delete('a:b', 'User', 'same-id');
      expect(await d.get('a', 'User', 'same-id')).toBeDefined();
      expect((await d.get('a', 'Group', 'g'))?.version).toBe(1);
      expect((await d.get('a:b', 'Group', 'g'))?.version).toBe(2);
    });

    if (backend.reopen) {
      const reopen = backend.reopen;
      it('data survives closing and reopening', async () => {
        const d = backend.create();
        const u = user('u1', { userName: 'Persist', externalId: 'p-1' }, at(1));
        await d.create(T, u);
        await d.create(T, group('g1', 'Kept', ['u1'], at(2)));
        await d.replace(T, next(u, { attributes: { userName: 'Persisted', externalId: 'p-1' } }), 1);
        const again = await reopen(d);
        expect((await again.get(T, 'User', 'u1'))?.attributes.userName).toBe('Persisted');
        expect((await again.findByUserName(T, 'PERSISTED'))?.id).toBe('u1');
        expect(ids(await again.groupsOf(T, 'u1'))).toEqual(['g1']);
        expect(
          ids(
            (
              await again.list(T, 'User', {
                startIndex: 1,
                count: 10,
                filter: filter('User', 'externalId eq "p-1"'),
              })
            ).resources,
          ),
        ).toEqual(['u1']);
        await expect(again.create(T, user('u2', { userName: 'persisted' }))).rejects.toBeInstanceOf(
          DirectoryConflictError,
        );
        await expect(again.replace(T, next(u), 1)).rejects.toBeInstanceOf(DirectoryVersionError);
      });
    }
  });
}
