import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchemas, renderConfigReference } from '../../src/config/docs.ts';

const DOCS = join(import.meta.dirname, '../../docs');
const STALE = 'is out of date with src/config/schema.ts: run `npm run docs:config` and commit the result';

function committed(file: string): string {
  return readFileSync(join(DOCS, file), 'utf8');
}

describe('generated config docs match the schema', () => {
  it('docs/configuration.md', () => {
    expect(committed('configuration.md'), `docs/configuration.md ${STALE}`).toBe(renderConfigReference());
  });

  it.each([
    ['config.schema.json', 'global'],
    ['tenant.schema.json', 'tenant'],
  ] as const)('docs/%s', (file, which) => {
    const fresh = `${JSON.stringify(configJsonSchemas()[which], null, 2)}\n`;
    expect(committed(file), `docs/${file} ${STALE}`).toBe(fresh);
  });

  it('documents every top-level key of sluss.yaml and of a tenant file', () => {
    const reference = renderConfigReference();
    const { global, tenant } = configJsonSchemas();
    for (const key of [...Object.keys(global.properties ?? {}), ...Object.keys(tenant.properties ?? {})])
      expect(reference).toContain(`| \`${key}\` |`);
    expect(Object.keys(global.properties ?? {})).toContain('publicUrl');
    expect(Object.keys(tenant.properties ?? {})).toContain('idps');
  });
});
