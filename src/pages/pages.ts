/**
 * The pages sluss shows a person: the IdP chooser, errors (with a reference ID
 * that is also in the log), access denied, MFA required, tenant unavailable,
 * unknown site, logged out and the logout confirmation. Every string comes
 * from the catalogue in `i18n.ts`; messages never include an error's internal
 * message, `cause` or stack.
 */
import type { ErrorCode } from '../errors.ts';
import { DEFAULT_LANGUAGE, deniedReasonKey, ERROR_TEXT, formatHtml, type Language, t } from './i18n.ts';
import { escapeHtml, renderPage } from './layout.ts';
import type { Branding } from './theme.ts';

export type { Language } from './i18n.ts';
export type { Branding } from './theme.ts';

export interface ChooserIdp {
  readonly id: string;
  readonly title: string;
  readonly href: string;
  /** A `data:image/…` URI; anything else is dropped. */
  readonly logoDataUri?: string;
}

export interface HomeRealmForm {
  /** Where the form GETs `email` and `rd`. */
  readonly action: string;
  readonly returnTo: string;
  readonly error?: 'unknown-domain';
}

export interface ChooserPageInput {
  readonly lang: Language;
  readonly branding: Branding;
  readonly idps: readonly ChooserIdp[];
  readonly lastUsedId?: string;
  readonly homeRealm?: HomeRealmForm;
}

export interface ErrorPageForInput {
  readonly lang: Language;
  readonly branding?: Branding;
  readonly code: ErrorCode;
  readonly reference: string;
  readonly retryHref?: string;
}

export interface LoggedOutPageInput {
  readonly lang: Language;
  readonly branding?: Branding;
  readonly loginHref: string;
}

export interface LogoutConfirmPageInput {
  readonly lang: Language;
  readonly branding?: Branding;
  /** Where the confirmation POSTs. */
  readonly action: string;
}

export interface AccessDeniedPageInput {
  readonly lang: Language;
  readonly branding?: Branding;
  /** A stable reason code such as `group-not-allowed`; unknown codes get generic wording. */
  readonly reason: string;
  readonly reference: string;
  readonly logoutHref: string;
}

export interface MfaRequiredPageInput {
  readonly lang: Language;
  readonly branding?: Branding;
  readonly reference: string;
  readonly retryHref?: string;
  readonly logoutHref: string;
}

export interface TenantUnavailablePageInput {
  readonly lang: Language;
  readonly branding?: Branding;
  readonly reference: string;
}

export interface UnknownSitePageInput {
  readonly lang: Language;
  readonly reference: string;
}

/** Largest logo data URI rendered (the page is sent on every login). */
export const MAX_LOGO_URI_LENGTH = 256 * 1024;

const LOGO_URI = /^data:image\/(?:png|gif|jpeg|webp|avif|svg\+xml)[;,]/i;

/** The logo if it is an image `data:` URI of sane size, else `undefined`. */
export function safeLogoUri(uri: string | undefined): string | undefined {
  if (uri === undefined || uri.length > MAX_LOGO_URI_LENGTH || !LOGO_URI.test(uri)) return undefined;
  return uri;
}

/**
 * The href unless it names a scheme other than http(s) (`javascript:`,
 * `data:`, …, however it is disguised with whitespace): then `#`. Paths and
 * same-page references pass.
 */
export function safeHref(href: string): string {
  const probe = href.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+/, '');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(probe)?.[1]?.toLowerCase();
  return scheme === undefined || scheme === 'http' || scheme === 'https' ? href : '#';
}

function attrHref(href: string): string {
  return escapeHtml(safeHref(href));
}

