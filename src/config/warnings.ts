/**
 * Things that are allowed but deserve a second look: printed by
 * `check-config` (which still succeeds) and logged at every start.
 */
import type { SlussConfig } from './types.ts';

export function configWarnings(config: SlussConfig): string[] {
  const warnings: string[] = [];
  for (const tenant of config.tenants) {
    for (const idp of tenant.idps) {
      const where = `${tenant.source}: IdP "${idp.id}"`;
      if (
        idp.sessionLengthSeconds !== undefined &&
        tenant.session.maxAgeSeconds >= idp.sessionLengthSeconds
      ) {
        warnings.push(
          `${tenant.source}: session.maxAgeSeconds (${tenant.session.maxAgeSeconds}) is not shorter than IdP "${idp.id}" sessionLengthSeconds (${idp.sessionLengthSeconds}): the sluss session can outlive the IdP's, so a user disabled or signed out at the IdP keeps access until sluss's session ends; make sluss's shorter`,
        );
      }
      if (idp.type === 'oidc' && idp.skipAtHashCheck) {
        warnings.push(`${where}: skipAtHashCheck is on: access tokens are not bound to ID tokens`);
      }
      if (idp.type === 'saml' && idp.allowSha1Signatures) {
        warnings.push(`${where}: allowSha1Signatures is on: SHA-1 signatures are accepted`);
      }
      if (idp.type === 'saml' && idp.allowIdpInitiated) {
        warnings.push(
          `${where}: allowIdpInitiated is on: unsolicited responses cannot be bound to a browser (login CSRF)`,
        );
      }
    }
    if (tenant.policy.idpCheck === 'required' && !tenant.scim) {
      warnings.push(
        `${tenant.source}: policy.idpCheck is "required" but the tenant has no scim directory: every login will be denied (idp-mismatch)`,
      );
    }
  }
  warnings.push(...globalWarnings(config));
  return warnings;
}

function globalWarnings(config: SlussConfig): string[] {
  const warnings: string[] = [];
  if (config.upstream.publicPaths.includes('/')) {
    warnings.push(
      'sluss.yaml: upstream.publicPaths contains "/": every path of the app is public (no sign-in is ever required)',
    );
  }
  for (const entry of config.trustedProxies) {
    if (/\/0$/.test(entry)) {
      warnings.push(
        `sluss.yaml: trustedProxies contains ${entry}: every client may set X-Forwarded-For (client addresses in logs and audit can be forged)`,
      );
    }
  }
  const owners = new Map<string, string>();
  for (const tenant of config.tenants) {
    for (const domain of tenant.domains) {
      const first = owners.get(domain);
      if (first === undefined) owners.set(domain, tenant.source);
      else
        warnings.push(
          `${tenant.source}: domain ${domain} is also listed by ${first}, which takes it; remove one`,
        );
    }
  }
  return warnings;
}
