import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  generateScimToken,
  hashScimToken,
  isScimTokenHash,
  verifyScimToken,
} from '../../src/scim/token.ts';

describe('SCIM bearer tokens', () => {
  it('generates a prefixed 256-bit token and its sha256 hash', () => {
    const { token, hash } = generateScimToken();
    expect(token).toMatch(/^sluss_scim_[A-Za-z0-9_-]{43}$/);
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hash).toBe(hashScimToken(token));
    expect(isScimTokenHash(hash)).toBe(true);
    expect(generateScimToken().token).not.toBe(token);
  });

  it('verifies against any of several hashes (rotation), ignores malformed hashes', () => {
    const a = generateScimToken();
    const b = generateScimToken();
    expect(verifyScimToken(a.token, [a.hash])).toBe(true);
    expect(verifyScimToken(a.token, [b.hash, a.hash])).toBe(true);
    expect(verifyScimToken(a.token, [b.hash])).toBe(false);
    expect(verifyScimToken(a.token, [])).toBe(false);
    expect(verifyScimToken(a.token, ['sha256:short', a.hash.toUpperCase(), 'plain'])).toBe(false);
    expect(verifyScimToken('', [hashScimToken('')])).toBe(false);
    expect(verifyScimToken(`${a.token} `, [a.hash])).toBe(false);
    expect(verifyScimToken('x'.repeat(10_000), [a.hash])).toBe(false);
  });

  it('reads the bearer token from an Authorization header', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc  ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
