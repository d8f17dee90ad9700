/**
 * Applies defaults and cross-file rules to validated config files and returns
 * the frozen runtime shape. Cross-file problems (duplicate prefixes, a
 * default tenant that does not exist…) are appended to `problems`.
 */

import type { ConfigProblem } from './loader.ts';
import type { GlobalConfigFile, TenantConfigFile } from './schema.ts';
import type { IdentityHeaderConfig, SlussConfig, TenantConfig } from './types.ts';

/** Header names compare case-insensitively and proxies fold `_` into `-`: normalise both. */
export function normaliseHeaderName(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

export function resolveConfig(
  dir: string,
  global: GlobalConfigFile,
  tenantFiles: readonly { file: string; data: TenantConfigFile }[],
  problems: ConfigProblem[],
): SlussConfig {
  const publicOrigin = new URL(global.publicUrl).origin;
  const tenants = tenantFiles.map(({ file, data }) => resolveTenant(file, data, publicOrigin, problems));
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
  if (!secure && !isLoopbackOrigin(publicOrigin)) {
    problems.push({
      file: 'sluss.yaml',
      path: 'cookies.secure',
      message: 'may be false only when publicUrl is a loopback http URL',
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
    tenants,
    defaultTenant,
  };
  return deepFreeze(config);
}

function resolveTenant(
  file: string,
  data: TenantConfigFile,
  publicOrigin: string,
  problems: ConfigProblem[],
): TenantConfig {
  const ids = new Set<string>();
  data.idps.forEach((idp, index) => {
    if (ids.has(idp.id))
      problems.push({ file, path: `idps[${index}].id`, message: `duplicate IdP id "${idp.id}"` });
    ids.add(idp.id);
  });
  return {
    prefix: data.prefix,
    title: data.title,
    publicOrigin: data.publicUrl ? new URL(data.publicUrl).origin : publicOrigin,
    idps: data.idps.map((idp) => ({
      id: idp.id,
      type: idp.type,
      title: idp.title ?? idp.id,
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      scopes: idp.scopes,
    })),
    session: data.session,
    source: file,
  };
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
