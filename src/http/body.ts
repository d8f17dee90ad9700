/**
 * Reads a request body that sluss itself consumes (forms, SCIM JSON) with a
 * size limit and a deadline. The public server has no request timeout (proxied
 * uploads may be long), so without the deadline a client trickling a body to
 * the callback, the ACS or SCIM could hold a connection and a buffer forever.
 */
import type { IncomingMessage } from 'node:http';

/** How long a client may take to send a body sluss reads itself. */
export const BODY_DEADLINE_MS = 30_000;

export type BodyResult =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly problem: 'too-large' | 'too-slow' };

export async function readBoundedBody(
  req: IncomingMessage,
  limit: number,
  deadlineMs = BODY_DEADLINE_MS,
): Promise<BodyResult> {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume();
    return { ok: false, problem: 'too-large' };
  }
  let slow = false;
  const timer = setTimeout(() => {
    slow = true;
    req.destroy();
  }, deadlineMs);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        req.destroy();
        return { ok: false, problem: 'too-large' };
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (slow) return { ok: false, problem: 'too-slow' };
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (slow) return { ok: false, problem: 'too-slow' };
  return { ok: true, body: Buffer.concat(chunks) };
}
