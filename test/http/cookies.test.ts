import { describe, expect, it } from 'vitest';
import {
  cookieNamesWithPrefix,
  expireCookie,
  readCookie,
  serializeCookie,
  withoutCookies,
} from '../../src/http/cookies.ts';

describe('readCookie', () => {
  it.each<[string, string | undefined, string, string | undefined]>([
    ['only cookie', 'sluss=abc', 'sluss', 'abc'],
    ['first of several', 'sluss=abc; theme=dark; lang=sv', 'sluss', 'abc'],
    ['in the middle', 'theme=dark; sluss=abc; lang=sv', 'sluss', 'abc'],
    ['last', 'theme=dark; lang=sv; sluss=abc', 'sluss', 'abc'],
    ['without spaces after ;', 'theme=dark;sluss=abc;lang=sv', 'sluss', 'abc'],
    ['with several spaces after ;', 'theme=dark;   sluss=abc', 'sluss', 'abc'],
    ['value with = signs', 'sluss=Fe26.2**a=b==', 'sluss', 'Fe26.2**a=b=='],
    ['empty value', 'sluss=; theme=dark', 'sluss', ''],
    ['first occurrence wins', 'sluss=first; sluss=second', 'sluss', 'first'],
    ['__Host- prefixed name', '__Host-sluss=abc', '__Host-sluss', 'abc'],
    ['missing', 'theme=dark; lang=sv', 'sluss', undefined],
    ['no header', undefined, 'sluss', undefined],
    ['empty header', '', 'sluss', undefined],
  ])('%s', (_case, header, name, expected) => {
    expect(readCookie(header, name)).toBe(expected);
  });

  it.each<[string, string]>([
    ['a longer name with the same start', 'sluss2=evil'],
    ['a chunk cookie of the same name', 'sluss.1=evil'],
    ['a transaction cookie', 'sluss-txn-abc=evil'],
    ['the name as a suffix', 'xsluss=evil'],
    ['the name inside a value', 'theme=sluss=evil'],
    ['the name with a space before =', 'sluss =evil'],
    ['a name without a value', 'sluss'],
  ])('does not confuse %s with the cookie', (_attack, header) => {
    expect(readCookie(header, 'sluss')).toBeUndefined();
    expect(readCookie(`${header}; sluss=real`, 'sluss')).toBe('real');
  });
});

describe('cookieNamesWithPrefix', () => {
  it('lists the names with the prefix, in order', () => {
    expect(cookieNamesWithPrefix('sluss=x; sluss.1=a; theme=d; sluss.2=b', 'sluss.')).toEqual([
      'sluss.1',
      'sluss.2',
    ]);
  });

  it.each<[string, string | undefined]>([
    ['no header', undefined],
    ['empty header', ''],
    ['only other cookies', 'theme=dark; xsluss.1=a'],
    ['the prefix only in a value', 'theme=sluss.1'],
  ])('is empty for %s', (_case, header) => {
    expect(cookieNamesWithPrefix(header, 'sluss.')).toEqual([]);
  });
});

describe('withoutCookies', () => {
  const isSluss = (name: string) => name === 'sluss' || name.startsWith('sluss.');

  it.each<[string, string, string | undefined]>([
    ['drops the matching cookies, keeps the rest in order', 'a=1; sluss=x; b=2; sluss.1=y', 'a=1; b=2'],
    ['keeps cookies that only look similar', 'sluss2=1; xsluss=2; sluss=x', 'sluss2=1; xsluss=2'],
    ['normalises separators', 'a=1;b=2 ;  c=3', 'a=1; b=2; c=3'],
    ['returns undefined when nothing is left', 'sluss=x; sluss.1=y', undefined],
    ['drops a bare name that matches', 'sluss; a=1', 'a=1'],
    ['ignores empty parts', ';; a=1 ;', 'a=1'],
  ])('%s', (_case, header, expected) => {
    expect(withoutCookies(header, isSluss)).toBe(expected);
  });
});

describe('serializeCookie', () => {
  it('defaults to Path=/ and HttpOnly', () => {
    expect(serializeCookie('sluss', 'v', { secure: true, sameSite: 'lax' })).toBe(
      'sluss=v; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it.each<[string, Parameters<typeof serializeCookie>[2], string]>([
    [
      'Max-Age, strict',
      { secure: true, sameSite: 'strict', maxAgeSeconds: 3600 },
      'n=v; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict',
    ],
    ['no Secure, SameSite None', { secure: false, sameSite: 'none' }, 'n=v; Path=/; HttpOnly; SameSite=None'],
    [
      'custom path',
      { secure: true, sameSite: 'lax', path: '/.sluss/' },
      'n=v; Path=/.sluss/; HttpOnly; Secure; SameSite=Lax',
    ],
    [
      'not HttpOnly when asked',
      { secure: true, sameSite: 'lax', httpOnly: false },
      'n=v; Path=/; Secure; SameSite=Lax',
    ],
    [
      'fractional Max-Age floored',
      { secure: true, sameSite: 'lax', maxAgeSeconds: 59.9 },
      'n=v; Path=/; Max-Age=59; HttpOnly; Secure; SameSite=Lax',
    ],
    [
      'negative Max-Age clamped to 0',
      { secure: true, sameSite: 'lax', maxAgeSeconds: -5 },
      'n=v; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax',
    ],
  ])('%s', (_case, attributes, expected) => {
    expect(serializeCookie('n', 'v', attributes)).toBe(expected);
  });

  it('expireCookie empties the value with Max-Age=0', () => {
    expect(expireCookie('sluss', { secure: true, sameSite: 'lax', maxAgeSeconds: 999 })).toBe(
      'sluss=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax',
    );
  });
});
