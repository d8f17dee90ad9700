import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkConfig } from '../../src/config/check.ts';
import { ConfigError, loadConfig } from '../../src/config/loader.ts';

const EC_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const RSA_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

const COOKIE_SECRET = 'cookie-secret-0123456789-abcdefghijklmnop';
const CLIENT_SECRET = 'client-secret-value-Zq8vW3';
const ENV = { COOKIE_SECRET, CLIENT_SECRET };

// biome-ignore lint/suspicious/noExplicitAny: config trees are mutated freely per case.
type Tree = Record<string, any>;

function globalConfig(): Tree {
  return {
    publicUrl: 'https://sluss.example.com',
    upstream: { url: 'http://127.0.0.1:3000' },
    cookies: { secret: '${env:COOKIE_SECRET}' },
    identityHeaders: { jwt: { audience: 'legacy-app' } },
    signingKeys: [{ kid: 'key-1', privateKey: '${file:keys/signing.pem}' }],
  };
}

function tenantConfig(prefix = 'acme'): Tree {
  return {
    prefix,
    title: 'Acme',
    idps: [
      {
        id: 'corp',
        type: 'oidc',
        issuer: 'https://idp.example.com',
        clientId: 'sluss',
        clientSecret: '${env:CLIENT_SECRET}',
      },
    ],
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes a config dir: the valid minimal config, overridden per file (null deletes, string is raw text). */
function configDir(files: Record<string, Tree | string | null> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluss-config-'));
  dirs.push(dir);
  const all: Record<string, Tree | string | null> = {
    'sluss.yaml': globalConfig(),
    'tenants/acme.yaml': tenantConfig(),
    'keys/signing.pem': EC_KEY,
    ...files,
  };
  for (const [file, content] of Object.entries(all)) {
    if (content === null) continue;
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : stringify(content));
  }
  return dir;
}

function withGlobal(change: (config: Tree) => void): Tree {
  const config = globalConfig();
  change(config);
  return config;
}

function withTenant(change: (config: Tree) => void, prefix = 'acme'): Tree {
  const config = tenantConfig(prefix);
  change(config);
  return config;
}

/** The `ERR_...` lines of a failed check, in order. */
function problemLines(output: string): string[] {
  return output.split('\n').filter((line) => line.startsWith('ERR_'));
}

function check(files: Record<string, Tree | string | null>, env: Record<string, string> = ENV) {
  const dir = configDir(files);
  return { dir, ...checkConfig(dir, { env }) };
}

describe('checkConfig: a valid config', () => {
  it('prints OK with the counts', () => {
    const { dir, ok, output } = check({});
    expect(ok).toBe(true);
    expect(output).toBe(`OK: ${dir}: 1 tenant(s), 1 identity provider(s), 1 signing key(s)\n`);
  });

  it('expands ${env:} and ${file:} references and keeps $${ as a literal ${', () => {
    const dir = configDir({ 'tenants/acme.yaml': withTenant((t) => (t.title = 'Costs $${not.a.ref}')) });
    const config = loadConfig(dir, { env: ENV });
    expect(config.cookies.secret).toBe(COOKIE_SECRET);
    const idp = config.tenants[0]?.idps[0];
    expect(idp?.type === 'oidc' ? idp.clientSecret : undefined).toBe(CLIENT_SECRET);
    expect(config.tenants[0]?.title).toBe('Costs ${not.a.ref}');
    expect(config.signingKeys[0]?.privateKeyPem).toBe(EC_KEY.trimEnd());
    expect(Object.isFrozen(config.tenants)).toBe(true);
  });
});

describe('checkConfig: each problem is reported as ERR_CONFIG_INVALID: file: path: message', () => {
  const cases: [string, Record<string, Tree | string | null>, string[]][] = [
    ['missing sluss.yaml', { 'sluss.yaml': null }, ['sluss.yaml: file is missing']],
    [
      'missing tenants/ directory',
      { 'tenants/acme.yaml': null },
      ['tenants/: directory is missing; create tenants/<prefix>.yaml'],
    ],
    [
      'empty tenants/ (dot files and non-YAML do not count)',
      { 'tenants/acme.yaml': null, 'tenants/.hidden.yaml': 'prefix: x', 'tenants/README.txt': 'x' },
      ['tenants/: no tenant files (*.yaml); at least one tenant is required'],
    ],
    [
      'YAML with bad indentation',
      { 'sluss.yaml': 'upstream:\n  url: http://127.0.0.1:3000\n preserveHost: true\n' },
      ['sluss.yaml: line 3, column 1: invalid YAML: All mapping items must start at the same column'],
    ],
    [
      'YAML with a duplicate key',
      { 'sluss.yaml': 'publicUrl: https://a.example.com\npublicUrl: https://b.example.com\n' },
      ['sluss.yaml: line 2, column 1: invalid YAML: Map keys must be unique'],
    ],
    [
      'a file that is not a mapping',
      { 'tenants/acme.yaml': '- just\n- a list\n' },
      ['tenants/acme.yaml: must be a YAML mapping (key: value pairs)'],
    ],
    [
      'unknown keys at top level, nested and in a tenant IdP',
      {
        'sluss.yaml': withGlobal((g) => {
          g.colour = 'blue';
          g.upstream.timeout = 3;
        }),
        'tenants/acme.yaml': withTenant((t) => (t.idps[0].clientSecretFile = '/secret')),
      },
      [
        'sluss.yaml: upstream.timeout: unknown key (check the spelling against docs/configuration.md)',
        'sluss.yaml: colour: unknown key (check the spelling against docs/configuration.md)',
        'tenants/acme.yaml: idps[0].clientSecretFile: unknown key (check the spelling against docs/configuration.md)',
      ],
    ],
    [
      'missing required keys',
      {
        'sluss.yaml': withGlobal((g) => {
          delete g.publicUrl;
          delete g.upstream.url;
          delete g.identityHeaders.jwt.audience;
        }),
        'tenants/acme.yaml': withTenant((t) => delete t.idps[0].clientId),
      },
      [
        'sluss.yaml: publicUrl: is required (string)',
        'sluss.yaml: upstream.url: is required (string)',
        'sluss.yaml: identityHeaders.jwt.audience: is required (string)',
        'tenants/acme.yaml: idps[0].clientId: is required (string)',
      ],
    ],
    [
      'wrong types',
      {
        'sluss.yaml': withGlobal((g) => {
          g.trustedProxies = '10.0.0.0/8';
          g.upstream.preserveHost = 'yes';
          g.upstream.timeoutSeconds = 'ten';
          g.listen = { public: { port: 70000 } };
        }),
      },
      [
        'sluss.yaml: listen.public.port: must be <=65535',
        'sluss.yaml: trustedProxies: must be an array',
        'sluss.yaml: upstream.preserveHost: must be a boolean',
        'sluss.yaml: upstream.timeoutSeconds: must be a number',
      ],
    ],
    [
      'an http issuer on a non-loopback host',
      { 'tenants/acme.yaml': withTenant((t) => (t.idps[0].issuer = 'http://idp.example.com')) },
      [
        'tenants/acme.yaml: idps[0].issuer: must be an https URL (plain http is allowed on loopback hosts only)',
      ],
    ],
    [
      'an unreadable ${file:missing} and an unknown ${foo:bar}',
      {
        'sluss.yaml': withGlobal((g) => {
          g.cookies.secret = '${foo:bar}';
          g.signingKeys[0].privateKey = '${file:missing.pem}';
        }),
      },
      [
        'sluss.yaml: cookies.secret: unknown reference ${foo:...}; use ${env:NAME} or ${file:PATH}',
        'sluss.yaml: signingKeys[0].privateKey: secret file missing.pem cannot be read (ENOENT)',
      ],
    ],
    [
      'a cookie secret shorter than 32 characters',
      { 'sluss.yaml': withGlobal((g) => (g.cookies.secret = 'too-short-secret')) },
      ['sluss.yaml: cookies.secret: must be at least 32 characters (use 32+ random bytes, base64)'],
    ],
    [
      'cookies.secure false with a non-loopback publicUrl',
      { 'sluss.yaml': withGlobal((g) => (g.cookies.secure = false)) },
      [
        'sluss.yaml: cookies.secure: may be false only when every public URL is a loopback http URL (not https://sluss.example.com)',
      ],
    ],
    [
      'cookies.secure false with a loopback publicUrl but a tenant on a real domain',
      {
        'sluss.yaml': withGlobal((g) => {
          g.cookies.secure = false;
          g.publicUrl = 'http://127.0.0.1:8080';
        }),
        'tenants/acme.yaml': withTenant((t) => (t.publicUrl = 'https://acme.example.com')),
      },
      [
        'sluss.yaml: cookies.secure: may be false only when every public URL is a loopback http URL (not https://acme.example.com)',
      ],
    ],
    [
      'duplicate tenant prefixes (case-insensitive)',
      {
        'tenants/other.yaml': withTenant((t) => (t.publicUrl = 'https://other.example.com'), 'ACME'),
      },
      ['tenants/other.yaml: prefix: "ACME" is already used by tenants/acme.yaml'],
    ],
    [
      'duplicate IdP ids',
      { 'tenants/acme.yaml': withTenant((t) => t.idps.push({ ...t.idps[0] })) },
      ['tenants/acme.yaml: idps[1].id: duplicate IdP id "corp"'],
    ],
    [
      'invalid prefixes (spaces, more than 64 characters)',
      {
        'tenants/acme.yaml': withTenant((t) => (t.prefix = 'has space')),
        'tenants/long.yaml': withTenant((t) => (t.prefix = 'a'.repeat(65))),
      },
      [
        'tenants/acme.yaml: prefix: must be 1-64 letters or digits',
        'tenants/long.yaml: prefix: must be 1-64 letters or digits',
      ],
    ],
    [
      'defaultTenant naming no tenant',
      { 'sluss.yaml': withGlobal((g) => (g.defaultTenant = 'nobody')) },
      ['sluss.yaml: defaultTenant: names no tenant (have: acme)'],
    ],
    [
      'a plain header that is the JWT header in another spelling',
      { 'sluss.yaml': withGlobal((g) => (g.identityHeaders.plain = { user: 'x_sluss_IDENTITY' })) },
      ['sluss.yaml: identityHeaders.plain.user: same header as identityHeaders.jwt.header'],
    ],
    [
      'a file over 1 MiB',
      { 'tenants/acme.yaml': `# ${'x'.repeat(1024 * 1024)}\n${stringify(tenantConfig())}` },
      [
        `tenants/acme.yaml: is ${1024 * 1024 + 3 + stringify(tenantConfig()).length} bytes; config files are limited to 1048576`,
      ],
    ],
  ];

  it.each(cases)('%s', (_name, files, expected) => {
    const { dir, ok, output } = check(files);
    expect(ok).toBe(false);
    expect(problemLines(output)).toEqual(expected.map((line) => `ERR_CONFIG_INVALID: ${line}`));
    expect(output).toContain(`\n${expected.length} problem(s) in ${dir}\n`);
  });

  it('an unset ${env:X} is reported once, naming the variable', () => {
    const { ok, output } = check({}, { CLIENT_SECRET });
    expect(ok).toBe(false);
    expect(problemLines(output)).toEqual([
      'ERR_CONFIG_INVALID: sluss.yaml: cookies.secret: environment variable COOKIE_SECRET is not set',
    ]);
  });

  it('loadConfig throws a ConfigError carrying the same problems', () => {
    const dir = configDir({ 'sluss.yaml': withGlobal((g) => delete g.publicUrl) });
    let thrown: unknown;
    try {
      loadConfig(dir, { env: ENV });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).code).toBe('ERR_CONFIG_INVALID');
    expect((thrown as ConfigError).problems).toEqual([
      { file: 'sluss.yaml', path: 'publicUrl', message: 'is required (string)' },
    ]);
  });
});

