/**
 * The audit stream: one JSON line per security-relevant event (logins,
 * logouts, denials with their reason, step-ups, expiries, provisioning),
 * separate from the debug log so it can be shipped and kept on its own terms
 * and is never filtered by the log level. Lines carry `"log":"audit"` and
 * the event name in `event`.
 */

import type { DestinationStream, Logger } from 'pino';
import { pino } from 'pino';

export type AuditEventType =
  | 'login'
  | 'login_failed'
  | 'logout'
  | 'denied'
  | 'step_up'
  | 'expired'
  | 'session_revoked'
  | 'provisioning';

export interface AuditEvent {
  readonly type: AuditEventType;
  readonly tenant: string;
  readonly idp?: string;
  /** The user's IdP subject (or SCIM userName for provisioning). */
  readonly sub?: string;
  readonly sid?: string;
  /** Stable reason code for denials, failures and expiries. */
  readonly reason?: string;
  readonly ref?: string;
  readonly [detail: string]: unknown;
}

export interface Audit {
  record(event: AuditEvent): void;
}

export function createAudit(destination: string | DestinationStream): Audit {
  const stream =
    typeof destination !== 'string'
      ? destination
      : destination === 'stdout'
        ? pino.destination(1)
        : destination === 'stderr'
          ? pino.destination(2)
          : pino.destination({ dest: destination, append: true, mkdir: true, sync: false });
  const logger: Logger = pino(
    {
      level: 'info',
      base: { log: 'audit', service: 'sluss' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  return {
    record({ type, ...detail }) {
      logger.info({ event: type, ...detail });
    },
  };
}
