/**
 * `sluss check-config DIR`, like `nginx -t`: loads and validates everything
 * `serve` would (schema, secrets, cross-file rules, signing keys) without
 * opening a port or calling an IdP, and reports every problem at once.
 */
import { SlussError } from '../errors.ts';
import { loadKeyRing } from '../identity/signing-keys.ts';
import type { LoadOptions } from './loader.ts';
import { ConfigError, formatProblem, loadConfig } from './loader.ts';
import { configWarnings } from './warnings.ts';

export interface CheckResult {
  readonly ok: boolean;
  readonly output: string;
}

export function checkConfig(dir: string, options: LoadOptions = {}): CheckResult {
  try {
    const config = loadConfig(dir, options);
    loadKeyRing(config.signingKeys);
    const idps = config.tenants.reduce((sum, tenant) => sum + tenant.idps.length, 0);
    const warnings = configWarnings(config).map((warning) => `WARN: ${warning}\n`);
    return {
      ok: true,
      output: `OK: ${dir}: ${config.tenants.length} tenant(s), ${idps} identity provider(s), ${config.signingKeys.length} signing key(s)\n${warnings.join('')}`,
    };
  } catch (error) {
    if (error instanceof ConfigError) {
      const lines = error.problems.map((problem) => `ERR_CONFIG_INVALID: ${formatProblem(problem)}`);
      return {
        ok: false,
        output: `${lines.join('\n')}\n${error.problems.length} problem(s) in ${dir}\nhint: ${error.hint}\n`,
      };
    }
    if (error instanceof SlussError) return { ok: false, output: `${error.describe()}\n` };
    throw error;
  }
}
