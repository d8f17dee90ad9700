/**
 * The ES256 key ring: the first configured key signs identity JWTs, every key
 * is published at /.sluss/jwks.json so upstreams keep verifying during a
 * rotation (add the new key second, wait a JWKS cache period, move it first).
 */

import type { JsonWebKey, KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey } from 'node:crypto';
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
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(key.privateKeyPem);
    } catch (error) {
      throw new SlussError(
        'ERR_CONFIG_INVALID',
        `sluss.yaml: signingKeys[${index}].privateKey: is not a readable PEM private key`,
        {
          cause: error,
          hint: 'Generate one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signing-1.pem',
        },
      );
    }
    if (
      privateKey.asymmetricKeyType !== 'ec' ||
      privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new SlussError(
        'ERR_CONFIG_INVALID',
        `sluss.yaml: signingKeys[${index}].privateKey: must be an EC P-256 key (ES256)`,
        {
          hint: 'Generate one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signing-1.pem',
        },
      );
    }
    return { kid: key.kid, privateKey };
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
