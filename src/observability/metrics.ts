/**
 * Prometheus metrics on a private registry (served on the admin port only).
 * Labels are closed sets (outcome codes, tenant prefixes), never user input
 * or secrets, so cardinality stays bounded.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'outcome'>;
  readonly logins: Counter<'tenant' | 'idp' | 'result'>;
  readonly upstreamErrors: Counter<'kind'>;
  readonly loginDuration: Histogram<'tenant' | 'idp'>;
  readonly configInfo: Gauge<'tenants'>;
  readonly storeUp: Gauge;
  readonly storeFailClosed: Counter;
  readonly storeErrors: Counter<'phase'>;
  readonly revocationEvents: Counter<'source'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sluss_' });
  return {
    registry,
    requests: new Counter({
      name: 'sluss_requests_total',
      help: 'Requests on the public port by outcome (proxied, public, redirect_login, unauthenticated, sluss_route, error).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    logins: new Counter({
      name: 'sluss_logins_total',
      help: 'Completed logins by tenant, IdP and result (success or an error code).',
      labelNames: ['tenant', 'idp', 'result'],
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'sluss_upstream_errors_total',
      help: 'Requests that could not be forwarded to the upstream, by kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    loginDuration: new Histogram({
      name: 'sluss_login_callback_seconds',
      help: 'Time spent handling an IdP callback (token exchange and validation).',
      labelNames: ['tenant', 'idp'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    configInfo: new Gauge({
      name: 'sluss_config_tenants',
      help: 'Number of tenants in the loaded config.',
      registers: [registry],
    }),
    storeUp: new Gauge({
      name: 'sluss_store_up',
      help: '1 while the store (SQLite/Redis) answers, 0 while it does not.',
      registers: [registry],
    }),
    storeFailClosed: new Counter({
      name: 'sluss_store_fail_closed_total',
      help: 'Requests refused only because the store has been unreachable for longer than store.graceSeconds.',
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'sluss_store_errors_total',
      help: 'Store failures by phase (publish, snapshot, probe).',
      labelNames: ['phase'],
      registers: [registry],
    }),
    revocationEvents: new Counter({
      name: 'sluss_revocation_events_total',
      help: "Revocations applied to this replica's view, by source (local, remote, snapshot).",
      labelNames: ['source'],
      registers: [registry],
    }),
  };
}
