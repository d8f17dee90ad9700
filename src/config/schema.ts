/**
 * The config file shapes, as zod schemas. This module only describes what a
 * file may contain (and its defaults); `resolve.ts` turns a parsed file into
 * the frozen runtime shape. docs/configuration.md and docs/config.schema.json
 * are generated from these schemas (`npm run docs:config`), so every field
 * carries its description here.
 */
import { createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { accessPolicySchema, DEFAULT_ACCESS_POLICY, identityMappingSchema } from './schema-identity.ts';

/** Hosts on which plain http is tolerated (demo, tests): never a real network. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** An absolute URL whose scheme is https, or http on a loopback host only. */
const secureUrl = z.string().superRefine((value, ctx) => {
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute https URL' });
  } else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be an https URL (plain http is allowed on loopback hosts only)',
    });
  } else if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'must not contain credentials; use a secret reference instead' });
  }
});

/** The upstream app, normally on the pod's loopback, so http is fine anywhere. */
const upstreamUrl = z.string().superRefine((value, ctx) => {
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http or https URL' });
  } else if (url.pathname !== '/' || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must be an origin only (scheme, host, port), without a path' });
  }
});

const cidr = z.string().superRefine((value, ctx) => {
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  const max = family === 6 ? 128 : 32;
  const prefix = bits === undefined ? max : Number(bits);
  if (family === 0 || rest.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    ctx.addIssue({ code: 'custom', message: 'must be an IP address or CIDR range such as 10.0.0.0/8' });
  }
});

/** HTTP header field name (RFC 9110 token). */
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name')
  .max(128);

const listen = (port: number) =>
  z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0').meta({ description: 'Address to bind.' }),
      port: z
        .number()
        .int()
        .min(0)
        .max(65535)
        .default(port)
        .meta({ description: 'TCP port; 0 lets the OS choose.' }),
    })
    .default({ host: '0.0.0.0', port });

const KEYGEN_HINT = 'generate one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256';

/** Why a PEM is not a usable ES256 signing key, or undefined. Never echoes the key. */
export function ecP256KeyProblem(pem: string): string | undefined {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      return `must be an EC P-256 key for ES256 (${KEYGEN_HINT})`;
    }
    return undefined;
  } catch {
    return `is not a readable PEM private key (${KEYGEN_HINT})`;
  }
}

const signingKey = z.strictObject({
  kid: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of letters, digits, ".", "_" or "-"')
    .meta({ description: 'Key ID published in the JWKS and set as the JWT `kid`.' }),
  privateKey: z
    .string()
    .min(1)
    .superRefine((pem, ctx) => {
      const problem = ecP256KeyProblem(pem);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta({ description: 'PKCS#8 PEM of an EC P-256 private key; use `${file:...}`.', secret: true }),
});

/** A certificate fingerprint, `sha256:AB:CD:…` or `sha1:…` (colons optional, case-insensitive). */
const fingerprint = z
  .string()
  .regex(
    /^(sha1|sha256):([0-9A-Fa-f]{2}:?){19,31}[0-9A-Fa-f]{2}$/,
    'must be "sha256:" or "sha1:" followed by the hex fingerprint (e.g. sha256:AB:CD:…)',
  )
  .refine((value) => {
    const [algorithm, hex = ''] = value.split(/:(.*)/s);
    const digits = hex.replace(/:/g, '').length;
    return (algorithm === 'sha1' && digits === 40) || (algorithm === 'sha256' && digits === 64);
  }, 'has the wrong length for its algorithm (sha1: 20 bytes, sha256: 32 bytes)');

/** PEM certificate(s), checked for readability in resolve.ts. */
const certificatePem = z.string().min(1).meta({ description: 'PEM certificate; use `${file:...}`.' });

/** The SP side of SAML: sluss's own entity, keys and certificates. */
export const samlServiceProviderSchema = z
  .strictObject({
    entityId: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .meta({ description: 'SP entity ID. Default: `<publicUrl>/.sluss/saml/metadata` of the tenant.' }),
    signingKey: z.string().min(1).optional().meta({
      description: 'PKCS#8 PEM key signing AuthnRequests, LogoutRequests and LogoutResponses.',
      secret: true,
    }),
    signingCert: certificatePem
      .optional()
      .meta({ description: 'Certificate of `signingKey`, published in SP metadata.' }),
    encryptionKey: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'PKCS#8 PEM key that decrypts encrypted assertions.', secret: true }),
    encryptionCert: certificatePem.optional().meta({
      description: 'Certificate of `encryptionKey`, published in SP metadata for the IdP to encrypt to.',
    }),
  })
  .meta({ description: 'sluss as SAML service provider.' });

