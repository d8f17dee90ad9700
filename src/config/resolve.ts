/**
 * Applies defaults and cross-file rules to validated config files and returns
 * the frozen runtime shape. Cross-file problems (duplicate prefixes, a
 * default tenant that does not exist…) are appended to `problems`.
 */

import { createPrivateKey } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import type { ConfigProblem } from './loader.ts';
import { resolveSamlIdp, resolveSamlServiceProvider } from './resolve-saml.ts';
import type { GlobalConfigFile, IdpConfigFile, OidcIdpConfigFile, TenantConfigFile } from './schema.ts';
import type {
  IdentityHeaderConfig,
  IdpConfig,
  OidcIdpConfig,
  SamlIdpConfig,
  SlussConfig,
  TenantConfig,
} from './types.ts';

/** Header names compare case-insensitively and proxies fold `_` into `-`: normalise both. */
export function normaliseHeaderName(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

export function resolveConfig(
  dir: string,
  global: GlobalConfigFile,
  tenantFiles: readonly { file: string; data: TenantConfigFile }[],
  sharedIdps: readonly { file: string; data: IdpConfigFile }[],
  problems: ConfigProblem[],
): SlussConfig {
  const publicOrigin = new URL(global.publicUrl).origin;
  const shared = new Map<string, IdpConfig>();
  for (const { file, data } of sharedIdps) {
    const other = shared.get(data.id);
    if (other)
      problems.push({ file, path: 'id', message: `"${data.id}" is already defined in ${other.sharedFrom}` });
    else shared.set(data.id, resolveIdp(data, '', file, file, problems));
  }
  const tenants = tenantFiles.map(({ file, data }) =>
    resolveTenant(file, data, publicOrigin, global.saml, shared, problems),
  );
  checkUniqueTenants(tenants, problems);

  let defaultTenant = global.defaultTenant;
  if (defaultTenant !== undefined && !tenants.some((t) => t.prefix === defaultTenant)) {
    problems.push({
      file: 'sluss.yaml',
      path: 'defaultTenant',
      message: `names no tenant (have: ${tenants.map((t) => t.prefix).join(', ')})`,
    });
  }
  if (defaultTenant === undefined && tenants.length === 1) defaultTenant = tenants[0]?.prefix;

  const secure = global.cookies.secure;
  if (global.store.type === 'redis' && !global.store.url) {
    problems.push({ file: 'sluss.yaml', path: 'store.url', message: 'is required with store.type redis' });
  }
  const nonLoopback = [publicOrigin, ...tenants.map((tenant) => tenant.publicOrigin)].find(
    (o) => !isLoopbackOrigin(o),
  );
  if (!secure && nonLoopback) {
    problems.push({
      file: 'sluss.yaml',
      path: 'cookies.secure',
      message: `may be false only when every public URL is a loopback http URL (not ${nonLoopback})`,
    });
  }
  if (global.cookies.sameSite === 'none' && !secure) {
    problems.push({
      file: 'sluss.yaml',
      path: 'cookies.sameSite',
      message: '"none" requires cookies.secure: true',
    });
  }
  const cookieName = global.cookies.name ?? (secure ? '__Host-sluss' : 'sluss');
  if (cookieName.startsWith('__Host-') && !secure) {
    problems.push({
      file: 'sluss.yaml',
      path: 'cookies.name',
      message: 'a __Host- cookie requires cookies.secure: true',
    });
  }

  const config: SlussConfig = {
    dir,
    publicOrigin,
    listen: global.listen,
    trustedProxies: global.trustedProxies,
    upstream: {
      origin: new URL(global.upstream.url).origin,
      preserveHost: global.upstream.preserveHost,
      timeoutMs: global.upstream.timeoutSeconds * 1000,
      publicPaths: global.upstream.publicPaths,
    },
    cookies: {
      name: cookieName,
      // Transaction cookies live beside the session cookie and share its prefix rules.
      txnPrefix: `${cookieName}-txn-`,
      secret: global.cookies.secret,
      previousSecrets: global.cookies.previousSecrets,
      secure,
      sameSite: global.cookies.sameSite,
    },
    identityHeaders: resolveHeaders(global.identityHeaders, problems),
    signingKeys: global.signingKeys.map((key) => ({ kid: key.kid, privateKeyPem: key.privateKey })),
    logging: global.logging,
    audit: global.audit,
    store: {
      type: global.store.type,
      path: isAbsolute(global.store.path) ? global.store.path : join(dir, global.store.path),
      url: global.store.url,
      keyPrefix: global.store.keyPrefix,
      graceSeconds: global.store.graceSeconds,
    },
    tenants,
    defaultTenant,
  };
  return deepFreeze(config);
}

function resolveTenant(
  file: string,
  data: TenantConfigFile,
  publicOrigin: string,
  globalSaml: GlobalConfigFile['saml'],
  shared: ReadonlyMap<string, IdpConfig>,
  problems: ConfigProblem[],
): TenantConfig {
  const origin = data.publicUrl ? new URL(data.publicUrl).origin : publicOrigin;
  const idps: IdpConfig[] = [];
  data.idps.forEach((entry, index) => {
    const at = `idps[${index}]`;
    const idp = 'use' in entry ? shared.get(entry.use) : resolveIdp(entry, at, file, undefined, problems);
    if (!idp) {
      const known = [...shared.keys()].join(', ') || 'none';
      problems.push({
        file,
        path: `${at}.use`,
        message: `names no shared IdP in idps/*.yaml (have: ${known})`,
      });
      return;
    }
    if (idps.some((other) => other.id === idp.id))
      problems.push({ file, path: `${at}.id`, message: `duplicate IdP id "${idp.id}"` });
    idps.push(idp);
  });
  if (data.scim?.idp !== undefined && !idps.some((idp) => idp.id === data.scim?.idp)) {
    problems.push({
      file,
      path: 'scim.idp',
      message: `names no IdP of this tenant (have: ${idps.map((idp) => idp.id).join(', ')})`,
    });
  }
  if (idps.length > 0 && !idps.some((idp) => idp.active)) {
    problems.push({ file, path: 'idps', message: 'has no active IdP: nobody could sign in' });
  }
  const samlIdps = idps.filter((idp): idp is SamlIdpConfig => idp.type === 'saml');
  return {
    prefix: data.prefix,
    title: data.title,
    publicOrigin: origin,
    idps,
    session: data.session,
    active: data.active,
    validFrom: data.validFrom === undefined ? undefined : Date.parse(data.validFrom),
    validUntil: data.validUntil === undefined ? undefined : Date.parse(data.validUntil),
    version: data.version === undefined ? undefined : String(data.version),
    notes: data.notes,
    domains: data.domains.map((domain) => domain.toLowerCase()),
    homeRealmDiscovery: data.homeRealmDiscovery,
    scim: data.scim,
    policy: data.policy,
    userIdentifier: data.userIdentifier,
    branding: data.branding,
    errorRedirectUrl: data.errorRedirectUrl,
    saml:
      samlIdps.length > 0
        ? resolveSamlServiceProvider(data.saml, globalSaml, origin, samlIdps, file, problems)
        : undefined,
    source: file,
  };
}

/** One IdP entry (inline in a tenant, or shared in `idps/`), with the fields every protocol has. */
function resolveIdp(
  idp: IdpConfigFile,
  at: string,
  file: string,
  sharedFrom: string | undefined,
  problems: ConfigProblem[],
): IdpConfig {
  const common = {
    active: idp.active,
    logo: idp.logo,
    emailDomains: idp.emailDomains.map((domain) => domain.toLowerCase()),
    sessionLengthSeconds: idp.sessionLengthSeconds,
    mapping: idp.mapping,
    sharedFrom,
  };
  return idp.type === 'oidc'
    ? { ...resolveOidcIdp(idp, at, file, problems), ...common }
    : { ...resolveSamlIdp(idp, at, file, problems), ...common };
}

/** Fields resolveIdp adds to every protocol's entry. */
export type IdpCommonExtras =
  | 'active'
  | 'logo'
  | 'emailDomains'
  | 'sessionLengthSeconds'
  | 'mapping'
  | 'sharedFrom';

/** Defaults and the rules that span several keys of one OIDC IdP. */
function resolveOidcIdp(
  idp: OidcIdpConfigFile,
  at: string,
  file: string,
  problems: ConfigProblem[],
): Omit<OidcIdpConfig, IdpCommonExtras> {
  const problem = (path: string, message: string) => problems.push({ file, path: `${at}.${path}`, message });
  const method = idp.tokenEndpointAuthMethod ?? (idp.clientSecret ? 'client_secret_basic' : 'none');
  if ((method === 'client_secret_basic' || method === 'client_secret_post') && !idp.clientSecret) {
    problem('clientSecret', `is required for tokenEndpointAuthMethod ${method}`);
  }
  if (method === 'private_key_jwt' && !idp.clientPrivateKey) {
    problem('clientPrivateKey', 'is required for tokenEndpointAuthMethod private_key_jwt');
  }
  if (idp.clientPrivateKey) {
    const keyProblem = clientKeyProblem(idp.clientPrivateKey);
    if (keyProblem) problem('clientPrivateKey', keyProblem);
    if (method !== 'private_key_jwt')
      problem('clientPrivateKey', 'is only used with tokenEndpointAuthMethod private_key_jwt');
  }
  if (method === 'none' && idp.clientSecret)
    problem('clientSecret', 'must not be set with tokenEndpointAuthMethod none');
  if (idp.endpoints && idp.discoveryUrl)
    problem('discoveryUrl', 'conflicts with endpoints: use one or the other');

  const implicit = idp.responseType !== 'code';
  const responseMode = idp.responseMode ?? (implicit ? 'form_post' : 'query');
  if (implicit && responseMode !== 'form_post') {
    problem(
      'responseMode',
      `must be form_post for responseType "${idp.responseType}" (a fragment never reaches sluss)`,
    );
  }
  if (idp.skipAtHashCheck && idp.responseType !== 'id_token token') {
    problem('skipAtHashCheck', 'only applies to responseType "id_token token"');
  }
  if (idp.userinfo && idp.responseType === 'id_token') {
    problem('userinfo', 'needs an access token: use responseType code or "id_token token"');
  }
  if (idp.userinfo && idp.endpoints && !idp.endpoints.userinfo)
    problem('endpoints.userinfo', 'is required when userinfo is true');
  if (idp.refresh.enabled && implicit)
    problem('refresh.enabled', 'needs responseType code (implicit flows get no refresh token)');
  if (idp.mfa.source === 'acr' && idp.mfa.acrValues.length === 0)
    problem('mfa.acrValues', 'must list the acr values that mean MFA');

  return {
    id: idp.id,
    type: idp.type,
    title: idp.title ?? idp.id,
    issuer: idp.issuer,
    discoveryUrl: idp.endpoints ? undefined : (idp.discoveryUrl ?? discoveryUrlFor(idp.issuer)),
    endpoints: idp.endpoints,
    metadataRefreshSeconds: idp.metadataRefreshSeconds,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    tokenEndpointAuthMethod: method,
    clientPrivateKey: idp.clientPrivateKey,
    clientKeyId: idp.clientKeyId,
    idTokenSigningAlgs: idp.idTokenSigningAlgs,
    expectedKeyId: idp.expectedKeyId,
    scopes: idp.scopes,
    responseType: idp.responseType,
    responseMode,
    skipAtHashCheck: idp.skipAtHashCheck,
    userinfo: idp.userinfo,
    trustUnverifiedEmail: idp.trustUnverifiedEmail,
    refresh: idp.refresh,
    mfa: idp.mfa,
    clockSkewSeconds: idp.clockSkewSeconds,
    backchannelLogout: idp.backchannelLogout,
    rpInitiatedLogout: idp.rpInitiatedLogout,
    errorRedirectUrl: idp.errorRedirectUrl,
  };
}

/** OpenID Connect Discovery 1.0 §4: the issuer with `/.well-known/openid-configuration` appended to its path. */
export function discoveryUrlFor(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

function clientKeyProblem(pem: string): string | undefined {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'ec'
      ? undefined
      : 'must be an RSA or EC private key';
  } catch {
    return 'is not a readable PEM private key';
  }
}

function checkUniqueTenants(tenants: readonly TenantConfig[], problems: ConfigProblem[]): void {
  const byPrefix = new Map<string, string>();
  for (const tenant of tenants) {
    const key = tenant.prefix.toLowerCase();
    const other = byPrefix.get(key);
    if (other)
      problems.push({
        file: tenant.source,
        path: 'prefix',
        message: `"${tenant.prefix}" is already used by ${other}`,
      });
    byPrefix.set(key, tenant.source);
  }
  const byOrigin = new Map<string, string>();
  for (const tenant of tenants) {
    const other = byOrigin.get(tenant.publicOrigin);
    if (other && tenants.length > 1) {
      problems.push({
        file: tenant.source,
        path: 'publicUrl',
        message: `${tenant.publicOrigin} is already served by ${other}`,
      });
    }
    byOrigin.set(tenant.publicOrigin, tenant.source);
  }
}

function resolveHeaders(
  headers: GlobalConfigFile['identityHeaders'],
  problems: ConfigProblem[],
): IdentityHeaderConfig {
  const jwtHeader = normaliseHeaderName(headers.jwt.header);
  const plain: Record<string, string> = {};
  const seen = new Map<string, string>([[jwtHeader, 'jwt.header']]);
  for (const [field, name] of Object.entries(headers.plain)) {
    if (name === undefined) continue;
    const normalised = normaliseHeaderName(name);
    const clash = seen.get(normalised);
    if (clash) {
      problems.push({
        file: 'sluss.yaml',
        path: `identityHeaders.plain.${field}`,
        message: `same header as identityHeaders.${clash}`,
      });
    }
    seen.set(normalised, `plain.${field}`);
    plain[field] = normalised;
  }
  const stripped = new Set<string>([...seen.keys(), ...headers.strip.map(normaliseHeaderName)]);
  return {
    jwt: { header: jwtHeader, audience: headers.jwt.audience, ttlSeconds: headers.jwt.ttlSeconds },
    plain,
    stripped: [...stripped],
  };
}

function isLoopbackOrigin(origin: string): boolean {
  const { hostname, protocol } = new URL(origin);
  return (
    protocol === 'http:' && (hostname === 'localhost' || hostname === '[::1]' || hostname.startsWith('127.'))
  );
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
