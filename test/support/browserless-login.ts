/**
 * Drives a whole OIDC login the way a browser would, with `fetch` and a cookie jar:
 * follow redirects by hand (so every Set-Cookie on every hop lands in the jar), fill
 * in the demo OP's login form, and auto-submit `response_mode=form_post` pages.
 */
import type { CookieJar } from './cookie-jar.ts';

const MAX_HOPS = 20;

/** Result of a login run: the last response (body unread) and every URL visited, in order. */
export type LoginResult = { finalUrl: string; response: Response; hops: string[] };

type Step = { url: URL; method: 'GET' | 'POST'; body?: URLSearchParams };

/**
 * GETs `startUrl` and follows redirects through the OP's login page until a response that
 * is not a redirect (and not a form to submit). Throws after 20 hops, listing them.
 * If the credentials are rejected, the OP's login page (status 401) is returned.
 */
export async function loginThroughOp(
  startUrl: string,
  jar: CookieJar,
  user: { login: string; password: string },
): Promise<LoginResult> {
  const hops: string[] = [];
  let step: Step = { url: new URL(startUrl), method: 'GET' };
  let credentialsPosted = false;

  for (;;) {
    if (hops.length >= MAX_HOPS) {
      throw new Error(`login did not finish within ${MAX_HOPS} hops:\n${hops.join('\n')}`);
    }
    hops.push(step.method === 'GET' ? step.url.href : `POST ${step.url.href}`);
    const headers: Record<string, string> = {};
    const cookie = jar.header(step.url);
    if (cookie) headers.cookie = cookie;
    if (step.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(step.url, {
      method: step.method,
      headers,
      ...(step.body ? { body: step.body.toString() } : {}),
      redirect: 'manual',
    });
    jar.store(step.url, response.headers);

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      step = { url: new URL(location, step.url), method: 'GET' };
      continue;
    }

    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('text/html')) return { finalUrl: step.url.href, response, hops };
    // Read a clone so the caller still gets an unread body.
    const html = await response.clone().text();

    const login = findLoginForm(html);
    if (login && !credentialsPosted) {
      await response.body?.cancel();
      credentialsPosted = true;
      step = {
        url: new URL(login.action, step.url),
        method: 'POST',
        body: new URLSearchParams({ ...login.fields, login: user.login, password: user.password }),
      };
      continue;
    }
    const autoPost = findAutoSubmitForm(html);
    if (autoPost) {
      await response.body?.cancel();
      step = {
        url: new URL(autoPost.action, step.url),
        method: 'POST',
        body: new URLSearchParams(autoPost.fields),
      };
      continue;
    }
    return { finalUrl: step.url.href, response, hops };
  }
}

type FoundForm = { action: string; fields: Record<string, string> };

function forms(html: string): { attrs: string; inner: string }[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => ({
    attrs: m[1] ?? '',
    inner: m[2] ?? '',
  }));
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(tag);
  const raw = m?.[1] ?? m?.[2];
  return raw === undefined ? undefined : unescapeHtml(raw);
}

function hiddenFields(inner: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [tag] of inner.matchAll(/<input\b[^>]*>/gi)) {
    if (attr(tag, 'type')?.toLowerCase() !== 'hidden') continue;
    const name = attr(tag, 'name');
    if (name) fields[name] = attr(tag, 'value') ?? '';
  }
  return fields;
}

// The demo OP's login page: a POST form with inputs named login and password.
function findLoginForm(html: string): FoundForm | undefined {
  for (const form of forms(html)) {
    const hasPassword = /<input\b[^>]*\bname\s*=\s*["']password["']/i.test(form.inner);
    const hasLogin = /<input\b[^>]*\bname\s*=\s*["']login["']/i.test(form.inner);
    const method = attr(`<x ${form.attrs}>`, 'method')?.toLowerCase();
    if (hasPassword && hasLogin && method === 'post') {
      return { action: attr(`<x ${form.attrs}>`, 'action') ?? '', fields: hiddenFields(form.inner) };
    }
  }
  return undefined;
}

// response_mode=form_post: a page that submits its first form from script on load.
function findAutoSubmitForm(html: string): FoundForm | undefined {
  if (!/document\.forms\[0\]\.submit\(\)/.test(html)) return undefined;
  const form = forms(html)[0];
  if (!form) return undefined;
  const action = attr(`<x ${form.attrs}>`, 'action');
  if (!action) return undefined;
  return { action, fields: hiddenFields(form.inner) };
}

function unescapeHtml(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39|#x27|#x2F|#47);/gi, (_m, e: string) => {
    const map: Record<string, string> = {
      amp: '&',
      lt: '<',
      gt: '>',
      quot: '"',
      '#39': "'",
      '#x27': "'",
      '#x2f': '/',
      '#47': '/',
    };
    return map[e.toLowerCase()] ?? _m;
  });
}