export const globalConfigSchema = z.strictObject({
  publicUrl: secureUrl.meta({
    description:
      'The external origin browsers use to reach sluss (behind a TLS ingress this is the https URL). Callback URLs are built from it.',
  }),
  listen: z
    .strictObject({
      public: listen(8080).meta({ description: 'Where browsers and the ingress reach sluss.' }),
      admin: listen(9090).meta({ description: 'Health, readiness and metrics; never expose it publicly.' }),
    })
    .default({ public: { host: '0.0.0.0', port: 8080 }, admin: { host: '0.0.0.0', port: 9090 } }),
  trustedProxies: z.array(cidr).default([]).meta({
    description:
      'Peers (IPs or CIDRs) whose X-Forwarded-* headers are believed. From any other peer they are replaced.',
  }),
  upstream: z.strictObject({
    url: upstreamUrl.meta({ description: 'Origin of the protected app, e.g. http://127.0.0.1:3000.' }),
    preserveHost: z.boolean().default(true).meta({
      description:
        "Send the browser's Host header upstream when it is a configured publicUrl or domains host (any other Host is replaced by the tenant's publicUrl host); false: the upstream URL's host.",
    }),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(60)
      .meta({ description: "Longest wait for the upstream's response headers." }),
    publicPaths: z
      .array(z.string().regex(/^\/[^?#]*$/, 'must be a path starting with "/" without query or fragment'))
      .default([])
      .meta({
        description:
          'Path prefixes forwarded without a session (health checks, static assets). Matched on the normalised path, prefix at a "/" boundary.',
      }),
  }),
  cookies: z
    .strictObject({
      name: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"')
        .optional()
        .meta({
          description: 'Session cookie name; default `__Host-sluss` (or `sluss` when `secure` is false).',
        }),
      secret: z.string().min(32, 'must be at least 32 characters (use 32+ random bytes, base64)').meta({
        description: 'Key sealing session and login cookies. Use `${file:...}` or `${env:...}`.',
        secret: true,
      }),
      previousSecrets: z.array(z.string().min(32, 'must be at least 32 characters')).default([]).meta({
        description: 'Older cookie secrets still accepted for unsealing, for rotation.',
        secret: true,
      }),
      secure: z
        .boolean()
        .default(true)
        .meta({ description: 'Set the Secure attribute. Only turn off for plain-http demos on loopback.' }),
      sameSite: z
        .enum(['lax', 'strict', 'none'])
        .default('lax')
        .meta({ description: 'Session cookie SameSite.' }),
    })
    .meta({ description: 'Session and login-transaction cookies.' }),
  identityHeaders: z
    .strictObject({
      jwt: z.strictObject({
        header: headerName
          .default('X-Sluss-Identity')
          .meta({ description: 'Header carrying the signed JWT.' }),
        audience: z.string().min(1).meta({
          description: 'The JWT `aud`: names the app, so a token for one app is useless at another.',
        }),
        ttlSeconds: z
          .number()
          .int()
          .min(10)
          .max(600)
          .default(60)
          .meta({ description: 'JWT lifetime; it is re-signed when less than half remains.' }),
      }),
      plain: z
        .strictObject({
          user: headerName.optional().meta({ description: "Header with the user's subject/login." }),
          email: headerName.optional().meta({ description: 'Header with the email address.' }),
          name: headerName.optional().meta({ description: 'Header with the display name.' }),
          groups: headerName.optional().meta({
            description:
              'Header with the groups, comma separated (a `,` or `%` inside a name is percent-encoded).',
          }),
          tenant: headerName.optional().meta({ description: 'Header with the tenant prefix.' }),
        })
        .default({})
        .meta({ description: 'Unsigned convenience headers; always stripped from client requests.' }),
      strip: z
        .array(headerName)
        .default([])
        .meta({ description: 'Further header names to remove from every client request.' }),
    })
    .meta({ description: 'What the upstream receives about the user.' }),
  signingKeys: z.array(signingKey).min(1, 'must list at least one key').meta({
    description: 'ES256 keys; the first signs, all are published at /.sluss/jwks.json (for rotation).',
  }),
  logging: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    })
    .default({ level: 'info' }),
  store: z
    .strictObject({
      type: z.enum(['sqlite', 'redis', 'memory']).default('sqlite').meta({
        description:
          '`sqlite`: embedded, one replica, survives restarts (a file on a volume). `redis`: shared by many replicas, revocations reach all of them at once. `memory`: tests only (lost on restart, not shared).',
      }),
      path: z
        .string()
        .min(1)
        .default('/var/lib/sluss/sluss.db')
        .meta({ description: 'SQLite database file (relative paths are relative to the config directory).' }),
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
        .optional()
        .meta({
          description: 'Redis URL; put the password in it with `${file:...}` or `${env:...}`.',
          secret: true,
        }),
      keyPrefix: z
        .string()
        .max(64)
        .default('sluss:')
        .meta({ description: 'Prefix of every Redis key and channel.' }),
      graceSeconds: z.number().int().min(0).max(3600).default(30).meta({
        description:
          'While the store is unreachable, sessions keep working on the last known revocations for this long; then every session is refused until it is back.',
      }),
    })
    .default({ type: 'sqlite', path: '/var/lib/sluss/sluss.db', keyPrefix: 'sluss:', graceSeconds: 30 })
    .meta({ description: 'Shared state: revocations, server-side session data, replay caches.' }),
  audit: z
    .strictObject({
      destination: z
        .string()
        .regex(/^(stdout|stderr|\/.+)$/, 'must be stdout, stderr or an absolute file path')
        .default('stdout')
        .meta({
          description:
            'Where the audit stream (JSON lines with "log":"audit": logins, logouts, denials, step-ups, expiries, provisioning) goes; a file path appends.',
        }),
    })
    .default({ destination: 'stdout' }),
  saml: samlServiceProviderSchema.optional(),
  defaultTenant: z.string().optional().meta({
    description:
      'Tenant prefix used when no tenant matches the Host header (default: the only tenant, if one).',
  }),
});

/** Asymmetric JWS algorithms only: an HMAC-signed ID token would be keyed by the client secret (or worse). */
export const ID_TOKEN_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const oidcEndpoints = z
  .strictObject({
    authorization: secureUrl.meta({ description: 'Authorization endpoint (required without discovery).' }),
    token: secureUrl.meta({ description: 'Token endpoint (required without discovery).' }),
    jwks: secureUrl.meta({
      description: 'JWKS URI with the ID-token signing keys (required without discovery).',
    }),
    userinfo: secureUrl
      .optional()
      .meta({ description: 'UserInfo endpoint; without it claims come from the ID token.' }),
    endSession: secureUrl.optional().meta({ description: 'End-session endpoint for RP-initiated logout.' }),
  })
  .meta({ description: 'Endpoints set by hand; when present, discovery is not used.' });

/** Fields every IdP entry has, whatever its protocol. */
const idpCommonFields = {
  id: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
      'must be 1-64 letters, digits, "-" or "_", starting with a letter or digit',
    )
    .meta({
      description:
        "The IdP configuration's prefix: unique, stable, used in `?sso=<id>` links, callback state and the JWT `idp`.",
    }),
  title: z.string().min(1).max(100).optional().meta({ description: 'Name shown on the login chooser.' }),
  active: z.boolean().default(true).meta({ description: 'An inactive IdP is hidden and refuses logins.' }),
  logo: z
    .string()
    .max(96 * 1024)
    .regex(
      /^data:image\/(png|svg\+xml|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/,
      'must be a base64 data:image/... URI (pages load nothing external)',
    )
    .optional()
    .meta({ description: 'Logo on the chooser button, as a data URI (e.g. `${file:logos/acme.datauri}`).' }),
  mapping: identityMappingSchema.optional(),
  sessionLengthSeconds: z.number().int().min(60).optional().meta({
    description:
      "How long the IdP's own session lasts, as its admins configured it. check-config warns when a tenant's session.maxAgeSeconds is not shorter (users would be silently logged back in).",
  }),
  emailDomains: z
    .array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a domain name such as example.com'))
    .default([])
    .meta({
      description: 'Email domains whose users this IdP serves (home-realm discovery on the chooser).',
    }),
};

const oidcIdp = z.strictObject({
  ...idpCommonFields,
  type: z.literal('oidc'),
  issuer: secureUrl.meta({
    description:
      "The OpenID Provider's issuer, exactly as in its ID tokens. Discovery reads `<issuer>/.well-known/openid-configuration` unless `endpoints` or `discoveryUrl` is set.",
  }),
  discoveryUrl: secureUrl
    .optional()
    .meta({ description: 'Discovery document URL, when it is not at the standard place under the issuer.' }),
  endpoints: oidcEndpoints.optional(),
  metadataRefreshSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600)
    .meta({
      description: 'How often discovered metadata is fetched again; the last good copy is kept on failure.',
    }),
  clientId: z.string().min(1).meta({ description: 'Client ID registered at the IdP.' }),
  clientSecret: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Client secret; use `${file:...}` or `${env:...}`.', secret: true }),
  tokenEndpointAuthMethod: z
    .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
    .optional()
    .meta({
      description:
        'How sluss authenticates at the token endpoint. Default: `client_secret_basic` with a client secret, else `none` (public client, PKCE only).',
    }),
  clientPrivateKey: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'PKCS#8 PEM private key for `private_key_jwt` (RSA or EC).', secret: true }),
  clientKeyId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .meta({ description: '`kid` of `clientPrivateKey` as registered at the IdP.' }),
  idTokenSigningAlgs: z.array(z.enum(ID_TOKEN_ALGORITHMS)).min(1).optional().meta({
    description:
      'ID-token (and logout-token) signature algorithms accepted. Default: the asymmetric ones the IdP advertises (RS256 without discovery). Symmetric (HS*) and `none` are never accepted.',
  }),
  expectedKeyId: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .meta({ description: 'When set, an ID token must be signed with the key of this `kid`.' }),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a valid scope token'))
    .default(['openid', 'email', 'profile'])
    .refine((scopes) => scopes.includes('openid'), 'must include "openid"')
    .meta({ description: 'Scopes requested at login.' }),
  responseType: z.enum(['code', 'id_token', 'id_token token']).default('code').meta({
    description:
      '`code` (authorization code with PKCE, recommended) or the implicit `id_token` / `id_token token`, which always use `response_mode=form_post`.',
  }),
  responseMode: z.enum(['query', 'form_post']).optional().meta({
    description:
      'Default: `query` for `code`, `form_post` for the implicit types (the only mode they support).',
  }),
  skipAtHashCheck: z.boolean().default(false).meta({
    description:
      'Accept an `id_token token` response whose `at_hash` is missing or wrong (for IdPs that compute it wrongly). Weakens the binding of the access token; logged as a warning.',
  }),
  userinfo: z.boolean().default(false).meta({
    description:
      "Fetch the UserInfo endpoint after login and merge its claims over the ID token's (only when its `sub` matches).",
  }),
  trustUnverifiedEmail: z.boolean().default(false).meta({
    description:
      'Use the `email` claim even when the ID token or UserInfo says `email_verified: false` (or `"false"`). Default: such an email is dropped before the mapping and the policy see it (other mapped paths may still supply one). Only for IdPs whose unverified addresses you trust; a missing `email_verified` is always accepted.',
  }),
  refresh: z
    .strictObject({
      enabled: z.boolean().default(false),
      intervalSeconds: z
        .number()
        .int()
        .min(30)
        .max(24 * 3600)
        .default(300)
        .meta({ description: 'How often a session re-checks the user at the IdP with its refresh token.' }),
    })
    .default({ enabled: false, intervalSeconds: 300 })
    .meta({
      description:
        'Use refresh tokens (kept server side) to keep a session in step with the IdP: refreshed claims, and the session ends when the IdP refuses.',
    }),
  mfa: z
    .strictObject({
      source: z.enum(['amr', 'acr', 'idp-enforced']).default('amr').meta({
        description:
          '`amr`: MFA when the `amr` claim names a second factor. `acr`: MFA when `acr` is one of `acrValues` (IdPs that send no `amr`, e.g. ADFS). `idp-enforced`: the IdP always requires MFA for this app (e.g. Google with 2SV enforced).',
      }),
      acrValues: z.array(z.string().min(1)).default([]).meta({ description: '`acr` values that mean MFA.' }),
    })
    .default({ source: 'amr', acrValues: [] }),
  clockSkewSeconds: z
    .number()
    .int()
    .min(0)
    .max(300)
    .default(30)
    .meta({ description: 'Tolerated clock difference for `iat`, `exp` and `nbf`.' }),
  backchannelLogout: z.boolean().default(true).meta({
    description: 'Accept OpenID back-channel logout tokens from this IdP at `/.sluss/backchannel-logout`.',
  }),
  rpInitiatedLogout: z.boolean().default(true).meta({
    description: "On logout, send the browser on to the IdP's end-session endpoint when it has one.",
  }),
  errorRedirectUrl: secureUrl.optional().meta({
    description: 'Where browsers go when a login at this IdP fails (else sluss shows its error page).',
  }),
});

