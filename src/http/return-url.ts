/**
 * Return URLs after login or logout: only same-origin paths are accepted.
 * Every trick from past advisories (`//evil`, `/\evil`, encoded whitespace or
 * slashes, userinfo `@`, schemes, control characters) yields the fallback.
 */
const FALLBACK = '/';
const MAX_RETURN_URL_LENGTH = 2048;

export function safeReturnPath(
  candidate: string | null | undefined,
  origin: string,
  fallback = FALLBACK,
): string {
  if (!candidate || candidate.length > MAX_RETURN_URL_LENGTH) return fallback;
  // A path, nothing else: must start with exactly one "/" followed by a non-separator.
  if (candidate[0] !== '/' || candidate[1] === '/' || candidate[1] === '\\') return fallback;
  // Backslashes, control characters and whitespace are normalised differently by browsers.
  if (/[\\\u0000-\u0020\u007f-\u009f]/.test(candidate)) return fallback;
  // Percent-encoded separators or control bytes can be decoded by the upstream into the above.
  if (/%(2f|5c|0[0-9a-f]|1[0-9a-f]|7f|20)/i.test(candidate.split('?')[0] ?? '')) return fallback;
  let resolved: URL;
  try {
    resolved = new URL(candidate, origin);
  } catch {
    return fallback;
  }
  if (resolved.origin !== origin) return fallback;
  // Dot segments are removed while resolving, so "/.//evil" becomes "//evil": check the result too.
  if (/^\/[/\\]/.test(resolved.pathname)) return fallback;
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}
