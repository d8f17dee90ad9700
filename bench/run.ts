/**
 * `npm run bench`: authenticated GET throughput and latency of sluss against bare
 * Node reverse proxies, all proxying to the same 1 KiB upstream.
 *
 * Every piece runs in its own process on 127.0.0.1 with OS-assigned ports: the
 * upstream, each proxy target (one at a time, so it has a core to itself), and the
 * load generator (autocannon's CLI with `--json`). Each target gets a warm-up run
 * whose numbers are discarded, then a measured run; both are bounded in time.
 *
 * Settings (environment): BENCH_WARMUP_S (2), BENCH_DURATION_S (8),
 * BENCH_CONNECTIONS (50), BENCH_PIPELINING (1), BENCH_TARGETS (comma list of names).
 * Output: a table on stdout and `bench/results/latest.json`.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { arch, cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMessage } from './child-ipc.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..');
const AUTOCANNON = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
const RESULTS_FILE = join(HERE, 'results', 'latest.json');
const EXPECTED_BODY_BYTES = 1024;

const settings = {
  warmupSeconds: intEnv('BENCH_WARMUP_S', 2),
  durationSeconds: intEnv('BENCH_DURATION_S', 8),
  connections: intEnv('BENCH_CONNECTIONS', 50),
  pipelining: intEnv('BENCH_PIPELINING', 1),
};

/** A running target: the URL to load, headers to send (the session cookie), and how to stop it. */
interface Running {
  url: string;
  headers: Record<string, string>;
  stop(): Promise<void>;
}
type Started = { ok: true; running: Running } | { ok: false; reason: string };

interface Target {
  name: string;
  /** Bare proxies are the baseline the ratio is computed against. */
  bare: boolean;
  start(upstreamUrl: string): Promise<Started>;
}

interface Measured {
  target: string;
  bare: boolean;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  totalRequests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  ratioToFastestBare?: number;
}

interface Skipped {
  target: string;
  skipped: string;
}

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

// ─── child processes ────────────────────────────────────────────────────────────

const children = new Set<ChildProcess>();

