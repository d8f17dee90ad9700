/**
 * Server-rendered pages: one layout, inline CSS only, no scripts, so the
 * Content-Security-Policy can forbid everything else. All text passes
 * through `escapeHtml`.
 */
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
  readonly title: string;
  readonly heading: string;
  /** Trusted HTML (already escaped by the caller). */
  readonly bodyHtml: string;
  readonly lang?: string;
}

export function renderPage(page: PageContent): string {
  return `<!doctype html>
<html lang="${escapeHtml(page.lang ?? 'en')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(page.title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1c1e21;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;max-width:34rem;width:calc(100% - 2rem);padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin:0 0 1rem}
p{line-height:1.5}
a.button,button.button{border:0;font:inherit;cursor:pointer;display:inline-block;background:#0b57d0;color:#fff;padding:.6rem 1.2rem;border-radius:4px;text-decoration:none}
a.button:focus,button.button:focus{outline:3px solid #1c1e21;outline-offset:2px}
.ref{color:#555;font-size:.85rem;margin-top:1.5rem}
code{background:#eef0f3;padding:.1rem .3rem;border-radius:3px}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(page.heading)}</h1>
${page.bodyHtml}
</main>
</body>
</html>
`;
}
