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
 * BENCH_CONNECTIONS (50), BENCH_PIPELINING (1), BENCH_TARGETS (comma list of names),
 * BENCH_CPU_PROF (a directory: each proxy child writes a V8 .cpuprofile there).
 * Output: a table on stdout and `bench/results/latest.json`.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { arch, cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOidcProvider } from '../src/demo/oidc-provider.ts';
import { loginThroughOp } from '../test/support/browserless-login.ts';
import { CookieJar } from '../test/support/cookie-jar.ts';
import { type ChildMessage, HEADER_ECHO_PATH } from './child-ipc.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..');
const AUTOCANNON = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
const RESULTS_FILE = join(HERE, 'results', 'latest.json');
const EXPECTED_BODY_BYTES = 1024;
const IDENTITY_HEADER = 'X-Sluss-Identity';
/** USER_HZ, the unit of /proc/<pid>/stat CPU times; 100 on every mainstream Linux build. */
const CLOCK_TICKS_PER_SECOND = 100;
/** sluss's goal: at least this share of bare undici's throughput. */
const TARGET_RATIO = 0.8;

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
  /** The proxy's process, for its CPU time (the figure least disturbed by sharing cores). */
  pid: number | undefined;
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
  /** CPU time (user + system) the proxy process spent per request in the measured run; Linux only. */
  cpuMicrosPerRequest?: number;
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
  execArgv: string[] = [],
): Promise<{ child: ChildProcess; message: ChildMessage }> {
  const child = fork(join(HERE, file), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...process.execArgv, ...execArgv],
  });
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
  const { child, message } = await forkChild(
    file,
    ['--upstream', upstreamUrl, '--port', '0'],
    20_000,
    profileExecArgv(),
  );
  if (message.type === 'skip') {
    await stopChild(child);
    return { ok: false, reason: message.reason };
  }
  return {
    ok: true,
    running: { url: message.url, headers: {}, pid: child.pid, stop: () => stopChild(child) },
  };
}

// ─── sluss target ───────────────────────────────────────────────────────────────
//
// `bench/sluss-target.ts` (a child process, like the bare proxies) imports
// `../src/server.ts` and calls `startSluss({ configDir })`. Before it starts, this
// process starts the demo OpenID Provider and writes a config dir registering sluss
// as its client (`writeSlussBenchConfig()`); afterwards it logs alice in for real
// (`obtainSessionCookie()`), so that every benchmarked request carries a valid
// session cookie and exercises the full hot path (tenant → session → identity
// headers incl. the signed JWT → proxy).

