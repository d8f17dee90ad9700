/**
 * Every failure sluss reports has a stable code from this closed union, a short
 * human message, and a hint for ops. Clients see the code and message (never
 * `cause`); logs see everything. A test checks every code is documented in
 * docs/errors.md.
 */
export const ERROR_CODES = {
  ERR_CONFIG_INVALID: {
    status: 500,
    hint: 'Fix the listed config entries; sluss check-config DIR shows every problem.',
  },
  ERR_TENANT_UNKNOWN: {
    status: 404,
    hint: 'No tenant serves this host; check publicUrl and the tenants directory.',
  },
  ERR_TENANT_UNAVAILABLE: {
    status: 403,
    hint: 'The tenant is inactive or outside its validFrom/validUntil window (tenants/<prefix>.yaml).',
  },
  ERR_IDP_UNKNOWN: { status: 404, hint: 'The login names an IdP the tenant does not have.' },
  ERR_IDP_UNAVAILABLE: {
    status: 503,
    hint: 'The identity provider could not be reached or answered with an error.',
  },
  ERR_OIDC_STATE_MISMATCH: {
    status: 400,
    hint: 'The login callback does not match a login this browser started; start again.',
  },
  ERR_OIDC_CALLBACK_INVALID: {
    status: 400,
    hint: 'The identity provider returned a response sluss refused; see the log entry.',
  },
  ERR_OIDC_IDP_ERROR: { status: 400, hint: 'The identity provider reported an error for this login.' },
  ERR_SAML_RESPONSE_INVALID: {
    status: 400,
    hint: 'The SAML message was refused (signature, issuer, audience, recipient, destination, time window, InResponseTo, replay, or form); see the log entry.',
  },
  ERR_SAML_IDP_STATUS: {
    status: 400,
    hint: 'The SAML IdP answered with a non-Success status (e.g. the user cancelled or is not allowed).',
  },
  ERR_LOGOUT_TOKEN_INVALID: {
    status: 400,
    hint: 'A back-channel logout token was refused (signature, issuer, audience, age, replay or content); see the log entry.',
  },
  ERR_PAYLOAD_INVALID: {
    status: 400,
    hint: 'The request body is missing, too large or not application/x-www-form-urlencoded.',
  },
  ERR_LOGIN_EXPIRED: { status: 400, hint: 'The login took too long or its cookie was lost; start again.' },
  ERR_UNAUTHENTICATED: { status: 401, hint: 'Log in first; API clients get 401 instead of a redirect.' },
  ERR_ACCESS_DENIED: {
    status: 403,
    hint: 'The tenant policy refused this user (group whitelist, email domain, path rule, IdP check); the reason code and reference are in the audit stream.',
  },
  ERR_MFA_REQUIRED: {
    status: 403,
    hint: 'The tenant requires MFA and the IdP did not vouch for a second factor, even after a step-up; check the IdP mfa settings.',
  },
  ERR_IDENTITY_INCOMPLETE: {
    status: 403,
    hint: 'The identity provider did not send a subject for this user.',
  },
  ERR_SESSION_TOO_LARGE: {
    status: 500,
    hint: 'The identity (mostly its groups) does not fit in the session cookie; limit the groups the IdP sends.',
  },
  ERR_SIGNING_FAILED: { status: 500, hint: 'The identity JWT could not be signed; check signingKeys.' },
  ERR_STORE_UNAVAILABLE: {
    status: 503,
    hint: 'The store (SQLite/Redis) is not reachable: new logins wait for it; existing sessions ride on store.graceSeconds.',
  },
  ERR_UPSTREAM_UNAVAILABLE: {
    status: 502,
    hint: 'The app behind sluss did not answer; check upstream.url and the app container.',
  },
  ERR_NOT_FOUND: { status: 404, hint: 'There is no sluss endpoint at this path.' },
  ERR_METHOD_NOT_ALLOWED: { status: 405, hint: 'This sluss endpoint does not accept that method.' },
  ERR_BAD_REQUEST: {
    status: 400,
    hint: 'The request target is not a path (absolute-form or `*`); browsers never send that.',
  },
  ERR_INTERNAL: {
    status: 500,
    hint: 'An unexpected failure; the log entry with this reference has the detail.',
  },
} as const satisfies Record<string, { status: number; hint: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A typed sluss failure. `cause` carries detail for the log only. */
export class SlussError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly hint: string;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlussError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.hint = options?.hint ?? ERROR_CODES[code].hint;
  }

  /** `<code>: message` followed by the ops hint, as the CLI prints it. */
  describe(): string {
    return `${this.code}: ${this.message}\n  hint: ${this.hint}`;
  }
}

/** Wraps anything thrown into a SlussError, keeping the original as `cause`. */
export function toSlussError(error: unknown, fallback: ErrorCode = 'ERR_INTERNAL'): SlussError {
  if (error instanceof SlussError) return error;
  return new SlussError(fallback, fallback === 'ERR_INTERNAL' ? 'internal error' : String(error), {
    cause: error,
  });
}