describe('checkConfig: signing keys', () => {
  it.each([
    [
      'an RSA key',
      RSA_KEY,
      'must be an EC P-256 key for ES256 (generate one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)',
    ],
    [
      'a value that is not PEM',
      'not a pem at all',
      'is not a readable PEM private key (generate one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)',
    ],
  ])('refuses %s, listed with the other problems', (_name, key, message) => {
    const { ok, output } = check({ 'keys/signing.pem': key });
    expect(ok).toBe(false);
    expect(problemLines(output)).toEqual([
      `ERR_CONFIG_INVALID: sluss.yaml: signingKeys[0].privateKey: ${message}`,
    ]);
  });
});

describe('checkConfig: hostile input', () => {
  it('refuses a YAML alias bomb ("billion laughs") without expanding it', () => {
    const levels = 'abcdefghi'.split('');
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < levels.length; i++) {
      const previous = `*${levels[i - 1]}`;
      lines.push(`${levels[i]}: &${levels[i]} [${Array(9).fill(previous).join(',')}]`);
    }
    const { ok, output } = check({ 'sluss.yaml': `${lines.join('\n')}\n` });
    expect(ok).toBe(false);
    expect(problemLines(output)).toEqual([
      'ERR_CONFIG_INVALID: sluss.yaml: invalid YAML: too many alias expansions (anchors/aliases)',
    ]);
  });

  it('reports every problem in every file at once', () => {
    const { ok, output, dir } = check({
      'sluss.yaml': withGlobal((g) => {
        g.publicUrl = 'http://sluss.example.com';
        g.cookies.secret = 'short';
        g.unknown = true;
      }),
      'tenants/acme.yaml': withTenant((t) => {
        t.idps[0].issuer = 'ftp://idp.example.com';
        delete t.title;
      }),
      'tenants/beta.yaml': 'prefix: beta\nprefix: beta\n',
      'tenants/gamma.yaml': withTenant((t) => (t.idps = []), 'gamma'),
    });
    expect(ok).toBe(false);
    const lines = problemLines(output);
    expect(lines).toEqual([
      'ERR_CONFIG_INVALID: sluss.yaml: publicUrl: must be an https URL (plain http is allowed on loopback hosts only)',
      'ERR_CONFIG_INVALID: sluss.yaml: cookies.secret: must be at least 32 characters (use 32+ random bytes, base64)',
      'ERR_CONFIG_INVALID: sluss.yaml: unknown: unknown key (check the spelling against docs/configuration.md)',
      'ERR_CONFIG_INVALID: tenants/acme.yaml: title: is required (string)',
      'ERR_CONFIG_INVALID: tenants/acme.yaml: idps[0].issuer: must be an absolute https URL',
      'ERR_CONFIG_INVALID: tenants/beta.yaml: line 2, column 1: invalid YAML: Map keys must be unique',
      'ERR_CONFIG_INVALID: tenants/gamma.yaml: idps: must list at least one identity provider',
    ]);
    expect(output).toContain(`\n7 problem(s) in ${dir}\n`);
  });

  it.each<[string, Record<string, Tree | string | null>, Record<string, string>]>([
    [
      'a secret too short to be valid',
      { 'sluss.yaml': withGlobal((g) => (g.cookies.secret = 'hunter2-Sup3rSecret')) },
      ENV,
    ],
    [
      'a secret from the environment in a field it is invalid for',
      { 'tenants/acme.yaml': withTenant((t) => (t.idps[0].issuer = '${env:CLIENT_SECRET}')) },
      ENV,
    ],
    [
      'a secret under a misspelt key',
      { 'tenants/acme.yaml': withTenant((t) => (t.idps[0].clientSecrt = 'hunter2-Sup3rSecret')) },
      ENV,
    ],
    [
      'a secret of the wrong type',
      { 'sluss.yaml': withGlobal((g) => (g.cookies.previousSecrets = 'hunter2-Sup3rSecret')) },
      ENV,
    ],
    [
      'credentials inside a URL',
      {
        'tenants/acme.yaml': withTenant(
          (t) => (t.idps[0].issuer = 'https://admin:hunter2-Sup3rSecret@idp.example.com'),
        ),
      },
      ENV,
    ],
    [
      'a valid secret beside an invalid config',
      { 'sluss.yaml': withGlobal((g) => (g.cookies.sameSite = 'sideways')) },
      ENV,
    ],
  ])('never prints a secret value: %s', (_name, files, env) => {
    const { ok, output } = check(files, env);
    expect(ok).toBe(false);
    expect(problemLines(output).length).toBeGreaterThan(0);
    for (const secret of [
      'hunter2-Sup3rSecret',
      'Sup3r',
      COOKIE_SECRET,
      CLIENT_SECRET,
      EC_KEY.split('\n')[1] ?? '',
    ])
      expect(output).not.toContain(secret);
  });
});

