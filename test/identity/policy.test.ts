import { describe, expect, it } from 'vitest';
import { accessPolicySchema, DEFAULT_ACCESS_POLICY } from '../../src/config/schema-identity.ts';
import {
  compilePolicy,
  evaluateLogin,
  evaluatePolicy,
  evaluateRequest,
  type LoginContext,
  type PolicyConfig,
  PolicyConfigError,
  type PolicySubject,
  pathReadings,
} from '../../src/identity/policy.ts';

const alice: PolicySubject = { email: 'alice@example.com', groups: ['app-users'], mfa: true };
const admin: PolicySubject = { email: 'root@example.com', groups: ['app-users', 'app-admins'], mfa: true };
const LOGIN: LoginContext = { idpId: 'entra' };

function login(config: PolicyConfig, subject: PolicySubject = alice, context: LoginContext = LOGIN) {
  return evaluateLogin(subject, compilePolicy(config), context);
}

function request(config: PolicyConfig, url: string, subject: PolicySubject = alice) {
  return evaluateRequest(subject, compilePolicy(config), { url });
}

describe('login-time rules', () => {
  it('the default policy allows everyone', () => {
    expect(login(DEFAULT_ACCESS_POLICY)).toEqual({ allow: true });
    expect(login({}, { groups: [], mfa: false })).toEqual({ allow: true });
  });

  describe('group whitelist', () => {
    it.each([
      {
        name: 'active, member',
        whitelist: { active: true, groups: ['app-users'] },
        subject: alice,
        allow: true,
      },
      {
        name: 'active, member of one of several',
        whitelist: { active: true, groups: ['x', 'app-users'] },
        subject: alice,
        allow: true,
      },
      {
        name: 'active, not a member',
        whitelist: { active: true, groups: ['app-admins'] },
        subject: alice,
        allow: false,
      },
      {
        name: 'active and empty lets nobody in',
        whitelist: { active: true, groups: [] },
        subject: admin,
        allow: false,
      },
      {
        name: 'inactive lets everyone in',
        whitelist: { active: false, groups: ['app-admins'] },
        subject: alice,
        allow: true,
      },
      {
        name: 'inactive and empty lets everyone in',
        whitelist: { active: false, groups: [] },
        subject: alice,
        allow: true,
      },
      {
        name: 'active, user without groups',
        whitelist: { active: true, groups: ['app-users'] },
        subject: { ...alice, groups: [] },
        allow: false,
      },
      {
        name: 'exact by default (case)',
        whitelist: { active: true, groups: ['App-Users'] },
        subject: alice,
        allow: false,
      },
    ])('$name', ({ whitelist, subject, allow }) => {
      const decision = login({ groupWhitelist: whitelist }, subject);
      expect(decision.allow).toBe(allow);
      if (!decision.allow) expect(decision.reason).toBe('group-not-allowed');
    });

    it('case-insensitive when configured', () => {
      expect(
        login({ groupWhitelist: { active: true, groups: ['App-Users'] }, groupsCaseInsensitive: true }),
      ).toEqual({
        allow: true,
      });
    });

    it('says groups-overage when the IdP left groups out', () => {
      const decision = login(
        { groupWhitelist: { active: true, groups: ['app-users'] } },
        { ...alice, groups: [], groupsOverage: true },
      );
      expect(decision).toMatchObject({ allow: false, reason: 'groups-overage' });
    });

    it('overage does not matter when a sent group (e.g. a role) matches', () => {
      const decision = login(
        { groupWhitelist: { active: true, groups: ['Reports.Reader'] } },
        { ...alice, groups: ['Reports.Reader'], groupsOverage: true },
      );
      expect(decision).toEqual({ allow: true });
    });

    it('an empty active whitelist says group-not-allowed even with overage', () => {
      const decision = login(
        { groupWhitelist: { active: true, groups: [] } },
        { ...alice, groupsOverage: true },
      );
      expect(decision).toMatchObject({ allow: false, reason: 'group-not-allowed' });
    });
  });

  describe('email domains', () => {
    const domains = ['example.com', '*.corp.example.org', 'Mixed-Case.NET'];
    it.each([
      ['alice@example.com', true],
      ['Alice@EXAMPLE.COM', true],
      ['bob@mixed-case.net', true],
      ['a@x.corp.example.org', true],
      ['a@deep.x.corp.example.org', true],
      ['a@corp.example.org', false], // apex not listed
      ['a@sub.example.com', false], // subdomains only via *.
      ['a@example.com.evil.com', false],
      ['a@evilexample.com', false],
      ['a@evil-corp.example.org.attacker.io', false],
      ['a@example.co', false],
      ['a@example.com.', false],
      ['"a@example.com"@evil.com', false],
      ['no-at-sign', false],
      ['@example.com', false],
      ['a@', false],
      ['a@exa mple.com', false],
    ])('%s → %s', (email, allowed) => {
      const decision = login({ emailDomains: domains }, { ...alice, email });
      expect(decision.allow).toBe(allowed);
      if (!decision.allow) expect(decision.reason).toBe('email-domain-not-allowed');
    });

    it('compares internationalised domains in their ASCII form', () => {
      expect(login({ emailDomains: ['müller.de'] }, { ...alice, email: 'a@xn--mller-kva.de' }).allow).toBe(
        true,
      );
      expect(login({ emailDomains: ['xn--mller-kva.de'] }, { ...alice, email: 'a@MÜLLER.de' }).allow).toBe(
        true,
      );
      expect(login({ emailDomains: ['muller.de'] }, { ...alice, email: 'a@müller.de' }).allow).toBe(false);
    });

    it('no email while domains are restricted is identity-incomplete', () => {
      expect(login({ emailDomains: ['example.com'] }, { groups: [], mfa: true })).toMatchObject({
        allow: false,
        reason: 'identity-incomplete',
      });
    });

    it('an empty list allows any domain', () => {
      expect(login({ emailDomains: [] }, { ...alice, email: 'x@anything.test' }).allow).toBe(true);
    });
  });

  describe('MFA', () => {
    it.each([
      [true, true, true],
      [true, false, false],
      [false, false, true],
      [false, true, true],
    ])('required=%s, mfa=%s → allow=%s', (mfaRequired, mfa, allow) => {
      const decision = login({ mfaRequired }, { ...alice, mfa });
      expect(decision.allow).toBe(allow);
      if (!decision.allow) expect(decision.reason).toBe('mfa-required');
    });
  });

  describe('IdP check', () => {
    it.each([
      { mode: 'off', expectedIdp: 'adfs', allow: true },
      { mode: 'off', expectedIdp: undefined, allow: true },
      { mode: 'if-known', expectedIdp: 'entra', allow: true },
      { mode: 'if-known', expectedIdp: 'adfs', allow: false },
      { mode: 'if-known', expectedIdp: undefined, allow: true },
      { mode: 'required', expectedIdp: 'entra', allow: true },
      { mode: 'required', expectedIdp: 'adfs', allow: false },
      { mode: 'required', expectedIdp: undefined, allow: false },
    ] as const)('$mode, user belongs to $expectedIdp → $allow', ({ mode, expectedIdp, allow }) => {
      const context: LoginContext = expectedIdp === undefined ? LOGIN : { ...LOGIN, expectedIdp };
      const decision = login({ idpCheck: mode }, alice, context);
      expect(decision.allow).toBe(allow);
      if (!decision.allow) expect(decision.reason).toBe('idp-mismatch');
    });
  });

  describe('combined', () => {
    const strict: PolicyConfig = {
      idpCheck: 'if-known',
      emailDomains: ['example.com'],
      groupWhitelist: { active: true, groups: ['app-users'] },
      mfaRequired: true,
    };

    it.each([
      {
        name: 'all satisfied',
        subject: alice,
        context: { idpId: 'entra', expectedIdp: 'entra' },
        reason: undefined,
      },
      {
        name: 'wrong IdP first',
        subject: { groups: [], mfa: false, email: 'x@evil.com' },
        context: { idpId: 'entra', expectedIdp: 'adfs' },
        reason: 'idp-mismatch',
      },
      {
        name: 'then the domain',
        subject: { groups: [], mfa: false, email: 'x@evil.com' },
        context: LOGIN,
        reason: 'email-domain-not-allowed',
      },
      {
        name: 'then the groups',
        subject: { groups: [], mfa: false, email: 'x@example.com' },
        context: LOGIN,
        reason: 'group-not-allowed',
      },
      {
        name: 'MFA last (a step-up could help)',
        subject: { ...alice, mfa: false },
        context: LOGIN,
        reason: 'mfa-required',
      },
    ])('$name', ({ subject, context, reason }) => {
      const decision = login(strict, subject, context);
      if (reason === undefined) expect(decision).toEqual({ allow: true });
      else expect(decision).toMatchObject({ allow: false, reason, detail: expect.any(String) });
    });

    it('evaluatePolicy checks login rules, then path rules', () => {
      const policy = compilePolicy({ ...strict, pathRules: [{ path: '/admin', groups: ['app-admins'] }] });
      const context = { idpId: 'entra', url: '/admin/users' };
      expect(evaluatePolicy(alice, policy, context)).toMatchObject({
        allow: false,
        reason: 'path-not-allowed',
      });
      expect(evaluatePolicy(admin, policy, context)).toEqual({ allow: true });
      expect(evaluatePolicy({ ...admin, mfa: false }, policy, context)).toMatchObject({
        reason: 'mfa-required',
      });
      expect(evaluatePolicy(alice, policy, { ...context, url: '/home' })).toEqual({ allow: true });
    });
  });
});

