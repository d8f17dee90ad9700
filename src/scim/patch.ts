/**
 * SCIM PATCH (RFC 7644 §3.5.2) on stored attributes, schema-aware: attribute names in any
 * case, Entra's capitalised ops ("Replace") and string booleans, Entra's path-shaped keys in
 * path-less values ({"name.givenName": …}), bare-string enterprise `manager`, `remove` with a
 * value list (Entra's member removal), add/replace through an `eq` value filter that matches
 * nothing creating the element (Entra's `emails[type eq "work"].value`), Okta's path-less
 * replace that repeats the `id`. Read-only targets fail with 400 `mutability`.
 *
 * Why not scim-patch 0.8.3: a path of `__proto__.x` (or a value key `__proto__.x`) writes to
 * Object.prototype, `Remove` without a path crashes with a TypeError, attribute names and
 * filter values are compared case-sensitively, and it depends on scim2-parse-filter (see
 * filter.ts). Its tree-walking is also schema-blind, so mutability cannot be enforced.
 */
import { badRequest, ScimError } from './errors.ts';
import {
  compileElementFilter,
  type FilterNode,
  type Predicate,
  parseAttrPath,
  parseValueFilter,
} from './filter.ts';
import { deepEqual, findKey, isObject, type JsonObject, type JsonValue } from './json.ts';
import { coerceValue, keepOnePrimary, requireAttributes } from './resource.ts';
import {
  type AttributeDef,
  findAttribute,
  findExtension,
  PATCH_OP_SCHEMA,
  type ResourceTypeDef,
  resolveAttribute,
  type SchemaDef,
} from './schema.ts';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: PatchOpName;
  path?: string;
  value?: JsonValue;
}

export interface PatchLimits {
  maxOperations: number;
  maxMembers: number;
}

/** Validates a PatchOp message (RFC 7644 §3.5.2) and normalises op names to lower case. */
export function parsePatchRequest(body: unknown, limits: PatchLimits): PatchOperation[] {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'The request body must be a JSON object.');
  const schemas = body[findKey(body, 'schemas') ?? 'schemas'];
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())
  ) {
    throw badRequest('invalidSyntax', `"schemas" must be ["${PATCH_OP_SCHEMA}"].`);
  }
  const operations = body[findKey(body, 'Operations') ?? 'Operations'];
  if (!Array.isArray(operations) || operations.length === 0) {
    throw badRequest('invalidSyntax', '"Operations" must be a non-empty array.');
  }
  if (operations.length > limits.maxOperations) {
    throw new ScimError(413, `A PATCH may have at most ${limits.maxOperations} operations.`, 'tooMany');
  }
  let members = 0;
  const parsed = operations.map((raw, index): PatchOperation => {
    if (!isObject(raw)) throw badRequest('invalidSyntax', `Operation ${index + 1} must be an object.`);
    const opValue = raw[findKey(raw, 'op') ?? 'op'];
    const op = typeof opValue === 'string' ? opValue.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw badRequest('invalidSyntax', `Operation ${index + 1} has no valid "op" (add, replace or remove).`);
    }
    const pathKey = findKey(raw, 'path');
    const path = pathKey === undefined ? undefined : raw[pathKey];
    if (path !== undefined && path !== null && (typeof path !== 'string' || path.trim() === '')) {
      throw badRequest('invalidPath', `Operation ${index + 1} has an invalid "path".`);
    }
    const valueKey = findKey(raw, 'value');
    const result: PatchOperation = { op };
    if (typeof path === 'string') result.path = path.trim();
    if (valueKey !== undefined) result.value = raw[valueKey] as JsonValue;
    if (op !== 'remove' && valueKey === undefined) {
      throw badRequest('invalidValue', `Operation ${index + 1} ("${op}") needs a "value".`);
    }
    if (op === 'remove' && result.path === undefined) {
      throw new ScimError(400, `Operation ${index + 1} ("remove") needs a "path".`, 'noTarget');
    }
    members += countMembers(result);
    return result;
  });
  if (members > limits.maxMembers) {
    throw new ScimError(413, `A PATCH may change at most ${limits.maxMembers} members.`, 'tooMany');
  }
  return parsed;
}

function countMembers(op: PatchOperation): number {
  const count = (v: JsonValue | undefined) =>
    Array.isArray(v) ? v.length : v === undefined || v === null ? 0 : 1;
  if (op.path !== undefined)
    return op.path.toLowerCase().startsWith('members') ? Math.max(1, count(op.value)) : 0;
  if (!isObject(op.value)) return 0;
  const key = findKey(op.value, 'members');
  return key === undefined ? 0 : count(op.value[key]);
}

