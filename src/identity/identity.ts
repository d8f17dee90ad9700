/**
 * The canonical identity sluss keeps in a session and tells the upstream
 * about. `identityFromOidcClaims` reads what the protocol guarantees (subject,
 * issuer, MFA signals, auth time) from raw claims (OIDC ID token + UserInfo, or
 * SAML attributes in the same shape); `applyMapping` then sets the fields the
 * tenant's mapping (presets + JSONPath, mapping.ts) finds: login, email,
 * names, groups and the stable IdP user ID.
 */
import { SlussError } from '../errors.ts';
import type { CompiledMapping, RequiredField } from './mapping.ts';
import { mapIdentity } from './mapping.ts';

export interface Identity {
  /** IdP subject; unique only together with `issuer` (pairwise subjects differ per client). */
  readonly sub: string;
  readonly issuer: string;
  /** What the app sees as the user (JWT `sub`, the user header): the login or the IdP user ID. */
  readonly userId?: string;
  readonly login?: string;
  /** The stable user ID at the IdP (Entra `oid`, else `sub`): never the email, which can change. */
  readonly idpUserId?: string;
  /**
   * The user's SCIM `id` in the tenant's directory, when the login matched a provisioned
   * user: a SCIM deactivation reaches the session by it even after a rename, or when the
   * IdP's externalId is not the login's IdP user ID.
   */
  readonly directoryId?: string;
  readonly email?: string;
  readonly givenName?: string;
  readonly familyName?: string;
  readonly name?: string;
  /** The IdP left groups out (Entra overage): group decisions cannot be trusted. */
  readonly groupsOverage?: boolean;
  readonly groups: readonly string[];
  readonly amr?: readonly string[];
  readonly acr?: string;
  /** Whether the IdP vouched for a second factor (see `mfaFromClaims`). */
  readonly mfa: boolean;
  /** Seconds since the epoch when the user authenticated at the IdP. */
  readonly authTime?: number;
}

/** How an IdP tells sluss about MFA (per-IdP config: some IdPs send no `amr`). */
export interface MfaSignal {
  readonly source: 'amr' | 'acr' | 'idp-enforced';
  readonly acrValues: readonly string[];
}

/** RFC 8176 `amr` values that mean a second factor (or say MFA outright). */
const MFA_AMR_VALUES = new Set([
  'mfa',
  'mca',
  'otp',
  'hwk',
  'sms',
  'tel',
  'fpt',
  'face',
  'iris',
  'retina',
  'vbm',
  'sc',
]);

export function mfaFromClaims(amr: readonly string[], acr: string | undefined, signal: MfaSignal): boolean {
  switch (signal.source) {
    case 'idp-enforced':
      return true;
    case 'acr':
      return acr !== undefined && signal.acrValues.includes(acr);
    case 'amr':
      return amr.some((method) => MFA_AMR_VALUES.has(method));
  }
}

const MAX_GROUPS = 500;
const MAX_CLAIM_LENGTH = 1024;

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_CLAIM_LENGTH
    ? value
    : undefined;
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return stringClaim(value) ? [value] : [];
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => stringClaim(item) !== undefined).slice(0, MAX_GROUPS);
}

/**
 * OIDC claims without an `email` the IdP itself calls unverified (`email_verified`
 * false, or the string "false" some IdPs send): with self-signup a user can set any
 * address, so neither the identity, the mapping nor `emailDomains` may see it. A
 * missing `email_verified` (Entra and many others never send it) keeps the email.
 * Applied once where the OIDC adapter returns claims, so login and refresh agree.
 */
export function withoutUnverifiedEmail(claims: Record<string, unknown>): Record<string, unknown> {
  const verified = claims.email_verified;
  const unverified =
    verified === false || (typeof verified === 'string' && verified.trim().toLowerCase() === 'false');
  if (!unverified || !('email' in claims)) return claims;
  const { email: _dropped, ...rest } = claims;
  return rest;
}

/** Raw OIDC claims (ID token merged with userinfo) → Identity. */
export function identityFromOidcClaims(
  claims: Readonly<Record<string, unknown>>,
  mfaSignal: MfaSignal = { source: 'amr', acrValues: [] },
): Identity {
  const sub = stringClaim(claims.sub);
  const issuer = stringClaim(claims.iss);
  if (!sub || !issuer)
    throw new SlussError('ERR_IDENTITY_INCOMPLETE', 'The identity provider did not send a usable subject.');
  const given = stringClaim(claims.given_name);
  const family = stringClaim(claims.family_name);
  const name = stringClaim(claims.name) ?? ([given, family].filter(Boolean).join(' ') || undefined);
  const email = stringClaim(claims.email);
  const amr = stringList(claims.amr);
  const acr = stringClaim(claims.acr);
  const authTime =
    typeof claims.auth_time === 'number' && Number.isFinite(claims.auth_time) ? claims.auth_time : undefined;
  return {
    sub,
    issuer,
    ...(email ? { email } : {}),
    ...(name ? { name } : {}),
    groups: stringList(claims.groups),
    ...(amr.length > 0 ? { amr } : {}),
    ...(acr ? { acr } : {}),
    mfa: mfaFromClaims(amr, acr, mfaSignal),
    ...(authTime !== undefined ? { authTime } : {}),
  };
}

export type UserIdentifier = 'login' | 'idpUserId';

export type MappedResult =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly missing: readonly RequiredField[]; readonly detail: string };

/** Overlays the mapped fields on the protocol identity; a missing required field is a denial, not a crash. */
export function applyMapping(
  base: Identity,
  claims: Readonly<Record<string, unknown>>,
  mapping: CompiledMapping,
  userIdentifier: UserIdentifier,
): MappedResult {
  const mapped = mapIdentity(claims, mapping);
  if (!mapped.ok) return { ok: false, missing: mapped.missing, detail: mapped.detail };
  const { identity } = mapped;
  return {
    ok: true,
    identity: {
      ...base,
      userId: userIdentifier === 'login' ? identity.login : identity.idpUserId,
      login: identity.login,
      idpUserId: identity.idpUserId,
      email: identity.email,
      givenName: identity.givenName,
      familyName: identity.familyName,
      name: identity.displayName,
      groups: identity.groups,
      ...(identity.groupsOverage ? { groupsOverage: true } : {}),
    },
  };
}
