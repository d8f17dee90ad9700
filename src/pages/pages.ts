/**
 * The pages sluss shows: error (with a reference ID that is also in the log)
 * and logged out. Messages never include `cause` or stack traces.
 */
import type { ErrorCode } from '../errors.ts';
import { escapeHtml, renderPage } from './layout.ts';

export interface ErrorPageInput {
  readonly code: ErrorCode;
  readonly message: string;
  readonly reference: string;
  /** Where "try again" leads, a same-origin path. */
  readonly retryPath?: string;
}

const FRIENDLY_HEADINGS: Partial<Record<ErrorCode, string>> = {
  ERR_UPSTREAM_UNAVAILABLE: 'The application is not responding',
  ERR_IDP_UNAVAILABLE: 'The sign-in service is not reachable',
  ERR_LOGIN_EXPIRED: 'Your sign-in expired',
  ERR_TENANT_UNKNOWN: 'Unknown site',
  ERR_NOT_FOUND: 'Not found',
};

export function errorPage(input: ErrorPageInput): string {
  const heading = FRIENDLY_HEADINGS[input.code] ?? 'Sign-in failed';
  const retry = input.retryPath
    ? `<p><a class="button" href="${escapeHtml(input.retryPath)}">Try again</a></p>`
    : '';
  return renderPage({
    title: heading,
    heading,
    bodyHtml: `<p>${escapeHtml(input.message)}</p>
${retry}
<p class="ref">Error <code>${escapeHtml(input.code)}</code>, reference <code>${escapeHtml(input.reference)}</code>. Quote the reference when you contact support.</p>`,
  });
}

export function loggedOutPage(loginPath: string): string {
  return renderPage({
    title: 'Signed out',
    heading: 'You are signed out',
    bodyHtml: `<p>Your session has ended.</p>
<p><a class="button" href="${escapeHtml(loginPath)}">Sign in again</a></p>`,
  });
}

/** Shown when a logout did not come from sluss's own origin: one button that POSTs it. */
export function logoutConfirmPage(logoutPath: string): string {
  return renderPage({
    title: 'Sign out',
    heading: 'Sign out?',
    bodyHtml: `<p>Do you want to end your session?</p>
<form method="post" action="${escapeHtml(logoutPath)}"><button type="submit" class="button">Sign out</button></form>`,
  });
}
