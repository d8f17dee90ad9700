/**
 * Identity mapping: an IdP's raw claims (OIDC ID token + UserInfo, or the
 * claims sluss builds from a SAML assertion) → the fields sluss needs about a
 * user. Pure functions, no I/O; the raw claims are untrusted input.
 *
 * Each field has a list of paths; the first that resolves to a usable value
 * wins (fallback paths). A path is one of:
 * - an RFC 9535 JSONPath, starting with `$`: `$.user.name`, `$['urn:oid:2.5.4.42']`;
 * - `claim:<exact name>`: one top-level claim by its exact name, dots, slashes and all
 *   (`claim:http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn`);
 * - a name that contains `:` (a URI or URN such as SAML attribute names): taken as one
 *   exact claim name too, never split;
 * - otherwise a shorthand split on the path separator (default `.`): `user.name` is
 *   `$['user']['name']`, a numeric segment is an index (`emails.0`), `*` a wildcard.
 * One entry may hold several alternatives joined by the fallback separator (default
 * `|`): `email|upn|preferred_username`. An empty fallback separator turns that off.
 *
 * Scalar fields take the first usable string of what a path yields (multi-valued SAML
 * attributes arrive as arrays). `groups` collects from every path (e.g. Entra `groups`
 * and `roles`), flattens arrays, splits on the optional groups delimiter, de-duplicates.
 */
import { query } from 'jsonpath-rfc9535';
import parseJsonPath from 'jsonpath-rfc9535/parser';

export const MAPPED_FIELDS = [
  'login',
  'email',
  'givenName',
  'familyName',
  'displayName',
  'groups',
  'idpUserId',
] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

/** Fields without which a login is denied (`identity-incomplete`), unless a mapping relaxes them. */
export const REQUIRED_FIELDS = ['login', 'email', 'givenName', 'familyName', 'idpUserId'] as const;
export type RequiredField = (typeof REQUIRED_FIELDS)[number];
/** Required fields a mapping may make optional; idpUserId never is (users are matched on it). */
export const RELAXABLE_FIELDS = ['login', 'email', 'givenName', 'familyName'] as const;
export type RelaxableField = (typeof RELAXABLE_FIELDS)[number];

/** A path list as config gives it: one string or several (each may hold fallback alternatives). */
export type PathList = string | readonly string[];

export interface PathSyntax {
  /** Splits shorthand paths into segments (default `.`). */
  readonly pathSeparator: string;
  /** Splits one entry into fallback alternatives (default `|`; empty: no splitting). */
  readonly fallbackSeparator: string;
}

export const DEFAULT_PATH_SYNTAX: PathSyntax = { pathSeparator: '.', fallbackSeparator: '|' };

/** A mapping as written (by a preset or a tenant), before compilation. */
export interface MappingSpec {
  readonly fields?: Partial<Readonly<Record<MappedField, PathList>>>;
  /** Paths that, when any resolves to a truthy value, mean the IdP left groups out (Entra overage). */
  readonly groupsOverage?: PathList;
  /** Also split each group value on this delimiter (e.g. `;` from ADFS). */
  readonly groupsDelimiter?: string;
  readonly syntax?: Partial<PathSyntax>;
  /** Which of login, email, givenName, familyName must resolve (default: all four). */
  readonly required?: readonly RelaxableField[];
}

/** One compiled path: the RFC 9535 expression and what it was written as (for messages). */
export interface CompiledPath {
  readonly jsonPath: string;
  readonly source: string;
}

export interface CompiledMapping {
  readonly fields: Readonly<Record<MappedField, readonly CompiledPath[]>>;
  readonly groupsOverage: readonly CompiledPath[];
  readonly groupsDelimiter: string | undefined;
  readonly required: readonly RequiredField[];
}

export interface MappedIdentity {
  /** login, email and the names are always set unless the mapping made them optional. */
  readonly login: string | undefined;
  readonly email: string | undefined;
  readonly givenName: string | undefined;
  readonly familyName: string | undefined;
  /** Mapped display name, else "given family". */
  readonly displayName: string | undefined;
  readonly groups: readonly string[];
  /** Stable user ID at the IdP (Entra `oid`, else `sub`): match users on this, not on email. */
  readonly idpUserId: string;
  /** The IdP said the user has more groups than it put in the token (Entra overage). */
  readonly groupsOverage: boolean;
  /** More groups arrived than sluss keeps (`MAPPING_LIMITS.maxGroups`). */
  readonly groupsTruncated: boolean;
}

