/**
 * What may cross sluss in each direction. Client requests lose hop-by-hop
 * headers, every spelling of an identity header (case, `_` for `-`), forged
 * X-Forwarded-* from untrusted peers, and sluss's own cookies; then sluss adds
 * its own identity and forwarding headers ("strip before inject").
 */

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { withoutCookies } from '../http/cookies.ts';
import type { HeaderPairs } from '../identity/identity-headers.ts';

/** RFC 9110 §7.6.1 connection-specific headers, plus legacy and sluss-managed ones. */
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
  'http2-settings',
]);

/** Set by sluss itself from what it knows; a client's values are never passed on as-is. */
const FORWARDING = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'forwarded',
  'x-real-ip',
]);

export interface HeaderPolicy {
  /** Normalised (lowercase, `-`) identity header names to strip. */
  readonly stripped: ReadonlySet<string>;
  readonly isSlussCookie: (name: string) => boolean;
  readonly trustedPeers: BlockList;
  readonly preserveHost: boolean;
  /**
   * Whether a Host is one the config names (a publicUrl or `domains` entry).
   * Only those are passed on with preserveHost: any other Host (the default
   * tenant catches everything) would let a client choose the host an app puts
   * into password-reset links.
   */
  readonly isKnownHost: (host: string) => boolean;
  readonly upstreamHost: string;
}

export function trustedPeerList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

function isTrusted(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  // Node reports IPv4 peers on dual-stack sockets as ::ffff:a.b.c.d.
  const plain = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
}

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const tokens = text
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '' && token !== 'close' && token !== 'keep-alive');
  return tokens.length > 0 ? new Set(tokens) : undefined;
}

export interface ForwardContext {
  /** External scheme and host of the tenant, precomputed from config. */
  readonly forwardedProto: string;
  readonly forwardedHost: string;
  /** Identity headers to inject; empty for public paths. */
  readonly identity: HeaderPairs;
}

/**
 * Builds the upstream request headers as a flat [name, value, …] list
 * (keeps duplicates and order, which undici accepts as is).
 */
export function upstreamRequestHeaders(
  req: IncomingMessage,
  policy: HeaderPolicy,
  context: ForwardContext,
): string[] {
  const raw = req.rawHeaders;
  const listed = connectionTokens(req.headers.connection);
  const out: string[] = [];
  let host = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name === 'host') {
      host = value;
      continue;
    }
    // Fold `_` first: CGI-style upstreams read X_Forwarded_For as X-Forwarded-For.
    const folded = name.includes('_') ? name.replace(/_/g, '-') : name;
    if (HOP_BY_HOP.has(name) || FORWARDING.has(folded) || name === 'expect') continue;
    if (listed?.has(name)) continue;
    if (policy.stripped.has(folded)) continue;
    if (name === 'cookie') {
      const kept = withoutCookies(value, policy.isSlussCookie);
      if (kept !== undefined) out.push('cookie', kept);
      continue;
    }
    out.push(name, value);
  }
  out.push('host', upstreamHostHeader(host, policy, context));
  appendForwarding(out, req, policy, context);
  for (const [name, value] of context.identity) out.push(name, value);
  return out;
}

function upstreamHostHeader(host: string | undefined, policy: HeaderPolicy, context: ForwardContext): string {
  if (!policy.preserveHost || !host) return policy.upstreamHost;
  return policy.isKnownHost(host) ? host : context.forwardedHost;
}

function appendForwarding(
  out: string[],
  req: IncomingMessage,
  policy: HeaderPolicy,
  context: ForwardContext,
): void {
  const peer = req.socket.remoteAddress ?? '';
  const prior = isTrusted(policy.trustedPeers, peer) ? req.headers['x-forwarded-for'] : undefined;
  const priorText = Array.isArray(prior) ? prior.join(', ') : prior;
  out.push('x-forwarded-for', priorText ? `${priorText}, ${peer}` : peer);
  // The external scheme and host are configuration, not something a client may claim.
  out.push('x-forwarded-proto', context.forwardedProto);
  out.push('x-forwarded-host', context.forwardedHost);
}

/** Upstream response headers minus hop-by-hop ones. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const listed = connectionTokens(headers.connection);
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}

/** The same request headers as an object, for the websocket path (http-proxy-3 reads `req.headers`). */
export function headerListToObject(list: readonly string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string;
    const value = list[i + 1] as string;
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = name === 'cookie' ? `${existing}; ${value}` : [existing, value];
  }
  return out;
}
