/**
 * SCIM error responses (RFC 7644 §3.12): `schemas` names the Error message, `status` is a
 * string, `scimType` narrows 400s (and 409 `uniqueness`). Details never carry stack traces.
 */
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export interface ScimResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export class ScimError extends Error {
  readonly status: number;
  readonly scimType: ScimType | undefined;

  constructor(status: number, detail: string, scimType?: ScimType) {
    super(detail);
    this.name = 'ScimError';
    this.status = status;
    this.scimType = scimType;
  }
}

export const badRequest = (scimType: ScimType, detail: string): ScimError =>
  new ScimError(400, detail, scimType);
export const notFound = (detail = 'Resource not found'): ScimError => new ScimError(404, detail);

export function errorBody(status: number, detail: string, scimType?: ScimType): Record<string, unknown> {
  const body: Record<string, unknown> = { schemas: [SCIM_ERROR_SCHEMA], status: String(status), detail };
  if (scimType !== undefined) body.scimType = scimType;
  return body;
}

export function errorResponse(error: ScimError): ScimResponse {
  return {
    status: error.status,
    headers: { 'Content-Type': SCIM_CONTENT_TYPE },
    body: errorBody(error.status, error.message, error.scimType),
  };
}

/** The 401 the auth layer sends for a missing or wrong bearer token (RFC 6750 challenge included). */
export function unauthorized(detail = 'A valid bearer token is required.'): ScimResponse {
  return {
    status: 401,
    headers: { 'Content-Type': SCIM_CONTENT_TYPE, 'WWW-Authenticate': 'Bearer realm="sluss-scim"' },
    body: errorBody(401, detail),
  };
}
