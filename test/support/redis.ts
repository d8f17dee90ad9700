/**
 * A real redis-server for tests: Debian's binary on 127.0.0.1, a free port,
 * a temp dir, no persistence of its own. `stop()` shuts it down cleanly
 * keeping its data (SHUTDOWN SAVE into the temp dir), `kill()` is SIGKILL
 * (data lost), and `restart()` starts it again on the same port and dir.
 * Missing binary: an error that says how to install it (tests fail, never skip).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  /** Clean shutdown; the data set is saved and comes back on restart(). */
  stop(): Promise<void>;
  /** SIGKILL: no save, the data set is gone. */
  kill(): void;
  /** Starts the server again on the same port and directory. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  dispose(): Promise<void>;
}

const BINARY = 'redis-server';

function assertInstalled(): void {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${BINARY} is not installed: the Redis store tests need a real Redis. ` +
        'Install it with `apt-get install -y redis-server` (.ci/run does this).',
    );
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sends one inline command and resolves with the first reply line; rejects when nothing answers. */
function command(port: number, line: string, timeoutMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${line}`));
    }, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (!reply.includes('\r\n')) return;
      clearTimeout(timer);
      socket.end();
      resolve(reply.split('\r\n')[0] ?? '');
    });
  });
}

async function waitForPing(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server exited with ${child.exitCode}:\n${output()}`);
    }
    try {
      if ((await command(port, 'PING')) === '+PONG') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${port}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function startRedis(): Promise<RunningRedis> {
  assertInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'sluss-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (): Promise<void> => {
    output = '';
    const process = spawn(
      BINARY,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    process.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    process.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child = process;
    await waitForPing(port, process, () => output);
  };

  const exited = async (process: ChildProcess | undefined): Promise<void> => {
    if (!process || process.exitCode !== null || process.signalCode !== null) return;
    await once(process, 'exit');
  };

  const stop = async (): Promise<void> => {
    const process = child;
    if (!process || process.exitCode !== null || process.signalCode !== null) return;
    const gone = exited(process);
    // SHUTDOWN closes the connection without a reply; a rejection here is expected.
    await command(port, 'SHUTDOWN SAVE', 2000).catch(() => '');
    await gone;
  };

  const kill = (): void => {
    child?.kill('SIGKILL');
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    kill,
    restart: async () => {
      await stop();
      await exited(child);
      await launch();
    },
    dispose: async () => {
      kill();
      await exited(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