/** Forks a bench child (a .ts file run by this same Node 24) and waits for its first message. */
function forkChild(
  file: string,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ child: ChildProcess; message: ChildMessage }> {
  const child = fork(join(HERE, file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file}: not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve({ child, message: message as ChildMessage });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${file}: exited before ready (code ${code}, signal ${signal})`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts a proxy script that takes `--upstream URL --port 0` and reports its URL. */
async function startProxyChild(file: string, upstreamUrl: string): Promise<Started> {
  const { child, message } = await forkChild(file, ['--upstream', upstreamUrl, '--port', '0']);
  if (message.type === 'skip') {
    await stopChild(child);
    return { ok: false, reason: message.reason };
  }
  return { ok: true, running: { url: message.url, headers: {}, stop: () => stopChild(child) } };
}

// ─── sluss target ───────────────────────────────────────────────────────────────
//
// >>> startSlussTarget(): the sluss side of the bench. <<<
//
// `bench/sluss-target.ts` (a child process, like the bare proxies) does
// `await import('../src/server.ts')`, checks that it exports `startSluss`, and calls
// `startSluss({ configDir })`, which returns `{ publicUrl, adminUrl, close() }`.
// Until src/server.ts exports `startSluss`, the child reports "skip" and the runner
// prints why. Once it does, what is left to write is `obtainSessionCookie()` below:
// a real login against a local IdP (oidc-provider is a devDependency) configured in
// `writeSlussBenchConfig()`, so that every benchmarked request carries a valid
// session cookie and exercises the full hot path (tenant → route → session →
// identity headers incl. the signed JWT → proxy).

async function startSlussTarget(upstreamUrl: string): Promise<Started> {
  const configDir = await mkdtemp(join(tmpdir(), 'sluss-bench-'));
  const cleanup = (): Promise<void> => rm(configDir, { recursive: true, force: true });
  try {
    await writeSlussBenchConfig(configDir, upstreamUrl);
    const { child, message } = await forkChild('sluss-target.ts', ['--config', configDir]);
    if (message.type === 'skip') {
      await stopChild(child);
      await cleanup();
      return { ok: false, reason: message.reason };
    }
    const stop = async (): Promise<void> => {
      await stopChild(child);
      await cleanup();
    };
    const cookie = await obtainSessionCookie(message.url);
    if (cookie === undefined) {
      await stop();
      return {
        ok: false,
        reason: 'startSluss() runs, but the bench login (obtainSessionCookie) is not written yet',
      };
    }
    return { ok: true, running: { url: message.url, headers: { cookie }, stop } };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Writes a config dir in the shape of k8s/configmap.yaml, pointed at the bench upstream. */
async function writeSlussBenchConfig(dir: string, upstreamUrl: string): Promise<void> {
  await mkdir(join(dir, 'tenants'), { recursive: true });
  await mkdir(join(dir, 'secrets'), { recursive: true });
  await writeFile(join(dir, 'secrets', 'cookie-secret'), randomBytes(32).toString('hex'), { mode: 0o600 });
  await writeFile(join(dir, 'secrets', 'client-secret'), randomBytes(24).toString('hex'), { mode: 0o600 });
  // TODO(sluss bench): an ES256 signing key (`keys/signing-1.pem`, generateKeyPairSync('ec',
  // { namedCurve: 'P-256' })) and a local IdP issuer once the config schema and login exist.
  await writeFile(
    join(dir, 'sluss.yaml'),
    [
      'publicUrl: http://127.0.0.1',
      'listen:',
      '  public: { host: 127.0.0.1, port: 0 }',
      '  admin: { host: 127.0.0.1, port: 0 }',
      'upstream:',
      `  url: ${upstreamUrl}`,
      'cookies:',
      `  secret: \${file:${join(dir, 'secrets', 'cookie-secret')}}`,
      '',
    ].join('\n'),
  );
}

/**
 * TODO(sluss bench): log in for real (GET a protected path → login redirect → local
 * IdP → callback) and return the `Cookie` header value of the resulting session.
 * Returns undefined until written, which skips the sluss target.
 */
async function obtainSessionCookie(_publicUrl: string): Promise<string | undefined> {
  return undefined;
}

// ─── targets ──────────────────────────────────────────────────────────────────

const TARGETS: Target[] = [
  { name: 'bare undici', bare: true, start: (u) => startProxyChild('bare-undici-proxy.ts', u) },
  { name: 'bare http-proxy-3', bare: true, start: (u) => startProxyChild('bare-http-proxy3.ts', u) },
  { name: 'sluss', bare: false, start: startSlussTarget },
];

// ─── load generation ──────────────────────────────────────────────────────────

/** One GET to check the target really proxies (200 and the upstream's 1 KiB body). */
function sanityCheck(url: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, agent: false, timeout: 5_000 }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => {
        if (res.statusCode === 200 && bytes === EXPECTED_BODY_BYTES) resolve();
        else reject(new Error(`sanity check: status ${res.statusCode}, ${bytes} body bytes`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('sanity check: timeout')));
    req.on('error', reject);
  });
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Runs autocannon in its own process for `seconds`, returns its parsed JSON result. */
function autocannon(
  url: string,
  headers: Record<string, string>,
  seconds: number,
): Promise<AutocannonResult> {
  const args = [
    AUTOCANNON,
    '--json',
    '--no-progress',
    '--connections',
    String(settings.connections),
    '--pipelining',
    String(settings.pipelining),
    '--duration',
    String(seconds),
  ];
  for (const [name, value] of Object.entries(headers)) args.push('--headers', `${name}=${value}`);
  args.push(url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  return new Promise((resolve, reject) => {
    // Hard bound: the run's duration plus generous slack for start-up and teardown.
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`autocannon failed (code ${code}, signal ${signal}): ${stderr.trim()}`));
        return;
      }
      resolve(JSON.parse(line) as AutocannonResult);
    });
  });
}

async function measure(target: Target, upstreamUrl: string): Promise<Measured | Skipped> {
  const started = await target.start(upstreamUrl);
  if (!started.ok) return { target: target.name, skipped: started.reason };
  const { url, headers, stop } = started.running;
  try {
    await sanityCheck(url, headers);
    await autocannon(url, headers, settings.warmupSeconds);
    const r = await autocannon(url, headers, settings.durationSeconds);
    return {
      target: target.name,
      bare: target.bare,
      requestsPerSecond: r.requests.average,
      latencyMs: {
        p50: r.latency.p50,
        p90: r.latency.p90,
        p99: r.latency.p99,
        max: r.latency.max,
        mean: r.latency.mean,
      },
      totalRequests: r.requests.total,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
    };
  } finally {
    await stop();
  }
}

// ─── report ───────────────────────────────────────────────────────────────────

function isMeasured(r: Measured | Skipped): r is Measured {
  return 'requestsPerSecond' in r;
}

function table(results: (Measured | Skipped)[]): string {
  const rows: string[][] = [['target', 'req/s', 'p50 ms', 'p99 ms', 'vs fastest bare', 'errors']];
  for (const r of results) {
    if (!isMeasured(r)) {
      rows.push([r.target, 'skipped', '', '', '', '']);
      continue;
    }
    rows.push([
      r.target,
      r.requestsPerSecond.toFixed(0),
      r.latencyMs.p50.toFixed(2),
      r.latencyMs.p99.toFixed(2),
      r.ratioToFastestBare === undefined ? '' : `${(r.ratioToFastestBare * 100).toFixed(1)} %`,
      String(r.errors + r.timeouts + r.non2xx),
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  const line = (row: string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const out = [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  for (const r of results) if (!isMeasured(r)) out.push(`note: ${r.target} skipped: ${r.skipped}`);
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const only = process.env.BENCH_TARGETS?.split(',').map((s) => s.trim());
  const targets = only ? TARGETS.filter((t) => only.includes(t.name)) : TARGETS;
  const cpuList = cpus();
  process.stdout.write(
    `sluss bench: node ${process.version}, ${cpuList.length} × ${cpuList[0]?.model ?? 'cpu'}; ` +
      `${settings.connections} connections, pipelining ${settings.pipelining}, ` +
      `${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s per target\n`,
  );
  if (cpuList.length < 3) {
    process.stdout.write(
      `warning: ${cpuList.length} CPUs; proxy, load generator and upstream compete for cores, ratios are more trustworthy than absolute figures\n`,
    );
  }

  const upstream = await forkChild('upstream.ts', ['--port', '0']);
  if (upstream.message.type !== 'ready') throw new Error('upstream did not start');
  const upstreamUrl = upstream.message.url;

  const results: (Measured | Skipped)[] = [];
  try {
    for (const target of targets) {
      process.stdout.write(`… ${target.name}\n`);
      results.push(await measure(target, upstreamUrl));
    }
  } finally {
    await stopChild(upstream.child);
  }

  const fastestBare = Math.max(
    0,
    ...results
      .filter(isMeasured)
      .filter((r) => r.bare)
      .map((r) => r.requestsPerSecond),
  );
  for (const r of results)
    if (isMeasured(r) && fastestBare > 0) r.ratioToFastestBare = r.requestsPerSecond / fastestBare;

  process.stdout.write(`\n${table(results)}`);

  await mkdir(join(HERE, 'results'), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    cpus: { count: cpuList.length, model: cpuList[0]?.model ?? 'unknown' },
    settings: {
      ...settings,
      bodyBytes: EXPECTED_BODY_BYTES,
      method: 'GET',
      loadGenerator: 'autocannon 9 (CLI, own process)',
    },
    results,
  };
  await writeFile(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nwrote ${RESULTS_FILE}\n`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  for (const child of children) child.kill('SIGKILL');
}
