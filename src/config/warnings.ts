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
  return warnings;
}