describe('path rules', () => {
  const rules: PolicyConfig = {
    pathRules: [
      { path: '/admin', groups: ['app-admins'] },
      { path: '/admin/reports/', groups: ['app-admins', 'auditors'] },
      { path: '/locked', groups: [] },
    ],
  };
  const auditor: PolicySubject = { email: 'a@example.com', groups: ['auditors'], mfa: true };

  it.each([
    // [url, subject, allowed]
    ['/', alice, true],
    ['/home', alice, true],
    ['/admin', alice, false],
    ['/admin', admin, true],
    ['/admin/', alice, false],
    ['/admin/users', alice, false],
    ['/admin/users', admin, true],
    ['/administrator', alice, true], // not at a / boundary
    ['/admin-tools', alice, true],
    ['/admin?x=1', alice, false],
    ['/home?next=/admin', alice, true], // the query never counts
    ['/home#/admin', alice, true],
    ['/admin/reports', auditor, true], // longest prefix wins
    ['/admin/reports/q3.pdf', auditor, true],
    ['/admin/reportsX', auditor, false],
    ['/admin/users', auditor, false],
    ['/locked', admin, false], // empty groups: nobody
    ['/locked/x', admin, false],
    // normalisation: every reading the upstream might take must pass
    ['/public/../admin', alice, false],
    ['/public/%2e%2e/admin', alice, false],
    ['/public/%2E%2E/admin', alice, false],
    ['/./admin', alice, false],
    ['//admin', alice, false],
    ['/ADMIN', alice, false],
    ['/Admin/users', alice, false],
    ['/%61dmin', alice, false],
    ['/admin%2fusers', alice, false],
    ['/x/..%2fadmin', alice, false],
    ['/x\\..\\admin', alice, false],
    ['/admin;jsessionid=1', alice, false],
    ['/admin./users', alice, false],
    ['/admin%20/users', alice, false],
    ['/admin%00.css', alice, false],
    ['/admin/../home', alice, false], // an upstream that does not resolve dots sees /admin/...
    ['/admin/%zz', admin, false], // undecodable: fail closed
    ['*', alice, false],
    ['http://evil/admin', alice, false],
  ] as const)('%s (%#)', (url, subject, allowed) => {
    const decision = request(rules, url, subject);
    expect(decision.allow).toBe(allowed);
    if (!decision.allow) expect(decision.reason).toBe('path-not-allowed');
  });

  it('a root rule covers everything, and a longer one can widen it', () => {
    const config: PolicyConfig = {
      pathRules: [
        { path: '/', groups: ['staff'] },
        { path: '/help', groups: ['staff', 'app-users'] },
      ],
    };
    expect(request(config, '/anything', alice).allow).toBe(false);
    expect(request(config, '/help/faq', alice).allow).toBe(true);
    expect(request(config, '/anything', { ...alice, groups: ['staff'] }).allow).toBe(true);
  });

  it('case-sensitive when configured', () => {
    const config: PolicyConfig = { ...rules, pathCaseSensitive: true };
    expect(request(config, '/ADMIN', alice).allow).toBe(true);
    expect(request(config, '/admin', alice).allow).toBe(false);
  });

  it('no rules: every path is fine, even unreadable ones', () => {
    expect(request({}, '/admin/%zz', alice)).toEqual({ allow: true });
  });

  it('says groups-overage when the IdP left groups out', () => {
    expect(request(rules, '/admin', { ...alice, groupsOverage: true })).toMatchObject({
      reason: 'groups-overage',
    });
    expect(request(rules, '/locked', { ...alice, groupsOverage: true })).toMatchObject({
      reason: 'path-not-allowed',
    });
  });

  it('pathReadings gives the upstream readings of a path', () => {
    expect(pathReadings('/a/./b/../c?x')).toEqual(expect.arrayContaining(['/a/c', '/a/./b/../c']));
    expect(pathReadings('/A%2Fb')).toEqual(expect.arrayContaining(['/a%2fb', '/a/b']));
    expect(pathReadings('/plain/path')).toEqual(['/plain/path']);
  });

  it.each([
    '/',
    '/admin',
    '/admin/',
    '/Admin/Reports/2026',
    '/a-b_c~d/e@f:g+h/ÅÄÖ/x\tz',
    '/deep/er/and/deeper/still',
  ])('the single reading of plain path %s is the one the full reading finds', (path) => {
    // A `;x` suffix forces the full four readings (it is stripped from the segment).
    expect(pathReadings(path)).toEqual(pathReadings(`${path};x`));
    expect(pathReadings(path, true)).toEqual(pathReadings(`${path};x`, true));
  });

  it.each([
    ['encoded slash', '/public%2F..%2Fadmin'],
    ['dot segment', '/public/../admin'],
    ['trailing dot', '/admin.'],
    ['trailing space', '/admin%20'],
    ['leading double slash', '//admin'],
    ['matrix parameter', '/admin;jsessionid=1'],
  ])('path-rule bypass by %s still gets every reading (no fast path)', (_attack, path) => {
    expect(pathReadings(path)).toContain('/admin');
  });
});

