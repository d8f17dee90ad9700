/**
 * Issue 7, SQLite: state survives a restart (close and reopen) and a
 * `kill -9` in the middle of writes, without corruption.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const WRITER = join(import.meta.dirname, 'fixtures/sqlite-writer.ts');

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluss-sqlite-'));
  path = join(dir, 'sluss.db');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function integrity(file: string): string {
  const db = new DatabaseSync(file);
  try {
    const row = db.prepare('PRAGMA integrity_check').get();
    return String(row?.integrity_check);
  } finally {
    db.close();
  }
}

describe('SqliteStore durability', () => {
  it('keeps values, sets, replay records and revocations across close and reopen', async () => {
    const clock = new ManualClock(Date.now());
    const first = new SqliteStore({ path, clock });
    await first.set('session:s1', '{"refreshToken":"rt"}', 3600);
    await first.addToSet('idp-sid:t:op:x', 's1', 3600);
    expect(await first.addOnce('saml-assertion:idp:_a1', 600)).toBe(true);
    await first.publishRevocation({ kind: 'session', sid: 's0', until: 4_000_000_000 });
    await first.close();

    const second = new SqliteStore({ path, clock });
    expect(await second.get('session:s1')).toBe('{"refreshToken":"rt"}');
    expect(await second.members('idp-sid:t:op:x')).toEqual(['s1']);
    expect(await second.addOnce('saml-assertion:idp:_a1', 600)).toBe(false);
    expect(await second.loadRevocations()).toEqual([{ kind: 'session', sid: 's0', until: 4_000_000_000 }]);
    await second.close();
  });

  it('puts the file in WAL mode', async () => {
    const store = new SqliteStore({ path, clock: systemClock });
    const db = new DatabaseSync(path);
    expect(db.prepare('PRAGMA journal_mode').get()?.journal_mode).toBe('wal');
    db.close();
    await store.close();
  });

  it('sweeps expired rows from the file, not only from answers', async () => {
    const clock = new ManualClock(Date.now());
    const store = new SqliteStore({ path, clock });
    await store.set('a', 'v', 1);
    await store.set('b', 'v', 3600);
    await store.addToSet('s', 'm', 1);
    await store.publishRevocation({ kind: 'session', sid: 'old', until: Math.floor(clock.now() / 1000) + 1 });
    clock.advance(5000);
    store.sweep();
    const db = new DatabaseSync(path);
    const count = (table: string) => Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n);
    expect([count('kv'), count('set_members'), count('revocations')]).toEqual([1, 0, 0]);
    db.close();
    await store.close();
  });

  it('keeps every write that returned when the process is killed with SIGKILL mid-write', async () => {
    const child = spawn(NODE, [WRITER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const committed: number[] = [];
    let buffered = '';
    const enough = new Promise<void>((resolveEnough, reject) => {
      child.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) committed.push(Number(line));
        if (committed.length >= 3000) resolveEnough();
      });
    });
    await enough;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');

    expect(integrity(path)).toBe('ok');
    const store = new SqliteStore({ path, clock: systemClock });
    const last = committed.at(-1) ?? -1;
    const missing: number[] = [];
    for (const i of committed) if ((await store.get(`key:${i}`)) === undefined) missing.push(i);
    expect(missing).toEqual([]);
    const members = new Set(await store.members('set:writer'));
    for (let i = 0; i <= last; i += 10) expect(members.has(`m${i}`)).toBe(true);
    const sids = new Set((await store.loadRevocations()).map((e) => (e.kind === 'session' ? e.sid : '')));
    for (let i = 0; i <= last; i += 25) expect(sids.has(`sid-${i}`)).toBe(true);
    // The store is writable again after recovery from the hot WAL.
    await store.set('after', 'ok', 60);
    expect(await store.get('after')).toBe('ok');
    await store.close();
    expect(integrity(path)).toBe('ok');
  });
});
