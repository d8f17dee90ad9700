/**
 * The runtime tenant registry: compiled once from config, looked up per
 * request by Host. Each tenant carries its IdPs' relying parties and the
 * values the hot path needs precomputed (forwarding scheme and host).
 */
import type { Clock } from '../clock.ts';
import type { SlussConfig, TenantConfig } from '../config/types.ts';
import { OidcRelyingParty } from '../protocols/oidc/oidc-client.ts';
import { SamlServiceProvider } from '../protocols/saml/saml-sp.ts';
import type { Store } from '../store/store.ts';

export interface Tenant {
  readonly config: TenantConfig;
  readonly prefix: string;
  readonly publicOrigin: string;
  readonly forwardedProto: string;
  readonly forwardedHost: string;
  /** The redirect URI registered at every IdP of this tenant. */
  readonly callbackUrl: string;
  /** The tenant's OpenID Connect IdPs by id. */
  readonly oidc: ReadonlyMap<string, OidcRelyingParty>;
  /** The tenant's SAML IdPs by id (sluss as SP towards each). */
  readonly saml: ReadonlyMap<string, SamlServiceProvider>;
  /** The IdP a login without a choice goes to (the first configured). */
  readonly defaultIdp: string;
}

export class TenantRegistry {
  private readonly byHost = new Map<string, Tenant>();
  private readonly byPrefix = new Map<string, Tenant>();
  private readonly fallback: Tenant | undefined;

  constructor(config: SlussConfig, clock: Clock, callbackPath: string, store: Store) {
    for (const tenantConfig of config.tenants) {
      const origin = new URL(tenantConfig.publicOrigin);
      const tenant: Tenant = {
        config: tenantConfig,
        prefix: tenantConfig.prefix,
        publicOrigin: tenantConfig.publicOrigin,
        forwardedProto: origin.protocol.slice(0, -1),
        forwardedHost: origin.host,
        callbackUrl: `${tenantConfig.publicOrigin}${callbackPath}`,
        oidc: new Map(
          tenantConfig.idps.flatMap((idp) =>
            idp.type === 'oidc' ? [[idp.id, new OidcRelyingParty(idp, clock)] as const] : [],
          ),
        ),
        saml: new Map(
          tenantConfig.idps.flatMap((idp) =>
            idp.type === 'saml' && tenantConfig.saml
              ? [[idp.id, new SamlServiceProvider(idp, tenantConfig.saml, store, clock)] as const]
              : [],
          ),
        ),
        defaultIdp: tenantConfig.idps[0]?.id ?? '',
      };
      this.byHost.set(origin.host.toLowerCase(), tenant);
      this.byPrefix.set(tenant.prefix, tenant);
    }
    this.fallback = config.defaultTenant ? this.byPrefix.get(config.defaultTenant) : undefined;
  }

  /** The tenant serving `host` (the Host header), else the default tenant. */
  resolve(host: string | undefined): Tenant | undefined {
    if (host) {
      const exact = this.byHost.get(host.toLowerCase());
      if (exact) return exact;
    }
    return this.fallback;
  }

  byId(prefix: string): Tenant | undefined {
    return this.byPrefix.get(prefix);
  }

  all(): Tenant[] {
    return [...this.byPrefix.values()];
  }
}
