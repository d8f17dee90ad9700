/**
 * The one place that interprets openid-client's (and oauth4webapi's) errors.
 * Everything else sees SlussError codes. The IdP's own error text is logged
 * (as `cause`), never shown verbatim, since it is attacker-influenced.
 */
import { AuthorizationResponseError, ClientError, ResponseBodyError } from 'openid-client';
import { SlussError } from '../../errors.ts';

/** oauth4webapi codes that mean "the IdP sent something we refuse". */
const REFUSED_RESPONSE_CODES = new Set([
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_JWS_SIGNATURE_VERIFICATION_FAILED',
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_UNSUPPORTED_OPERATION',
  'OAUTH_KEY_SELECTION_FAILED',
  'OAUTH_MISSING_SERVER_METADATA',
  'OAUTH_INVALID_REQUEST',
  'OAUTH_RESPONSE_BODY_ERROR',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
  'OAUTH_WWW_AUTHENTICATE_CHALLENGE',
]);

function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return true;
  if (error instanceof TypeError && /fetch failed/i.test(error.message)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ECONN|ENOTFOUND|EAI_|ETIMEDOUT|UND_ERR)/.test(code)) return true;
  return error.cause !== undefined && isNetworkFailure(error.cause);
}

/** True when the error carries an HTTP response (oauth4webapi keeps it as `cause`) with a 5xx status. */
function serverErrorStatus(error: unknown, depth = 0): boolean {
  if (depth > 3 || error === null || typeof error !== 'object') return false;
  const status = (error as { status?: unknown }).status;
  if (error instanceof Response || (typeof status === 'number' && 'headers' in error)) {
    return typeof status === 'number' && status >= 500;
  }
  return serverErrorStatus((error as { cause?: unknown }).cause, depth + 1);
}

export type OidcStage = 'discovery' | 'callback' | 'refresh';

/** Maps any failure from openid-client at `stage` to a SlussError. */
export function translateOidcError(error: unknown, stage: OidcStage): SlussError {
  if (error instanceof SlussError) return error;
  if (isNetworkFailure(error)) {
    return new SlussError(
      'ERR_IDP_UNAVAILABLE',
      'The sign-in service could not be reached. Try again in a moment.',
      { cause: error },
    );
  }
  if (stage === 'discovery') {
    return new SlussError('ERR_IDP_UNAVAILABLE', "The sign-in service's configuration could not be loaded.", {
      cause: error,
    });
  }
  if (error instanceof AuthorizationResponseError) {
    const reason = /^[a-z_]{1,64}$/.test(error.error) ? error.error : 'error';
    return new SlussError('ERR_OIDC_IDP_ERROR', `The sign-in service refused the sign-in (${reason}).`, {
      cause: error,
    });
  }
  if (error instanceof ResponseBodyError) {
    // e.g. invalid_grant: a replayed or expired authorization code.
    if (error.status >= 500) {
      return new SlussError(
        'ERR_IDP_UNAVAILABLE',
        'The sign-in service answered with an error. Try again in a moment.',
        { cause: error },
      );
    }
    return new SlussError(
      'ERR_OIDC_CALLBACK_INVALID',
      'The sign-in could not be completed. Please start again.',
      { cause: error },
    );
  }
  // A 5xx without an OAuth error body (a proxy's error page) is an outage, not a refusal.
  if (serverErrorStatus(error)) {
    return new SlussError(
      'ERR_IDP_UNAVAILABLE',
      'The sign-in service answered with an error. Try again in a moment.',
      {
        cause: error,
      },
    );
  }
  const code = (error as { code?: unknown }).code;
  if (error instanceof ClientError || (typeof code === 'string' && REFUSED_RESPONSE_CODES.has(code))) {
    return new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The response from the sign-in service was refused.', {
      cause: error,
    });
  }
  return new SlussError('ERR_OIDC_CALLBACK_INVALID', 'The response from the sign-in service was refused.', {
    cause: error,
  });
}