// ---------------------------------------------------------------------------------------------
// Paths

interface ResolvedPath {
  text: string;
  /** The whole extension object (`path` is the extension URN). */
  wholeExtension?: SchemaDef;
  extension?: string;
  def: AttributeDef;
  filterNode?: FilterNode;
  filter?: Predicate;
  sub?: AttributeDef;
}

const invalidPath = (path: string, why: string): ScimError =>
  badRequest('invalidPath', `Invalid path "${path}": ${why}`);

/** Parses and resolves a PATCH path against a resource type; throws 400 `invalidPath`. */
export function resolvePath(text: string, type: ResourceTypeDef): ResolvedPath {
  const wholeExtension = findExtension(type, text);
  if (wholeExtension) {
    return {
      text,
      wholeExtension,
      extension: wholeExtension.id,
      def: wholeExtension.attributes[0] as AttributeDef,
    };
  }
  let head = text;
  let filterText: string | undefined;
  let subName: string | undefined;
  const open = text.indexOf('[');
  if (open >= 0) {
    head = text.slice(0, open);
    const close = closingBracket(text, open);
    if (close < 0) throw invalidPath(text, 'unbalanced "[".');
    filterText = text.slice(open + 1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith('.')) throw invalidPath(text, 'unexpected text after "]".');
      subName = rest.slice(1);
    }
  }
  let parsed: ReturnType<typeof parseAttrPath>;
  try {
    parsed = parseAttrPath(subName === undefined ? head : `${head}.${subName}`);
  } catch {
    throw invalidPath(text, 'not an attribute path.');
  }
  if (filterText !== undefined && head.slice(head.lastIndexOf(':') + 1).includes('.'))
    throw invalidPath(text, 'a value filter must follow the attribute.');
  const resolved = resolveAttribute(type, parsed.urn, parsed.attribute);
  if (!resolved) throw invalidPath(text, 'no such attribute.');
  const result: ResolvedPath = { text, def: resolved.def };
  if (resolved.extension !== undefined) result.extension = resolved.extension;
  if (parsed.subAttribute !== undefined) {
    const sub =
      resolved.def.type === 'complex'
        ? findAttribute(resolved.def.subAttributes ?? [], parsed.subAttribute)
        : undefined;
    if (!sub) throw invalidPath(text, 'no such sub-attribute.');
    result.sub = sub;
  }
  if (filterText !== undefined) {
    if (!(resolved.def.type === 'complex' && resolved.def.multiValued)) {
      throw invalidPath(text, 'only complex multi-valued attributes take a value filter.');
    }
    try {
      result.filterNode = parseValueFilter(filterText);
      result.filter = compileElementFilter(result.filterNode, resolved.def);
    } catch (error) {
      throw invalidPath(text, error instanceof Error ? error.message : 'bad value filter.');
    }
  }
  return result;
}

function closingBracket(text: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ']') return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Application

export interface PatchResult {
  attributes: JsonObject;
  /** Canonical top-level attribute names an operation targeted (e.g. "active"). */
  touched: Set<string>;
}

/**
 * Applies operations to a copy of `attributes` (stored form); `id` is the resource's id (a
 * PATCH may repeat it, not change it). Throws ScimError (400 invalidPath / invalidValue /
 * mutability / noTarget).
 */
export function applyPatch(
  attributes: JsonObject,
  operations: PatchOperation[],
  type: ResourceTypeDef,
  id: string,
): PatchResult {
  const doc = structuredClone(attributes);
  const touched = new Set<string>();
  for (const operation of operations) {
    if (operation.path === undefined) {
      applyWithoutPath(doc, operation, type, id, touched);
    } else {
      applyAt(doc, operation.op, resolvePath(operation.path, type), operation.value, id, touched);
    }
  }
  tidy(doc, type);
  requireAttributes(doc, type);
  return { attributes: doc, touched };
}

/** `add`/`replace` with an object value and no path: each key is an attribute (or a path, as Entra sends). */
function applyWithoutPath(
  doc: JsonObject,
  operation: PatchOperation,
  type: ResourceTypeDef,
  id: string,
  touched: Set<string>,
) {
  if (!isObject(operation.value))
    throw badRequest('invalidValue', `A "${operation.op}" without "path" needs an object value.`);
  for (const [key, value] of Object.entries(operation.value)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || lower === 'meta') continue;
    const extension = findExtension(type, key);
    if (extension && isObject(value)) {
      for (const [name, sub] of Object.entries(value)) {
        applyAt(doc, operation.op, resolvePath(`${extension.id}:${name}`, type), sub, id, touched);
      }
      continue;
    }
    applyAt(doc, operation.op, resolvePath(key, type), value, id, touched);
  }
}

