/**
 * The session cookie on the wire. A sealed session is usually well under the
 * ~4 KB a browser keeps per cookie, but long group lists are not: then the
 * seal is split into numbered chunk cookies (`<name>.1` …) and the main cookie
 * holds `~<count>`.
 */
import type { CookieConfig } from '../config/types.ts';
import { SlussError } from '../errors.ts';
import { cookieNamesWithPrefix, expireCookie, readCookie, serializeCookie } from '../http/cookies.ts';

export const CHUNK_SIZE = 3800;
/**
 * Three chunks keep the Cookie header under ~12 KB: below Node's 16 KB header
 * limit, and ingresses with small header buffers should raise them (docs/operations.md).
 */
export const MAX_CHUNKS = 3;

export class SessionCookies {
  private readonly config: CookieConfig;

  constructor(config: CookieConfig) {
    this.config = config;
  }

  /** The sealed session value in a Cookie header, reassembled from chunks when needed. */
  read(header: string | undefined): string | undefined {
    const value = readCookie(header, this.config.name);
    if (value === undefined || value.charCodeAt(0) !== 126 /* ~ */) return value;
    const count = Number(value.slice(1));
    if (!Number.isInteger(count) || count < 2 || count > MAX_CHUNKS) return undefined;
    let joined = '';
    for (let i = 1; i <= count; i++) {
      const chunk = readCookie(header, `${this.config.name}.${i}`);
      if (chunk === undefined) return undefined;
      joined += chunk;
    }
    return joined;
  }

  /** Set-Cookie values storing `sealed` for `maxAgeSeconds`, replacing older chunks. */
  write(sealed: string, maxAgeSeconds: number, requestCookieHeader: string | undefined): string[] {
    const attributes = { ...this.attributes(), maxAgeSeconds };
    const out: string[] = [];
    if (sealed.length <= CHUNK_SIZE) {
      out.push(serializeCookie(this.config.name, sealed, attributes));
    } else {
      const count = Math.ceil(sealed.length / CHUNK_SIZE);
      if (count > MAX_CHUNKS) {
        throw new SlussError(
          'ERR_SESSION_TOO_LARGE',
          'Your account has too many groups to sign in to this application.',
        );
      }
      out.push(serializeCookie(this.config.name, `~${count}`, attributes));
      for (let i = 1; i <= count; i++) {
        out.push(
          serializeCookie(
            `${this.config.name}.${i}`,
            sealed.slice((i - 1) * CHUNK_SIZE, i * CHUNK_SIZE),
            attributes,
          ),
        );
      }
    }
    const written = new Set(out.map((cookie) => cookie.slice(0, cookie.indexOf('='))));
    for (const stale of this.chunkNames(requestCookieHeader))
      if (!written.has(stale)) out.push(expireCookie(stale, this.attributes()));
    return out;
  }

  /** Set-Cookie values deleting the session cookie and any chunks. */
  clear(requestCookieHeader: string | undefined): string[] {
    return [this.config.name, ...this.chunkNames(requestCookieHeader)].map((name) =>
      expireCookie(name, this.attributes()),
    );
  }

  /** True for every cookie name sluss owns (never forwarded upstream). */
  isOwnCookie(name: string): boolean {
    return (
      name === `${this.config.name}-idp` ||
      name === this.config.name ||
      name.startsWith(`${this.config.name}.`) ||
      name.startsWith(this.config.txnPrefix)
    );
  }

  private chunkNames(header: string | undefined): string[] {
    return cookieNamesWithPrefix(header, `${this.config.name}.`);
  }

  private attributes() {
    return { secure: this.config.secure, sameSite: this.config.sameSite, path: '/' } as const;
  }
}
