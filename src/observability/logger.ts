/**
 * The pino logger. Secrets, cookies and tokens are redacted by path, so a
 * stray `log.info({ req })` cannot leak them; callers still never log values
 * they know are secret.
 */

import type { DestinationStream, Logger } from 'pino';
import { pino } from 'pino';

export type { Logger } from 'pino';

export const REDACTED_PATHS: readonly string[] = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  'headers["set-cookie"]',
  '*.clientSecret',
  '*.secret',
  '*.previousSecrets',
  '*.privateKey',
  '*.privateKeyPem',
  '*.password',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code_verifier',
  '*.codeVerifier',
  'cookie',
  'token',
];

export interface LoggerOptions {
  readonly level?: string;
  /** Where JSON lines go; default stdout. Tests pass an in-memory sink. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'sluss' },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
