/**
 * The canonical identity sluss keeps in a session and tells the upstream
 * about, built from an IdP's raw claims (ID token, with UserInfo merged over
 * it when configured). A configurable mapping layer (JSONPath, presets) is to
 * replace `identityFromOidcClaims`.
 */
import { SlussError } from '../errors.ts';

export interface Identity {
  /** IdP subject; unique only together with `issuer` (pairwise subjects differ per client). */
  readonly sub: string;
  readonly issuer: string;
  readonly email?: string;
  readonly name?: string;
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
