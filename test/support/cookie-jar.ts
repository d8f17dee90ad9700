/**
 * A small cookie jar for undici `fetch`/`request` tests.
 *
 * Unlike a browser (RFC 6265 ignores ports), cookies are kept per origin (host:port):
 * in tests the OP, sluss and the upstream all live on 127.0.0.1 with different ports,
 * and mixing their cookies would hide bugs. The Secure attribute is recorded but not
 * enforced, because tests speak plain http on loopback.
 */

/** One stored cookie, attributes kept so tests can assert on them. */
export type StoredCookie = {
  name: string;
  value: string;
  /** `host:port` the cookie belongs to. */
  origin: string;
  path: string;
  /** Epoch milliseconds; undefined for a session cookie. */
  expires?: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite?: string;
  domain?: string;
  /** Every attribute as sent, names lower-cased (`max-age`, `samesite`, …). */
  attributes: Record<string, string | true>;
  /** The Set-Cookie header line this came from. */
  raw: string;
};

/** Headers as undici `fetch` (Headers) or `request`/node (a record) return them. */
export type ResponseHeadersLike = Headers | Record<string, string | string[] | undefined>;

/** Per-origin cookie jar; see the module comment for how it differs from a browser. */
export class CookieJar {
  #cookies: StoredCookie[] = [];
  #defaultOrigin: string | undefined;

  /** `defaultUrl` is the origin `get`/`set`/`delete`/`names` use when not given a URL. */
  constructor(defaultUrl?: string | URL) {
    this.#defaultOrigin = defaultUrl === undefined ? undefined : originOf(defaultUrl);
  }

  /** Stores every Set-Cookie of a response received from `url`; returns the cookies set. */
  store(url: string | URL, headers: ResponseHeadersLike): StoredCookie[] {
    const target = new URL(url);
    const stored: StoredCookie[] = [];
    for (const line of setCookieLines(headers)) {
      const cookie = parseSetCookie(line, target);
      if (!cookie) continue;
      this.#remove(cookie.origin, cookie.name, cookie.path);
      // Expired (Max-Age<=0 or a past Expires) means delete, which the removal above did.
      if (cookie.expires !== undefined && cookie.expires <= Date.now()) continue;
      this.#cookies.push(cookie);
      stored.push(cookie);
    }
    return stored;
  }

  /** The `Cookie` request header for `url`, or undefined when no cookie applies. */
  header(url: string | URL): string | undefined {
    const target = new URL(url);
    const origin = originOf(target);
    const matching = this.#live().filter((c) => c.origin === origin && pathMatches(target.pathname, c.path));
    // RFC 6265 §5.4: longer paths first.
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** The live cookie called `name` (in `url`'s origin, else the default origin, else any origin). */
  get(name: string, url?: string | URL): StoredCookie | undefined {
    const origin = url === undefined ? this.#defaultOrigin : originOf(url);
    return this.#live()
      .filter((c) => c.name === name && (origin === undefined || c.origin === origin))
      .at(-1);
  }

  /** Plants a cookie (e.g. a tampered or foreign one) for `url`'s origin, or the default origin. */
  set(name: string, value: string, url?: string | URL, path = '/'): void {
    const origin = url === undefined ? this.#defaultOrigin : originOf(url);
    if (origin === undefined) throw new Error('CookieJar.set needs a url or a default url');
    this.#remove(origin, name, path);
    this.#cookies.push({
      name,
      value,
      origin,
      path,
      httpOnly: false,
      secure: false,
      attributes: {},
      raw: `${name}=${value}`,
    });
  }

  /** Removes cookies called `name` (in `url`'s origin, else the default origin, else everywhere). */
  delete(name: string, url?: string | URL): void {
    const origin = url === undefined ? this.#defaultOrigin : originOf(url);
    this.#cookies = this.#cookies.filter(
      (c) => !(c.name === name && (origin === undefined || c.origin === origin)),
    );
  }

  /** Names of live cookies (in `url`'s origin, else the default origin, else all origins). */
  names(url?: string | URL): string[] {
    const origin = url === undefined ? this.#defaultOrigin : originOf(url);
    return [
      ...new Set(
        this.#live()
          .filter((c) => origin === undefined || c.origin === origin)
          .map((c) => c.name),
      ),
    ];
  }

  /** Every live cookie, all origins. */
  all(): StoredCookie[] {
    return this.#live();
  }

  #live(): StoredCookie[] {
    const now = Date.now();
    this.#cookies = this.#cookies.filter((c) => c.expires === undefined || c.expires > now);
    return [...this.#cookies];
  }

  #remove(origin: string, name: string, path: string): void {
    this.#cookies = this.#cookies.filter((c) => !(c.origin === origin && c.name === name && c.path === path));
  }
}

function originOf(url: string | URL): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return `${u.hostname}:${port}`;
}

function setCookieLines(headers: ResponseHeadersLike): string[] {
  // Duck-typed: undici the package and Node's built-in fetch have different Headers classes.
  if (typeof (headers as Headers).getSetCookie === 'function') return (headers as Headers).getSetCookie();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== 'set-cookie' || value === undefined) continue;
    return Array.isArray(value) ? value : [value];
  }
  return [];
}

function parseSetCookie(line: string, url: URL): StoredCookie | undefined {
  const [pair = '', ...parts] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  const attributes: Record<string, string | true> = {};
  for (const part of parts) {
    const i = part.indexOf('=');
    const key = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
    if (key) attributes[key] = i < 0 ? true : part.slice(i + 1).trim();
  }

  let expires: number | undefined;
  const maxAge = attributes['max-age'];
  const expiresAttr = attributes.expires;
  // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
  if (typeof maxAge === 'string' && /^-?\d+$/.test(maxAge)) {
    const seconds = Number(maxAge);
    expires = seconds <= 0 ? 0 : Date.now() + seconds * 1000;
  } else if (typeof expiresAttr === 'string') {
    const t = Date.parse(expiresAttr);
    if (!Number.isNaN(t)) expires = t;
  }

  const pathAttr = attributes.path;
  const path =
    typeof pathAttr === 'string' && pathAttr.startsWith('/') ? pathAttr : defaultPath(url.pathname);
  const sameSite = attributes.samesite;
  const domain = attributes.domain;
  return {
    name,
    value,
    origin: originOf(url),
    path,
    ...(expires === undefined ? {} : { expires }),
    httpOnly: attributes.httponly !== undefined,
    secure: attributes.secure !== undefined,
    ...(typeof sameSite === 'string' ? { sameSite } : {}),
    ...(typeof domain === 'string' ? { domain } : {}),
    attributes,
    raw: line,
  };
}

// RFC 6265 §5.1.4 default-path: the request path up to (not including) its last '/'.
function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith('/')) return '/';
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}

// RFC 6265 §5.1.4 path-match.
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