export type MappingResult =
  | { readonly ok: true; readonly identity: MappedIdentity }
  | {
      readonly ok: false;
      readonly reason: 'identity-incomplete';
      readonly missing: readonly RequiredField[];
      readonly detail: string;
    };

export const MAPPING_LIMITS = {
  /** Array items kept per array of the raw claims. */
  maxArrayItems: 1000,
  /** Nodes (values) copied from the raw claims in all. */
  maxNodes: 20_000,
  /** Nesting depth copied from the raw claims. */
  maxDepth: 10,
  /** Longer raw strings are dropped (not truncated: a cut value could name someone else). */
  maxRawStringLength: 8192,
  /** Longest value a mapped field (or one group) may have. */
  maxValueLength: 1024,
  maxGroups: 500,
  maxPathsPerField: 32,
  maxPathLength: 1024,
} as const;

export class MappingConfigError extends Error {
  override readonly name = 'MappingConfigError';
}

const SAML_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// C0/C1 controls, DEL, line/paragraph separators, bidi overrides: never part of a name, login or email.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

// ---------------------------------------------------------------------------------------------
// Compilation

/** Splits `text` on `separator` outside quotes and brackets (JSONPath filters may contain `|`). */
function splitFallbacks(text: string, separator: string): string[] {
  if (separator === '' || !text.includes(separator)) return [text];
  const parts: string[] = [];
  let quote: string | undefined;
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote !== undefined) {
      if (char === '\\') i++;
      else if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === '[' || char === '(') {
      depth++;
    } else if (char === ']' || char === ')') {
      depth = Math.max(0, depth - 1);
    } else if (depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
      i = start - 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function quoteName(name: string): string {
  return `['${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
}

function exactClaim(name: string, source: string): string {
  if (name === '') throw new MappingConfigError(`"${source}" names no claim.`);
  if (CONTROL.test(name)) throw new MappingConfigError(`"${source}" contains a control character.`);
  return `$${quoteName(name)}`;
}

/** One alternative (already split from its fallbacks) → an RFC 9535 JSONPath. */
function toJsonPath(alternative: string, syntax: PathSyntax): string {
  const text = alternative.trim();
  if (text === '') throw new MappingConfigError('A path is empty (check the fallback separator).');
  if (text.startsWith('$')) return text;
  if (text.startsWith('claim:')) return exactClaim(text.slice('claim:'.length), text);
  if (text.includes(':')) return exactClaim(text, text);
  const segments = text.split(syntax.pathSeparator);
  if (segments.some((segment) => segment === '')) {
    throw new MappingConfigError(
      `"${text}" has an empty segment (path separator "${syntax.pathSeparator}").`,
    );
  }
  return `$${segments
    .map((segment) => {
      if (segment === '*') return '[*]';
      if (/^(0|[1-9]\d{0,8})$/.test(segment)) return `[${segment}]`;
      if (CONTROL.test(segment)) throw new MappingConfigError(`"${text}" contains a control character.`);
      return quoteName(segment);
    })
    .join('')}`;
}

function compilePathList(list: PathList, syntax: PathSyntax, label: string): CompiledPath[] {
  const entries = typeof list === 'string' ? [list] : list;
  const compiled: CompiledPath[] = [];
  for (const entry of entries) {
    if (entry.length > MAPPING_LIMITS.maxPathLength)
      throw new MappingConfigError(`A path of ${label} is longer than ${MAPPING_LIMITS.maxPathLength}.`);
    for (const alternative of splitFallbacks(entry, syntax.fallbackSeparator)) {
      let jsonPath: string;
      try {
        jsonPath = toJsonPath(alternative, syntax);
        parseJsonPath(jsonPath);
      } catch (error) {
        const why = error instanceof MappingConfigError ? error.message : 'it is not a valid JSONPath';
        throw new MappingConfigError(`${label}: "${alternative.trim()}" cannot be used: ${why}`);
      }
      compiled.push({ jsonPath, source: alternative.trim() });
    }
  }
  if (compiled.length > MAPPING_LIMITS.maxPathsPerField)
    throw new MappingConfigError(`${label} has more than ${MAPPING_LIMITS.maxPathsPerField} paths.`);
  return compiled;
}

function checkSyntax(syntax: PathSyntax): void {
  const { pathSeparator, fallbackSeparator } = syntax;
  if (pathSeparator === '' || pathSeparator.length > 4 || /[$\s'"[\]:]/.test(pathSeparator))
    throw new MappingConfigError(`The path separator "${pathSeparator}" cannot be used.`);
  if (fallbackSeparator.length > 4 || /[$\s'"[\]]/.test(fallbackSeparator))
    throw new MappingConfigError(`The fallback separator "${fallbackSeparator}" cannot be used.`);
  if (
    fallbackSeparator !== '' &&
    (pathSeparator.includes(fallbackSeparator) || fallbackSeparator.includes(pathSeparator))
  )
    throw new MappingConfigError('The path separator and the fallback separator must differ.');
}

const NO_PATHS: Readonly<Record<MappedField, readonly CompiledPath[]>> = {
  login: [],
  email: [],
  givenName: [],
  familyName: [],
  displayName: [],
  groups: [],
  idpUserId: [{ jsonPath: "$['sub']", source: 'sub' }],
};

/**
 * Compiles a mapping. Fields the spec names replace those of `base` (a compiled preset);
 * the others are kept. Throws `MappingConfigError` on an unusable path (a config error).
 */
export function compileMapping(spec: MappingSpec, base?: CompiledMapping): CompiledMapping {
  const syntax: PathSyntax = { ...DEFAULT_PATH_SYNTAX, ...spec.syntax };
  checkSyntax(syntax);
  if (spec.groupsDelimiter !== undefined && (spec.groupsDelimiter === '' || spec.groupsDelimiter.length > 4))
    throw new MappingConfigError('The groups delimiter must be 1 to 4 characters.');
  const fields: Record<MappedField, readonly CompiledPath[]> = { ...(base?.fields ?? NO_PATHS) };
  for (const field of MAPPED_FIELDS) {
    const list = spec.fields?.[field];
    if (list !== undefined) fields[field] = compilePathList(list, syntax, field);
  }
  return {
    fields,
    groupsOverage:
      spec.groupsOverage !== undefined
        ? compilePathList(spec.groupsOverage, syntax, 'groupsOverage')
        : (base?.groupsOverage ?? []),
    groupsDelimiter: spec.groupsDelimiter ?? base?.groupsDelimiter,
    required: spec.required ? [...spec.required, 'idpUserId'] : (base?.required ?? REQUIRED_FIELDS),
  };
}

/** Why a spec does not compile, or undefined (for config validation). */
export function mappingSpecProblem(spec: MappingSpec): string | undefined {
  try {
    compileMapping(spec);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * A bounded, plain-JSON copy of untrusted claims: null-prototype objects without
 * `__proto__`/`constructor`/`prototype` keys, arrays and depth capped, oversized strings and
 * non-JSON values dropped. Everything after this works on the copy only.
 */
export function sanitizeClaims(claims: unknown): Record<string, Json> {
  let budget: number = MAPPING_LIMITS.maxNodes;
  const copy = (value: unknown, depth: number): Json | undefined => {
    if (budget-- <= 0) return undefined;
    switch (typeof value) {
      case 'string':
        return value.length <= MAPPING_LIMITS.maxRawStringLength ? value : undefined;
      case 'number':
        return Number.isFinite(value) ? value : undefined;
      case 'boolean':
        return value;
      case 'object': {
        if (value === null) return null;
        if (depth >= MAPPING_LIMITS.maxDepth) return undefined;
        if (Array.isArray(value)) {
          const out: Json[] = [];
          const length = Math.min(value.length, MAPPING_LIMITS.maxArrayItems);
          for (let i = 0; i < length && budget > 0; i++) {
            const item = copy(value[i], depth + 1);
            if (item !== undefined) out.push(item);
          }
          return out;
        }
        const prototype: unknown = Object.getPrototypeOf(value);
        if (prototype !== Object.prototype && prototype !== null) return undefined;
        const out = Object.create(null) as Record<string, Json>;
        for (const key of Object.keys(value)) {
          if (budget <= 0) break;
          if (UNSAFE_KEYS.has(key) || key.length > MAPPING_LIMITS.maxPathLength) continue;
          const item = copy((value as Record<string, unknown>)[key], depth + 1);
          if (item !== undefined) out[key] = item;
        }
        return out;
      }
      default:
        return undefined;
    }
  };
  const root = copy(claims, 0);
  return root !== null && typeof root === 'object' && !Array.isArray(root)
    ? root
    : (Object.create(null) as Record<string, Json>);
}

/** A usable single value: a trimmed, non-empty, bounded string without control characters. */
function usableString(value: Json): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
  else return undefined;
  if (text === '' || text.length > MAPPING_LIMITS.maxValueLength || CONTROL.test(text)) return undefined;
  return text;
}

function plausibleEmail(value: string): boolean {
  const at = value.lastIndexOf('@');
  return at > 0 && at < value.length - 1 && !/\s/.test(value);
}

function run(claims: Record<string, Json>, path: CompiledPath): Json[] {
  try {
    return query(claims, path.jsonPath) as Json[];
  } catch {
    return [];
  }
}

/** Values a path yields, one array level unwrapped (multi-valued SAML attributes). */
function* candidates(results: readonly Json[]): Generator<Json> {
  for (const result of results) {
    if (Array.isArray(result)) yield* result;
    else yield result;
  }
}

function resolveScalar(
  claims: Record<string, Json>,
  paths: readonly CompiledPath[],
  accept: (value: string) => boolean = () => true,
): string | undefined {
  for (const path of paths) {
    for (const value of candidates(run(claims, path))) {
      const text = usableString(value);
      if (text !== undefined && accept(text)) return text;
    }
  }
  return undefined;
}

function resolveGroups(
  claims: Record<string, Json>,
  paths: readonly CompiledPath[],
  delimiter: string | undefined,
): { groups: string[]; truncated: boolean } {
  const groups = new Set<string>();
  let truncated = false;
  const add = (value: Json, depth: number): void => {
    if (Array.isArray(value)) {
      if (depth < 2) for (const item of value) add(item, depth + 1);
      return;
    }
    const text = usableString(value);
    if (text === undefined) return;
    const pieces = delimiter === undefined ? [text] : text.split(delimiter).map((piece) => piece.trim());
    for (const piece of pieces) {
      if (piece === '' || groups.has(piece)) continue;
      if (groups.size >= MAPPING_LIMITS.maxGroups) {
        truncated = true;
        return;
      }
      groups.add(piece);
    }
  };
  for (const path of paths) for (const result of run(claims, path)) add(result, 0);
  return { groups: [...groups], truncated };
}

function anyTruthy(claims: Record<string, Json>, paths: readonly CompiledPath[]): boolean {
  return paths.some((path) =>
    run(claims, path).some(
      (value) =>
        value !== null &&
        value !== false &&
        value !== '' &&
        value !== 0 &&
        !(Array.isArray(value) && value.length === 0),
    ),
  );
}

/**
 * Maps raw claims to a `MappedIdentity`, or a typed denial naming every missing required
 * field. Never throws on any input. A SAML transient NameID never counts as `idpUserId`.
 */
export function mapIdentity(rawClaims: unknown, mapping: CompiledMapping): MappingResult {
  const claims = sanitizeClaims(rawClaims);
  const { fields } = mapping;
  const login = resolveScalar(claims, fields.login);
  const email = resolveScalar(claims, fields.email, plausibleEmail);
  const givenName = resolveScalar(claims, fields.givenName);
  const familyName = resolveScalar(claims, fields.familyName);
  const transientSub =
    claims.name_id_format === SAML_TRANSIENT && typeof claims.sub === 'string'
      ? claims.sub.trim()
      : undefined;
  const idpUserId = resolveScalar(claims, fields.idpUserId, (value) => value !== transientSub);
  const found: Record<RequiredField, string | undefined> = { login, email, givenName, familyName, idpUserId };
  const missing = mapping.required.filter((field) => found[field] === undefined);
  if (missing.length > 0 || idpUserId === undefined) {
    return {
      ok: false,
      reason: 'identity-incomplete',
      missing,
      detail: `The identity provider did not send ${missing.join(', ')} (or sent no usable value).`,
    };
  }
  const { groups, truncated } = resolveGroups(claims, fields.groups, mapping.groupsDelimiter);
  const displayName =
    resolveScalar(claims, fields.displayName) ??
    ([givenName, familyName].filter(Boolean).join(' ') || undefined);
  return {
    ok: true,
    identity: {
      login,
      email,
      givenName,
      familyName,
      displayName,
      groups,
      idpUserId,
      groupsOverage: anyTruthy(claims, mapping.groupsOverage),
      groupsTruncated: truncated,
    },
  };
}
