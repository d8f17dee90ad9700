/**
 * SCIM filters (RFC 7644 §3.4.2.2): a hand-written scanner (no backtracking regexes, linear
 * in the input), a recursive-descent parser with limits on length, nesting and terms, and a
 * compiler that evaluates against a resource type's schema, so `caseExact: false` attributes
 * (userName, emails.value, displayName, …) compare case-insensitively and booleans refuse
 * ordering operators. Every failure is a 400 `invalidFilter`.
 *
 * Why not scim2-parse-filter 0.2.10: its tokenizer regex backtracks exponentially on an
 * unterminated string of newlines (28 characters took ~1 s), `eq` is case-sensitive for
 * every attribute, and `pr` is true for null.
 */
import { ScimError } from './errors.ts';
import { findKey, isObject, type JsonObject, type JsonValue } from './json.ts';
import {
  type AttributeDef,
  findAttribute,
  type ResolvedAttribute,
  type ResourceTypeDef,
  resolveAttribute,
} from './schema.ts';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type CompValue = string | number | boolean | null;

export interface AttrPath {
  /** Schema URN prefix as written (core or extension), if any. */
  urn?: string;
  attribute: string;
  subAttribute?: string;
}

export type FilterNode =
  | { op: 'and' | 'or'; filters: FilterNode[] }
  | { op: 'not'; filter: FilterNode }
  | { op: 'pr'; path: AttrPath }
  | { op: CompareOp; path: AttrPath; value: CompValue }
  | { op: '[]'; path: AttrPath; filter: FilterNode };

export interface FilterLimits {
  maxLength: number;
  maxDepth: number;
  maxTerms: number;
}

export const DEFAULT_FILTER_LIMITS: FilterLimits = { maxLength: 4096, maxDepth: 16, maxTerms: 64 };

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const NAME = /^[A-Za-z$][A-Za-z0-9_$-]*$/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/;

const invalid = (detail: string): ScimError => new ScimError(400, detail, 'invalidFilter');

type Token =
  | { kind: '(' | ')' | '[' | ']'; at: number }
  | { kind: 'word' | 'string'; text: string; at: number };

/** Splits a filter into tokens in one pass; strings are JSON strings. */
export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i += 1;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ kind: c, at: i });
      i += 1;
    } else if (c === '"') {
      const start = i;
      i += 1;
      while (i < input.length && input[i] !== '"') i += input[i] === '\\' ? 2 : 1;
      if (i >= input.length) throw invalid(`Unterminated string at position ${start + 1}.`);
      i += 1;
      let text: unknown;
      try {
        text = JSON.parse(input.slice(start, i));
      } catch {
        throw invalid(`Invalid string at position ${start + 1}.`);
      }
      tokens.push({ kind: 'string', text: text as string, at: start });
    } else {
      const start = i;
      while (i < input.length && !' \t\n\r()[]"'.includes(input[i] as string)) i += 1;
      tokens.push({ kind: 'word', text: input.slice(start, i), at: start });
    }
  }
  return tokens;
}

/** Parses `[urn:…:]name[.sub]`; throws `invalidFilter` (callers rethrow as they need). */
export function parseAttrPath(text: string): AttrPath {
  let urn: string | undefined;
  let rest = text;
  if (text.slice(0, 4).toLowerCase() === 'urn:') {
    const colon = text.lastIndexOf(':');
    urn = text.slice(0, colon);
    rest = text.slice(colon + 1);
    if (urn.length <= 4) throw invalid(`Invalid attribute path "${text}".`);
  }
  const parts = rest.split('.');
  if (parts.length > 2 || !parts.every((p) => NAME.test(p)))
    throw invalid(`Invalid attribute path "${text}".`);
  const path: AttrPath = { attribute: parts[0] as string };
  if (urn !== undefined) path.urn = urn;
  if (parts[1] !== undefined) path.subAttribute = parts[1];
  return path;
}

class Parser {
  private position = 0;
  private depth = 0;
  private terms = 0;
  private readonly tokens: Token[];
  private readonly limits: FilterLimits;

  constructor(tokens: Token[], limits: FilterLimits) {
    this.tokens = tokens;
    this.limits = limits;
  }

  parse(): FilterNode {
    if (this.tokens.length === 0) throw invalid('The filter is empty.');
    const node = this.parseOr(false);
    const extra = this.tokens[this.position];
    if (extra) throw invalid(`Unexpected ${describe(extra)} at position ${extra.at + 1}.`);
    return node;
  }

