/**
 * sluss as a real child process (`node src/main.ts serve`): websockets after
 * login, 100 MB streamed each way with sluss's memory staying flat (peak RSS
 * read from /proc), and graceful shutdown on SIGTERM.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Stack } from '../support/sluss-stack.ts';
import { JWT_HEADER, startStack } from '../support/sluss-stack.ts';
import { downloadPattern } from '../support/upstream.ts';

const HUNDRED_MB = 100 * 1024 * 1024;
/** Far below the 200 MB that one buffered round trip would cost. */
const MAX_FIRST_PASS_GROWTH = 96 * 1024 * 1024;
/** A second round trip of the same size must not raise the peak again. */
const MAX_SECOND_PASS_GROWTH = 32 * 1024 * 1024;
const expectedDownloadHash = createHash('sha256').update(downloadPattern(HUNDRED_MB)).digest('hex');

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error('no VmHWM in /proc status');
  return Number(kb) * 1024;
}

/** A deterministic body produced chunk by chunk, never held whole in memory. */
function generatedBody(total: number, hash: ReturnType<typeof createHash>): Readable {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
      sent += piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
}

function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

describe('sluss as a process', () => {
  let stack: Stack;
  let cookie: string;
  let pid: number;

  beforeAll(async () => {
    stack = await startStack({ childProcess: true });
    pid = stack.child?.pid ?? 0;
    const { jar } = await stack.login();
    cookie = jar.header(stack.publicUrl) ?? '';
  });
  afterAll(async () => {
    await stack.close();
  });

  it('proxies a websocket echo after login, with identity headers on the upgrade', async () => {
    const socket = await openSocket(`${stack.publicUrl.replace('http', 'ws')}/ws`, {
      cookie,
      'x-remote-user': 'mallory',
    });
    const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send('hello through sluss');
    expect(await reply).toBe('hello through sluss');
    socket.close();
    const upgrade = stack.upstream.requests.find((r) => r.kind === 'websocket');
    expect(upgrade?.headers['x-remote-user']).toBe('alice');
    expect(typeof upgrade?.headers[JWT_HEADER]).toBe('string');
  });

  it('refuses a websocket upgrade without a session with 401, not a redirect', async () => {
    await expect(openSocket(`${stack.publicUrl.replace('http', 'ws')}/ws`, {})).rejects.toThrow('status 401');
  });

  async function roundTrip(): Promise<void> {
    const sent = createHash('sha256');
    const upload = await request(`${stack.publicUrl}/upload`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/octet-stream', 'content-length': String(HUNDRED_MB) },
      body: generatedBody(HUNDRED_MB, sent),
    });
    const uploaded = (await upload.body.json()) as { bytes: number; sha256: string };
    expect(upload.statusCode).toBe(200);
    expect(uploaded.bytes).toBe(HUNDRED_MB);
    expect(uploaded.sha256).toBe(sent.digest('hex'));

    const download = await request(`${stack.publicUrl}/download?bytes=${HUNDRED_MB}`, {
      headers: { cookie },
    });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-length']).toBe(String(HUNDRED_MB));
    const received = createHash('sha256');
    let bytes = 0;
    for await (const chunk of download.body) {
      bytes += (chunk as Buffer).length;
      received.update(chunk as Buffer);
    }
    expect(bytes).toBe(HUNDRED_MB);
    expect(received.digest('hex')).toBe(expectedDownloadHash);
  }

  it('streams 100 MB up and down, twice, while its peak memory stays flat', async () => {
    // Warm up the paths so one-off allocations (JIT, pools) are not counted as growth.
    const warm = await request(`${stack.publicUrl}/download?bytes=1048576`, { headers: { cookie } });
    await warm.body.arrayBuffer();
    const before = peakRss(pid);

    await roundTrip();
    const afterFirst = peakRss(pid);
    await roundTrip();
    const afterSecond = peakRss(pid);

    // Garbage from in-flight chunks is collected on V8's schedule, so the first pass may raise the
    // peak by tens of MB; buffering would raise it by the body size, and again on every pass.
    expect(afterFirst - before).toBeLessThan(MAX_FIRST_PASS_GROWTH);
    expect(afterSecond - afterFirst).toBeLessThan(MAX_SECOND_PASS_GROWTH);
  }, 120_000);

  it('drains and exits 0 on SIGTERM', async () => {
    const child = stack.child;
    if (!child) throw new Error('no child process');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
