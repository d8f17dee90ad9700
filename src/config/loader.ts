/**
 * Loads a config directory (`sluss.yaml` + `tenants/*.yaml`), expands secret
 * references, validates every file against the schema and resolves the result
 * into the frozen runtime shape. All problems are collected and reported at
 * once, each as `file: path: what is wrong`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { SlussError } from '../errors.ts';
import { resolveConfig } from './resolve.ts';
import type { GlobalConfigFile, IdpConfigFile, TenantConfigFile } from './schema.ts';
import { globalConfigSchema, idpSchema, tenantConfigSchema } from './schema.ts';
import type { SecretContext } from './secrets.ts';
import { expandTree } from './secrets.ts';
import type { SlussConfig } from './types.ts';

const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
const MAX_TENANT_FILES = 10_000;

export interface ConfigProblem {
  /** File relative to the config directory, e.g. `tenants/acme.yaml`. */
  readonly file: string;
  /** Dotted path inside the file, e.g. `idps[0].issuer`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  return problem.path
    ? `${problem.file}: ${problem.path}: ${problem.message}`
    : `${problem.file}: ${problem.message}`;
}

/** Thrown when a config directory has problems; lists all of them. */
export class ConfigError extends SlussError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map(formatProblem);
    super('ERR_CONFIG_INVALID', `${problems.length} problem(s) in config:\n  ${lines.join('\n  ')}`);
    this.problems = problems;
  }
}

export interface LoadOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Reads, validates and resolves a config directory, or throws ConfigError. */
export function loadConfig(dir: string, options: LoadOptions = {}): SlussConfig {
  const context: SecretContext = { configDir: dir, env: options.env ?? process.env };
  const problems: ConfigProblem[] = [];

  const global = readValidated('sluss.yaml', dir, globalConfigSchema, context, problems);
  const sharedIdps: { file: string; data: IdpConfigFile }[] = [];
  for (const file of listYamlFiles(dir, 'idps', problems, { optional: true })) {
    const data = readValidated(file, dir, idpSchema, context, problems);
    if (data) sharedIdps.push({ file, data });
  }
  const tenants: { file: string; data: TenantConfigFile }[] = [];
  for (const file of listYamlFiles(dir, 'tenants', problems, { optional: false })) {
    const data = readValidated(file, dir, tenantConfigSchema, context, problems);
    if (data) tenants.push({ file, data });
  }
  if (global && tenants.length === 0 && !problems.some((p) => p.file.startsWith('tenants'))) {
    problems.push({
      file: 'tenants/',
      path: '',
      message: 'no tenant files (*.yaml); at least one tenant is required',
    });
  }
  if (!global || problems.length > 0) throw new ConfigError(problems);

  const resolved = resolveConfig(dir, global as GlobalConfigFile, tenants, sharedIdps, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved;
}

/** The *.yaml files of `tenants/` (required) or `idps/` (optional, shared IdP entries). */
function listYamlFiles(
  dir: string,
  subdir: 'tenants' | 'idps',
  problems: ConfigProblem[],
  options: { optional: boolean },
): string[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, subdir));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.optional) return [];
    problems.push({
      file: `${subdir}/`,
      path: '',
      message:
        code === 'ENOENT'
          ? `directory is missing; create ${subdir}/<prefix>.yaml`
          : `cannot be read (${code})`,
    });
    return [];
  }
  // Kubernetes ConfigMap mounts add `..data` links and dot-dirs: only plain *.yaml files count.
  const files = names.filter((name) => /^[^.].*\.ya?ml$/.test(name)).sort();
  if (files.length > MAX_TENANT_FILES) {
    problems.push({ file: `${subdir}/`, path: '', message: `more than ${MAX_TENANT_FILES} files` });
    return [];
  }
  return files.map((name) => `${subdir}/${name}`);
}