const samlIdp = z.strictObject({
  ...idpCommonFields,
  type: z.literal('saml'),
  metadataUrl: secureUrl.optional().meta({
    description: 'IdP metadata URL: fetched at start, refreshed on a schedule, last good copy kept.',
  }),
  metadataRefreshSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
  entityId: z.string().min(1).max(1024).optional().meta({
    description:
      'IdP entity ID (the Issuer of its responses). Required without metadataUrl; checked against the metadata with it.',
  }),
  ssoUrl: secureUrl
    .optional()
    .meta({ description: 'SSO endpoint (HTTP-Redirect binding). Required without metadataUrl.' }),
  sloUrl: secureUrl.optional().meta({ description: 'Single logout endpoint (HTTP-Redirect binding).' }),
  signingCerts: z.array(certificatePem).optional().meta({
    description:
      "The IdP's signing certificate(s), PEM. With metadataUrl they must also sign the metadata (when it is signed) and override its certificates.",
  }),
  signingCertFingerprints: z.array(fingerprint).optional().meta({
    description:
      "Pinned fingerprints of the IdP's signing certificate (instead of the certificate itself): a response is checked with the certificate it carries only if that certificate matches.",
  }),
  signatureRequired: z
    .enum(['assertion', 'response', 'both'])
    .default('assertion')
    .meta({ description: 'Which element must carry a valid signature by the IdP.' }),
  requireEncryptedAssertions: z
    .boolean()
    .default(false)
    .meta({ description: 'Refuse responses whose assertion is not encrypted (needs saml.encryptionKey).' }),
  allowSha1Signatures: z.boolean().default(false).meta({
    description: 'Accept RSA-SHA1 signatures and SHA-1 digests from this IdP (legacy ADFS setups only).',
  }),
  clockSkewSeconds: z
    .number()
    .int()
    .min(0)
    .max(600)
    .default(60)
    .meta({ description: 'Tolerance for NotBefore/NotOnOrAfter.' }),
  allowIdpInitiated: z
    .boolean()
    .default(false)
    .meta({ description: 'Accept unsolicited responses (IdP-initiated login).' }),
  idpInitiatedLandingPath: z
    .string()
    .regex(/^\/[^/\\]/, 'must be a same-origin path such as /home')
    .or(z.literal('/'))
    .default('/')
    .meta({
      description: 'Where an IdP-initiated login lands (a RelayState that is a same-origin path wins).',
    }),
  forceAuthn: z
    .boolean()
    .default(false)
    .meta({ description: 'Ask the IdP to authenticate the user again at every login.' }),
  requestedAuthnContext: z
    .array(z.string().min(1))
    .default([])
    .meta({ description: 'AuthnContextClassRef values to request (empty: no RequestedAuthnContext).' }),
  authnContextComparison: z.enum(['exact', 'minimum', 'maximum', 'better']).default('exact'),
  nameIdFormat: z
    .enum(['email', 'persistent', 'transient', 'unspecified'])
    .default('unspecified')
    .meta({ description: 'NameID format requested in the AuthnRequest.' }),
  mfaAuthnContexts: z.array(z.string().min(1)).optional().meta({
    description:
      'AuthnContextClassRef values that mean MFA. Default: common ones (Entra/ADFS multipleauthn, MobileTwoFactor*, TimeSyncToken, X509, Smartcard*).',
  }),
});

