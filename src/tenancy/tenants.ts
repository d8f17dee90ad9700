/**
 * The runtime tenant registry: compiled once from config, looked up per
 * request by Host. Each tenant carries its IdPs' relying parties and the
 * values the hot path needs precomputed (forwarding scheme and host).
 */
import type { Clock } from '../clock.ts';
import type { SlussConfig, TenantConfig } from '../config/types.ts';
import type { CompiledMapping } from '../identity/mapping.ts';
import type { CompiledPolicy } from '../identity/policy.ts';
import { compilePolicy } from '../identity/policy.ts';
import { compileMappingConfig } from '../identity/presets.ts';
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
  /** The IdP a login without a choice goes to (the first active one). */
  readonly defaultIdp: string;
  /** Each IdP's compiled claim mapping. */
  readonly mappings: ReadonlyMap<string, CompiledMapping>;
  /** The tenant's compiled access policy. */
  readonly policy: CompiledPolicy;
}

/** A request's tenant, and whether it came by the tenant's own (canonical) host. */
export interface TenantMatch {
  readonly tenant: Tenant;
  /** False for `domains` aliases and the default-tenant fallback: browsers are sent to publicUrl. */
  readonly canonical: boolean;
}

/** Title and colours for the tenant's pages. */
export function brandingOf(tenant: Tenant): {
  title: string;
  primaryColor?: string;
  backgroundColor?: string;
} {
  return {
    title: tenant.config.title,
    ...(tenant.config.branding.primaryColor ? { primaryColor: tenant.config.branding.primaryColor } : {}),
    ...(tenant.config.branding.backgroundColor
      ? { backgroundColor: tenant.config.branding.backgroundColor }
      : {}),
  };
}

/** Active, and inside its validity window (if any) at `nowMs`. */
export function isTenantAvailable(tenant: Tenant, nowMs: number): boolean {
  const { active, validFrom, validUntil } = tenant.config;
  return (
    active &&
    (validFrom === undefined || nowMs >= validFrom) &&
    (validUntil === undefined || nowMs < validUntil)
  );
}

export class TenantRegistry {
  private readonly byHost = new Map<string, TenantMatch>();
  /** `*.suffix` domains, longest suffix first so the most specific wins. */
  private readonly wildcards: { suffix: string; tenant: Tenant }[] = [];
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
        defaultIdp: tenantConfig.idps.find((idp) => idp.active)?.id ?? '',
        mappings: new Map(
          tenantConfig.idps.map((idp) => [idp.id, compileMappingConfig(idp.mapping, idp.type)]),
        ),
        policy: compilePolicy(tenantConfig.policy),
      };
      this.byHost.set(origin.host.toLowerCase(), { tenant, canonical: true });
      for (const domain of tenantConfig.domains) {
        if (domain.startsWith('*.')) this.wildcards.push({ suffix: domain.slice(1), tenant });
        else if (!this.byHost.has(domain)) this.byHost.set(domain, { tenant, canonical: false });
      }
      this.byPrefix.set(tenant.prefix, tenant);
    }
    this.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
    this.fallback = config.defaultTenant ? this.byPrefix.get(config.defaultTenant) : undefined;
  }

  /**
   * The tenant for a Host header: its publicUrl host, one of its `domains`
   * (exact, then the longest matching `*.` wildcard), else the default tenant.
   */
  resolve(host: string | undefined): TenantMatch | undefined {
    if (host) {
      const name = host.toLowerCase();
      const exact = this.byHost.get(name);
      if (exact) return exact;
      const bare = name.replace(/:\d+$/, '');
      for (const { suffix, tenant } of this.wildcards) {
        if (name.endsWith(suffix) || bare.endsWith(suffix)) return { tenant, canonical: false };
      }
    }
    return this.fallback
      ? { tenant: this.fallback, canonical: this.fallback.forwardedHost === host?.toLowerCase() }
      : undefined;
  }

  /** A Host the config names: a tenant's publicUrl host or one of its `domains` (not the fallback). */
  isKnownHost(host: string): boolean {
    const name = host.toLowerCase();
    if (this.byHost.has(name)) return true;
    const bare = name.replace(/:\d+$/, '');
    return this.wildcards.some(({ suffix }) => name.endsWith(suffix) || bare.endsWith(suffix));
  }

  byId(prefix: string): Tenant | undefined {
    return this.byPrefix.get(prefix);
  }

  all(): Tenant[] {
    return [...this.byPrefix.values()];
  }
}
