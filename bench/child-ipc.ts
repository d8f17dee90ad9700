/**
 * Tiny helpers shared by the bench child processes (upstream and proxies).
 * A child is started by `bench/run.ts` with `fork()`, listens on 127.0.0.1 with an
 * OS-assigned port, and reports its URL over the IPC channel. Run by hand (no IPC
 * channel), it writes the URL to stdout instead.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Message a bench child sends to its parent once it is ready (or cannot run). */
export type ChildMessage = { type: 'ready'; url: string } | { type: 'skip'; reason: string };

/** Path on the bench upstream that echoes the request headers it received (as JSON). */
export const HEADER_ECHO_PATH = '/__bench/headers';

/** Reads `--name value` from argv, or the environment variable, or the fallback. */
export function arg(name: string, envName: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = (i >= 0 ? process.argv[i + 1] : undefined) ?? process.env[envName] ?? fallback;
  if (value === undefined) throw new Error(`missing --${name} (or ${envName})`);
  return value;
}

/** Listens on host:port (port 0 = OS-assigned) and reports the URL to the parent. */
export async function listenAndReport(server: Server, host: string, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  const url = `http://${host}:${actual}`;
  report({ type: 'ready', url });
  // The parent ends a child with SIGTERM (or by closing the IPC channel if it dies).
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  return url;
}

/** Sends a message to the parent, or prints it when run by hand. */
export function report(message: ChildMessage): void {
  if (process.send) process.send(message);
  else process.stdout.write(`${JSON.stringify(message)}\n`);
}
