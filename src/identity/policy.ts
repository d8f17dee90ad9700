/**
 * Access policy: whether a mapped user may in (login time) and may reach a path
 * (request time). Pure and cheap: `compilePolicy` once per tenant, then the
 * evaluators do no parsing beyond the request path. Every denial carries a
 * stable reason code for the denial page and the audit log.
 *
 * Login time, in this order: identity complete, IdP check, email domain, group
 * whitelist, MFA (last, so a step-up at the IdP is only tried when it could help).
 * Request time: per-path group rules, longest matching prefix wins.
 */
import { domainToASCII } from 'node:url';

export const DENY_REASONS = [
  'group-not-allowed',
  'email-domain-not-allowed',
  'mfa-required',
  'path-not-allowed',
  'idp-mismatch',
  'identity-incomplete',
  'groups-overage',
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

export type PolicyDecision =
  | { readonly allow: true }
  | { readonly allow: false; readonly reason: DenyReason; readonly detail?: string };

export type IdpCheckMode = 'off' | 'if-known' | 'required';

/** The tenant policy as configured (the shape of `PolicyConfig` in schema-identity.ts). */
export interface PolicyConfig {
  /** Active: only members of `groups` get in; active with an empty list lets nobody in. */
  readonly groupWhitelist?: { readonly active: boolean; readonly groups: readonly string[] };
  /** `example.com` (exactly) or `*.example.com` (any subdomain, not the domain itself); empty: any. */
  readonly emailDomains?: readonly string[];
  readonly mfaRequired?: boolean;
  /** A request under `path` needs one of `groups` (an empty list: nobody). */
  readonly pathRules?: readonly { readonly path: string; readonly groups: readonly string[] }[];
  /** Match path rules case-sensitively (default: case-insensitive, which also covers IIS). */
  readonly pathCaseSensitive?: boolean;
  /** Match group names case-insensitively (default: exact). */
  readonly groupsCaseInsensitive?: boolean;
  /** `if-known`: deny when the user belongs to another IdP; `required`: also when that is unknown. */
  readonly idpCheck?: IdpCheckMode;
}

interface CompiledPathRule {
  /** Canonical prefix without a trailing slash; `''` for the root rule. */
  readonly prefix: string;
  readonly path: string;
  readonly groups: ReadonlySet<string>;
}

export interface CompiledPolicy {
  readonly whitelist: ReadonlySet<string> | undefined;
  readonly exactDomains: ReadonlySet<string>;
  /** `.example.com` for `*.example.com`. */
  readonly domainSuffixes: readonly string[];
  readonly mfaRequired: boolean;
  /** Longest prefix first. */
  readonly pathRules: readonly CompiledPathRule[];
  readonly pathCaseSensitive: boolean;
  readonly groupsCaseInsensitive: boolean;
  readonly idpCheck: IdpCheckMode;
}

/** What the policy needs to know about a user: fits both `Identity` and a mapped identity. */
export interface PolicySubject {
  readonly email?: string;
  readonly groups: readonly string[];
  readonly mfa: boolean;
  /** Groups left out by the IdP (Entra overage): a group denial then says so. */
  readonly groupsOverage?: boolean;
}

export interface LoginContext {
  /** ID of the IdP this login came through. */
  readonly idpId: string;
  /** ID of the IdP the user belongs to (from the user directory), when known. */
  readonly expectedIdp?: string;
}

export interface RequestContext {
  /** The request target as received (`/path?query`); the query never counts. */
  readonly url: string;
}

export class PolicyConfigError extends Error {
  override readonly name = 'PolicyConfigError';
}

const ALLOW: PolicyDecision = Object.freeze({ allow: true });

function deny(reason: DenyReason, detail?: string): PolicyDecision {
  return detail === undefined ? { allow: false, reason } : { allow: false, reason, detail };
}

/** Lower-case ASCII (punycode) form of a domain, or undefined when it is not a valid one. */
function asciiDomain(domain: string): string | undefined {
  const ascii = domainToASCII(domain.toLowerCase());
  return ascii !== '' && /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(ascii) ? ascii : undefined;
}

// ---------------------------------------------------------------------------------------------
// Paths

/**
 * A request path read one way an upstream might read it: optionally percent-decoded once
 * (with backslashes as slashes), optionally with dot segments resolved. Always: empty
 * segments dropped (`//`), `;params` cut (Tomcat), trailing dots and spaces cut (Windows),
 * anything after a NUL cut. Undefined when it cannot be decoded.
 */
function readPath(path: string, decode: boolean, resolveDots: boolean, caseSensitive: boolean) {
  let text = path;
  if (decode) {
    try {
      text = decodeURIComponent(text).replace(/\\/g, '/');
    } catch {
      return undefined;
    }
  }
  const out: string[] = [];
  for (const raw of text.split('/')) {
    let segment = raw;
    const nul = segment.indexOf('\0');
    if (nul !== -1) segment = segment.slice(0, nul);
    const semicolon = segment.indexOf(';');
    if (semicolon !== -1) segment = segment.slice(0, semicolon);
    const isDot = /^(\.|%2e)$/i.test(segment);
    const isDotDot = /^(\.|%2e){2}$/i.test(segment);
    if (resolveDots && isDot) continue;
    if (resolveDots && isDotDot) {
      out.pop();
      continue;
    }
    if (!isDot && !isDotDot) segment = segment.replace(/[. ]+$/, '');
    if (segment !== '') out.push(segment);
  }
  const joined = `/${out.join('/')}`;
  return caseSensitive ? joined : joined.toLowerCase();
}

/**
 * Every way the upstream might read the request path (fail closed: a request must pass
 * the rules for all of them). Undefined when the target is no usable origin-form path.
 */
/** No %, backslash, ;, NUL, dot, space or empty segment (a trailing "/" is fine): every reading is the same. */
const PLAIN_PATH = /^(\/[^/%\\;\0. ]+)*\/?$/;

export function pathReadings(url: string, caseSensitive = false): string[] | undefined {
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (!path.startsWith('/')) return undefined;
  // Hot path: a path with nothing to decode, resolve or strip has exactly one reading.
  if (PLAIN_PATH.test(path)) {
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    return [caseSensitive ? trimmed : trimmed.toLowerCase()];
  }
  const readings = new Set<string>();
  for (const decode of [false, true]) {
    for (const resolveDots of [false, true]) {
      const reading = readPath(path, decode, resolveDots, caseSensitive);
      if (reading === undefined) return undefined;
      readings.add(reading);
    }
  }
  return [...readings];
}

function canonicalRulePath(path: string, caseSensitive: boolean): string {
  if (!path.startsWith('/') || /[?#%\\;\0]/.test(path))
    throw new PolicyConfigError(
      `The path rule "${path}" must be a plain absolute path (no query, %, \\ or ;).`,
    );
  if (path.split('/').some((segment) => segment === '.' || segment === '..'))
    throw new PolicyConfigError(`The path rule "${path}" must not contain dot segments.`);
  const reading = readPath(path, false, true, caseSensitive) ?? path;
  return reading === '/' ? '' : reading;
}

// ---------------------------------------------------------------------------------------------
// Compilation

export function compilePolicy(config: PolicyConfig): CompiledPolicy {
  const groupsCaseInsensitive = config.groupsCaseInsensitive ?? false;
  const groupKey = (group: string) => (groupsCaseInsensitive ? group.toLowerCase() : group);
  const pathCaseSensitive = config.pathCaseSensitive ?? false;

  const exactDomains = new Set<string>();
  const domainSuffixes: string[] = [];
  for (const entry of config.emailDomains ?? []) {
    const wildcard = entry.startsWith('*.');
    const domain = asciiDomain(wildcard ? entry.slice(2) : entry);
    if (domain === undefined) throw new PolicyConfigError(`"${entry}" is not a domain name.`);
    if (wildcard) domainSuffixes.push(`.${domain}`);
    else exactDomains.add(domain);
  }

  const seen = new Set<string>();
  const pathRules: CompiledPathRule[] = [];
  for (const rule of config.pathRules ?? []) {
    const prefix = canonicalRulePath(rule.path, pathCaseSensitive);
    if (seen.has(prefix)) throw new PolicyConfigError(`Two path rules are for "${rule.path}".`);
    seen.add(prefix);
    pathRules.push({ prefix, path: rule.path, groups: new Set(rule.groups.map(groupKey)) });
  }
  pathRules.sort((a, b) => b.prefix.length - a.prefix.length);

  const whitelist = config.groupWhitelist;
  return {
    whitelist: whitelist?.active ? new Set(whitelist.groups.map(groupKey)) : undefined,
    exactDomains,
    domainSuffixes,
    mfaRequired: config.mfaRequired ?? false,
    pathRules,
    pathCaseSensitive,
    groupsCaseInsensitive,
    idpCheck: config.idpCheck ?? 'off',
  };
}

/** Why a policy config cannot be compiled, or undefined (for config validation). */
export function policyConfigProblem(config: PolicyConfig): string | undefined {
  try {
    compilePolicy(config);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

function memberOfAny(subject: PolicySubject, allowed: ReadonlySet<string>, policy: CompiledPolicy): boolean {
  if (allowed.size === 0) return false;
  return subject.groups.some((group) =>
    allowed.has(policy.groupsCaseInsensitive ? group.toLowerCase() : group),
  );
}

function emailDomainAllowed(email: string, policy: CompiledPolicy): boolean {
  const at = email.lastIndexOf('@');
  if (at <= 0) return false;
  const domain = asciiDomain(email.slice(at + 1));
  if (domain === undefined) return false;
  if (policy.exactDomains.has(domain)) return true;
  return policy.domainSuffixes.some((suffix) => domain.endsWith(suffix));
}

/** Login-time rules: IdP check, email domain, group whitelist, MFA. */
export function evaluateLogin(
  subject: PolicySubject,
  policy: CompiledPolicy,
  login: LoginContext,
): PolicyDecision {
  if (policy.idpCheck !== 'off') {
    if (login.expectedIdp === undefined) {
      if (policy.idpCheck === 'required')
        return deny('idp-mismatch', 'The user is not known to belong to any identity provider.');
    } else if (login.expectedIdp !== login.idpId) {
      return deny('idp-mismatch', `The user must sign in through identity provider "${login.expectedIdp}".`);
    }
  }

  if (policy.exactDomains.size > 0 || policy.domainSuffixes.length > 0) {
    if (subject.email === undefined || subject.email === '')
      return deny('identity-incomplete', 'The identity provider sent no email address.');
    if (!emailDomainAllowed(subject.email, policy))
      return deny('email-domain-not-allowed', 'The email domain is not allowed for this application.');
  }

  if (policy.whitelist !== undefined && !memberOfAny(subject, policy.whitelist, policy)) {
    if (policy.whitelist.size === 0)
      return deny('group-not-allowed', 'The group whitelist is active and empty: nobody may sign in.');
    if (subject.groupsOverage)
      return deny(
        'groups-overage',
        'The identity provider left the groups out (too many); send fewer groups (e.g. groups assigned to the application).',
      );
    return deny('group-not-allowed', 'The user is in none of the allowed groups.');
  }

  if (policy.mfaRequired && !subject.mfa)
    return deny('mfa-required', 'This application requires multi-factor authentication.');
  return ALLOW;
}

/** Request-time rules: the per-path group rules, on every reading of the path. */
export function evaluateRequest(
  subject: PolicySubject,
  policy: CompiledPolicy,
  request: RequestContext,
): PolicyDecision {
  if (policy.pathRules.length === 0) return ALLOW;
  const readings = pathReadings(request.url, policy.pathCaseSensitive);
  if (readings === undefined)
    return deny('path-not-allowed', 'The request path cannot be read unambiguously.');
  for (const reading of readings) {
    const rule = policy.pathRules.find(
      (candidate) =>
        candidate.prefix === '' || reading === candidate.prefix || reading.startsWith(`${candidate.prefix}/`),
    );
    if (rule !== undefined && !memberOfAny(subject, rule.groups, policy)) {
      return deny(
        subject.groupsOverage && rule.groups.size > 0 ? 'groups-overage' : 'path-not-allowed',
        `Access to ${rule.path} needs membership in one of its groups.`,
      );
    }
  }
  return ALLOW;
}

/** Both: login-time rules first, then the path rules for this request. */
export function evaluatePolicy(
  subject: PolicySubject,
  policy: CompiledPolicy,
  request: LoginContext & RequestContext,
): PolicyDecision {
  const login = evaluateLogin(subject, policy, request);
  return login.allow ? evaluateRequest(subject, policy, request) : login;
}
