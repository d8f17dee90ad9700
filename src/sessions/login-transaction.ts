/**
 * The short-lived, sealed cookie that carries a login in flight: state, nonce
 * and PKCE verifier, the tenant and IdP that started it, and where to return.
 * One cookie per login (named after its state) so parallel tabs do not clash;
 * at most MAX_PENDING_LOGINS per browser so they cannot pile up until request
 * headers overflow.
 */
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { CookieSealer } from './sealed-cookie.ts';

export const LOGIN_TTL_SECONDS = 600;
export const MAX_PENDING_LOGINS = 4;
/** Characters of the state that name the transaction cookie. */
const STATE_ID_LENGTH = 16;

export interface LoginTransaction {
  readonly v: 1;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** SAML: the ID of the AuthnRequest this login sent (the response's InResponseTo). */
  readonly requestId?: string;
  /** The IdP was asked to authenticate the user again (prompt=login / ForceAuthn). */
  readonly forced?: boolean;
  readonly tenant: string;
  readonly idp: string;
  readonly returnTo: string;
  readonly createdAt: number;
}

export function transactionCookieName(prefix: string, state: string): string {
  return `${prefix}${state.slice(0, STATE_ID_LENGTH)}`;
}

function isLoginTransaction(value: unknown): value is LoginTransaction {
  if (value === null || typeof value !== 'object') return false;
  const t = value as Record<string, unknown>;
  return (
    t.v === 1 &&
    typeof t.state === 'string' &&
    typeof t.nonce === 'string' &&
    typeof t.codeVerifier === 'string' &&
    (t.requestId === undefined || typeof t.requestId === 'string') &&
    (t.forced === undefined || typeof t.forced === 'boolean') &&
    typeof t.tenant === 'string' &&
    typeof t.idp === 'string' &&
    typeof t.returnTo === 'string' &&
    typeof t.createdAt === 'number'
  );
}

export class LoginTransactions {
  private readonly sealer: CookieSealer;
  private readonly clock: Clock;

  constructor(sealer: CookieSealer, clock: Clock) {
    this.sealer = sealer;
    this.clock = clock;
  }

  create(fields: Omit<LoginTransaction, 'v' | 'createdAt'>): {
    transaction: LoginTransaction;
    sealed: Promise<string>;
  } {
    const transaction: LoginTransaction = { v: 1, ...fields, createdAt: epochSeconds(this.clock) };
    return { transaction, sealed: this.sealer.seal(transaction, LOGIN_TTL_SECONDS) };
  }

  /** The transaction in `sealed` if it is intact, unexpired and for exactly this state. */
  async open(sealed: string | undefined, state: string): Promise<LoginTransaction | undefined> {
    if (!sealed) return undefined;
    const value = await this.sealer.unseal(sealed, LOGIN_TTL_SECONDS);
    if (!isLoginTransaction(value)) return undefined;
    if (!constantTimeEqual(value.state, state)) return undefined;
    if (epochSeconds(this.clock) - value.createdAt > LOGIN_TTL_SECONDS) return undefined;
    return value;
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
