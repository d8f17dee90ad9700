/** Input designed to hurt: deep nesting, huge arrays, prototype keys, backtracking bait. */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { MemoryDirectory } from '../../src/scim/directory.ts';
import { parseFilter } from '../../src/scim/filter.ts';
import { handleScimRequest } from '../../src/scim/handler.ts';
import { expectError, GROUP, patchOf, type Reply, scimClient, USER } from './scim-client.ts';

/** Calls the handler with an object as the route would pass it, without a JSON round trip. */
async function raw(method: string, path: string, body: unknown, query = ''): Promise<Reply> {
  return (await handleScimRequest(
    { method, path, query: new URLSearchParams(query), headers: {}, body },
    {
      tenant: 't',
      directory: new MemoryDirectory(),
      clock: new ManualClock(),
      baseUrl: 'https://x',
      onChange: () => {},
    },
  )) as Reply;
}

function timed<T>(fn: () => T): { ms: number; result: T | Error } {
  const start = performance.now();
  let result: T | Error;
  try {
    result = fn();
  } catch (error) {
    result = error as Error;
  }
  return { ms: performance.now() - start, result };
}

afterEach(() => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('hostile SCIM input', () => {
  it('deeply nested JSON is refused without recursion', async () => {
    let nested: unknown = 'leaf';
    for (let i = 0; i < 100_000; i += 1) nested = { a: nested };
    expectError(
      await raw('POST', '/Users', { schemas: [USER], userName: 'x', name: nested }),
      400,
      'invalidSyntax',
    );
    let arrays: unknown = [];
    for (let i = 0; i < 100_000; i += 1) arrays = [arrays];
    expectError(await raw('PATCH', '/Users/x', arrays), 400, 'invalidSyntax');
  });

  it('huge arrays and strings are refused', async () => {
    const emails = Array.from({ length: 50_000 }, (_, i) => ({ value: `u${i}@x` }));
    expectError(await raw('POST', '/Users', { schemas: [USER], userName: 'x', emails }), 413);
    expectError(await raw('POST', '/Users', { schemas: [USER], userName: 'x'.repeat(100_000) }), 413);
    const { call } = scimClient({ limits: { maxMembersPerRequest: 3 } });
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1)
      ids.push((await call('POST', '/Users', { schemas: [USER], userName: `m${i}` })).body.id);
    const members = ids.map((value) => ({ value }));
    expectError(
      await call('POST', '/Groups', { schemas: [GROUP], displayName: 'g', members }),
      413,
      'tooMany',
    );
    const { body: group } = await call('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'g',
      members: members.slice(0, 3),
    });
    expectError(
      await call('PATCH', `/Groups/${group.id}`, patchOf({ op: 'add', path: 'members', value: members })),
      413,
      'tooMany',
    );
    const ops = Array.from({ length: 101 }, () => ({ op: 'add', path: 'displayName', value: 'x' }));
    expectError(await call('PATCH', `/Groups/${group.id}`, patchOf(...ops)), 413, 'tooMany');
  });

  it('__proto__ and constructor keys are refused and pollute nothing', async () => {
    const { call } = scimClient();
    const { body: user } = await call('POST', '/Users', { schemas: [USER], userName: 'p' });
    const poisoned = JSON.parse(
      '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"q","__proto__":{"polluted":1}}',
    );
    expectError(await raw('POST', '/Users', poisoned), 400, 'invalidValue');
    const nested = JSON.parse(
      '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"q","name":{"__proto__":{"polluted":1}}}',
    );
    expectError(await raw('POST', '/Users', nested), 400, 'invalidValue');
    expectError(
      await raw('POST', '/Users', {
        schemas: [USER],
        userName: 'q',
        constructor: { prototype: { polluted: 1 } },
      }),
      400,
      'invalidValue',
    );
    for (const path of [
      '__proto__.polluted',
      '__proto__',
      'constructor.prototype.polluted',
      'name.__proto__',
      'emails[__proto__ eq 1].value',
    ]) {
      const reply = await call('PATCH', `/Users/${user.id}`, patchOf({ op: 'add', path, value: 1 }));
      expectError(reply, 400, 'invalidPath');
    }
    const valueKey = JSON.parse(
      '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"__proto__":{"polluted":1}}}]}',
    );
    expectError(await raw('PATCH', `/Users/${user.id}`, valueKey), 400, 'invalidValue');
    expectError(
      await call('PATCH', `/Users/${user.id}`, patchOf({ op: 'add', value: { '__proto__.polluted': 1 } })),
      400,
      'invalidPath',
    );
    expectError(await call('GET', '/Users?filter=__proto__ eq "x"'), 400, 'invalidFilter');
    expectError(await call('GET', '/Users?filter=constructor pr'), 400, 'invalidFilter');
  });

  it('non-JSON values are refused', async () => {
    expectError(
      await raw('POST', '/Users', { schemas: [USER], userName: 'x', title: new Date() }),
      400,
      'invalidSyntax',
    );
    expectError(
      await raw('POST', '/Users', { schemas: [USER], userName: 'x', title: () => 1 }),
      400,
      'invalidSyntax',
    );
    expectError(
      await raw('POST', '/Users', { schemas: [USER], userName: 'x', title: Number.NaN }),
      400,
      'invalidSyntax',
    );
  });

  it.each([
    ['unterminated string of newlines (scim2-parse-filter ReDoS)', `userName eq "${'\n'.repeat(50_000)}`],
    ['unterminated string of backslashes', `userName eq "${'\\'.repeat(4000)}`],
    ['unterminated string of escaped quotes', `userName eq "${'\\"'.repeat(2000)}`],
    ['many opening parentheses', '('.repeat(100_000)],
    ['deep not', 'not ('.repeat(5000)],
    ['many or terms', Array.from({ length: 20_000 }, (_, i) => `userName eq "${i}"`).join(' or ')],
    ['many brackets', 'emails['.repeat(20_000)],
    ['long word', 'a'.repeat(200_000)],
    ['long URN', `urn:${':a'.repeat(50_000)} eq 1`],
    ['digits and dots', `userName eq ${'1.'.repeat(50_000)}`],
    ['whitespace', `${' '.repeat(200_000)}userName pr`],
  ])('filter %s fails fast', (_name, filter) => {
    const { ms, result } = timed(() => parseFilter(filter));
    expect(result).toBeInstanceOf(Error);
    expect(result).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    expect(ms).toBeLessThan(100);
  });

  it('filters at the limits still parse quickly', () => {
    const filter = Array.from({ length: 64 }, (_, i) => `userName eq "${i}"`).join(' or ');
    const { ms, result } = timed(() => parseFilter(filter));
    expect(result).not.toBeInstanceOf(Error);
    expect(ms).toBeLessThan(50);
    expect(() => parseFilter(`${'('.repeat(16)}a pr${')'.repeat(16)}`)).not.toThrow();
    expect(() => parseFilter(`${'('.repeat(17)}a pr${')'.repeat(17)}`)).toThrow(/nested deeper/);
  });

  it('PATCH paths designed to backtrack fail fast', async () => {
    const { call } = scimClient();
    const { body: user } = await call('POST', '/Users', { schemas: [USER], userName: 'p' });
    for (const path of [
      `emails[${'"'.repeat(8000)}`,
      `emails[type eq "${'\\'.repeat(8001)}`,
      `${'a.'.repeat(5000)}b`,
      `emails${'['.repeat(8000)}`,
    ]) {
      const start = performance.now();
      const reply = await call('PATCH', `/Users/${user.id}`, patchOf({ op: 'add', path, value: 'x' }));
      expect(performance.now() - start).toBeLessThan(100);
      expectError(reply, 400, 'invalidPath');
    }
  });

  it('ids in paths are not interpreted', async () => {
    const { call } = scimClient();
    expectError(await call('GET', '/Users/..%2F..%2Fetc'), 404);
    expectError(await call('GET', '/Users/__proto__'), 404);
    expectError(await call('GET', '/Groups/constructor'), 404);
  });
});
