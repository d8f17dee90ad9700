/**
 * Per-tenant SCIM bearer tokens: generated once, shown once, stored only as a hash.
 *
 * The hash is a plain SHA-256 on purpose. Slow, salted hashes (scrypt, argon2) protect
 * low-entropy secrets such as passwords against guessing; a token of 32 random bytes
 * (256 bits) cannot be guessed, so a fast unsalted hash is as safe and lets the server
 * hash the presented token once and compare (or look it up) directly. Comparisons are
 * constant-time and always run over every configured hash (rotation keeps two or more).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SCIM_TOKEN_PREFIX = 'sluss_scim_';
const HASH_PREFIX = 'sha256:';
const HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** A new token (prefix + 43 base64url characters of 32 random bytes) and its hash for the config. */
export function generateScimToken(): { token: string; hash: string } {
  const token = `${SCIM_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashScimToken(token) };
}

/** `sha256:<64 lowercase hex>`. */
export function hashScimToken(token: string): string {
  return `${HASH_PREFIX}${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** True for a well-formed configured hash (for config validation). */
export function isScimTokenHash(value: string): boolean {
  return HASH_PATTERN.test(value);
}

/** Whether `presented` matches one of `hashes`; constant-time per comparison, no early exit. */
export function verifyScimToken(presented: string, hashes: readonly string[]): boolean {
  if (presented.length === 0 || presented.length > 512) return false;
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let match = false;
  for (const hash of hashes) {
    if (!HASH_PATTERN.test(hash)) continue;
    const expected = Buffer.from(hash.slice(HASH_PREFIX.length), 'hex');
    if (timingSafeEqual(digest, expected)) match = true;
  }
  return match;
}

/** The token from an `Authorization: Bearer …` header (scheme case-insensitive), or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(authorization);
  return match?.[1];
}
