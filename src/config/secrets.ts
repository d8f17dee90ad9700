/**
 * Secret references inside config values: `${env:NAME}` reads an environment
 * variable, `${file:PATH}` reads a mounted file (relative paths are relative to
 * the config directory; trailing whitespace is dropped). `$${` is a literal `${`.
 * Values are never echoed in problems, only where they were referenced.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

const REFERENCE = /\$\$\{|\$\{([a-z]+):([^}]*)\}/g;
/** Keys, certificates and logos (data URIs up to the schema's 96 KiB) fit well below this. */
const MAX_SECRET_FILE_BYTES = 128 * 1024;

export interface SecretContext {
  readonly configDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export type Expanded = { ok: true; value: string } | { ok: false; problem: string };

/** Expands every reference in one string value. */
export function expandReferences(value: string, context: SecretContext): Expanded {
  let problem: string | undefined;
  const result = value.replace(REFERENCE, (match, kind: string | undefined, target: string | undefined) => {
    if (match === '$${') return '${';
    if (problem) return '';
    const resolved = resolveReference(kind ?? '', target ?? '', context);
    if (!resolved.ok) {
      problem = resolved.problem;
      return '';
    }
    return resolved.value;
  });
  return problem ? { ok: false, problem } : { ok: true, value: result };
}

function resolveReference(kind: string, target: string, context: SecretContext): Expanded {
  if (kind === 'env') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(target))
      return { ok: false, problem: `\${env:${target}} is not a valid variable name` };
    const value = context.env[target];
    if (value === undefined || value === '')
      return { ok: false, problem: `environment variable ${target} is not set` };
    return { ok: true, value };
  }
  if (kind === 'file') {
    if (target === '') return { ok: false, problem: '${file:} needs a path' };
    const path = isAbsolute(target) ? target : join(context.configDir, target);
    try {
      const content = readFileSync(path);
      if (content.byteLength > MAX_SECRET_FILE_BYTES) {
        return { ok: false, problem: `secret file ${target} is larger than ${MAX_SECRET_FILE_BYTES} bytes` };
      }
      return { ok: true, value: content.toString('utf8').trimEnd() };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      return { ok: false, problem: `secret file ${target} cannot be read (${code})` };
    }
  }
  return { ok: false, problem: `unknown reference \${${kind}:...}; use \${env:NAME} or \${file:PATH}` };
}

/**
 * Walks a parsed YAML tree and expands references in every string, returning
 * a new tree and the problems keyed by their path.
 */
export function expandTree(
  node: unknown,
  context: SecretContext,
  path: (string | number)[] = [],
  problems: { path: (string | number)[]; message: string }[] = [],
): { value: unknown; problems: { path: (string | number)[]; message: string }[] } {
  if (typeof node === 'string') {
    const expanded = expandReferences(node, context);
    if (expanded.ok) return { value: expanded.value, problems };
    problems.push({ path, message: expanded.problem });
    return { value: node, problems };
  }
  if (Array.isArray(node)) {
    return {
      value: node.map((item, index) => expandTree(item, context, [...path, index], problems).value),
      problems,
    };
  }
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(node))
      out[key] = expandTree(item, context, [...path, key], problems).value;
    return { value: out, problems };
  }
  return { value: node, problems };
}
