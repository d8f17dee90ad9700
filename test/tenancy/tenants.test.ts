import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { DEFAULT_ACCESS_POLICY } from '../../src/config/schema-identity.ts';
import type { SlussConfig, TenantConfig } from '../../src/config/types.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { isTenantAvailable, TenantRegistry } from '../../src/tenancy/tenants.ts';

function tenant(prefix: string, publicOrigin: string, extra: Partial<TenantConfig> = {}): TenantConfig {
  return {
    prefix,
    title: prefix,
    publicOrigin,
    idps: [],
    session: { maxAgeSeconds: 3600 },
    saml: undefined,
    active: true,
    validFrom: undefined,
    validUntil: undefined,
    version: undefined,
    notes: undefined,
    domains: [],
    homeRealmDiscovery: false,
    branding: {},
    errorRedirectUrl: undefined,
    policy: DEFAULT_ACCESS_POLICY,
    userIdentifier: 'idpUserId',
    scim: undefined,
    source: `tenants/${prefix}.yaml`,
    ...extra,
  };
}

function registry(tenants: TenantConfig[], defaultTenant?: string): TenantRegistry {
  const clock = new ManualClock();
  const config = { tenants, defaultTenant } as unknown as SlussConfig;
  return new TenantRegistry(config, clock, '/.sluss/callback', new MemoryStore(clock));
}

describe('tenant resolution by Host', () => {
  const tenants = registry([
    tenant('acme', 'https://acme.example.com', {
      domains: ['acme.example.net', '*.acme.example.com', '*.example.org'],
    }),
    tenant('globex', 'https://globex.example.com', { domains: ['*.eu.example.org'] }),
    tenant('initech', 'https://app.example.com:8443'),
  ]);

  it.each([
    ['the publicUrl host', 'acme.example.com', 'acme', true],
    ['the publicUrl host in upper case', 'ACME.Example.COM', 'acme', true],
    ['a publicUrl host with its port', 'app.example.com:8443', 'initech', true],
    ['an exact alias domain', 'acme.example.net', 'acme', false],
    ['a wildcard subdomain', 'hr.acme.example.com', 'acme', false],
    ['the more specific of two wildcards', 'paris.eu.example.org', 'globex', false],
    ['the broader wildcard', 'paris.example.org', 'acme', false],
    ['a wildcard match with a port', 'hr.acme.example.com:443', 'acme', false],
  ])('%s → %s', (_label, host, prefix, canonical) => {
    expect(tenants.resolve(host)).toMatchObject({ tenant: { prefix }, canonical });
  });

  it.each([
    ['an unknown host', 'evil.example'],
    ['a suffix that only looks like the domain', 'notacme.example.com'],
    ['the wildcard base itself', 'example.org'],
    ['no Host header', undefined],
    ['the publicUrl host with another port', 'app.example.com:9443'],
  ])('%s matches no tenant', (_label, host) => {
    expect(tenants.resolve(host)).toBeUndefined();
  });

  it('falls back to the default tenant for unknown hosts, as a non-canonical match', () => {
    const withDefault = registry([tenant('acme', 'https://acme.example.com')], 'acme');
    expect(withDefault.resolve('10.0.0.7:8080')).toMatchObject({
      tenant: { prefix: 'acme' },
      canonical: false,
    });
    expect(withDefault.resolve('acme.example.com')).toMatchObject({ canonical: true });
  });

  it('knows only the hosts the config names, never the default-tenant fallback', () => {
    const withDefault = registry(
      [tenant('acme', 'https://acme.example.com', { domains: ['acme.example.net', '*.acme.example.org'] })],
      'acme',
    );
    expect(
      ['acme.example.com', 'ACME.example.net', 'hr.acme.example.org'].map((h) => withDefault.isKnownHost(h)),
    ).toEqual([true, true, true]);
    expect(
      ['evil.example', '10.0.0.7:8080', 'acme.example.org'].map((h) => withDefault.isKnownHost(h)),
    ).toEqual([false, false, false]);
  });
});

describe('tenant availability', () => {
  const from = Date.UTC(2027, 0, 1);
  const until = Date.UTC(2027, 6, 1);
  const window = registry([
    tenant('acme', 'https://acme.example.com', { validFrom: from, validUntil: until }),
  ]);
  const inactive = registry([tenant('acme', 'https://acme.example.com', { active: false })]);

  it.each([
    ['before validFrom', from - 1, false],
    ['at validFrom', from, true],
    ['inside the window', from + 86_400_000, true],
    ['at validUntil', until, false],
    ['after validUntil', until + 1, false],
  ])('%s', (_label, now, available) => {
    const match = window.resolve('acme.example.com');
    if (!match) throw new Error('no tenant');
    expect(isTenantAvailable(match.tenant, now)).toBe(available);
  });

  it('an inactive tenant is never available', () => {
    const match = inactive.resolve('acme.example.com');
    if (!match) throw new Error('no tenant');
    expect(isTenantAvailable(match.tenant, from)).toBe(false);
  });
});
