/**
 * Turns a SlussError into a response (and returns its reference): an HTML page for browsers, JSON for API
 * clients. Both carry a reference ID that is also in the log line, so ops can
 * find the detail (`cause`) that the client never sees.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SlussError } from '../errors.ts';
import { negotiateLanguage } from '../pages/i18n.ts';
import type { Branding } from '../pages/pages.ts';
import { errorPageFor } from '../pages/pages.ts';
import { sendHtml, sendJson } from './reply.ts';
import { isBrowserNavigation } from './request-kind.ts';

export function newReference(): string {
  return randomBytes(6).toString('hex');
}

export interface ErrorReplyOptions {
  readonly retryPath?: string;
  readonly setCookies?: readonly string[];
  /** The tenant's title and colours, when the tenant is known. */
  readonly branding?: Branding;
  /** Force JSON (API endpoints) or HTML; default decides by the request. */
  readonly format?: 'json' | 'html';
}

export function replyError(
  req: IncomingMessage,
  res: ServerResponse,
  log: Logger,
  error: SlussError,
  options: ErrorReplyOptions = {},
): string {
  const reference = newReference();
  const level = error.status >= 500 ? 'error' : 'warn';
  log[level](
    { ref: reference, code: error.code, status: error.status, err: error.cause ?? undefined },
    error.message,
  );
  const format = options.format ?? (isBrowserNavigation(req) ? 'html' : 'json');
  if (format === 'html') {
    const lang = negotiateLanguage(req.headers['accept-language']);
    const branding = options.branding;
    // Every error page names the code and the reference that is in the log line above.
    const html = errorPageFor({
      lang,
      code: error.code,
      reference,
      ...(branding ? { branding } : {}),
      ...(options.retryPath ? { retryHref: options.retryPath } : {}),
    });
    sendHtml(res, error.status, html, options.setCookies);
    return reference;
  }
  const headers: Record<string, string | string[]> = {};
  if (options.setCookies && options.setCookies.length > 0) headers['set-cookie'] = [...options.setCookies];
  sendJson(res, error.status, { error: error.code, message: error.message, reference }, headers);
  return reference;
}
