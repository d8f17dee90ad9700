/**
 * Server-rendered pages: one layout, inline CSS only, no scripts, so the
 * Content-Security-Policy can forbid everything else. All text passes
 * through `escapeHtml`; colours pass through `themeFor`, which admits only
 * hex values and keeps text at WCAG AA contrast.
 */
import { type Branding, MUTED_TEXT_COLOR, TEXT_COLOR, type Theme, themeFor } from './theme.ts';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** CSP for sluss pages: no scripts, no external resources, no framing. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface PageContent {
  /** The document title (a tenant's title is appended when branding is given). */
  readonly title: string;
  /** The page's one `h1`. */
  readonly heading: string;
  /** Trusted HTML (already escaped by the caller). */
  readonly bodyHtml: string;
  /** BCP 47 tag for `<html lang>`; default `en`. */
  readonly lang?: string;
  /** Tenant title above the card and colours; default sluss's neutral look. */
  readonly branding?: Branding;
  /** A same-origin path to move on to at once (meta refresh; no script needed). */
  readonly refreshTo?: string;
}

function stylesheet(theme: Theme): string {
  return `:root{--primary:${theme.primary};--on-primary:${theme.onPrimary};--primary-border:${theme.primaryBorder};--link:${theme.link};--bg:${theme.background};--on-bg:${theme.onBackground};--text:${TEXT_COLOR};--muted:${MUTED_TEXT_COLOR};--line:#d0d4da;--danger:#b3261e}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:1rem;padding:1.5rem 1rem;background:var(--bg);color:var(--text);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header{width:100%;max-width:28rem;color:var(--on-bg);font-size:1.125rem;font-weight:700;text-align:center;overflow-wrap:anywhere}
header p{margin:0}
main{width:100%;max-width:28rem;background:#fff;padding:2rem;border-top:4px solid var(--primary);border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.14),0 8px 24px rgba(0,0,0,.08);overflow-wrap:anywhere}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .75rem}
h2{font-size:1.0625rem;line-height:1.4;margin:0 0 .75rem}
p{margin:0 0 1rem}
.detail{color:var(--muted)}
a{color:var(--link);text-underline-offset:.15em}
a:hover{text-decoration-thickness:2px}
:focus{outline:3px solid var(--text);outline-offset:2px}
:focus:not(:focus-visible){outline:none}
:focus-visible{outline:3px solid var(--text);outline-offset:2px;box-shadow:0 0 0 2px #fff}
.button{display:inline-flex;align-items:center;justify-content:center;min-height:2.75rem;padding:.5rem 1.25rem;border:2px solid var(--primary-border);border-radius:6px;background:var(--primary);color:var(--on-primary);font:inherit;font-weight:600;line-height:1.25;text-decoration:none;cursor:pointer}
.button:hover{text-decoration:underline}
.button.secondary{background:#fff;color:var(--text);border-color:#6b7280}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:1.5rem 0 0}
.idps{list-style:none;margin:1.25rem 0 0;padding:0;display:grid;gap:.75rem}
.idp{display:flex;align-items:center;gap:.75rem;min-height:3rem;padding:.625rem 1rem;border:1px solid #6b7280;border-radius:6px;background:#fff;color:var(--text);font-weight:600;line-height:1.3;text-decoration:none}
.idp:hover{background:#f1f3f5;text-decoration:underline}
.idp.last{border:2px solid var(--primary-border);background:var(--primary);color:var(--on-primary)}
.idp.last:hover{background:var(--primary)}
.idp .name{flex:1 1 auto;min-width:0}
.logo,.mono{flex:none;width:1.75rem;height:1.75rem;border-radius:4px;background:#fff}
.logo{object-fit:contain;padding:2px}
.mono{display:inline-flex;align-items:center;justify-content:center;background:#e8eaed;color:var(--text);font-size:.875rem;font-weight:700}
.badge{flex:none;padding:.125rem .5rem;border:1px solid currentColor;border-radius:999px;font-size:.75rem;font-weight:600;white-space:nowrap}
.or{display:flex;align-items:center;gap:.75rem;margin:1.5rem 0 1rem;color:var(--muted);font-size:.875rem}
.or::before,.or::after{content:"";flex:1;border-top:1px solid var(--line)}
label{display:block;font-weight:500;margin:0 0 .25rem}
.hint{color:var(--muted);font-size:.875rem;margin:0 0 .5rem}
.field{display:flex;flex-wrap:wrap;gap:.5rem}
input[type=email]{flex:1 1 12rem;min-width:0;min-height:2.75rem;padding:.5rem .75rem;border:1px solid #6b7280;border-radius:6px;background:#fff;color:var(--text);font:inherit}
input[aria-invalid=true]{border:2px solid var(--danger)}
.error{color:var(--danger);font-weight:600;margin:0 0 .5rem}
.ref{margin:1.5rem 0 0;padding-top:1rem;border-top:1px solid var(--line);color:var(--muted);font-size:.875rem}
code{padding:.05rem .3rem;border-radius:4px;background:#eef0f3;color:var(--text);font-size:.8125rem;overflow-wrap:anywhere}
@media (max-width:30rem){body{justify-content:flex-start;padding:1rem 0 0}header{padding:0 1rem}main{max-width:none;padding:1.5rem 1.25rem;border-radius:0;box-shadow:none;flex:1}}
@media (forced-colors:active){.idp.last,.button{border:2px solid ButtonText}}`;
}

export function renderPage(page: PageContent): string {
  const title = page.branding ? `${page.title} – ${page.branding.title}` : page.title;
  const header = page.branding ? `<header><p>${escapeHtml(page.branding.title)}</p></header>\n` : '';
  return `<!doctype html>
<html lang="${escapeHtml(page.lang ?? 'en')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">${page.refreshTo ? `\n<meta http-equiv="refresh" content="0;url=${escapeHtml(page.refreshTo)}">` : ''}
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>
${stylesheet(themeFor(page.branding))}
</style>
</head>
<body>
${header}<main>
<h1>${escapeHtml(page.heading)}</h1>
${page.bodyHtml}
</main>
</body>
</html>
`;
}