export const idpSchema = z.discriminatedUnion('type', [oidcIdp, samlIdp]);

/** SCIM 2.0 provisioning of one tenant (the IdP pushes users and groups to sluss). */
const scimSchema = z
  .strictObject({
    tokenHashes: z
      .array(
        z
          .string()
          .regex(/^sha256:[0-9a-f]{64}$/, 'must be a hash printed by `sluss scim-token` (sha256:<64 hex>)'),
      )
      .min(1, 'must list at least one token hash')
      .meta({
        description:
          'Hashes of the bearer tokens the IdP uses (`sluss scim-token` prints a token once and its hash).',
      }),
    idp: z.string().optional().meta({
      description:
        "The IdP the provisioned users belong to (for policy.idpCheck). Default: the tenant's first IdP.",
    }),
    idpUserIdAttribute: z.enum(['externalId', 'userName']).default('externalId').meta({
      description:
        'Which SCIM attribute holds the IdP user ID the login mapping finds (`idpUserId`): Entra sends the objectId as externalId; Okta its user id.',
    }),
    requireProvisioning: z.boolean().default(false).meta({
      description:
        'Refuse logins of users the IdP has not provisioned (else they are created at first login: JIT).',
    }),
    deletion: z
      .strictObject({
        mode: z
          .enum(['mark', 'delete', 'anonymise'])
          .default('mark')
          .meta({ description: 'What a SCIM DELETE does.' }),
        afterDays: z
          .number()
          .int()
          .min(1)
          .max(3650)
          .default(30)
          .meta({ description: 'Days after marking before `afterwards` runs.' }),
        afterwards: z
          .enum(['delete', 'anonymise', 'nothing'])
          .default('nothing')
          .meta({ description: 'What happens to marked users after `afterDays`.' }),
      })
      .default({ mode: 'mark', afterDays: 30, afterwards: 'nothing' }),
    limits: z
      .strictObject({
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(1024 * 1024),
        maxPageSize: z.number().int().min(1).max(1000).default(200),
        maxMembersPerRequest: z.number().int().min(1).max(100_000).default(1000),
        requestsPerMinute: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .default(600)
          .meta({ description: 'Per token; more gets 429.' }),
      })
      .default({
        maxBodyBytes: 1024 * 1024,
        maxPageSize: 200,
        maxMembersPerRequest: 1000,
        requestsPerMinute: 600,
      }),
  })
  .meta({
    description: 'SCIM 2.0 at `/.sluss/scim/v2`: users and groups pushed by the IdP (Entra ID, Okta).',
  });

