import { describe, expect, it } from 'vitest';
import { safeReturnPath } from '../../src/http/return-url.ts';

const ORIGIN = 'https://app.example.com';

function staysOnOrigin(result: string): boolean {
  return new URL(result, ORIGIN).origin === ORIGIN;
}

describe('safeReturnPath refuses open redirects', () => {
  it.each<[string, string | null | undefined]>([
    ['absolute URL to another origin', 'https://evil.example'],
    ['absolute URL with userinfo', 'https://user@evil.example'],
    ['absolute URL to the same origin (not a path)', 'https://app.example.com/x'],
    ['protocol-relative URL', '//evil.example'],
    ['slash backslash', '/\\evil.example'],
    ['double backslash', '\\\\evil.example'],
    ['slash double backslash', '/\\\\evil.example'],
    ['triple slash', '///evil.example'],
    ['encoded double slash', '/%2F%2Fevil.example'],
    ['encoded lowercase double slash', '/%2f%2fevil.example'],
    ['encoded backslash', '/%5Cevil.example'],
    ['encoded double slash without a leading slash', '%2F%2Fevil.example'],
    ['scheme without slashes', 'http:evil.example'],
    ['javascript: URL', 'javascript:alert(1)'],
    ['data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['space after the slash', '/ /evil'],
    ['tab between slashes', '/\t/evil.example'],
    ['newline between slashes', '/\n/evil.example'],
    ['encoded tab between slashes', '/%09/evil.example'],
    ['encoded newline between slashes', '/%0a/evil.example'],
    ['C1 control character', '/\u0085/evil.example'],
    ['a 3000-character path', `/${'a'.repeat(2999)}`],
    ['empty string', ''],
    ['null', null],
    ['undefined', undefined],
    ['relative path without a slash', 'evil.example'],
    ['dot segment before a double slash', '/.//evil.example'],
    ['parent segment before a double slash', '/a/..//evil.example'],
    ['encoded dot before a double slash', '/%2e//evil.example'],
    ['encoded parent before a double slash', '/%2e%2e//evil.example'],
    ['parent at the root before a double slash', '/..//evil.example/'],
  ])('%s falls back to /', (_attack, candidate) => {
    const result = safeReturnPath(candidate, ORIGIN);
    expect(result).toBe('/');
    expect(staysOnOrigin(result)).toBe(true);
  });

  it('uses the given fallback', () => {
    expect(safeReturnPath('//evil.example', ORIGIN, '/home')).toBe('/home');
  });
});

describe('safeReturnPath keeps same-origin paths', () => {
  it.each([
    ['/', '/'],
    ['/app/page?x=1#frag', '/app/page?x=1#frag'],
    ['/a/b/../c', '/a/c'],
    ['/@evil.example', '/@evil.example'],
    ['/search?next=//evil.example', '/search?next=//evil.example'],
    ['/caf\u00e9/\u00f6l', '/caf%C3%A9/%C3%B6l'],
    ['/%E6%97%A5%E6%9C%AC', '/%E6%97%A5%E6%9C%AC'],
    ['/\u65e5\u672c?q=\u00e5', '/%E6%97%A5%E6%9C%AC?q=%C3%A5'],
  ])('%s → %s', (candidate, expected) => {
    const result = safeReturnPath(candidate, ORIGIN);
    expect(result).toBe(expected);
    expect(staysOnOrigin(result)).toBe(true);
  });
});
