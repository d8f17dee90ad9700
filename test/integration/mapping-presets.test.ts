/**
 * The mapping presets through real logins: the demo OpenID Provider
 * (oidc-provider) is given a user whose ID token has the shape of Entra ID,
 * AD FS, Okta, Keycloak or Google (test/fixtures/claim-shapes.ts), sluss runs
 * the IdP with that preset, and the app receives what the mapping table says.
 * The SAML shapes go through the real SAML IdP in saml-login.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DemoUser } from '../../src/demo/oidc-provider.ts';
import { mappedFromJwt, PRESET_CASES, withoutFlags } from '../fixtures/claim-shapes.ts';
import type { Stack } from '../support/sluss-stack.ts';
import { startStack } from '../support/sluss-stack.ts';

/** Claims the OP itself sets (protocol) or takes from the login (amr): not part of the user. */
const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'iat', 'exp', 'nbf', 'azp', 'typ', 'ver', 'amr', 'sub']);
const STANDARD_CLAIMS = ['email', 'name', 'given_name', 'family_name', 'groups'] as const;
const PASSWORD = 'correct horse';

/** A demo OP user whose ID token carries exactly `claims` (standard claims it lacks are removed). */
function userWithShape(claims: Record<string, unknown>): DemoUser {
  const extraClaims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (!PROTOCOL_CLAIMS.has(name) && value !== undefined && name !== 'email_verified')
      extraClaims[name] = value;
  }
  for (const name of STANDARD_CLAIMS) if (claims[name] === undefined) extraClaims[name] = null;
  return {
    sub: String(claims.sub),
    password: PASSWORD,
    email: '',
    name: '',
    given_name: '',
    family_name: '',
    groups: [],
    ...(claims.email_verified === undefined ? { emailVerified: null } : {}),
    extraClaims,
  };
}

const OIDC_CASES = PRESET_CASES.filter((c) => c.claims.name_id_format === undefined);

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('mapping presets through a real OpenID Connect login', () => {
  it('covers every OIDC preset', () => {
    expect(new Set(OIDC_CASES.map((c) => c.preset))).toEqual(
      new Set(['entra', 'adfs', 'okta', 'keycloak', 'google', 'oidc-generic']),
    );
  });

  it.each(OIDC_CASES.filter((c) => !c.expected.groupsOverage))(
    '$name',
    async ({ preset, claims, expected }) => {
      const user = userWithShape(claims);
      stack = await startStack({
        opOptions: { users: [user] },
        idp: { mapping: { preset } },
      });
      const { response } = await stack.login({ login: user.sub, password: PASSWORD });
      expect(response.status, await response.clone().text()).toBe(200);
      const echo = (await response.json()) as { headers: Record<string, string> };
      const jwt = echo.headers['x-sluss-identity'] ?? '';
      expect(mappedFromJwt(jwt)).toMatchObject(withoutFlags(expected));
      // The user header is the IdP user ID (userIdentifier: idpUserId), never the OP's `sub` by accident.
      expect(echo.headers['x-remote-user']).toBe(expected.idpUserId ?? String(claims.sub));
    },
  );

  it('Entra groups overage: the login is refused with a clear reason when groups decide access', async () => {
    const overage = OIDC_CASES.find((c) => c.expected.groupsOverage);
    expect(overage).toBeDefined();
    const user = userWithShape(overage?.claims ?? {});
    stack = await startStack({
      opOptions: { users: [user] },
      idp: { mapping: { preset: 'entra' } },
      tenant: {
        policy: { groupWhitelist: { active: true, groups: ['0f9c4b3a-6b1e-4b7d-9d2a-1a2b3c4d5e6f'] } },
      },
    });
    const { response } = await stack.login({ login: user.sub, password: PASSWORD });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('groups-overage');
  });
});