  private peekWord(): string | undefined {
    const token = this.tokens[this.position];
    return token?.kind === 'word' ? token.text.toLowerCase() : undefined;
  }

  private next(): Token {
    const token = this.tokens[this.position];
    if (!token) throw invalid('The filter ends too early.');
    this.position += 1;
    return token;
  }

  private expect(kind: ')' | ']'): void {
    const token = this.next();
    if (token.kind !== kind)
      throw invalid(`Expected "${kind}" at position ${token.at + 1}, found ${describe(token)}.`);
  }

  private parseOr(inValuePath: boolean): FilterNode {
    const filters = [this.parseAnd(inValuePath)];
    while (this.peekWord() === 'or') {
      this.position += 1;
      filters.push(this.parseAnd(inValuePath));
    }
    return filters.length === 1 ? (filters[0] as FilterNode) : { op: 'or', filters };
  }

  private parseAnd(inValuePath: boolean): FilterNode {
    const filters = [this.parseUnary(inValuePath)];
    while (this.peekWord() === 'and') {
      this.position += 1;
      filters.push(this.parseUnary(inValuePath));
    }
    return filters.length === 1 ? (filters[0] as FilterNode) : { op: 'and', filters };
  }

  private nested<T>(parse: () => T): T {
    this.depth += 1;
    if (this.depth > this.limits.maxDepth)
      throw invalid(`The filter is nested deeper than ${this.limits.maxDepth}.`);
    const result = parse();
    this.depth -= 1;
    return result;
  }

  private parseUnary(inValuePath: boolean): FilterNode {
    const token = this.next();
    if (token.kind === '(') {
      return this.nested(() => {
        const node = this.parseOr(inValuePath);
        this.expect(')');
        return node;
      });
    }
    if (token.kind === 'word' && token.text.toLowerCase() === 'not') {
      const open = this.next();
      if (open.kind !== '(') throw invalid(`"not" must be followed by "(" at position ${open.at + 1}.`);
      return this.nested(() => {
        const filter = this.parseOr(inValuePath);
        this.expect(')');
        return { op: 'not', filter } as FilterNode;
      });
    }
    if (token.kind !== 'word') throw invalid(`Unexpected ${describe(token)} at position ${token.at + 1}.`);
    this.terms += 1;
    if (this.terms > this.limits.maxTerms)
      throw invalid(`The filter has more than ${this.limits.maxTerms} terms.`);
    const path = parseAttrPath(token.text);
    if (inValuePath && (path.urn !== undefined || path.subAttribute !== undefined)) {
      throw invalid(`Inside [...] only sub-attribute names are allowed, not "${token.text}".`);
    }
    const opToken = this.next();
    if (opToken.kind === '[') {
      if (inValuePath) throw invalid('Value filters cannot be nested.');
      if (path.subAttribute !== undefined) throw invalid(`"${token.text}" cannot take a value filter.`);
      return this.nested(() => {
        const filter = this.parseOr(true);
        this.expect(']');
        return { op: '[]', path, filter } as FilterNode;
      });
    }
    if (opToken.kind !== 'word') throw invalid(`Expected an operator at position ${opToken.at + 1}.`);
    const op = opToken.text.toLowerCase();
    if (op === 'pr') return { op: 'pr', path };
    if (!COMPARE_OPS.has(op))
      throw invalid(`Unknown operator "${opToken.text}" at position ${opToken.at + 1}.`);
    return { op: op as CompareOp, path, value: this.parseValue() };
  }

  private parseValue(): CompValue {
    const token = this.next();
    if (token.kind === 'string') return token.text;
    if (token.kind === 'word') {
      const lower = token.text.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      if (lower === 'null') return null;
      if (NUMBER.test(token.text)) return Number(token.text);
      throw invalid(`Expected a quoted string, number, true, false or null at position ${token.at + 1}.`);
    }
    throw invalid(`Expected a value at position ${token.at + 1}.`);
  }
}

function describe(token: Token): string {
  return token.kind === 'word' || token.kind === 'string'
    ? `"${token.text.slice(0, 40)}"`
    : `"${token.kind}"`;
}

export function parseFilter(input: string, limits: FilterLimits = DEFAULT_FILTER_LIMITS): FilterNode {
  if (input.length > limits.maxLength)
    throw invalid(`The filter is longer than ${limits.maxLength} characters.`);
  return new Parser(tokenize(input), limits).parse();
}

