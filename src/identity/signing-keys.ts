/**
 * The ES256 key ring: the first configured key signs identity JWTs, every key
 * is published at /.sluss/jwks.json so upstreams keep verifying during a
 * rotation (add the new key second, wait a JWKS cache period, move it first).
 */

import type { JsonWebKey, KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { ecP256KeyProblem } from '../config/schema.ts';
import { SlussError } from '../errors.ts';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

export interface KeyRing {
  readonly active: SigningKey;
  readonly jwks: { readonly keys: readonly JsonWebKey[] };
}

/** Parses PEM keys; every key must be an EC P-256 private key. */
export function loadKeyRing(keys: readonly { kid: string; privateKeyPem: string }[]): KeyRing {
  const parsed = keys.map((key, index) => {
    // The config schema already refused unusable keys; this guards direct callers (tests, tools).
    const problem = ecP256KeyProblem(key.privateKeyPem);
    if (problem)
      throw new SlussError('ERR_CONFIG_INVALID', `sluss.yaml: signingKeys[${index}].privateKey: ${problem}`);
    return { kid: key.kid, privateKey: createPrivateKey(key.privateKeyPem) };
  });
  const active = parsed[0];
  if (!active)
    throw new SlussError('ERR_CONFIG_INVALID', 'sluss.yaml: signingKeys: must list at least one key');
  const kids = new Set(parsed.map((key) => key.kid));
  if (kids.size !== parsed.length)
    throw new SlussError('ERR_CONFIG_INVALID', 'sluss.yaml: signingKeys: kid values must be unique');
  const jwks = {
    keys: parsed.map(({ kid, privateKey }) => ({
      ...createPublicKey(privateKey).export({ format: 'jwk' }),
      kid,
      alg: 'ES256',
      use: 'sig',
    })),
  };
  return { active, jwks };
}
