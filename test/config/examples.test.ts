/**
 * Every example under config/examples/ must pass `check-config`: each is
 * copied to a temp dir, the secret files it references are created there (a
 * fresh EC P-256 key for every PEM; for a `keys/x.pem` with a `keys/x.crt`
 * beside it, as SAML keys have, an RSA key and its self-signed certificate;
 * a rediss:// URL for `secrets/*redis-url`; random strings for the rest), and the check must report the expected tenant
 * and IdP counts.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkConfig } from '../../src/config/check.ts';
import { loadConfig } from '../../src/config/loader.ts';
import { generateKeyPairWithCertificate, type KeyPairWithCertificate } from '../support/certificates.ts';

const EXAMPLES = join(process.cwd(), 'config/examples');

/** Expected [tenants, identity providers] per example directory. */
const EXPECTED: Record<string, [number, number]> = {
  adfs: [1, 1],
  entra: [1, 1],
  generic: [1, 2],
  google: [1, 1],
  keycloak: [1, 1],
  okta: [1, 1],
  'saml-adfs': [1, 1],
  'saml-generic': [1, 2],
  // hr: the shared IdP; sales: the shared IdP and its own SAML IdP.
  'multi-tenant': [2, 3],
  'replicas-redis': [1, 1],
  'scim-entra': [1, 1],
};

/** Keys whose values are secrets: they must be `${file:...}` references, never literals. */
const SECRET_KEYS = new Set([
  'secret',
  'previousSecrets',
  'clientSecret',
  'privateKey',
  'clientPrivateKey',
  'signingKey',
  'encryptionKey',
]);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** sluss.yaml, tenants/*.yaml and the shared IdPs in idps/*.yaml (optional). */
function yamlFiles(dir: string): string[] {
  const list = (sub: string) => {
    try {
      return readdirSync(join(dir, sub))
        .filter((name) => /\.ya?ml$/.test(name))
        .map((name) => `${sub}/${name}`);
    } catch {
      return [];
    }
  };
  return ['sluss.yaml', ...list('idps'), ...list('tenants')];
}

/** Every string value in a parsed YAML tree (comments are not values). */
function stringValues(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (node === null || typeof node !== 'object') return [];
  return Object.values(node).flatMap(stringValues);
}

/** Every `${file:PATH}` in the example's YAML values. */
function fileReferences(dir: string): string[] {
  const refs = new Set<string>();
  for (const file of yamlFiles(dir)) {
    for (const value of stringValues(parse(readFileSync(join(dir, file), 'utf8'))))
      for (const match of value.matchAll(/\$\{file:([^}]*)\}/g)) refs.add(match[1] ?? '');
  }
  return [...refs];
}

/** `keys/sp-signing.pem` + `keys/sp-signing.crt` → `keys/sp-signing`: an RSA key with its certificate. */
function stem(path: string): string {
  return path.replace(/\.(pem|crt)$/, '');
}

function secretFor(path: string, pairs: ReadonlyMap<string, KeyPairWithCertificate>): string {
  // A Redis URL carries its password, so examples keep it in a secret file.
  if (path.endsWith('redis-url'))
    return `rediss://:${randomBytes(16).toString('hex')}@redis.example:6380/0\n`;
  const pair = pairs.get(stem(path));
  if (pair) return path.endsWith('.crt') ? pair.certificatePem : pair.privateKeyPem;
  if (path.endsWith('.pem')) {
    return generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
  }
  return `${randomBytes(32).toString('base64')}\n`;
}

