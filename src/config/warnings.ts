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
          `${tenant.source}: session.maxAgeSeconds (${tenant.session.maxAgeSeconds}) is not shorter than IdP "${idp.id}" sessionLengthSeconds (${idp.sessionLengthSeconds}): when the sluss session ends the IdP session may still be alive and sign the user in again silently; make sluss's shorter`,
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
  }
  return warnings;
}
