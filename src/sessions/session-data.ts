/**
 * Server-side data of a session, kept in the Store rather than the cookie:
 * the IdP's tokens (the ID token for logout hints, the refresh token, which
 * must never reach the browser) and the index from the IdP's session ID to
 * sluss sessions, for back-channel logout. Entries live as long as the session.
 */
import type { Clock } from '../clock.ts';
import { epochSeconds } from '../clock.ts';
import type { Store } from '../store/store.ts';
import { STORE_KEYS } from '../store/store.ts';
import type { Session } from './session.ts';

export interface StoredSessionData {
  readonly idToken?: string;
  readonly refreshToken?: string;
  /** SAML: who to name in a LogoutRequest to the IdP. */
  readonly saml?: { readonly nameId: string; readonly nameIdFormat: string; readonly sessionIndex?: string };
  /** When the IdP last confirmed this session (login or refresh), epoch seconds. */
  readonly checkedAt: number;
}

function parse(value: string | undefined): StoredSessionData | undefined {
  if (!value) return undefined;
  try {
    const data = JSON.parse(value) as StoredSessionData;
    return typeof data.checkedAt === 'number' ? data : undefined;
  } catch {
    return undefined;
  }
}

export class SessionDataStore {
  private readonly store: Store;
  private readonly clock: Clock;

  constructor(store: Store, clock: Clock) {
    this.store = store;
    this.clock = clock;
  }

  private ttl(session: Session): number {
    return Math.max(1, session.exp - epochSeconds(this.clock));
  }

  async save(session: Session, data: StoredSessionData): Promise<void> {
    await this.store.set(STORE_KEYS.sessionData(session.sid), JSON.stringify(data), this.ttl(session));
    if (session.idpSid) {
      await this.store.addToSet(
        STORE_KEYS.idpSession(session.tenant, session.idp, session.idpSid),
        session.sid,
        this.ttl(session),
      );
    }
  }

  async load(sid: string): Promise<StoredSessionData | undefined> {
    return parse(await this.store.get(STORE_KEYS.sessionData(sid)));
  }

  async remove(sid: string): Promise<void> {
    await this.store.delete(STORE_KEYS.sessionData(sid));
  }

  /** Takes the session's refresh lock for `ttlSeconds` (shared by every replica); false when another holds it. */
  lockRefresh(sid: string, ttlSeconds: number): Promise<boolean> {
    return this.store.addOnce(STORE_KEYS.refreshLock(sid), ttlSeconds);
  }

  async unlockRefresh(sid: string): Promise<void> {
    await this.store.delete(STORE_KEYS.refreshLock(sid));
  }

  /** sluss session IDs opened under the IdP's session `idpSid`. */
  sessionsOfIdpSession(tenant: string, idp: string, idpSid: string): Promise<string[]> {
    return this.store.members(STORE_KEYS.idpSession(tenant, idp, idpSid));
  }
}
