/**
 * Cookie parsing and serialisation, small and allocation-light because the
 * session cookie is read on every request.
 */

/** Returns the value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    // Skip the optional whitespace after ';'.
    while (header.charCodeAt(start) === 32) start++;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && eq - start === name.length && header.startsWith(name, start)) {
      return header.slice(eq + 1, end).trim();
    }
    start = end + 1;
  }
  return undefined;
}

/** Names of the cookies in a header that start with `prefix`. */
export function cookieNamesWithPrefix(header: string | undefined, prefix: string): string[] {
  if (!header) return [];
  const names: string[] = [];
  for (const part of header.split(';')) {
    const name = part.slice(0, part.indexOf('=')).trim();
    if (name.startsWith(prefix)) names.push(name);
  }
  return names;
}

/**
 * Removes the cookies for which `drop(name)` is true, so sluss's own cookies
 * never reach the upstream. Returns undefined when nothing is left.
 */
export function withoutCookies(header: string, drop: (name: string) => boolean): string | undefined {
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = eq === -1 ? trimmed : trimmed.slice(0, eq);
    if (!drop(name)) kept.push(trimmed);
  }
  return kept.length > 0 ? kept.join('; ') : undefined;
}

export interface CookieAttributes {
  readonly maxAgeSeconds?: number;
  readonly path?: string;
  readonly httpOnly?: boolean;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
}

const SAME_SITE = { lax: 'Lax', strict: 'Strict', none: 'None' } as const;

/** Serialises a Set-Cookie value. Defaults: Path=/, HttpOnly. */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  let out = `${name}=${value}; Path=${attributes.path ?? '/'}`;
  if (attributes.maxAgeSeconds !== undefined)
    out += `; Max-Age=${Math.max(0, Math.floor(attributes.maxAgeSeconds))}`;
  if (attributes.httpOnly !== false) out += '; HttpOnly';
  if (attributes.secure) out += '; Secure';
  out += `; SameSite=${SAME_SITE[attributes.sameSite]}`;
  return out;
}

/** A Set-Cookie value that deletes the cookie. */
export function expireCookie(name: string, attributes: CookieAttributes): string {
  return serializeCookie(name, '', { ...attributes, maxAgeSeconds: 0 });
}
