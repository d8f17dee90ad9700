/**
 * Reads a small application/x-www-form-urlencoded body (form_post callbacks,
 * back-channel logout, SAML) with a hard size limit and a deadline; anything
 * else is refused before it is buffered.
 */
import type { IncomingMessage } from 'node:http';
import { SlussError } from '../errors.ts';
import { BODY_DEADLINE_MS, readBoundedBody } from './body.ts';

export const MAX_FORM_BYTES = 64 * 1024;

export async function readForm(
  req: IncomingMessage,
  limit = MAX_FORM_BYTES,
  deadlineMs = BODY_DEADLINE_MS,
): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    throw new SlussError('ERR_PAYLOAD_INVALID', 'Expected a form (application/x-www-form-urlencoded).');
  }
  const read = await readBoundedBody(req, limit, deadlineMs);
  if (!read.ok) {
    throw new SlussError(
      'ERR_PAYLOAD_INVALID',
      read.problem === 'too-large'
        ? `The form is larger than ${limit} bytes.`
        : `The form was not received within ${deadlineMs / 1000} seconds.`,
    );
  }
  return new URLSearchParams(read.body.toString('utf8'));
}
