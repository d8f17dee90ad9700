/**
 * Public paths skip authentication, so matching must be exact about what the
 * upstream will see: the path is normalised (dot segments resolved) and
 * anything the upstream might decode differently (encoded slashes or
 * backslashes, backslashes) is never public. Query and fragment never count.
 */
export function isPublicPath(rawUrl: string, prefixes: readonly string[]): boolean {
  if (prefixes.length === 0) return false;
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  if (/%2f|%5c|\\/i.test(path)) return false;
  let normalised: string;
  try {
    normalised = new URL(path, 'http://sluss.invalid').pathname;
  } catch {
    return false;
  }
  for (const prefix of prefixes) {
    if (prefix === '/') return true;
    const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    if (normalised === base || normalised.startsWith(`${base}/`)) return true;
  }
  return false;
}
