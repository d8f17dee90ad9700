import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.ts';
import { CATALOGUE, LANGUAGES, type Language } from '../../src/pages/i18n.ts';
import { escapeHtml } from '../../src/pages/layout.ts';
import {
  accessDeniedPage,
  type Branding,
  type ChooserIdp,
  chooserPage,
  errorPage,
  errorPageFor,
  loggedOutPage,
  loggedOutPageFor,
  logoutConfirmPage,
  logoutConfirmPageFor,
  mfaRequiredPage,
  safeHref,
  tenantUnavailablePage,
  unknownSitePage,
} from '../../src/pages/pages.ts';
import { contrastRatio, themeFor } from '../../src/pages/theme.ts';

const SVG_LOGO = `data:image/svg+xml;base64,${Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#0078d4"/></svg>',
).toString('base64')}`;

const branding: Branding = {
  title: 'Vårdcentralen Norr',
  primaryColor: '#0a6e4f',
  backgroundColor: '#eef5f1',
};
const idps: ChooserIdp[] = [
  { id: 'entra', title: 'Staff (Entra ID)', href: '/.sluss/login?idp=entra&rd=%2F', logoDataUri: SVG_LOGO },
  { id: 'okta', title: 'External GPs', href: '/.sluss/login?idp=okta&rd=%2F' },
  { id: 'google', title: 'Google Workspace', href: '/.sluss/login?idp=google&rd=%2F' },
];

/** Every page the module renders, in one language, with the given hostile text where text goes in. */
function everyPage(lang: Language, evil = 'Acme'): Record<string, string> {
  const b: Branding = { title: evil, primaryColor: '#0b57d0' };
  return {
    chooser: chooserPage({
      lang,
      branding: b,
      idps: [{ id: 'x', title: evil, href: '/.sluss/login?idp=x' }, ...idps],
      lastUsedId: 'okta',
      homeRealm: { action: '/.sluss/login', returnTo: '/app?a=1&b=2', error: 'unknown-domain' },
    }),
    error: errorPageFor({
      lang,
      branding: b,
      code: 'ERR_IDP_UNAVAILABLE',
      reference: 'abc123',
      retryHref: '/',
    }),
    loggedOut: loggedOutPageFor({ lang, branding: b, loginHref: '/.sluss/login?rd=%2F' }),
    logoutConfirm: logoutConfirmPageFor({ lang, branding: b, action: '/.sluss/logout' }),
    denied: accessDeniedPage({
      lang,
      branding: b,
      reason: 'group-not-allowed',
      reference: 'abc123',
      logoutHref: '/.sluss/logout',
    }),
    mfa: mfaRequiredPage({
      lang,
      branding: b,
      reference: 'abc123',
      retryHref: '/',
      logoutHref: '/.sluss/logout',
    }),
    tenant: tenantUnavailablePage({ lang, branding: b, reference: 'abc123' }),
    unknownSite: unknownSitePage({ lang, reference: 'abc123' }),
  };
}

const GIVEN_HREFS = ['/.sluss/login', '/.sluss/logout', '/', '/app?a=1&amp;b=2'];

describe.each(LANGUAGES)('every page in %s', (lang) => {
  const pages = everyPage(lang);

  it.each(Object.keys(pages))('%s is a well-formed, script-free, accessible page', (name) => {
    const html = pages[name] ?? '';
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`<html lang="${lang}">`);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/\bstyle\s*=/i);
    expect(html.match(/<h1\b/g)).toHaveLength(1);
    expect(html).toMatch(/<main>[\s\S]*<\/main>/);
    expect(html).toContain('<meta name="viewport"');
    expect(html).toContain(':focus-visible{outline:3px solid');
    // No external resources: nothing but data: images, no url() in CSS, no links other than ours.
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/<link\b/i);
    for (const [, src] of html.matchAll(/\ssrc="([^"]*)"/g)) expect(src).toMatch(/^data:image\//);
    for (const [, href] of html.matchAll(/\s(?:href|action)="([^"]*)"/g)) {
      expect(
        GIVEN_HREFS.some((given) => href?.startsWith(given)),
        href,
      ).toBe(true);
    }
    const withoutDataUris = html.replace(/"data:[^"]*"/g, '""');
    expect(withoutDataUris).not.toMatch(/https?:/i);
    // Every visible input has a label pointing at it.
    for (const [tag] of html.matchAll(/<input\b[^>]*>/g)) {
      if (/type="hidden"/.test(tag)) continue;
      const id = /\sid="([^"]+)"/.exec(tag)?.[1];
      expect(id, tag).toBeDefined();
      expect(html).toContain(`<label for="${id}">`);
    }
    // Buttons are buttons or links, never clickable divs.
    expect(html).not.toMatch(/role="button"/);
  });

  it('uses only this language (no English leaks into other languages)', () => {
    if (lang === 'en') return;
    const chooser = pages.chooser ?? '';
    expect(chooser).toContain(escapeHtml(CATALOGUE[lang]['chooser.lastUsed']));
    expect(chooser).not.toContain(CATALOGUE.en['chooser.lastUsed']);
    expect(chooser).not.toContain(CATALOGUE.en['homeRealm.label']);
  });
});

