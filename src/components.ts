/**
 * The runtime state compiled from one config snapshot: what routes and the
 * request pipeline read. Built by server.ts; nothing here parses config or
 * does I/O per request.
 */
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import type { SlussConfig } from './config/types.ts';
import type { IdentityHeaders } from './identity/identity-headers.ts';
import type { KeyRing } from './identity/signing-keys.ts';
import type { Audit } from './observability/audit.ts';
import type { Metrics } from './observability/metrics.ts';
import type { ScimRateLimiter } from './routes/scim.ts';
import type { Directory } from './scim/directory.ts';
import type { LoginTransactions } from './sessions/login-transaction.ts';
import type { SessionReader } from './sessions/reader.ts';
import type { SessionRefresher } from './sessions/refresh.ts';
import type { SessionCookies } from './sessions/session-cookie.ts';
import type { SessionDataStore } from './sessions/session-data.ts';
import type { StoreRevocationView } from './store/revocation-view.ts';
import type { SharedStore } from './store/store.ts';
import type { TenantRegistry } from './tenancy/tenants.ts';

export interface Components {
  readonly config: SlussConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly audit: Audit;
  readonly tenants: TenantRegistry;
  readonly sessions: SessionReader;
  readonly sessionCookies: SessionCookies;
  readonly transactions: LoginTransactions;
  readonly revocations: StoreRevocationView;
  readonly store: SharedStore;
  readonly sessionData: SessionDataStore;
  /** The SCIM directory (users and groups pushed by IdPs), shared by all tenants. */
  readonly directory: Directory;
  readonly scimRateLimiter: ScimRateLimiter;
  readonly refresher: SessionRefresher;
  readonly identityHeaders: IdentityHeaders;
  readonly keys: KeyRing;
}