describe('sluss check-config (CLI)', () => {
  const node = join(process.cwd(), 'node_modules/.bin/node');
  function cli(dir: string) {
    return spawnSync(node, ['src/main.ts', 'check-config', dir], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '', ...ENV },
      encoding: 'utf8',
      timeout: 20_000,
    });
  }

  it('exits 0 and prints OK for a good config', () => {
    const dir = configDir();
    const result = cli(dir);
    expect(result.stdout).toBe(`OK: ${dir}: 1 tenant(s), 1 identity provider(s), 1 signing key(s)\n`);
    expect(result.status).toBe(0);
  });

  it('exits 1 and prints every problem for a bad config', () => {
    const dir = configDir({
      'sluss.yaml': withGlobal((g) => delete g.upstream.url),
      'tenants/acme.yaml': withTenant((t) => (t.idps[0].issuer = 'http://idp.example.com')),
    });
    const result = cli(dir);
    expect(result.status).toBe(1);
    expect(problemLines(result.stdout)).toEqual([
      'ERR_CONFIG_INVALID: sluss.yaml: upstream.url: is required (string)',
      'ERR_CONFIG_INVALID: tenants/acme.yaml: idps[0].issuer: must be an https URL (plain http is allowed on loopback hosts only)',
    ]);
    expect(result.stdout).toContain(`2 problem(s) in ${dir}`);
  });
});