describe('chooser', () => {
  const html = chooserPage({
    lang: 'en',
    branding,
    idps,
    lastUsedId: 'google',
    homeRealm: { action: '/.sluss/login', returnTo: '/reports?year=2024' },
  });

  it('greets with the tenant title and lists one link per IdP, last used first and marked', () => {
    expect(html).toContain('<h1>Sign in to Vårdcentralen Norr</h1>');
    expect(html).toContain('<title>Sign in – Vårdcentralen Norr</title>');
    const links = [...html.matchAll(/<a class="idp( last)?" href="([^"]*)">/g)];
    expect(links.map((m) => m[2])).toEqual([
      '/.sluss/login?idp=google&amp;rd=%2F',
      '/.sluss/login?idp=entra&amp;rd=%2F',
      '/.sluss/login?idp=okta&amp;rd=%2F',
    ]);
    expect(links.map((m) => Boolean(m[1]))).toEqual([true, false, false]);
    expect(html.match(/Last used/g)).toHaveLength(1);
    expect(html).toMatch(/<nav aria-label="Sign-in options">/);
  });

  it('shows a logo as a decorative image beside the name', () => {
    expect(html).toContain(`<img class="logo" src="${SVG_LOGO}" alt=""`);
    expect(html).toContain('<span class="name">Staff (Entra ID)</span>');
  });

  it('ignores a lastUsedId that names no IdP', () => {
    const page = chooserPage({ lang: 'en', branding, idps, lastUsedId: 'gone' });
    expect(page).not.toContain('Last used');
    expect([...page.matchAll(/idp=([a-z]+)/g)].map((m) => m[1])).toEqual(['entra', 'okta', 'google']);
  });

  it('has a labelled home-realm form that GETs email and rd', () => {
    expect(html).toContain('<form method="get" action="/.sluss/login">');
    expect(html).toContain('<input type="hidden" name="rd" value="/reports?year=2024">');
    expect(html).toContain('<label for="home-realm-email">Work email address</label>');
    expect(html).toMatch(/<input id="home-realm-email" type="email" name="email" autocomplete="email"/);
    expect(html).toMatch(/<button type="submit" class="button">Continue<\/button>/);
    expect(html).not.toContain('aria-invalid="true"');
    expect(html).not.toContain('recognise that email domain');
  });

  it.each(LANGUAGES)('explains an unknown domain in %s', (lang) => {
    const page = chooserPage({
      lang,
      branding,
      idps,
      homeRealm: { action: '/.sluss/login', returnTo: '/', error: 'unknown-domain' },
    });
    expect(page).toContain(escapeHtml(CATALOGUE[lang]['homeRealm.unknownDomain']));
    expect(page).toContain('aria-invalid="true"');
    expect(page).toContain('aria-describedby="home-realm-error home-realm-hint"');
  });

  it('says so when there is nothing to choose', () => {
    const page = chooserPage({ lang: 'de', branding, idps: [] });
    expect(page).toContain(escapeHtml(CATALOGUE.de['chooser.none']));
    expect(page).not.toContain('<nav');
  });

  it('drops a logo that is not a data:image URI', () => {
    for (const logo of [
      'https://cdn.example.com/logo.png',
      '//cdn.example.com/logo.png',
      'javascript:alert(1)',
      'data:text/html;base64,PHNjcmlwdD4=',
      ' data:image/png;base64,AAAA',
      `data:image/png;base64,${'A'.repeat(300 * 1024)}`,
    ]) {
      const page = chooserPage({
        lang: 'en',
        branding,
        idps: [{ id: 'a', title: 'Alpha', href: '/login?idp=a', logoDataUri: logo }],
      });
      expect(page, logo).not.toContain('<img');
      expect(page).toContain('<span class="mono" aria-hidden="true">A</span>');
    }
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const page = chooserPage({
      lang: 'en',
      branding,
      idps: [{ id: 'a', title: 'Alpha', href: '/login?idp=a', logoDataUri: png }],
    });
    expect(page).toContain(`src="${png}"`);
  });
});

