/**
 * Writing sluss's own responses: pages, JSON and errors. Every response sluss
 * generates itself is uncacheable and carries the page CSP.
 */
import type { ServerResponse } from 'node:http';
import { PAGE_CSP } from '../pages/layout.ts';

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  // same-origin: our own form posts keep their Origin; nothing leaks to other sites.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  setCookies: readonly string[] = [],
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(html, 'utf8');
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.byteLength,
    ...(setCookies.length > 0 ? { 'set-cookie': [...setCookies] } : {}),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  extraHeaders: Record<string, string | string[]> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.byteLength,
    ...extraHeaders,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export function redirect(res: ServerResponse, location: string, setCookies: readonly string[] = []): void {
  res.writeHead(302, {
    'cache-control': 'no-store',
    location,
    'content-length': 0,
    ...(setCookies.length > 0 ? { 'set-cookie': [...setCookies] } : {}),
  });
  res.end();
}