/** A copy of the example with its secret files in place. */
function materialise(example: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sluss-example-${example}-`));
  dirs.push(dir);
  cpSync(join(EXAMPLES, example), dir, { recursive: true });
  const refs = fileReferences(dir);
  // Certificates (SAML SP keys, IdP certificates): one RSA key pair per stem, so key and certificate match.
  const pairs = new Map(
    refs
      .filter((ref) => ref.endsWith('.crt'))
      .map((ref) => [stem(ref), generateKeyPairWithCertificate(`sluss example ${stem(ref)}`)] as const),
  );
  for (const ref of refs) {
    const path = join(dir, ref);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, secretFor(ref, pairs));
  }
  return dir;
}

/** [path, value] for every secret-bearing key in a parsed YAML tree. */
function secretValues(node: unknown, path = ''): [string, unknown][] {
  if (Array.isArray(node)) return node.flatMap((item, i) => secretValues(item, `${path}[${i}]`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => {
    const at = path ? `${path}.${key}` : key;
    if (!SECRET_KEYS.has(key)) return secretValues(value, at);
    return Array.isArray(value)
      ? value.map((item, i): [string, unknown] => [`${at}[${i}]`, item])
      : [[at, value]];
  });
}

const examples = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('config/examples', () => {
  it('has exactly the expected example directories', () => {
    expect(examples).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(examples)('%s passes check-config with its tenant and IdP counts', (example) => {
    const dir = materialise(example);
    const [tenants, idps] = EXPECTED[example] ?? [0, 0];
    const result = checkConfig(dir, { env: {} });
    expect(result.output).toBe(
      `OK: ${dir}: ${tenants} tenant(s), ${idps} identity provider(s), 1 signing key(s)\n`,
    );
    expect(result.ok).toBe(true);
  });

  it.each(examples)('%s keeps every secret in a relative ${file:...} reference', (example) => {
    const dir = join(EXAMPLES, example);
    const refs = fileReferences(dir);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(isAbsolute(ref), ref).toBe(false);
      expect(normalize(ref).startsWith('..'), ref).toBe(false);
      expect(/^(secrets|keys)\//.test(ref), ref).toBe(true);
    }
    for (const file of yamlFiles(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, `${file} uses \${env:}`).not.toContain('${env:');
      for (const [path, value] of secretValues(parse(text)))
        expect(value, `${file}: ${path}`).toMatch(/^\$\{file:[^}]+\}$/);
    }
  });

  it.each(examples)('%s fails check-config when its secret files are missing', (example) => {
    const dir = mkdtempSync(join(tmpdir(), `sluss-example-${example}-`));
    dirs.push(dir);
    cpSync(join(EXAMPLES, example), dir, { recursive: true });
    const result = checkConfig(dir, { env: {} });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('cannot be read (ENOENT)');
  });

  it('the generic example resolves both ways of finding endpoints', () => {
    const config = loadConfig(materialise('generic'), { env: {} });
    const [staff, partners] = (config.tenants[0]?.idps ?? []).filter((idp) => idp.type === 'oidc');
    expect(staff?.discoveryUrl).toBe('https://sso.acme.example/.well-known/openid-configuration');
    expect(staff?.tokenEndpointAuthMethod).toBe('client_secret_post');
    expect(partners?.discoveryUrl).toBeUndefined();
    expect(partners?.endpoints?.token).toBe('https://partners.idp.example/oauth2/token');
  });

  it('the SAML examples resolve their IdPs and publish SP endpoints under the tenant origin', () => {
    const adfs = loadConfig(materialise('saml-adfs'), { env: {} }).tenants[0];
    const [adfsIdp] = adfs?.idps ?? [];
    expect(adfsIdp?.type).toBe('saml');
    expect(adfs?.saml?.entityId).toBe('https://intranet.example.com/.sluss/saml/metadata');
    expect(adfs?.saml?.acsUrl).toBe('https://intranet.example.com/.sluss/saml/acs');
    expect(adfs?.saml?.encryptionKey).toContain('PRIVATE KEY');

    const generic = loadConfig(materialise('saml-generic'), { env: {} }).tenants[0];
    const [staff, partners] = generic?.idps ?? [];
    expect(staff?.type === 'saml' && staff.metadataUrl).toBe('https://idp.nordwind.example/idp/shibboleth');
    expect(partners?.type === 'saml' && partners.metadataUrl).toBeUndefined();
    expect(partners?.type === 'saml' && partners.signingCertFingerprints).toEqual([
      expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    ]);
    // The global saml block serves a tenant that has none of its own.
    expect(generic?.saml?.signingCert).toContain('BEGIN CERTIFICATE');
  });

  it('the multi-tenant example shares one IdP between two tenants with their own hosts', () => {
    const config = loadConfig(materialise('multi-tenant'), { env: {} });
    const [hr, sales] = config.tenants;
    expect(config.defaultTenant).toBeUndefined();
    expect(hr?.publicOrigin).toBe('https://hr.contoso.example');
    expect(hr?.domains).toEqual(['hr.contoso-intranet.example', '*.hr.contoso.example']);
    expect(hr?.idps.map((idp) => [idp.id, idp.sharedFrom])).toEqual([
      ['contoso-entra', 'idps/contoso-entra.yaml'],
    ]);
    expect(sales?.idps.map((idp) => idp.id)).toEqual(['contoso-entra', 'resellers']);
    expect(sales?.saml?.entityId).toBe('https://sales.contoso.example/.sluss/saml/metadata');
    expect(hr?.saml).toBeUndefined();
  });
  it('the scim-entra example provisions from Entra and enforces its policy', () => {
    const config = loadConfig(materialise('scim-entra'), { env: {} });
    const [tenant] = config.tenants;
    expect(config.store.type).toBe('sqlite');
    expect(tenant?.scim?.idpUserIdAttribute).toBe('externalId');
    expect(tenant?.scim?.requireProvisioning).toBe(true);
    expect(tenant?.scim?.tokenHashes).toEqual([expect.stringMatching(/^sha256:[0-9a-f]{64}$/)]);
    expect(tenant?.policy.groupWhitelist).toEqual({
      active: true,
      groups: ['Timesheets Users', 'Timesheets Admins'],
    });
    expect(tenant?.policy.mfaRequired).toBe(true);
    expect(tenant?.session.reauthenticateAfterSeconds).toBe(43200);
    const [entra] = tenant?.idps ?? [];
    expect(entra?.mapping?.preset).toBe('entra');
  });

  it('the replicas-redis example shares state through Redis over TLS', () => {
    const config = loadConfig(materialise('replicas-redis'), { env: {} });
    expect(config.store.type).toBe('redis');
    expect(config.store.url).toMatch(/^rediss:\/\//);
    expect(config.store.keyPrefix).toBe('intranet:');
    expect(config.store.graceSeconds).toBe(30);
  });
});
