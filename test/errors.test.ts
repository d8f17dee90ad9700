import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SlussError, toSlussError } from '../src/errors.ts';

const ROOT = join(import.meta.dirname, '..');
const ERRORS_DOC = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
const CODES = Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every `ERR_*` string literal or identifier anywhere under src/, with where it is used. */
function codesUsedInSource(): Map<string, string> {
  const used = new Map<string, string>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/\bERR_[A-Z_]+\b/g))
      if (!used.has(match[0])) used.set(match[0], file.slice(ROOT.length + 1));
  }
  return used;
}

function documentedSection(code: string): string | undefined {
  const start = ERRORS_DOC.indexOf(`\n## ${code}\n`);
  if (start === -1) return undefined;
  const end = ERRORS_DOC.indexOf('\n## ', start + 1);
  return ERRORS_DOC.slice(start, end === -1 ? undefined : end);
}

describe('error codes', () => {
  it.each(CODES)('%s has a section in docs/errors.md with its HTTP status', (code) => {
    const section = documentedSection(code);
    expect(section, `add a "## ${code}" section to docs/errors.md`).toBeDefined();
    expect(section).toContain(`**HTTP status:** ${ERROR_CODES[code].status}`);
    expect(section).toContain('**When:**');
    expect(section).toContain('**What to do:**');
  });

  it('docs/errors.md documents no code that does not exist', () => {
    const headings = [...ERRORS_DOC.matchAll(/^## (ERR_[A-Z_]+)$/gm)].map((match) => match[1]);
    expect(headings.sort()).toEqual([...CODES].sort());
  });

  it('every ERR_* used in src/ is a code in ERROR_CODES', () => {
    const used = codesUsedInSource();
    expect(used.size).toBeGreaterThan(5);
    const unknown = [...used]
      .filter(([code]) => !(code in ERROR_CODES))
      .map(([code, file]) => `${code} (${file})`);
    expect(unknown, 'add these to ERROR_CODES in src/errors.ts and document them').toEqual([]);
  });

  it.each(CODES)('%s has a 4xx/5xx status and an ops hint', (code) => {
    const { status, hint } = ERROR_CODES[code];
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
    expect(hint.length).toBeGreaterThan(10);
  });
});

describe('SlussError', () => {
  it('takes status and hint from its code, keeps cause out of the message', () => {
    const cause = new Error('token endpoint said: secret-detail');
    const error = new SlussError('ERR_IDP_UNAVAILABLE', 'The sign-in service is not reachable.', { cause });
    expect(error.status).toBe(503);
    expect(error.cause).toBe(cause);
    expect(error.describe()).toBe(
      `ERR_IDP_UNAVAILABLE: The sign-in service is not reachable.\n  hint: ${ERROR_CODES.ERR_IDP_UNAVAILABLE.hint}`,
    );
    expect(error.describe()).not.toContain('secret-detail');
  });

  it('toSlussError wraps unknown throws as ERR_INTERNAL without echoing them', () => {
    const wrapped = toSlussError(new Error('db password=hunter2'));
    expect(wrapped.code).toBe('ERR_INTERNAL');
    expect(wrapped.message).toBe('internal error');
    const typed = new SlussError('ERR_NOT_FOUND', 'nothing');
    expect(toSlussError(typed)).toBe(typed);
  });
});