describe('checkConfig: warnings', () => {
  it('warns (and still succeeds) when a tenant session outlives the IdP session it declares', () => {
    const { ok, output } = check({
      'tenants/acme.yaml': withTenant((t) => {
        t.session = { maxAgeSeconds: 28800 };
        t.idps[0].sessionLengthSeconds = 28800;
      }),
    });
    expect(ok).toBe(true);
    expect(output).toMatch(/^OK: /);
    expect(output).toContain(
      'WARN: tenants/acme.yaml: session.maxAgeSeconds (28800) is not shorter than IdP "corp" sessionLengthSeconds (28800)',
    );
  });

  it.each<[string, Record<string, Tree>, string]>([
    [
      'the whole app made public',
      { 'sluss.yaml': withGlobal((g) => (g.upstream.publicPaths = ['/healthz', '/'])) },
      'WARN: sluss.yaml: upstream.publicPaths contains "/": every path of the app is public',
    ],
    [
      'every client trusted to set X-Forwarded-For',
      { 'sluss.yaml': withGlobal((g) => (g.trustedProxies = ['10.0.0.0/8', '::/0'])) },
      'WARN: sluss.yaml: trustedProxies contains ::/0: every client may set X-Forwarded-For',
    ],
    [
      'one alias domain in two tenants',
      {
        'tenants/acme.yaml': withTenant((t) => (t.domains = ['shared.example.com'])),
        'tenants/beta.yaml': withTenant((t) => {
          t.publicUrl = 'https://beta.example.com';
          t.domains = ['shared.example.com'];
        }, 'beta'),
      },
      'WARN: tenants/beta.yaml: domain shared.example.com is also listed by tenants/acme.yaml, which takes it',
    ],
  ])('warns about %s, and the config still loads', (_case, files, warning) => {
    const { ok, output } = check(files);
    expect(ok, output).toBe(true);
    expect(output).toContain(warning);
  });

  it('a plain single-IdP config has no warnings', () => {
    expect(check({}).output).not.toContain('WARN');
  });
});
