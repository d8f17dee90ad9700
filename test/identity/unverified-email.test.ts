/**
 * The `email_verified` rule for OIDC claims (identity.ts `withoutUnverifiedEmail`): an
 * email the IdP calls unverified is gone before the identity, the mapping and the
 * email-domain policy see the claims; without `email_verified` nothing changes.
 */
import { describe, expect, it } from 'vitest';
import { applyMapping, identityFromOidcClaims, withoutUnverifiedEmail } from '../../src/identity/identity.ts';
import { compilePolicy, evaluateLogin } from '../../src/identity/policy.ts';
import { compileMappingConfig } from '../../src/identity/presets.ts';

const BASE = {
  iss: 'https://idp.example.test',
  sub: 'u-7',
  given_name: 'Mallory',
  family_name: 'Mole',
  email: 'ceo@corp.example',
};
const DOMAIN_POLICY = compilePolicy({ emailDomains: ['corp.example'] });

/** The login path as sluss runs it for an OIDC IdP: claims rule, identity, mapping, policy. */
function admit(claims: Record<string, unknown>, mapping = compileMappingConfig(undefined, 'oidc')) {
  const cleaned = withoutUnverifiedEmail(claims);
  const mapped = applyMapping(identityFromOidcClaims(cleaned), cleaned, mapping, 'idpUserId');
  if (!mapped.ok) return { mapped: false as const, missing: mapped.missing };
  return {
    mapped: true as const,
    identity: mapped.identity,
    verdict: evaluateLogin(mapped.identity, DOMAIN_POLICY, { idpId: 'op' }),
  };
}

describe('withoutUnverifiedEmail', () => {
  it.each([
    ['self-set email, email_verified false', false],
    ['self-set email, email_verified "false" (string)', 'false'],
    ['self-set email, email_verified "FALSE" (string, upper case)', 'FALSE'],
  ])('%s: the email is dropped', (_attack, emailVerified) => {
    const claims = { ...BASE, email_verified: emailVerified };
    const cleaned = withoutUnverifiedEmail(claims);
    expect(cleaned).not.toHaveProperty('email');
    expect(cleaned).toMatchObject({ sub: 'u-7', email_verified: emailVerified });
    expect(claims.email).toBe('ceo@corp.example');
  });

  it.each([
    ['email_verified true', true],
    ['email_verified "true" (string)', 'true'],
    ['no email_verified at all (Entra)', undefined],
  ])('%s: the email is kept', (_label, emailVerified) => {
    const claims = emailVerified === undefined ? { ...BASE } : { ...BASE, email_verified: emailVerified };
    expect(withoutUnverifiedEmail(claims).email).toBe('ceo@corp.example');
  });
});

describe('an unverified email through identity, mapping and emailDomains', () => {
  it.each([
    ['email_verified false does not satisfy emailDomains', false],
    ['email_verified "false" does not satisfy emailDomains', 'false'],
  ])('%s: the required email is missing, so the login is denied', (_attack, emailVerified) => {
    const outcome = admit({ ...BASE, email_verified: emailVerified });
    expect(outcome).toEqual({ mapped: false, missing: ['email'] });
  });

  it('with email optional the identity has no email and emailDomains denies', () => {
    const mapping = compileMappingConfig({ required: ['login', 'givenName', 'familyName'] }, 'oidc');
    const outcome = admit({ ...BASE, email_verified: false }, mapping);
    expect(outcome.mapped).toBe(true);
    if (!outcome.mapped) return;
    expect(outcome.identity.email).toBeUndefined();
    // The preset's login fallback (preferred_username, email, sub) does not pick it up either.
    expect(outcome.identity.login).toBe('u-7');
    expect(outcome.verdict).toMatchObject({ allow: false, reason: 'identity-incomplete' });
  });

  it('a fallback path the mapping names still supplies an email', () => {
    const mapping = compileMappingConfig({ email: ['email', 'upn'] }, 'oidc');
    const outcome = admit({ ...BASE, email_verified: false, upn: 'mallory@corp.example' }, mapping);
    expect(outcome.mapped && outcome.identity.email).toBe('mallory@corp.example');
  });

  it('a verified email, or none said either way, is used and passes emailDomains', () => {
    for (const claims of [{ ...BASE, email_verified: true }, { ...BASE }]) {
      const outcome = admit(claims);
      expect(outcome.mapped && outcome.identity.email).toBe('ceo@corp.example');
      expect(outcome.mapped && outcome.verdict).toEqual({ allow: true });
    }
  });
});