/** Plain-text template fill (the result is escaped where it is rendered). */
function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([a-zA-Z]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

function paragraph(lang: Language, key: Parameters<typeof t>[1]): string {
  return `<p>${escapeHtml(t(lang, key))}</p>`;
}

function linkButton(href: string, label: string, secondary = false): string {
  return `<a class="button${secondary ? ' secondary' : ''}" href="${attrHref(href)}">${escapeHtml(label)}</a>`;
}

function actions(...buttons: string[]): string {
  const present = buttons.filter((button) => button !== '');
  return present.length === 0 ? '' : `<p class="actions">${present.join('')}</p>`;
}

function withBranding(branding: Branding | undefined): { branding?: Branding } {
  return branding ? { branding } : {};
}

function idpItem(lang: Language, idp: ChooserIdp, lastUsed: boolean): string {
  const logo = safeLogoUri(idp.logoDataUri);
  const initial = Array.from(idp.title.trim())[0]?.toUpperCase() ?? '?';
  const icon = logo
    ? `<img class="logo" src="${escapeHtml(logo)}" alt="" width="28" height="28">`
    : `<span class="mono" aria-hidden="true">${escapeHtml(initial)}</span>`;
  const badge = lastUsed ? `<span class="badge">${escapeHtml(t(lang, 'chooser.lastUsed'))}</span>` : '';
  return `<li><a class="idp${lastUsed ? ' last' : ''}" href="${attrHref(idp.href)}">${icon}<span class="name">${escapeHtml(idp.title)}</span>${badge}</a></li>`;
}

function homeRealmSection(lang: Language, form: HomeRealmForm, afterIdps: boolean): string {
  const error = form.error === 'unknown-domain';
  const describedBy = error ? 'home-realm-error home-realm-hint' : 'home-realm-hint';
  return `${afterIdps ? `<div class="or" aria-hidden="true">${escapeHtml(t(lang, 'chooser.or'))}</div>\n` : ''}<section aria-labelledby="home-realm-heading">
<h2 id="home-realm-heading">${escapeHtml(t(lang, 'homeRealm.heading'))}</h2>
<form method="get" action="${attrHref(form.action)}">
<input type="hidden" name="rd" value="${escapeHtml(form.returnTo)}">
<label for="home-realm-email">${escapeHtml(t(lang, 'homeRealm.label'))}</label>
<p class="hint" id="home-realm-hint">${escapeHtml(t(lang, 'homeRealm.hint'))}</p>
${error ? `<p class="error" id="home-realm-error">${escapeHtml(t(lang, 'homeRealm.unknownDomain'))}</p>\n` : ''}<div class="field"><input id="home-realm-email" type="email" name="email" autocomplete="email" spellcheck="false" required aria-describedby="${describedBy}"${error ? ' aria-invalid="true"' : ''}><button type="submit" class="button">${escapeHtml(t(lang, 'homeRealm.submit'))}</button></div>
</form>
</section>`;
}

/** The login page of a tenant with several IdPs (or home-realm discovery): one button per IdP. */
export function chooserPage(input: ChooserPageInput): string {
  const { lang } = input;
  const last = input.lastUsedId === undefined ? undefined : input.idps.find((i) => i.id === input.lastUsedId);
  const ordered = last ? [last, ...input.idps.filter((idp) => idp !== last)] : input.idps;
  const list =
    ordered.length > 0
      ? `${paragraph(lang, 'chooser.intro')}
<nav aria-label="${escapeHtml(t(lang, 'chooser.options'))}"><ul class="idps">
${ordered.map((idp) => idpItem(lang, idp, idp === last)).join('\n')}
</ul></nav>`
      : input.homeRealm
        ? ''
        : paragraph(lang, 'chooser.none');
  const homeRealm = input.homeRealm ? homeRealmSection(lang, input.homeRealm, ordered.length > 0) : '';
  return renderPage({
    lang,
    branding: input.branding,
    title: t(lang, 'chooser.title'),
    heading: fill(t(lang, 'chooser.heading'), { title: input.branding.title }),
    bodyHtml: [list, homeRealm].filter((part) => part !== '').join('\n'),
  });
}

/** A failure, by its code: localised heading and explanation, the code and the reference. */
export function errorPageFor(input: ErrorPageForInput): string {
  const { lang } = input;
  const text = ERROR_TEXT[input.code];
  const heading = t(lang, text.heading);
  return renderPage({
    lang,
    ...withBranding(input.branding),
    title: heading,
    heading,
    bodyHtml: `${paragraph(lang, text.body)}
${actions(input.retryHref === undefined ? '' : linkButton(input.retryHref, t(lang, 'action.retry')))}
<p class="ref">${formatHtml(lang, 'ref.error', { code: code(input.code), reference: code(input.reference) })}</p>`,
  });
}

export function loggedOutPageFor(input: LoggedOutPageInput): string {
  const { lang } = input;
  return renderPage({
    lang,
    ...withBranding(input.branding),
    title: t(lang, 'loggedOut.title'),
    heading: t(lang, 'loggedOut.heading'),
    bodyHtml: `${paragraph(lang, 'loggedOut.body')}
${actions(linkButton(input.loginHref, t(lang, 'action.signIn')))}`,
  });
}

/**
 * The end of a login when session cookies are SameSite=Strict: the IdP's
 * cross-site navigation would not carry them to the first page, so this
 * same-origin page moves on (a meta refresh, and a link for the patient).
 */
export function signedInPage(input: { lang: Language; branding?: Branding; continueHref: string }): string {
  const { lang } = input;
  return renderPage({
    lang,
    ...withBranding(input.branding),
    title: t(lang, 'signedIn.title'),
    heading: t(lang, 'signedIn.heading'),
    refreshTo: input.continueHref,
    bodyHtml: `${paragraph(lang, 'signedIn.body')}
${actions(linkButton(input.continueHref, t(lang, 'homeRealm.submit')))}`,
  });
}

/** Shown when a logout did not come from sluss's own origin: one button that POSTs it. */
export function logoutConfirmPageFor(input: LogoutConfirmPageInput): string {
  const { lang } = input;
  return renderPage({
    lang,
    ...withBranding(input.branding),
    title: t(lang, 'logoutConfirm.title'),
    heading: t(lang, 'logoutConfirm.heading'),
    bodyHtml: `${paragraph(lang, 'logoutConfirm.body')}
<form method="post" action="${attrHref(input.action)}"><button type="submit" class="button">${escapeHtml(t(lang, 'logoutConfirm.submit'))}</button></form>`,
  });
}

/** Signed in, but policy says no: why (by a stable reason code), the reference, and a way out. */
export function accessDeniedPage(input: AccessDeniedPageInput): string {
  const { lang } = input;
  return renderPage({
    lang,
    ...withBranding(input.branding),
    title: t(lang, 'denied.title'),
    heading: t(lang, 'denied.heading'),
    bodyHtml: `${paragraph(lang, deniedReasonKey(input.reason))}
${paragraph(lang, 'denied.hint')}
${actions(linkButton(input.logoutHref, t(lang, 'action.signOut')))}
<p class="ref">${formatHtml(lang, 'ref.reason', { code: code(input.reason), reference: code(input.reference) })}</p>`,
  });
}

export function mfaRequiredPage(input: MfaRequiredPageInput): string {
  const { lang } = input;
  const heading = t(lang, 'mfa.heading');
  return renderPage({
    lang,
    ...withBranding(input.branding),
    title: heading,
    heading,
    bodyHtml: `${paragraph(lang, 'mfa.body')}
${actions(
  input.retryHref === undefined ? '' : linkButton(input.retryHref, t(lang, 'action.signIn')),
  linkButton(input.logoutHref, t(lang, 'action.signOut'), input.retryHref !== undefined),
)}
<p class="ref">${formatHtml(lang, 'ref.only', { reference: code(input.reference) })}</p>`,
  });
}

/** The tenant exists but is inactive or outside its validity window. */
export function tenantUnavailablePage(input: TenantUnavailablePageInput): string {
  const { lang } = input;
  const heading = t(lang, 'tenant.heading');
  return renderPage({
    lang,
    ...withBranding(input.branding),
    title: heading,
    heading,
    bodyHtml: `${paragraph(lang, 'tenant.body')}
<p class="ref">${formatHtml(lang, 'ref.only', { reference: code(input.reference) })}</p>`,
  });
}

/** No tenant serves this host: no branding to show. */
export function unknownSitePage(input: UnknownSitePageInput): string {
  const { lang } = input;
  const heading = t(lang, 'unknownSite.heading');
  return renderPage({
    lang,
    title: heading,
    heading,
    bodyHtml: `${paragraph(lang, 'unknownSite.body')}
<p class="ref">${formatHtml(lang, 'ref.only', { reference: code(input.reference) })}</p>`,
  });
}

// ---------------------------------------------------------------------------
// The first API, kept until every caller uses the functions above.

export interface ErrorPageInput {
  readonly code: ErrorCode;
  /** The SlussError's client-facing message; shown below the localised explanation. */
  readonly message: string;
  readonly reference: string;
  /** Where "try again" leads, a same-origin path. */
  readonly retryPath?: string;
  readonly lang?: Language;
  readonly branding?: Branding;
}

/**
 * @deprecated use `errorPageFor`, which shows no message. This one still adds
 * the SlussError's client-facing message (e.g. the IdP's `access_denied`),
 * as it always did, in a paragraph of its own.
 */
export function errorPage(input: ErrorPageInput): string {
  const html = errorPageFor({
    lang: input.lang ?? DEFAULT_LANGUAGE,
    ...withBranding(input.branding),
    code: input.code,
    reference: input.reference,
    ...(input.retryPath === undefined ? {} : { retryHref: input.retryPath }),
  });
  if (input.message.trim() === '') return html;
  return html.replace('</h1>\n', `</h1>\n<p class="detail">${escapeHtml(input.message)}</p>\n`);
}

/** @deprecated use `loggedOutPageFor`. */
export function loggedOutPage(loginPath: string, lang: Language = DEFAULT_LANGUAGE): string {
  return loggedOutPageFor({ lang, loginHref: loginPath });
}

/** @deprecated use `logoutConfirmPageFor`. */
export function logoutConfirmPage(logoutPath: string, lang: Language = DEFAULT_LANGUAGE): string {
  return logoutConfirmPageFor({ lang, action: logoutPath });
}
