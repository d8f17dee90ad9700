/**
 * Whether an identity from the IdP may use the tenant: its mapping, then its
 * SCIM directory, then its login policy. A login and every session refresh
 * go through this one function, so a user the tenant would refuse at login
 * is also refused when a refresh brings the same news.
 */
import type { Components } from '../components.ts';
import type { Identity } from '../identity/identity.ts';
import { applyMapping } from '../identity/identity.ts';
import type { DenyReason } from '../identity/policy.ts';
import { evaluateLogin } from '../identity/policy.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { consultDirectory } from './provisioning.ts';

export type Admission =
  | { readonly allow: true; readonly identity: Identity }
  | {
      readonly allow: false;
      readonly reason: DenyReason | 'user-deactivated' | 'user-unknown';
      readonly detail: string | undefined;
      /** Refused by the login policy (whitelist, email domain, MFA…), which a new login might satisfy. */
      readonly byPolicy: boolean;
    };

export async function reviewIdentity(
  components: Components,
  tenant: Tenant,
  idpId: string,
  base: Identity,
  claims: Readonly<Record<string, unknown>>,
): Promise<Admission> {
  const mapping = tenant.mappings.get(idpId);
  const mapped = mapping
    ? applyMapping(base, claims, mapping, tenant.config.userIdentifier)
    : ({ ok: true, identity: base } as const);
  if (!mapped.ok)
    return { allow: false, reason: 'identity-incomplete', detail: mapped.detail, byPolicy: false };
  const verdict = await consultDirectory(components, tenant, mapped.identity);
  if (!verdict.allow)
    return { allow: false, reason: verdict.reason, detail: verdict.detail, byPolicy: false };
  const { identity } = verdict;
  const decision = evaluateLogin(
    {
      ...(identity.email ? { email: identity.email } : {}),
      groups: identity.groups,
      mfa: identity.mfa,
      groupsOverage: identity.groupsOverage === true,
    },
    tenant.policy,
    { idpId, ...(verdict.expectedIdp ? { expectedIdp: verdict.expectedIdp } : {}) },
  );
  if (decision.allow) return { allow: true, identity };
  return { allow: false, reason: decision.reason, detail: decision.detail, byPolicy: true };
}