async function startSlussTarget(upstreamUrl: string): Promise<Started> {
  const configDir = await mkdtemp(join(tmpdir(), 'sluss-bench-'));
  let idp: BenchIdp | undefined;
  const cleanup = async (): Promise<void> => {
    await idp?.close();
    await rm(configDir, { recursive: true, force: true });
  };
  try {
    idp = await writeSlussBenchConfig(configDir, upstreamUrl);
    const { child, message } = await forkChild(
      'sluss-target.ts',
      ['--config', configDir],
      20_000,
      profileExecArgv(),
    );
    if (message.type === 'skip') {
      await stopChild(child);
      await cleanup();
      return { ok: false, reason: message.reason };
    }
    const stop = async (): Promise<void> => {
      await stopChild(child);
      await cleanup();
    };
    if (message.url !== idp.publicUrl) {
      await stop();
      throw new Error(`sluss listens on ${message.url}, expected ${idp.publicUrl}`);
    }
    let cookie: string | undefined;
    try {
      cookie = await obtainSessionCookie(message.url);
      if (cookie !== undefined) await checkIdentityReachesUpstream(message.url, cookie);
    } catch (err) {
      await stop();
      throw err;
    }
    if (cookie === undefined) {
      await stop();
      return { ok: false, reason: 'the bench login did not yield a session cookie' };
    }
    return { ok: true, running: { url: message.url, headers: { cookie }, pid: child.pid, stop } };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Extra Node flags for the proxy children: BENCH_CPU_PROF=DIR writes a .cpuprofile per target there. */
function profileExecArgv(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}

/** The local OpenID Provider sluss logs in against, and the public URL it expects sluss on. */
interface BenchIdp {
  publicUrl: string;
  close(): Promise<void>;
}

/** A TCP port that was free a moment ago (listen on 0, read it, close). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Writes a config dir in the shape of k8s/configmap.yaml, pointed at the bench
 * upstream, and starts the demo OpenID Provider (in this process) with sluss
 * registered as its client. sluss's public port is chosen first because the
 * client's redirect URI must name it.
 */
async function writeSlussBenchConfig(dir: string, upstreamUrl: string): Promise<BenchIdp> {
  const secrets = join(dir, 'secrets');
  await mkdir(join(dir, 'tenants'), { recursive: true });
  await mkdir(secrets, { recursive: true });
  const clientSecret = randomBytes(24).toString('base64url');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(join(secrets, 'cookie-secret'), randomBytes(32).toString('hex'), { mode: 0o600 });
  await writeFile(join(secrets, 'client-secret'), clientSecret, { mode: 0o600 });
  await writeFile(
    join(secrets, 'signing-1.pem'),
    privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    { mode: 0o600 },
  );

  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const op = await startOidcProvider({
    clients: [
      {
        client_id: 'sluss-bench',
        client_secret: clientSecret,
        redirect_uris: [`${publicUrl}/.sluss/callback`],
        post_logout_redirect_uris: [`${publicUrl}/.sluss/logged-out`],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
  });
  try {
    await writeFile(
      join(dir, 'sluss.yaml'),
      [
        `publicUrl: ${publicUrl}`,
        'listen:',
        `  public: { host: 127.0.0.1, port: ${port} }`,
        '  admin: { host: 127.0.0.1, port: 0 }',
        'upstream:',
        `  url: ${upstreamUrl}`,
        'cookies:',
        '  secret: ${file:secrets/cookie-secret}',
        'identityHeaders:',
        '  jwt:',
        `    header: ${IDENTITY_HEADER}`,
        '    audience: sluss-bench-upstream',
        '  plain:',
        '    user: X-Remote-User',
        '    email: X-Remote-Email',
        '    groups: X-Remote-Groups',
        'signingKeys:',
        '  - kid: bench-1',
        '    privateKey: ${file:secrets/signing-1.pem}',
        'logging:',
        '  level: warn',
        'store:',
        '  type: sqlite',
        '  path: data/sluss.db',
        'audit:',
        '  destination: /dev/null',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'tenants', 'bench.yaml'),
      [
        'prefix: bench',
        'title: Bench',
        'idps:',
        '  - id: bench-op',
        '    type: oidc',
        `    issuer: ${op.issuer}`,
        '    clientId: sluss-bench',
        '    clientSecret: ${file:secrets/client-secret}',
        '    scopes: [openid, email, profile, groups]',
        '',
      ].join('\n'),
    );
  } catch (err) {
    await op.close();
    throw err;
  }
  return { publicUrl, close: () => op.close() };
}

/**
 * Logs alice in for real, as a browser would: the login route (→ IdP
 * redirect → the OP's login form → callback → back to `/`), and returns the `Cookie` header
 * value of the resulting session. Throws if the login does not end at the
 * upstream's 1 KiB page.
 */
async function obtainSessionCookie(publicUrl: string): Promise<string | undefined> {
  const jar = new CookieJar(publicUrl);
  // Start at the login route directly: fetch() does not look like a browser navigation,
  // so a protected path would answer 401 instead of redirecting.
  const start = `${publicUrl}/.sluss/login?rd=%2F`;
  const result = await loginThroughOp(start, jar, { login: 'alice', password: 'alice' });
  const body = await result.response.arrayBuffer();
  if (result.response.status !== 200 || body.byteLength !== EXPECTED_BODY_BYTES) {
    throw new Error(
      `bench login ended with status ${result.response.status}, ${body.byteLength} body bytes at ${result.finalUrl}\n` +
        `hops:\n  ${result.hops.join('\n  ')}`,
    );
  }
  return jar.header(`${publicUrl}/`);
}

/**
 * One-off check through the upstream's header echo (`/__bench/headers`): the
 * signed identity JWT and the plain user header arrive, sluss's cookie does not.
 */
async function checkIdentityReachesUpstream(publicUrl: string, cookie: string): Promise<void> {
  const res = await fetch(`${publicUrl}${HEADER_ECHO_PATH}`, { headers: { cookie } });
  if (res.status !== 200) throw new Error(`identity check: status ${res.status}`);
  const seen = (await res.json()) as Record<string, string | string[] | undefined>;
  const jwt = seen[IDENTITY_HEADER.toLowerCase()];
  if (typeof jwt !== 'string' || jwt.split('.').length !== 3)
    throw new Error('identity check: the upstream did not receive the identity JWT');
  const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { sub?: string };
  if (claims.sub !== 'alice' || seen['x-remote-user'] !== 'alice')
    throw new Error(`identity check: unexpected identity ${JSON.stringify(claims)}`);
  if (seen.cookie !== undefined) throw new Error('identity check: the session cookie reached the upstream');
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
  const { url, headers, pid, stop } = started.running;
  try {
    await sanityCheck(url, headers);
    await autocannon(url, headers, settings.warmupSeconds);
    const cpuBefore = await cpuSeconds(pid);
    const r = await autocannon(url, headers, settings.durationSeconds);
    const cpuAfter = await cpuSeconds(pid);
    const cpuMicrosPerRequest =
      cpuBefore !== undefined && cpuAfter !== undefined && r.requests.total > 0
        ? ((cpuAfter - cpuBefore) * 1e6) / r.requests.total
        : undefined;
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
      ...(cpuMicrosPerRequest === undefined ? {} : { cpuMicrosPerRequest }),
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
    };
  } finally {
    await stop();
  }
}

/** User + system CPU seconds of a process so far, from /proc (Linux); undefined elsewhere. */
async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

// ─── report ───────────────────────────────────────────────────────────────────

function isMeasured(r: Measured | Skipped): r is Measured {
  return 'requestsPerSecond' in r;
}

function table(results: (Measured | Skipped)[]): string {
  const rows: string[][] = [
    ['target', 'req/s', 'p50 ms', 'p99 ms', 'vs fastest bare', 'proxy CPU µs/req', 'errors'],
  ];
  for (const r of results) {
    if (!isMeasured(r)) {
      rows.push([r.target, 'skipped', '', '', '', '', '']);
      continue;
    }
    rows.push([
      r.target,
      r.requestsPerSecond.toFixed(0),
      r.latencyMs.p50.toFixed(2),
      r.latencyMs.p99.toFixed(2),
      r.ratioToFastestBare === undefined ? '' : `${(r.ratioToFastestBare * 100).toFixed(1)} %`,
      r.cpuMicrosPerRequest === undefined ? '' : r.cpuMicrosPerRequest.toFixed(1),
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

  const measured = (name: string) => results.filter(isMeasured).find((r) => r.target === name);
  const sluss = measured('sluss');
  const undici = measured('bare undici');
  const ratio =
    sluss && undici && undici.requestsPerSecond > 0
      ? sluss.requestsPerSecond / undici.requestsPerSecond
      : undefined;
  const ratioLine =
    ratio === undefined
      ? 'sluss / bare undici = n/a (both targets must be measured)'
      : `sluss / bare undici = ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO})`;
  const machine =
    `${cpuList.length} × ${cpuList[0]?.model ?? 'cpu'}, node ${process.version}, ` +
    `${platform()} ${release()} ${arch()}` +
    (cpuList.length < 3 ? '; proxy, load generator and upstream share the cores' : '');
  // Proxy CPU per request barely moves when other processes share the cores, unlike req/s.
  const cpuRatio =
    sluss?.cpuMicrosPerRequest && undici?.cpuMicrosPerRequest
      ? undici.cpuMicrosPerRequest / sluss.cpuMicrosPerRequest
      : undefined;
  const cpuLine =
    cpuRatio === undefined
      ? undefined
      : `bare undici CPU/req ÷ sluss CPU/req = ${cpuRatio.toFixed(2)} (the same comparison, less sensitive to a busy machine)`;
  process.stdout.write(`\n${ratioLine}\n${cpuLine ? `${cpuLine}\n` : ''}machine: ${machine}\n`);

  await mkdir(join(HERE, 'results'), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    ratio: ratioLine,
    slussToBareUndici: ratio,
    ...(cpuLine === undefined ? {} : { cpuRatio: cpuLine, bareUndiciToSlussCpuPerRequest: cpuRatio }),
    machine,
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
