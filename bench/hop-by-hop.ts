/**
 * Hop-by-hop header filtering shared by the bare bench proxies (RFC 9110 §7.6.1):
 * the fixed list plus every header named in `Connection`.
 */

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Names listed in a `Connection` header value, lowercased; empty when there is none. */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (!value) return undefined;
  return new Set(value.split(',').map((token) => token.trim().toLowerCase()));
}

/**
 * Filters Node's flat `rawHeaders` ([name, value, name, value, …]) into a new flat
 * array without hop-by-hop headers. Keeping the flat shape avoids building an object
 * per request; undici accepts it as is.
 */
export function filterRawHeaders(raw: readonly string[], connection: string | undefined): string[] {
  const extra = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || extra?.has(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/**
 * Filters a response header object (lowercased names, as undici gives them) into a
 * flat array for `res.writeHead()`, dropping hop-by-hop headers.
 */
export function filterHeaderObject(headers: Record<string, string | string[] | undefined>): string[] {
  const connection = headers.connection;
  const extra = connectionTokens(Array.isArray(connection) ? connection.join(',') : connection);
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || extra?.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  return out;
}
