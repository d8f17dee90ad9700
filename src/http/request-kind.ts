/**
 * Decides whether an unauthenticated request is a browser navigation (gets a
 * redirect to login) or an API/XHR/fetch call (gets 401 JSON). Redirecting an
 * XHR only produces an opaque CORS failure or a login loop, so anything not
 * clearly a top-level navigation is treated as API.
 */
import type { IncomingMessage } from 'node:http';

export function isBrowserNavigation(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const headers = req.headers;
  if (headers.upgrade !== undefined) return false;
  const mode = headers['sec-fetch-mode'];
  // Modern browsers say exactly what this is (Fetch Metadata).
  if (mode !== undefined) return mode === 'navigate' && headers['sec-fetch-dest'] !== 'empty';
  if (headers['x-requested-with'] !== undefined) return false;
  if (headers.authorization !== undefined) return false;
  const accept = headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}
