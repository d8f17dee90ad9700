/**
 * Input coercion and output rendering for SCIM resources, driven by the schema definitions.
 * Input: canonical attribute names (any case accepted), Entra's string booleans ("False"),
 * Entra's bare-string `manager`, read-only attributes ignored (RFC 7644 §3.5.1), `password`
 * never stored (sluss authenticates through the IdP, not with passwords), unknown attributes
 * dropped. Output: `schemas`, `id`, `meta` and the `attributes`/`excludedAttributes` projection.
 */
import { badRequest } from './errors.ts';
import { parseAttrPath } from './filter.ts';
import { findKey, isObject, type JsonObject, type JsonValue } from './json.ts';
import { type AttributeDef, findAttribute, findExtension, META_DEF, type ResourceTypeDef } from './schema.ts';

/** Attributes a client can never set: the server computes them. */
const SERVER_ONLY = new Set(['id', 'meta', 'groups']);

/**
 * Coerces one attribute value to its definition. Returns undefined for "unassigned" (null,
 * empty string in a complex, empty array/object). Throws 400 `invalidValue`.
 */
export function coerceValue(def: AttributeDef, value: JsonValue, where: string): JsonValue | undefined {
  if (value === null) return undefined;
  if (def.multiValued) {
    const items = Array.isArray(value) ? value : [value];
    const out: JsonValue[] = [];
    for (const item of items) {
      const coerced = coerceSingle(def, item, where);
      if (coerced !== undefined) out.push(coerced);
    }
    if (def.type === 'complex') keepOnePrimary(out);
    return out.length > 0 ? out : undefined;
  }
  // Entra has sent the single-valued enterprise manager as [{ "$ref": null, "value": "…" }].
  if (Array.isArray(value) && value.length === 1 && def.type === 'complex') value = value[0] as JsonValue;
  if (Array.isArray(value)) throw badRequest('invalidValue', `"${where}" takes a single value.`);
  return coerceSingle(def, value, where);
}

function coerceSingle(def: AttributeDef, value: JsonValue, where: string): JsonValue | undefined {
  if (value === null) return undefined;
  switch (def.type) {
    case 'complex': {
      // Entra sends the enterprise manager as the manager's id, not as { value }.
      if (typeof value === 'string' && def.name === 'manager') value = { value };
      if (!isObject(value)) throw badRequest('invalidValue', `"${where}" must be an object.`);
      const out: JsonObject = {};
      for (const [key, sub] of Object.entries(value)) {
        const subDef = findAttribute(def.subAttributes ?? [], key);
        if (!subDef || subDef.mutability === 'readOnly') continue;
        const coerced = coerceValue(subDef, sub, `${where}.${subDef.name}`);
        if (coerced !== undefined) out[subDef.name] = coerced;
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw badRequest('invalidValue', `"${where}" must be a boolean.`);
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      throw badRequest('invalidValue', `"${where}" must be an integer.`);
    case 'decimal':
      if (typeof value === 'number') return value;
      throw badRequest('invalidValue', `"${where}" must be a number.`);
    case 'dateTime':
      if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return value;
      throw badRequest('invalidValue', `"${where}" must be a date and time.`);
    default:
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      throw badRequest('invalidValue', `"${where}" must be a string.`);
  }
}

/** RFC 7643 §2.4: "primary" true at most once; the last one set wins. */
export function keepOnePrimary(items: JsonValue[]): void {
  let seen = false;
  for (let i = items.length - 1; i >= 0; i -= 1) {
    const item = items[i];
    if (isObject(item) && item.primary === true) {
      if (seen) item.primary = false;
      seen = true;
    }
  }
}

/**
 * Turns a POST/PUT body into stored attributes (canonical names, extensions under their URN,
 * no `id`/`meta`/`schemas`). Throws 400 `invalidSyntax`/`invalidValue`.
 */
export function normaliseInput(body: unknown, type: ResourceTypeDef): JsonObject {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'The request body must be a JSON object.');
  const schemasKey = findKey(body, 'schemas');
  if (schemasKey !== undefined) {
    const schemas = body[schemasKey];
    if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string')) {
      throw badRequest('invalidSyntax', '"schemas" must be an array of URNs.');
    }
    if (!schemas.some((s) => (s as string).toLowerCase() === type.schema.id.toLowerCase())) {
      throw badRequest('invalidSyntax', `"schemas" must include ${type.schema.id}.`);
    }
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(body)) {
    const extension = findExtension(type, key);
    if (extension) {
      if (value === null) continue;
      if (!isObject(value)) throw badRequest('invalidValue', `"${key}" must be an object.`);
      const ext: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) {
        const def = findAttribute(extension.attributes, name);
        if (!def || def.mutability === 'readOnly') continue;
        const coerced = coerceValue(def, sub, name);
        if (coerced !== undefined) ext[def.name] = coerced;
      }
      if (Object.keys(ext).length > 0) out[extension.id] = ext;
      continue;
    }
    const def = findAttribute(type.schema.attributes, key);
    if (!def || SERVER_ONLY.has(def.name) || def.name === 'password') continue;
    const coerced = coerceValue(def, value, def.name);
    if (coerced !== undefined) out[def.name] = coerced;
  }
  requireAttributes(out, type);
  return out;
}