function containerFor(doc: JsonObject, path: ResolvedPath, create: boolean): JsonObject | undefined {
  if (path.extension === undefined) return doc;
  const existing = doc[path.extension];
  if (isObject(existing)) return existing;
  if (!create) return undefined;
  const created: JsonObject = {};
  doc[path.extension] = created;
  return created;
}

function checkMutability(path: ResolvedPath, value: JsonValue | undefined, id: string): boolean {
  const { def, sub } = path;
  if (def.name === 'id' && path.extension === undefined) {
    // Okta repeats the id in path-less replaces; an unchanged id is a no-op.
    if (value === id) return false;
    throw badRequest('mutability', '"id" is read-only.');
  }
  if (def.mutability === 'readOnly' || sub?.mutability === 'readOnly') {
    throw badRequest('mutability', `"${path.text}" is read-only.`);
  }
  if (sub?.mutability === 'immutable' && path.filter !== undefined) {
    throw badRequest('mutability', `"${path.text}" cannot be changed once set.`);
  }
  return true;
}

function applyAt(
  doc: JsonObject,
  op: PatchOpName,
  path: ResolvedPath,
  value: JsonValue | undefined,
  id: string,
  touched: Set<string>,
): void {
  if (path.wholeExtension) {
    applyWholeExtension(doc, op, path.wholeExtension, value, id, touched);
    return;
  }
  if (!checkMutability(path, value, id)) return;
  const { def, sub, filter } = path;
  touched.add(path.extension === undefined ? def.name : `${path.extension}:${def.name}`);
  if (op !== 'remove' && value === null) {
    // Setting null is unassigning (RFC 7643 §2.5).
    applyAt(doc, 'remove', path, undefined, id, touched);
    return;
  }
  const container = containerFor(doc, path, op !== 'remove');
  if (!container) return;
  const current = container[def.name];

  if (filter === undefined && sub === undefined) {
    if (op === 'remove') {
      if (value !== undefined && def.multiValued && Array.isArray(current)) {
        container[def.name] = removeValues(current, value);
      } else {
        delete container[def.name];
      }
      return;
    }
    const coerced = coerceValue(def, value as JsonValue, def.name);
    if (coerced === undefined) {
      delete container[def.name];
    } else if (def.multiValued) {
      const existing = op === 'add' && Array.isArray(current) ? current : [];
      container[def.name] = mergeMulti(existing, coerced as JsonValue[], def);
    } else if (def.type === 'complex' && isObject(current) && isObject(coerced)) {
      container[def.name] = { ...current, ...coerced };
    } else {
      container[def.name] = coerced;
    }
    return;
  }

  if (filter === undefined && sub !== undefined) {
    // attr.sub: on a single complex attribute, or on every element of a multi-valued one.
    if (def.multiValued) {
      const items = Array.isArray(current) ? current.filter(isObject) : [];
      if (op === 'remove') {
        for (const item of items) delete item[sub.name];
        return;
      }
      const coerced = coerceValue(sub, value as JsonValue, `${def.name}.${sub.name}`);
      if (items.length === 0) container[def.name] = [{ [sub.name]: coerced ?? null }];
      for (const item of items) setOrDelete(item, sub.name, coerced);
      return;
    }
    if (op === 'remove') {
      if (isObject(current)) delete current[sub.name];
      return;
    }
    const target = isObject(current) ? current : {};
    setOrDelete(target, sub.name, coerceValue(sub, value as JsonValue, `${def.name}.${sub.name}`));
    container[def.name] = target;
    return;
  }

  // A value filter on a complex multi-valued attribute.
  const items = Array.isArray(current) ? current : [];
  const matched = items.filter((item): item is JsonObject => isObject(item) && (filter as Predicate)(item));
  if (op === 'remove') {
    if (sub === undefined)
      container[def.name] = items.filter((item) => !matched.includes(item as JsonObject));
    else for (const item of matched) delete item[sub.name];
    return;
  }
  const single = { ...def, multiValued: false };
  if (matched.length === 0) {
    // Entra adds/replaces `emails[type eq "work"].value` on users without a work email:
    // create the element from the filter's equalities.
    const seed = seedFromFilter(path.filterNode);
    if (!seed) throw new ScimError(400, `No value matches "${path.text}".`, 'noTarget');
    const element =
      sub === undefined ? { ...seed, ...asObject(coerceValue(single, value as JsonValue, def.name)) } : seed;
    if (sub !== undefined)
      setOrDelete(element, sub.name, coerceValue(sub, value as JsonValue, `${def.name}.${sub.name}`));
    container[def.name] = [...items, element];
    return;
  }
  for (const item of matched) {
    if (sub !== undefined) {
      setOrDelete(item, sub.name, coerceValue(sub, value as JsonValue, `${def.name}.${sub.name}`));
    } else {
      const coerced = asObject(coerceValue(single, value as JsonValue, def.name));
      if (op === 'replace') for (const key of Object.keys(item)) delete item[key];
      Object.assign(item, coerced);
    }
  }
}