/** Parses the filter inside a PATCH path's brackets (`emails[type eq "work"]`). */
export function parseValueFilter(input: string, limits: FilterLimits = DEFAULT_FILTER_LIMITS): FilterNode {
  const node = parseFilter(`x[${input}]`, limits);
  return (node as { filter: FilterNode }).filter;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export type Predicate = (doc: JsonObject) => boolean;

export interface CompiledFilter {
  readonly source: string;
  readonly ast: FilterNode;
  /** Evaluates against a resource's SCIM representation (attributes, `id`, `meta`). */
  matches(doc: JsonObject): boolean;
}

/** Where attribute names resolve: a resource type (top level) or a complex attribute's sub-attributes. */
type Scope =
  | { kind: 'resource'; type: ResourceTypeDef }
  | { kind: 'element'; attributes: readonly AttributeDef[] };

/** Compiles a filter for a resource type; throws 400 `invalidFilter` on syntax, unknown attributes or type misuse. */
export function compileFilter(
  source: string,
  type: ResourceTypeDef,
  limits: FilterLimits = DEFAULT_FILTER_LIMITS,
): CompiledFilter {
  const ast = parseFilter(source, limits);
  const matches = compileNode(ast, { kind: 'resource', type });
  return { source, ast, matches };
}

/** Compiles a value filter against the elements of a complex multi-valued attribute (PATCH paths). */
export function compileElementFilter(node: FilterNode, parent: AttributeDef): Predicate {
  return compileNode(node, { kind: 'element', attributes: parent.subAttributes ?? [] });
}

function compileNode(node: FilterNode, scope: Scope): Predicate {
  switch (node.op) {
    case 'and': {
      const parts = node.filters.map((f) => compileNode(f, scope));
      return (doc) => parts.every((p) => p(doc));
    }
    case 'or': {
      const parts = node.filters.map((f) => compileNode(f, scope));
      return (doc) => parts.some((p) => p(doc));
    }
    case 'not': {
      const inner = compileNode(node.filter, scope);
      return (doc) => !inner(doc);
    }
    case '[]': {
      const { def, get } = accessor(node.path, scope, true);
      if (def.type !== 'complex') throw invalid(`"${def.name}" is not a complex attribute.`);
      const inner = compileNode(node.filter, { kind: 'element', attributes: def.subAttributes ?? [] });
      return (doc) => get(doc).some((element) => isObject(element) && inner(element));
    }
    case 'pr': {
      const { get } = accessor(node.path, scope, true);
      return (doc) => get(doc).some(isPresent);
    }
    default: {
      const { def, get } = accessor(node.path, scope);
      const test = comparison(node.op, node.value, def);
      if (node.op === 'ne') {
        const eq = comparison('eq', node.value, def);
        return (doc) => !get(doc).some(eq);
      }
      if (node.value === null && node.op === 'eq') return (doc) => !get(doc).some(isPresent);
      return (doc) => get(doc).some(test);
    }
  }
}

function isPresent(value: JsonValue): boolean {
  if (value === null || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return true;
}

/** Resolves a path in a scope to its definition and a getter returning every leaf value. */
function accessor(
  path: AttrPath,
  scope: Scope,
  raw = false,
): { def: AttributeDef; get: (doc: JsonObject) => JsonValue[] } {
  const written = `${path.urn ? `${path.urn}:` : ''}${path.attribute}`;
  let resolved: ResolvedAttribute | undefined;
  if (scope.kind === 'resource') {
    resolved = resolveAttribute(scope.type, path.urn, path.attribute);
  } else {
    const def = findAttribute(scope.attributes, path.attribute);
    resolved = def ? { extension: undefined, def } : undefined;
  }
  if (!resolved) throw invalid(`Unknown attribute "${written}".`);
  const { extension, def } = resolved;
  let leaf = def;
  if (path.subAttribute !== undefined) {
    const sub =
      def.type === 'complex' ? findAttribute(def.subAttributes ?? [], path.subAttribute) : undefined;
    if (!sub) throw invalid(`Unknown attribute "${written}.${path.subAttribute}".`);
    leaf = sub;
  }
  const subName = path.subAttribute;
  const get = (doc: JsonObject): JsonValue[] => {
    let container: JsonObject = doc;
    if (extension !== undefined) {
      const key = findKey(doc, extension);
      const ext = key === undefined ? undefined : doc[key];
      if (!isObject(ext)) return [];
      container = ext;
    }
    const key = findKey(container, def.name);
    if (key === undefined) return [];
    const value = container[key] as JsonValue;
    const items = Array.isArray(value) ? value : [value];
    if (subName !== undefined) {
      const out: JsonValue[] = [];
      for (const item of items) {
        if (!isObject(item)) continue;
        const subKey = findKey(item, subName);
        if (subKey !== undefined) out.push(item[subKey] as JsonValue);
      }
      return out;
    }
    // A complex multi-valued attribute compared without a sub-attribute compares its `value`s.
    if (!raw && def.type === 'complex' && def.multiValued) {
      return items.map((item) => (isObject(item) ? (item[findKey(item, 'value') ?? 'value'] ?? null) : item));
    }
    return items;
  };
  return { def: leaf, get };
}

function comparison(op: CompareOp, value: CompValue, def: AttributeDef): (actual: JsonValue) => boolean {
  if (def.type === 'complex' && !def.multiValued)
    throw invalid(`"${def.name}" cannot be compared; name a sub-attribute.`);
  if (value === null) {
    if (op !== 'eq' && op !== 'ne') throw invalid(`"${op}" cannot compare with null.`);
    return (actual) => actual === null;
  }
  switch (def.type) {
    case 'boolean': {
      if (op !== 'eq' && op !== 'ne') throw invalid(`"${op}" cannot be used on the boolean "${def.name}".`);
      const expected = typeof value === 'string' ? value.toLowerCase() === 'true' : value;
      if (typeof value === 'string' && !/^(true|false)$/i.test(value))
        throw invalid(`"${def.name}" is a boolean.`);
      return (actual) => (typeof actual === 'string' ? actual.toLowerCase() === 'true' : actual) === expected;
    }
    case 'integer':
    case 'decimal': {
      if (typeof value !== 'number') throw invalid(`"${def.name}" is a number.`);
      if (op === 'co' || op === 'sw' || op === 'ew')
        throw invalid(`"${op}" cannot be used on the number "${def.name}".`);
      return (actual) => typeof actual === 'number' && order(op, actual - value);
    }
    case 'dateTime': {
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
        throw invalid(`"${def.name}" needs a date.`);
      const expected = Date.parse(value);
      if (op === 'co' || op === 'sw' || op === 'ew') {
        return (actual) => typeof actual === 'string' && stringTest(op, actual, value);
      }
      return (actual) =>
        typeof actual === 'string' &&
        !Number.isNaN(Date.parse(actual)) &&
        order(op, Date.parse(actual) - expected);
    }
    default: {
      if (typeof value !== 'string') {
        // A number or boolean against a string attribute: compare its text (e.g. employeeNumber eq 42).
        return comparison(op, String(value), def);
      }
      const fold = def.caseExact ? (s: string) => s : (s: string) => s.toLowerCase();
      const expected = fold(value);
      return (actual) => typeof actual === 'string' && stringTest(op, fold(actual), expected);
    }
  }
}

function stringTest(op: CompareOp, actual: string, expected: string): boolean {
  switch (op) {
    case 'co':
      return actual.includes(expected);
    case 'sw':
      return actual.startsWith(expected);
    case 'ew':
      return actual.endsWith(expected);
    default:
      return order(op, actual < expected ? -1 : actual > expected ? 1 : 0);
  }
}

function order(op: CompareOp, difference: number): boolean {
  switch (op) {
    case 'eq':
      return difference === 0;
    case 'ne':
      return difference !== 0;
    case 'gt':
      return difference > 0;
    case 'ge':
      return difference >= 0;
    case 'lt':
      return difference < 0;
    case 'le':
      return difference <= 0;
    default:
      return false;
  }
}

/**
 * An equality a storage backend can answer from its index: the filter is `attr eq "v"` on
 * userName, externalId, id or displayName, alone or as one arm of a top-level `and`. The
 * backend still applies `matches` to what the index returns.
 */
export function indexHint(
  filter: CompiledFilter,
): { attribute: 'userName' | 'externalId' | 'id' | 'displayName'; value: string } | undefined {
  const candidates = filter.ast.op === 'and' ? filter.ast.filters : [filter.ast];
  for (const node of candidates) {
    if (node.op !== 'eq' || typeof node.value !== 'string' || node.path.subAttribute !== undefined) continue;
    const name = node.path.attribute.toLowerCase();
    for (const attribute of ['userName', 'externalId', 'id', 'displayName'] as const) {
      if (attribute.toLowerCase() === name) return { attribute, value: node.value };
    }
  }
  return undefined;
}
