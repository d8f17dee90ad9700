import { ScimError } from './errors.ts';

/** A JSON object as SCIM documents are stored: plain data, no prototype tricks. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface JsonLimits {
  /** Deepest nesting of arrays/objects accepted. */
  maxDepth: number;
  /** Most values (every object, array, string, number, …) in one body. */
  maxNodes: number;
  /** Longest string (in UTF-16 units). */
  maxStringLength: number;
}

/** Keys that would reach an object's prototype when copied with plain assignment. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a parsed body's shape before anything walks it recursively: depth, size, string
 * length, no prototype-reaching keys, only JSON types. Iterative, so a 100 000-deep array
 * cannot overflow the stack. Throws 400 `invalidSyntax` / 413.
 */
export function inspectJson(value: unknown, limits: JsonLimits): asserts value is JsonValue {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown; depth: number };
    nodes += 1;
    if (nodes > limits.maxNodes)
      throw new ScimError(413, `The request has more than ${limits.maxNodes} values.`);
    if (depth > limits.maxDepth) {
      throw new ScimError(
        400,
        `The request is nested deeper than ${limits.maxDepth} levels.`,
        'invalidSyntax',
      );
    }
    if (current === null || typeof current === 'boolean') continue;
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) throw new ScimError(400, 'Numbers must be finite.', 'invalidSyntax');
      continue;
    }
    if (typeof current === 'string') {
      if (current.length > limits.maxStringLength) {
        throw new ScimError(413, `A string is longer than ${limits.maxStringLength} characters.`);
      }
      continue;
    }
    if (Array.isArray(current)) {
      for (const item of current) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    if (typeof current === 'object') {
      const proto = Object.getPrototypeOf(current);
      if (proto !== Object.prototype && proto !== null) {
        throw new ScimError(400, 'The request is not plain JSON.', 'invalidSyntax');
      }
      for (const key of Object.keys(current)) {
        if (FORBIDDEN_KEYS.has(key))
          throw new ScimError(400, `The attribute "${key}" is not allowed.`, 'invalidValue');
        stack.push({ value: (current as Record<string, unknown>)[key], depth: depth + 1 });
      }
      continue;
    }
    throw new ScimError(400, 'The request is not JSON.', 'invalidSyntax');
  }
}

/** Own-property lookup with a case-insensitive key (SCIM attribute names are case-insensitive). */
export function findKey(object: JsonObject, name: string): string | undefined {
  if (Object.hasOwn(object, name)) return name;
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) return key;
  return undefined;
}

export function deepClone<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}
