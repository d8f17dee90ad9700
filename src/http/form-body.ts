/**
 * Reads a small application/x-www-form-urlencoded body (form_post callbacks,
 * back-channel logout) with a hard size limit; anything else is refused
 * before it is buffered.
 */
import type { IncomingMessage } from 'node:http';
import { SlussError } from '../errors.ts';

export const MAX_FORM_BYTES = 64 * 1024;

export async function readForm(req: IncomingMessage, limit = MAX_FORM_BYTES): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    throw new SlussError('ERR_PAYLOAD_INVALID', 'Expected a form (application/x-www-form-urlencoded).');
  }
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    throw new SlussError('ERR_PAYLOAD_INVALID', `The form is larger than ${limit} bytes.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.destroy();
      throw new SlussError('ERR_PAYLOAD_INVALID', `The form is larger than ${limit} bytes.`);
    }
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