const isoDateTime = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/,
    'must be an ISO 8601 date or date-time with a time zone',
  );
const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #0b57d0');
/** A tenant's use of an IdP defined once in `idps/<id>.yaml` (shared by several tenants). */
const sharedIdpReference = z.strictObject({
  use: z.string().min(1).max(64).meta({ description: 'The id of a shared IdP in `idps/*.yaml`.' }),
});

export const tenantConfigSchema = z.strictObject({
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9]{1,64}$/, 'must be 1-64 letters or digits')
    .meta({ description: 'Unique tenant prefix (alphanumeric, at most 64 characters).' }),
  title: z.string().min(1).max(200).meta({ description: 'Tenant name shown on pages.' }),
  publicUrl: secureUrl.optional().meta({
    description: "This tenant's external origin (custom domain); defaults to the global publicUrl.",
  }),
  active: z
    .boolean()
    .default(true)
    .meta({ description: 'An inactive tenant shows a clear page and its sessions stop working.' }),
  validFrom: isoDateTime.optional().meta({
    description: 'The tenant is available from this instant (ISO 8601, e.g. 2027-01-01T00:00:00Z).',
  }),
  validUntil: isoDateTime
    .optional()
    .meta({ description: 'The tenant is available until this instant (ISO 8601); then like inactive.' }),
  version: z
    .union([z.string().max(64), z.number()])
    .optional()
    .meta({ description: 'Free-form version of this tenant file, logged at start.' }),
  notes: z
    .string()
    .max(4000)
    .optional()
    .meta({ description: 'Free-form notes for ops; not shown to users.' }),
  domains: z
    .array(
      z
        .string()
        .regex(
          /^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+(:\d{1,5})?$/i,
          'must be a host name, optionally with a port or a leading "*." wildcard',
        ),
    )
    .default([])
    .meta({
      description:
        'Further host names (exact, or `*.example.com` for any subdomain) that belong to this tenant; browsers arriving there are sent to its publicUrl.',
    }),
  idps: z
    .array(z.union([idpSchema, sharedIdpReference]))
    .min(1, 'must list at least one identity provider')
    .meta({
      description:
        'Identity providers users of this tenant log in with: inline entries, or `{ use: <id> }` for a shared IdP in `idps/*.yaml`. The first is the default.',
    }),
  policy: accessPolicySchema.default(DEFAULT_ACCESS_POLICY),
  userIdentifier: z.enum(['idpUserId', 'login']).default('idpUserId').meta({
    description:
      'What the app sees as the user (JWT `sub`, the user header): the stable IdP user ID (default; an email change never makes a new user) or the login name.',
  }),
  scim: scimSchema.optional(),
  homeRealmDiscovery: z
    .boolean()
    .default(false)
    .meta({ description: 'Offer an email field on the chooser that picks the IdP by `emailDomains`.' }),
  branding: z
    .strictObject({
      primaryColor: hexColor.optional().meta({ description: 'Buttons and links, e.g. #0b57d0.' }),
      backgroundColor: hexColor.optional().meta({ description: 'Page background.' }),
    })
    .default({})
    .meta({ description: 'Colours of the sign-in pages (text colour is chosen for contrast).' }),
  errorRedirectUrl: secureUrl.optional().meta({
    description:
      "Where browsers go when a login fails (an IdP's own errorRedirectUrl wins), with `error` and `reference` parameters.",
  }),
  session: z
    .strictObject({
      maxAgeSeconds: z
        .number()
        .int()
        .min(60)
        .max(7 * 24 * 3600)
        .default(8 * 3600)
        .meta({ description: 'Absolute session lifetime; after it the user goes back through the IdP.' }),
      idleTimeoutSeconds: z
        .number()
        .int()
        .min(60)
        .max(7 * 24 * 3600)
        .optional()
        .meta({
          description:
            'End a session after this much inactivity. Activity renews the cookie at most once a minute (rolling).',
        }),
      reauthenticateAfterSeconds: z
        .number()
        .int()
        .min(60)
        .max(30 * 24 * 3600)
        .optional()
        .meta({
          description:
            'When the user last authenticated at the IdP longer ago than this, the session ends and the next login makes the IdP ask again (OIDC prompt=login and max_age, SAML ForceAuthn).',
        }),
    })
    .default({ maxAgeSeconds: 8 * 3600 }),
  saml: samlServiceProviderSchema
    .optional()
    .meta({ description: 'SAML SP settings for this tenant (override sluss.yaml `saml`).' }),
});

export type GlobalConfigFile = z.infer<typeof globalConfigSchema>;
export type TenantConfigFile = z.infer<typeof tenantConfigSchema>;
export type OidcIdpConfigFile = z.infer<typeof oidcIdp>;
export type SamlIdpConfigFile = z.infer<typeof samlIdp>;
export type IdpConfigFile = z.infer<typeof idpSchema>;
export type SamlServiceProviderFile = z.infer<typeof samlServiceProviderSchema>;
export type ScimConfig = z.infer<typeof scimSchema>;
