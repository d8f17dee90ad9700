/**
 * Sealing and unsealing of cookie payloads with iron-session (AES-256-CBC +
 * HMAC-SHA-256, with a TTL inside the seal). Unsealing costs ~200 µs, so the
 * session reader caches results per cookie value; sealing happens only at
 * login. Several secrets allow rotation: the first seals, all unseal.
 */
import { createHash } from 'node:crypto';
import { sealData, unsealData } from 'iron-session';
import { CHUNK_SIZE, MAX_CHUNKS } from './session-cookie.ts';

/** The most the session cookie's chunks can carry. */
export const MAX_SEALED_LENGTH = MAX_CHUNKS * CHUNK_SIZE;

export interface SealKeys {
  readonly current: string;
  /** Older secrets, newest first; still accepted for unsealing. */
  readonly previous: readonly string[];
}

/**
 * iron-session seals with the highest numeric ID of its password map and
 * writes that ID into the seal. A stable ID derived from each secret keeps
 * old seals readable whatever order ops list previous secrets in.
 */
function secretId(secret: string): number {
  return Number.parseInt(createHash('sha256').update(secret).digest('hex').slice(0, 12), 16);
}

export class CookieSealer {
  private readonly sealPassword: Record<number, string>;
  private readonly unsealPasswords: Record<number, string>;

  constructor(keys: SealKeys) {
    this.sealPassword = { [secretId(keys.current)]: keys.current };
    this.unsealPasswords = { ...this.sealPassword };
    for (const secret of keys.previous) this.unsealPasswords[secretId(secret)] = secret;
  }

  seal(data: object, ttlSeconds: number): Promise<string> {
    return sealData(data, { password: this.sealPassword, ttl: ttlSeconds });
  }

  /** Returns the payload, or undefined for anything tampered, foreign or expired. */
  async unseal(value: string, ttlSeconds: number): Promise<unknown> {
    // Nothing larger than the chunked session cookie can hold is ours, and it is not worth the CPU.
    if (value.length === 0 || value.length > MAX_SEALED_LENGTH) return undefined;
    const data = await unsealData<Record<string, unknown>>(value, {
      password: this.unsealPasswords,
      ttl: ttlSeconds,
    });
    return Object.keys(data).length === 0 ? undefined : data;
  }
}
