#!/usr/bin/env node
/**
 * The sluss command line:
 *   sluss serve --config DIR        run the proxy
 *   sluss check-config DIR          validate a config directory (exit 1 on any problem)
 *   sluss demo                      demo IdP + demo app + sluss on loopback (npm start)
 *   sluss keys generate             print a new ES256 signing key (PKCS#8 PEM)
 *   sluss scim-token                print a new SCIM bearer token once, and the hash for config
 *   sluss docs-config [DIR]         regenerate docs/configuration.md and the JSON Schema
 */
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { checkConfig } from './config/check.ts';
import { loadConfig } from './config/loader.ts';
import { SlussError } from './errors.ts';
import { createLogger } from './observability/logger.ts';
import { startSluss } from './server.ts';

const USAGE = `usage:
  sluss serve --config DIR
  sluss check-config DIR
  sluss demo
  sluss keys generate
  sluss scim-token
  sluss docs-config [OUT_DIR]
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'check-config': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { config: { type: 'string' } },
        allowPositionals: true,
      });
      const dir = values.config ?? positionals[0];
      if (!dir) return usage();
      const result = checkConfig(dir);
      process.stdout.write(result.output);
      return result.ok ? 0 : 1;
    }
    case 'demo':
      return demo();
    case 'scim-token': {
      const { generateScimToken } = await import('./scim/token.ts');
      const { token, hash } = generateScimToken();
      process.stdout.write(
        `SCIM bearer token (shown once; give it to the IdP's provisioning settings):\n  ${token}\n` +
          `Its hash (put it in tenants/<prefix>.yaml under scim.tokenHashes; sluss stores only this):\n  ${hash}\n`,
      );
      return 0;
    }
    case 'keys':
      if (rest[0] !== 'generate') return usage();
      process.stdout.write(
        generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      );
      return 0;
    case 'docs-config': {
      const { writeConfigDocs } = await import('./config/docs.ts');
      const written = writeConfigDocs(rest[0] ?? 'docs');
      process.stdout.write(`wrote ${written.join(', ')}\n`);
      return 0;
    }
    default:
      return usage();
  }
}

function usage(): number {
  process.stderr.write(USAGE);
  return 2;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', default: '/etc/sluss' } } });
  let log = createLogger({ level: process.env.SLUSS_LOG_LEVEL ?? 'info' });
  try {
    const config = loadConfig(values.config);
    // SLUSS_LOG_LEVEL overrides logging.level, for debugging without editing the ConfigMap.
    log = createLogger({ level: process.env.SLUSS_LOG_LEVEL ?? config.logging.level });
    const sluss = await startSluss({ config, logger: log });
    stopOnSignals(() => sluss.close());
    return -1; // keep running
  } catch (error) {
    if (error instanceof SlussError) {
      log.fatal({ code: error.code }, error.message);
      process.stderr.write(`${error.describe()}\n`);
      return 1;
    }
    throw error;
  }
}

async function demo(): Promise<number> {
  // The demo pulls in devDependencies (oidc-provider), so it loads only when asked for.
  const { runDemo } = await import('./demo/run-demo.ts');
  const running = await runDemo();
  stopOnSignals(() => running.close());
  return -1;
}

function stopOnSignals(close: () => Promise<void>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof SlussError ? error.describe() : String(error)}\n`);
    process.exitCode = 1;
  },
);