function applyWholeExtension(
  doc: JsonObject,
  op: PatchOpName,
  extension: SchemaDef,
  value: JsonValue | undefined,
  id: string,
  touched: Set<string>,
): void {
  if (op === 'remove') {
    delete doc[extension.id];
    touched.add(extension.id);
    return;
  }
  if (!isObject(value)) throw badRequest('invalidValue', `"${extension.id}" needs an object value.`);
  if (op === 'replace') delete doc[extension.id];
  for (const [name, sub] of Object.entries(value)) {
    const def = findAttribute(extension.attributes, name);
    if (!def) throw badRequest('invalidPath', `Invalid path "${extension.id}:${name}": no such attribute.`);
    applyAt(
      doc,
      'add',
      { text: `${extension.id}:${def.name}`, extension: extension.id, def },
      sub,
      id,
      touched,
    );
  }
}

function asObject(value: JsonValue | undefined): JsonObject {
  if (value === undefined) return {};
  if (!isObject(value)) throw badRequest('invalidValue', 'The value must be an object.');
  return value;
}

function setOrDelete(target: JsonObject, key: string, value: JsonValue | undefined): void {
  if (value === undefined) delete target[key];
  else target[key] = value;
}

/** `type eq "work"` or `type eq "work" and primary eq true` → { type: "work", primary: true }. */
function seedFromFilter(node: FilterNode | undefined): JsonObject | undefined {
  if (!node) return undefined;
  const terms = node.op === 'and' ? node.filters : [node];
  const seed: JsonObject = {};
  for (const term of terms) {
    if (term.op !== 'eq' || term.value === null) return undefined;
    seed[term.path.attribute] = term.value;
  }
  return seed;
}

/** Multi-valued add: values already present (members: same `value`) are not added twice. */
function mergeMulti(existing: JsonValue[], additions: JsonValue[], def: AttributeDef): JsonValue[] {
  const out = [...existing];
  for (const addition of additions) {
    const index = out.findIndex((item) => sameValue(item, addition, def));
    if (index < 0) out.push(addition);
    else if (isObject(out[index]) && isObject(addition))
      out[index] = { ...(out[index] as JsonObject), ...addition };
  }
  return out;
}

function sameValue(a: JsonValue, b: JsonValue, def: AttributeDef): boolean {
  if (def.name === 'members' && isObject(a) && isObject(b)) return a.value === b.value;
  return deepEqual(a, b);
}

/** Entra's `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}`: removes by `value`. */
function removeValues(items: JsonValue[], value: JsonValue): JsonValue[] {
  const removals = Array.isArray(value) ? value : [value];
  return items.filter(
    (item) =>
      !removals.some((removal) => {
        if (isObject(removal) && isObject(item) && Object.hasOwn(removal, 'value'))
          return removal.value === item.value;
        return deepEqual(removal, item);
      }),
  );
}

/** Drops empty arrays/objects, keeps one primary per multi-valued attribute. */
function tidy(doc: JsonObject, type: ResourceTypeDef): void {
  const clean = (container: JsonObject, defs: readonly AttributeDef[]) => {
    for (const key of Object.keys(container)) {
      const value = container[key];
      const def = findAttribute(defs, key);
      if (Array.isArray(value)) {
        const items = value.filter((item) => !(isObject(item) && Object.keys(item).length === 0));
        if (def?.type === 'complex') keepOnePrimary(items);
        if (items.length === 0) delete container[key];
        else container[key] = items;
      } else if (isObject(value) && Object.keys(value).length === 0) {
        delete container[key];
      }
    }
  };
  clean(doc, type.schema.attributes);
  for (const { schema } of type.extensions) {
    const ext = doc[schema.id];
    if (isObject(ext)) {
      clean(ext, schema.attributes);
      if (Object.keys(ext).length === 0) delete doc[schema.id];
    }
  }
}
