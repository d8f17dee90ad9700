/**
 * The sluss bench target, run as a child process by `bench/run.ts` (see
 * `startSlussTarget()` there): imports `../src/server.ts` dynamically, and if it
 * exports `startSluss`, starts sluss on the given config directory and reports its
 * public URL. Otherwise it reports "skip" with the reason.
 *
 *   node bench/sluss-target.ts --config DIR
 */
import { arg, report } from './child-ipc.ts';

interface SlussHandle {
  publicUrl: string;
  adminUrl: string;
  close(): Promise<void>;
}
type StartSluss = (options: { configDir: string }) => Promise<SlussHandle>;

const configDir = arg('config', 'SLUSS_CONFIG_DIR');

// A computed specifier keeps this file type-checking while src/server.ts does not exist yet.
const serverModule = new URL('../src/server.ts', import.meta.url).href;
let startSluss: StartSluss | undefined;
try {
  const mod = (await import(serverModule)) as { startSluss?: unknown };
  if (typeof mod.startSluss === 'function') startSluss = mod.startSluss as StartSluss;
} catch (err) {
  const code = (err as { code?: string }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND') throw err;
}

if (startSluss === undefined) {
  report({ type: 'skip', reason: 'src/server.ts does not export startSluss() yet' });
  process.disconnect?.();
} else {
  const sluss = await startSluss({ configDir });
  const stop = (): void => {
    sluss.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  report({ type: 'ready', url: sluss.publicUrl });
}