describe('escaping', () => {
  const attacks = [
    '<script>alert(1)</script>',
    '"onload="alert(1)',
    "' onmouseover='alert(1)",
    '</title><script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '{title}$&$1',
  ];

  it.each(attacks)('tenant titles and IdP names are escaped: %s', (evil) => {
    for (const lang of LANGUAGES) {
      for (const [name, html] of Object.entries(everyPage(lang, evil))) {
        expect(html, name).not.toMatch(/<script/i);
        expect(html, name).not.toMatch(/<img src=x/i);
        for (const [tag] of html.matchAll(/<[a-z][^>]*>/gi)) expect(tag, name).not.toMatch(/\son[a-z]+\s*=/i);
        if (name !== 'unknownSite') expect(html, name).toContain(escapeHtml(evil));
      }
    }
  });

  it('does not expand replacement patterns in the title', () => {
    const html = chooserPage({ lang: 'en', branding: { title: "$& $' $`" }, idps });
    expect(html).toContain('<h1>Sign in to $&amp; $&#39; $`</h1>');
  });

  it('escapes hrefs, reasons and references, and neutralises script URLs', () => {
    const html = accessDeniedPage({
      lang: 'en',
      reason: '<b>x</b>',
      reference: '"><script>',
      logoutHref: 'javascript:alert(1)',
    });
    expect(html).not.toContain('<b>x</b>');
    expect(html).not.toContain('<script>');
    expect(html).toContain('href="#"');
    expect(html).toContain(escapeHtml(CATALOGUE.en['denied.generic']));
  });

  it.each([
    ['/path?a=1', '/path?a=1'],
    ['https://idp.example/logout', 'https://idp.example/logout'],
    ['?idp=x', '?idp=x'],
    ['javascript:alert(1)', '#'],
    [' JaVaScRiPt:alert(1)', '#'],
    ['java\tscript:alert(1)', '#'],
    ['\u0001javascript:alert(1)', '#'],
    ['data:text/html,x', '#'],
    ['vbscript:x', '#'],
  ])('safeHref(%j) = %j', (href, expected) => {
    expect(safeHref(href)).toBe(expected);
  });
});

describe('error page', () => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];

  it.each(LANGUAGES)('in %s: every code has its heading, explanation, the code and the reference', (lang) => {
    for (const code of codes) {
      const html = errorPageFor({ lang, code, reference: 'f00dfeed1234' });
      expect(html).toContain(`<code>${code}</code>`);
      expect(html).toContain('<code>f00dfeed1234</code>');
      expect(html).toContain(`<html lang="${lang}">`);
      const heading = /<h1>([^<]+)<\/h1>/.exec(html)?.[1] ?? '';
      expect(heading.length, code).toBeGreaterThan(3);
      expect(html).not.toContain('Try again');
    }
  });

  it('localises "reference" and the retry link', () => {
    const words: Record<Language, [string, string]> = {
      en: ['reference', 'Try again'],
      de: ['Referenz', 'Erneut versuchen'],
      nl: ['referentie', 'Opnieuw proberen'],
      sv: ['referens', 'Försök igen'],
    };
    for (const lang of LANGUAGES) {
      const html = errorPageFor({ lang, code: 'ERR_LOGIN_EXPIRED', reference: 'r1', retryHref: '/start' });
      const [reference, retry] = words[lang];
      expect(html).toContain(`${reference} <code>r1</code>`);
      expect(html).toContain(`<a class="button" href="/start">${retry}</a>`);
    }
  });

  it('errorPageFor never shows a message; the old errorPage still shows the client-facing one, escaped', () => {
    const fresh = errorPageFor({ lang: 'en', code: 'ERR_INTERNAL', reference: 'abcdefabcdef' });
    expect(fresh).not.toContain('class="detail"');
    const html = errorPage({
      code: 'ERR_OIDC_IDP_ERROR',
      message: 'The sign-in service said: access_denied <b>',
      reference: 'abcdefabcdef',
      retryPath: '/',
    });
    expect(html).toContain('<p class="detail">The sign-in service said: access_denied &lt;b&gt;</p>');
    expect(html).toMatch(/reference <code>abcdefabcdef<\/code>/);
    expect(html.match(/<h1\b/g)).toHaveLength(1);
  });

  it('keeps the English wording older callers and tests rely on', () => {
    expect(errorPage({ code: 'ERR_UPSTREAM_UNAVAILABLE', message: 'x', reference: 'r' })).toContain(
      'The application is not responding',
    );
    expect(loggedOutPage('/.sluss/login?rd=%2F')).toContain('You are signed out');
    expect(logoutConfirmPage('/.sluss/logout')).toContain('<form method="post" action="/.sluss/logout">');
  });
});