function readValidated<T extends z.ZodType>(
  file: string,
  dir: string,
  schema: T,
  context: SecretContext,
  problems: ConfigProblem[],
): z.infer<T> | undefined {
  const raw = readYaml(file, dir, problems);
  if (raw === undefined) return undefined;
  const expanded = expandTree(raw, context);
  for (const problem of expanded.problems)
    problems.push({ file, path: formatPath(problem.path), message: problem.message });
  const result = schema.safeParse(expanded.value);
  if (!result.success) {
    // A value whose reference did not expand is already reported; its placeholder text is not the value.
    const unexpanded = new Set(expanded.problems.map((problem) => formatPath(problem.path)));
    for (const issue of result.error.issues)
      if (!unexpanded.has(formatPath(issue.path))) problems.push(...describeIssue(file, issue));
    return undefined;
  }
  return expanded.problems.length > 0 ? undefined : result.data;
}

function readYaml(file: string, dir: string, problems: ConfigProblem[]): unknown {
  const path = join(dir, file);
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_CONFIG_FILE_BYTES) {
      problems.push({
        file,
        path: '',
        message: `is ${size} bytes; config files are limited to ${MAX_CONFIG_FILE_BYTES}`,
      });
      return undefined;
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problems.push({
      file,
      path: '',
      message: code === 'ENOENT' ? 'file is missing' : `cannot be read (${code})`,
    });
    return undefined;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const at = lineCounter.linePos(error.pos[0]);
      const where = `line ${at.line}, column ${at.col}`;
      problems.push({ file, path: where, message: `invalid YAML: ${error.message.split('\n')[0]}` });
    }
    return undefined;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 50 });
  } catch {
    // yaml throws when aliases expand past maxAliasCount ("billion laughs").
    problems.push({ file, path: '', message: 'invalid YAML: too many alias expansions (anchors/aliases)' });
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push({ file, path: '', message: 'must be a YAML mapping (key: value pairs)' });
    return undefined;
  }
  return value;
}

/** `['idps', 0, 'issuer']` → `idps[0].issuer`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Turns one zod issue into messages ops can act on; never echoes values (they may be secrets). */
function describeIssue(file: string, issue: z.core.$ZodIssue): ConfigProblem[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        file,
        path: path ? `${path}.${key}` : key,
        message: 'unknown key (check the spelling against docs/configuration.md)',
      }));
    case 'invalid_type': {
      // zod does not report the input (it may be a secret), so the message tells missing from wrong.
      const missing = issue.message.endsWith('received undefined');
      return [
        {
          file,
          path,
          message: missing ? `is required (${issue.expected})` : `must be ${article(issue.expected)}`,
        },
      ];
    }
    case 'invalid_value':
      return [
        { file, path, message: `must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` },
      ];
    case 'invalid_union':
      return closestBranch(file, issue) ?? [{ file, path, message: unionMessage(issue) }];
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'custom':
      return [{ file, path, message: friendlyBoundMessage(issue) }];
    default:
      return [{ file, path, message: issue.message }];
  }
}

function unionMessage(issue: z.core.$ZodIssueInvalidUnion): string {
  return issue.errors.length === 0
    ? 'has an unknown or missing "type" (supported: oidc, saml)'
    : issue.message;
}

/** A union's problems, told by the branch that came closest (fewest issues); the first branch wins ties. */
function closestBranch(file: string, issue: z.core.$ZodIssueInvalidUnion): ConfigProblem[] | undefined {
  const branches = issue.errors.filter((branch) => branch.length > 0);
  if (branches.length === 0) return undefined;
  const closest = branches.reduce((best, branch) => (branch.length < best.length ? branch : best));
  return closest.flatMap((inner) => describeIssue(file, { ...inner, path: [...issue.path, ...inner.path] }));
}

function friendlyBoundMessage(issue: z.core.$ZodIssue): string {
  if (issue.message.startsWith('Too small') || issue.message.startsWith('Too big')) {
    // "Too big: expected number to be <=65535" → "must be <=65535".
    return issue.message.replace(/^Too (small|big): expected \w+ to (have|be) /, 'must $2 ');
  }
  return issue.message;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
