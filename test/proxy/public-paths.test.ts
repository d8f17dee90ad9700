import { describe, expect, it } from 'vitest';
import { isPublicPath } from '../../src/proxy/public-paths.ts';

const PREFIXES = ['/public', '/assets/', '/healthz'];

describe('isPublicPath', () => {
  it.each([
    '/public',
    '/public/',
    '/public/x',
    '/public/a/b.css',
    '/public/x?y=1',
    '/assets',
    '/assets/app.js',
    '/healthz',
    '/public//x',
    '/public/%C3%A5',
  ])('%s is public', (path) => {
    expect(isPublicPath(path, PREFIXES)).toBe(true);
  });

  it.each([
    ['a longer name at the same start', '/publicity'],
    ['a longer name with a dash', '/public-admin'],
    ['another path', '/admin'],
    ['the root', '/'],
    ['a single dot segment (browsers never send one)', '/public/./x'],
    ['dot segments leaving the prefix', '/public/../admin'],
    ['dot segments entering the prefix', '/admin/../public/x'],
    ['encoded dot segments leaving the prefix', '/public/%2e%2e/admin'],
    ['encoded dot segments entering the prefix', '/admin/%2e%2e/public/x'],
    ['mixed-encoding dot segments', '/admin/.%2E/public/x'],
    ['Tomcat path parameters on a dot segment', '/admin/..;/public/x'],
    ['Tomcat path parameters leaving the prefix', '/public/..;x=1/admin'],
    ['an encoded slash', '/public%2F..%2Fadmin'],
    ['an encoded lower-case slash', '/public%2fx'],
    ['an encoded backslash', '/public%5C..%5Cadmin'],
    ['a backslash', '/public\\..\\admin'],
    ['the prefix in the query', '/admin?/public'],
    ['the prefix in the query after a slash', '/admin/?x=/public/x'],
    ['the prefix in a fragment', '/admin#/public'],
    ['an authority-looking target', '//admin/public/x'],
    ['an authority-looking target with the prefix host', '//public/x'],
    ['a different case', '/PUBLIC/x'],
  ])('%s (%s) is not public', (_attack, path) => {
    expect(isPublicPath(path, PREFIXES)).toBe(false);
  });

  it('nothing is public without prefixes', () => {
    expect(isPublicPath('/public/x', [])).toBe(false);
  });

  it('"/" makes every path public', () => {
    expect(isPublicPath('/anything/at/all', ['/'])).toBe(true);
  });
});