describe('other pages', () => {
  it('access denied shows reason text, the reason code, the reference and a sign-out link', () => {
    for (const lang of LANGUAGES) {
      const html = accessDeniedPage({
        lang,
        branding,
        reason: 'email-domain-not-allowed',
        reference: 'ref42',
        logoutHref: '/.sluss/logout',
      });
      expect(html).toContain(escapeHtml(CATALOGUE[lang]['denied.email-domain-not-allowed']));
      expect(html).toContain('<code>email-domain-not-allowed</code>');
      expect(html).toContain('<code>ref42</code>');
      expect(html).toContain(`href="/.sluss/logout">${escapeHtml(CATALOGUE[lang]['action.signOut'])}</a>`);
    }
  });

  it('MFA required offers to sign in again when it can, and always to sign out', () => {
    const both = mfaRequiredPage({ lang: 'nl', reference: 'r', retryHref: '/login', logoutHref: '/logout' });
    expect(both).toContain('<a class="button" href="/login">Opnieuw inloggen</a>');
    expect(both).toContain('<a class="button secondary" href="/logout">Uitloggen</a>');
    const only = mfaRequiredPage({ lang: 'nl', reference: 'r', logoutHref: '/logout' });
    expect(only).toContain('<a class="button" href="/logout">Uitloggen</a>');
    expect(only).not.toContain('/login');
  });

  it('tenant unavailable and unknown site show the reference; unknown site has no tenant header', () => {
    expect(tenantUnavailablePage({ lang: 'sv', branding, reference: 'q1' })).toContain(
      '<header><p>Vårdcentralen Norr</p></header>',
    );
    const unknown = unknownSitePage({ lang: 'de', reference: 'q2' });
    expect(unknown).toContain('<h1>Unbekannte Seite</h1>');
    expect(unknown).toContain('Referenz <code>q2</code>');
    expect(unknown).not.toContain('<header>');
  });

  it('logout confirmation is a real button in a POST form', () => {
    const html = logoutConfirmPageFor({ lang: 'sv', action: '/.sluss/logout' });
    expect(html).toContain(
      '<form method="post" action="/.sluss/logout"><button type="submit" class="button">Logga ut</button></form>',
    );
  });
});

describe('brand colours', () => {
  function cssVar(html: string, name: string): string {
    return new RegExp(`--${name}:(#[0-9a-f]{6})`).exec(html)?.[1] ?? '';
  }

  it.each([
    ['#ffff00', '#ffffff'],
    ['#f5f5f5', '#ffffff'],
    ['#0b57d0', '#f4f5f7'],
    ['#000000', '#000000'],
    ['#7fdbff', '#001f3f'],
    ['#ff4136', '#ffdc00'],
    ['#808080', '#808080'],
  ])('primary %s on background %s keeps every text at 4.5:1', (primaryColor, backgroundColor) => {
    const html = loggedOutPageFor({
      lang: 'en',
      branding: { title: 'T', primaryColor, backgroundColor },
      loginHref: '/',
    });
    expect(cssVar(html, 'primary')).toBe(primaryColor);
    expect(cssVar(html, 'bg')).toBe(backgroundColor);
    expect(contrastRatio(cssVar(html, 'on-primary'), primaryColor)).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio(cssVar(html, 'link'), '#ffffff')).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio(cssVar(html, 'on-bg'), backgroundColor)).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio(cssVar(html, 'primary-border'), '#ffffff')).toBeGreaterThanOrEqual(3);
  });

  it('falls back to readable text on a light brand colour and keeps a good one as it is', () => {
    const yellow = themeFor({ title: 'T', primaryColor: '#FFFF00' });
    expect(yellow.primary).toBe('#ffff00');
    expect(yellow.onPrimary).toBe('#1c1e21');
    expect(yellow.link).not.toBe('#ffff00');
    expect(yellow.primaryBorder).toBe('#1c1e21');
    const navy = themeFor({ title: 'T', primaryColor: '#003366', backgroundColor: '#0a0a0a' });
    expect(navy.onPrimary).toBe('#ffffff');
    expect(navy.link).toBe('#003366');
    expect(navy.onBackground).toBe('#ffffff');
  });

  it('accepts only hex colours (no CSS injection)', () => {
    for (const bad of [
      'red',
      'url(https://evil)',
      '#12345',
      '#1234567',
      '#fff;}body{display:none',
      'expression(1)',
    ]) {
      const html = loggedOutPageFor({
        lang: 'en',
        branding: { title: 'T', primaryColor: bad, backgroundColor: bad },
        loginHref: '/',
      });
      expect(html).not.toContain('evil');
      expect(html).not.toContain('display:none');
      expect(html).not.toContain('expression');
      expect(cssVar(html, 'primary')).toBe('#0b57d0');
    }
    expect(themeFor({ title: 'T', primaryColor: '#abc' }).primary).toBe('#aabbcc');
  });

  it('computes WCAG contrast', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#ffffff', '#ffffff')).toBeCloseTo(1, 5);
    expect(contrastRatio('#767676', '#ffffff')).toBeCloseTo(4.54, 2);
  });
});
