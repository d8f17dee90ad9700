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
  // Browsers resolve dot segments before sending, so only a crafted request has one; an
  // upstream may not resolve it (or may after stripping `;params`, like Tomcat): fail closed.
  if (path.split('/').some((segment) => /^(\.|%2e){1,2}(;.*)?$/i.test(segment))) return false;
  let normalised: string;
  try {
    // Prefixing the origin keeps a `//host/...` target a path (a base URL would read it as authority).
    normalised = new URL(`http://sluss.invalid${path}`).pathname;
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
