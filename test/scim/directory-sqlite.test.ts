/** The Directory contract against SQLite, plus what only a file can show. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { StoredResource } from '../../src/scim/directory.ts';
import { DirectoryConflictError } from '../../src/scim/directory.ts';
import { SqliteDirectory } from '../../src/scim/directory-sqlite.ts';
import { compileFilter } from '../../src/scim/filter.ts';
import { RESOURCE_TYPES } from '../../src/scim/schema.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { directoryContract, sqliteBackend } from './directory-contract.ts';

directoryContract(sqliteBackend());

const created = '2026-01-01T12:00:00.000Z';
const user = (id: string, userName: string): StoredResource => ({
  id,
  resourceType: 'User',
  attributes: { userName, externalId: `ext-${id}`, displayName: `Name ${id}` },
  created,
  lastModified: created,
  version: 1,
});

describe('SqliteDirectory on a file', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'sluss-directory-sqlite-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('shares the database file with SqliteStore, and both survive a restart', async () => {
    const path = join(tempDir(), 'nested', 'sluss.db');
    const clock = new ManualClock();
    const store = new SqliteStore({ path, clock });
    const directory = new SqliteDirectory({ path });
    await store.set('k', 'v', 3600);
    await directory.create('acme', user('u1', 'shared@example.com'));
    await directory.close();
    await store.close();

    const store2 = new SqliteStore({ path, clock });
    const directory2 = new SqliteDirectory({ path });
    expect(await store2.get('k')).toBe('v');
    expect((await directory2.findByUserName('acme', 'SHARED@example.com'))?.id).toBe('u1');
    await directory2.close();
    await store2.close();
  });

  it('takes an open DatabaseSync and leaves it open on close', async () => {
    const db = new DatabaseSync(join(tempDir(), 'own.db'));
    const directory = new SqliteDirectory({ db });
    await directory.create('acme', user('u1', 'a'));
    await directory.close();
    await expect(directory.get('acme', 'User', 'u1')).rejects.toThrow('closed');
    expect(db.prepare('SELECT count(*) AS n FROM scim_resources').get()?.n).toBe(1);
    db.close();
  });

  it('answers userName/externalId/id/displayName eq from the index, without reading other rows', async () => {
    const db = new DatabaseSync(join(tempDir(), 'index.db'));
    const directory = new SqliteDirectory({ db });
    await directory.create('acme', user('u1', 'Indexed@Example.com'));
    // A row a scan would choke on: the indexed lookups must never read it.
    db.prepare(
      "INSERT INTO scim_resources (tenant, type, id, json, version, created) VALUES ('acme', 'User', 'bad', '{not json', 1, ?)",
    ).run(created);
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
    await expect(list('userName co "indexed"')).rejects.toThrow(SyntaxError);
    db.close();
  });

  it('keeps every acknowledged write, and the unique index, through a kill -9 mid-write', async () => {
    const path = join(tempDir(), 'killed.db');
    const module = resolve('src/scim/directory-sqlite.ts');
    const source = `
      const { SqliteDirectory } = await import(${JSON.stringify(module)});
      const directory = new SqliteDirectory({ path: ${JSON.stringify(path)} });
      const at = '2026-01-01T12:00:00.000Z';
      for (let i = 0; ; i += 1) {
        await directory.create('acme', {
          id: 'u' + i, resourceType: 'User', created: at, lastModified: at, version: 1,
          attributes: { userName: 'user' + i + '@example.com', blob: 'x'.repeat(2000) },
        });
        process.stdout.write(i + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acknowledged = -1;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    await new Promise<void>((done, fail) => {
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = chunk.toString('utf8').trim().split('\n');
        acknowledged = Math.max(acknowledged, Number(lines.at(-1)));
        if (acknowledged >= 300) done();
      });
      child.on('exit', () => fail(new Error(`writer exited early: ${stderr}`)));
    });
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;

    const directory = new SqliteDirectory({ path });
    const all = await directory.list('acme', 'User', { startIndex: 1, count: 100_000 });
    expect(all.total).toBeGreaterThanOrEqual(acknowledged + 1);
    for (let i = 0; i <= acknowledged; i += 1) {
      expect((await directory.findByUserName('acme', `USER${i}@example.com`))?.id).toBe(`u${i}`);
    }
    await expect(directory.create('acme', user('again', 'user0@EXAMPLE.com'))).rejects.toBeInstanceOf(
      DirectoryConflictError,
    );
    await directory.close();
  });
});