describe('compilePolicy rejects', () => {
  it.each([
    ['a rule path without a leading slash', { pathRules: [{ path: 'admin', groups: [] }] }],
    ['a rule path with a query', { pathRules: [{ path: '/admin?x', groups: [] }] }],
    ['a rule path with dot segments', { pathRules: [{ path: '/a/../admin', groups: [] }] }],
    ['a rule path with percent-encoding', { pathRules: [{ path: '/%61dmin', groups: [] }] }],
    [
      'two rules for one path',
      {
        pathRules: [
          { path: '/admin', groups: [] },
          { path: '/Admin/', groups: ['x'] },
        ],
      },
    ],
    ['a domain that is not one', { emailDomains: ['not a domain'] }],
    ['a bare wildcard', { emailDomains: ['*'] }],
    ['a single label', { emailDomains: ['localhost'] }],
  ] as const)('%s', (_name, config) => {
    expect(() => compilePolicy(config)).toThrow(PolicyConfigError);
  });
});

describe('accessPolicySchema', () => {
  it('defaults to allowing everyone', () => {
    expect(DEFAULT_ACCESS_POLICY).toEqual({
      groupWhitelist: { active: false, groups: [] },
      emailDomains: [],
      mfaRequired: false,
      pathRules: [],
      pathCaseSensitive: false,
      groupsCaseInsensitive: false,
      idpCheck: 'off',
    });
  });

  it('parses a full policy', () => {
    const parsed = accessPolicySchema.parse({
      groupWhitelist: { active: true, groups: ['app-users'] },
      emailDomains: ['example.com', '*.example.com'],
      mfaRequired: true,
      pathRules: [{ path: '/admin', groups: ['app-admins'] }],
      idpCheck: 'if-known',
    });
    expect(login(parsed, admin)).toEqual({ allow: true });
  });

  it.each([
    ['an unknown key', { groupWhitelist: { active: true, groups: [], extra: 1 } }],
    ['a bad domain', { emailDomains: ['exa mple.com'] }],
    ['a bad rule path', { pathRules: [{ path: 'admin', groups: [] }] }],
    ['an unknown idpCheck', { idpCheck: 'yes' }],
  ])('rejects %s', (_name, input) => {
    expect(accessPolicySchema.safeParse(input).success).toBe(false);
  });
});