/** Required attributes (userName, displayName) must be non-empty strings. */
export function requireAttributes(attributes: JsonObject, type: ResourceTypeDef): void {
  for (const def of type.schema.attributes) {
    if (!def.required) continue;
    const value = attributes[def.name];
    if (typeof value !== 'string' || value.trim() === '') {
      throw badRequest('invalidValue', `"${def.name}" is required.`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Projection (RFC 7644 §3.4.2.5)

export interface Projection {
  attributes?: string[];
  excludedAttributes?: string[];
}

/** Splits and validates `attributes=` / `excludedAttributes=` into lower-case full names. */
export function parseAttributeList(value: string | null, type: ResourceTypeDef): string[] | undefined {
  if (value === null || value.trim() === '') return undefined;
  const names: string[] = [];
  for (const raw of value.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (findExtension(type, name)) {
      names.push(name.toLowerCase());
      continue;
    }
    let path: ReturnType<typeof parseAttrPath>;
    try {
      path = parseAttrPath(name);
    } catch {
      throw badRequest('invalidPath', `"${name}" is not an attribute name.`);
    }
    const urn =
      path.urn !== undefined && path.urn.toLowerCase() !== type.schema.id.toLowerCase() ? path.urn : '';
    names.push(
      `${urn ? `${urn.toLowerCase()}:` : ''}${path.attribute.toLowerCase()}${path.subAttribute ? `.${path.subAttribute.toLowerCase()}` : ''}`,
    );
  }
  return names.length > 0 ? names : undefined;
}

/** Applies the projection to a rendered resource (a new object; `id` and `schemas` always stay). */
export function project(doc: JsonObject, type: ResourceTypeDef, projection: Projection): JsonObject {
  const { attributes, excludedAttributes } = projection;
  if (!attributes && !excludedAttributes) return doc;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'schemas') {
      out[key] = value;
      continue;
    }
    const extension = findExtension(type, key);
    if (extension && isObject(value)) {
      const prefix = `${extension.id.toLowerCase()}:`;
      const whole = extension.id.toLowerCase();
      const ext: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) {
        const def = findAttribute(extension.attributes, name);
        const kept = projectAttribute(prefix + name.toLowerCase(), def, sub, projection, whole);
        if (kept !== undefined) ext[name] = kept;
      }
      if (Object.keys(ext).length > 0) out[key] = ext;
      continue;
    }
    const def = findAttribute(type.schema.attributes, key) ?? findAttribute([META_DEF], key);
    const kept = projectAttribute(key.toLowerCase(), def, value, projection, undefined);
    if (kept !== undefined) out[key] = kept;
  }
  return out;
}

function projectAttribute(
  full: string,
  def: AttributeDef | undefined,
  value: JsonValue,
  { attributes, excludedAttributes }: Projection,
  extensionName: string | undefined,
): JsonValue | undefined {
  if (def?.returned === 'never') return undefined;
  if (def?.returned === 'always') return value;
  if (attributes) {
    if (attributes.includes(full) || (extensionName !== undefined && attributes.includes(extensionName))) {
      return value;
    }
    const subs = attributes.filter((a) => a.startsWith(`${full}.`)).map((a) => a.slice(full.length + 1));
    if (subs.length === 0) return undefined;
    return pickSubAttributes(value, (name) => subs.includes(name.toLowerCase()));
  }
  if (excludedAttributes) {
    if (excludedAttributes.includes(full)) return undefined;
    const subs = excludedAttributes
      .filter((a) => a.startsWith(`${full}.`))
      .map((a) => a.slice(full.length + 1));
    if (subs.length > 0) return pickSubAttributes(value, (name) => !subs.includes(name.toLowerCase()));
  }
  return def?.returned === 'request' ? undefined : value;
}

function pickSubAttributes(value: JsonValue, keep: (name: string) => boolean): JsonValue | undefined {
  const pick = (item: JsonValue): JsonValue | undefined => {
    if (!isObject(item)) return undefined;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(item)) if (keep(k)) out[k] = v;
    return Object.keys(out).length > 0 ? out : undefined;
  };
  if (Array.isArray(value)) {
    const items = value.map(pick).filter((v): v is JsonValue => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  return pick(value);
}

/** The `schemas` list of a stored resource: the core schema plus every extension it has data for. */
export function schemasOf(attributes: JsonObject, type: ResourceTypeDef): string[] {
  const schemas = [type.schema.id];
  for (const { schema } of type.extensions) if (Object.hasOwn(attributes, schema.id)) schemas.push(schema.id);
  return schemas;
}
