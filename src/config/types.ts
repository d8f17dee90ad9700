/**
 * The resolved, frozen configuration every component reads. It differs from
 * the file shape: URLs are parsed, header names lowercased, defaults applied,
 * secrets expanded. Nothing here is parsed again per request.
 */
import type { ScimConfig } from './schema.ts';
import type { AccessPolicyConfig, IdentityMappingConfig } from './schema-identity.ts';
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'
  | 'none';

export interface OidcEndpoints {
  readonly authorization: string;
  readonly token: string;
  readonly jwks: string;
  readonly userinfo?: string | undefined;
  readonly endSession?: string | undefined;
}

/** What every IdP entry has, whatever its protocol. */
export interface IdpCommon {
  readonly id: string;
  readonly title: string;
  readonly active: boolean;
  /** data:image/… URI for the chooser. */
  readonly logo: string | undefined;
  /** Lowercase email domains for home-realm discovery. */
  readonly emailDomains: readonly string[];
  /** How this IdP's claims become the identity (compiled into runtime state by the tenant registry). */
  readonly mapping: IdentityMappingConfig | undefined;
  /** The IdP's own session length as declared (for the check-config warning). */
  readonly sessionLengthSeconds: number | undefined;
  /** The shared file it came from (`idps/x.yaml`), or undefined when inline in the tenant. */
  readonly sharedFrom: string | undefined;
}

export interface OidcIdpConfig extends IdpCommon {
  readonly type: 'oidc';
  readonly issuer: string;
  /** Discovery document URL; undefined when `endpoints` are set by hand. */
  readonly discoveryUrl: string | undefined;
  readonly endpoints: OidcEndpoints | undefined;
  readonly metadataRefreshSeconds: number;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly clientPrivateKey: string | undefined;
  readonly clientKeyId: string | undefined;
  /** Undefined: the asymmetric algorithms the IdP advertises. */
  readonly idTokenSigningAlgs: readonly string[] | undefined;
  readonly expectedKeyId: string | undefined;
  readonly scopes: readonly string[];
  readonly responseType: 'code' | 'id_token' | 'id_token token';
  readonly responseMode: 'query' | 'form_post';
  readonly skipAtHashCheck: boolean;
  readonly userinfo: boolean;
  /** Keep `email` when the IdP says `email_verified: false`. */
  readonly trustUnverifiedEmail: boolean;
  readonly refresh: { readonly enabled: boolean; readonly intervalSeconds: number };
  readonly mfa: { readonly source: 'amr' | 'acr' | 'idp-enforced'; readonly acrValues: readonly string[] };
  readonly clockSkewSeconds: number;
  readonly backchannelLogout: boolean;
  readonly rpInitiatedLogout: boolean;
  readonly errorRedirectUrl: string | undefined;
}

export interface SamlIdpConfig extends IdpCommon {
  readonly type: 'saml';
  readonly metadataUrl: string | undefined;
  readonly metadataRefreshSeconds: number;
  /** Set by hand, or checked against the metadata's entityID when both are given. */
  readonly entityId: string | undefined;
  readonly ssoUrl: string | undefined;
  readonly sloUrl: string | undefined;
  readonly signingCerts: readonly string[];
  /** Normalised `sha256:abcd…` / `sha1:…` (lowercase hex, no colons). */
  readonly signingCertFingerprints: readonly string[];
  readonly signatureRequired: 'assertion' | 'response' | 'both';
  readonly requireEncryptedAssertions: boolean;
  readonly allowSha1Signatures: boolean;
  readonly clockSkewSeconds: number;
  readonly allowIdpInitiated: boolean;
  readonly idpInitiatedLandingPath: string;
  readonly forceAuthn: boolean;
  readonly requestedAuthnContext: readonly string[];
  readonly authnContextComparison: 'exact' | 'minimum' | 'maximum' | 'better';
  readonly nameIdFormat: 'email' | 'persistent' | 'transient' | 'unspecified';
  readonly mfaAuthnContexts: readonly string[];
}

export type IdpConfig = OidcIdpConfig | SamlIdpConfig;

/** sluss as SAML SP for one tenant. */
export interface SamlServiceProviderConfig {
  readonly entityId: string;
  readonly acsUrl: string;
  readonly sloUrl: string;
  readonly metadataUrl: string;
  readonly signingKey: string | undefined;
  readonly signingCert: string | undefined;
  readonly encryptionKey: string | undefined;
  readonly encryptionCert: string | undefined;
}

export interface TenantConfig {
  readonly prefix: string;
  readonly title: string;
  /** External origin of this tenant, e.g. `https://acme.example.com`. */
  readonly publicOrigin: string;
  readonly idps: readonly IdpConfig[];
  readonly session: {
    readonly maxAgeSeconds: number;
    readonly idleTimeoutSeconds?: number | undefined;
    readonly reauthenticateAfterSeconds?: number | undefined;
  };
  readonly active: boolean;
  /** Availability window, epoch milliseconds. */
  readonly validFrom: number | undefined;
  readonly validUntil: number | undefined;
  readonly version: string | undefined;
  readonly notes: string | undefined;
  /** Further hosts (lowercase; `*.example.com` wildcards) that lead to this tenant. */
  readonly domains: readonly string[];
  readonly homeRealmDiscovery: boolean;
  /** SCIM provisioning; undefined when the tenant has none. */
  readonly scim: ScimConfig | undefined;
  readonly policy: AccessPolicyConfig;
  readonly userIdentifier: 'idpUserId' | 'login';
  readonly branding: {
    readonly primaryColor?: string | undefined;
    readonly backgroundColor?: string | undefined;
  };
  readonly errorRedirectUrl: string | undefined;
  /** Present when the tenant has a SAML IdP. */
  readonly saml: SamlServiceProviderConfig | undefined;
  /** Config file this tenant came from, for messages. */
  readonly source: string;
}

export interface CookieConfig {
  readonly name: string;
  /** Login-transaction cookies are named `<txnPrefix><state id>`. */
  readonly txnPrefix: string;
  readonly secret: string;
  readonly previousSecrets: readonly string[];
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
}

export interface IdentityHeaderConfig {
  readonly jwt: { readonly header: string; readonly audience: string; readonly ttlSeconds: number };
  readonly plain: {
    readonly user?: string;
    readonly email?: string;
    readonly name?: string;
    readonly groups?: string;
    readonly tenant?: string;
  };
  /** Every header name (lowercase, `_` folded to `-`) removed from client requests. */
  readonly stripped: readonly string[];
}

export interface SlussConfig {
  readonly dir: string;
  readonly publicOrigin: string;
  readonly listen: { readonly public: ListenAddress; readonly admin: ListenAddress };
  readonly trustedProxies: readonly string[];
  readonly upstream: {
    readonly origin: string;
    readonly preserveHost: boolean;
    readonly timeoutMs: number;
    readonly publicPaths: readonly string[];
  };
  readonly cookies: CookieConfig;
  readonly identityHeaders: IdentityHeaderConfig;
  readonly signingKeys: readonly { readonly kid: string; readonly privateKeyPem: string }[];
  readonly logging: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' };
  readonly audit: { readonly destination: string };
  readonly store: {
    readonly type: 'sqlite' | 'redis' | 'memory';
    /** Absolute path of the SQLite file. */
    readonly path: string;
    readonly url: string | undefined;
    readonly keyPrefix: string;
    readonly graceSeconds: number;
  };
  readonly tenants: readonly TenantConfig[];
  readonly defaultTenant: string | undefined;
}
