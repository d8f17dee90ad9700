/**
 * The demo "legacy app" behind sluss: it shows what sluss forwarded (every header, the
 * identity JWT's claims) and whether that JWT verifies against sluss's JWKS, so a demo
 * user sees the identity headers at work without reading logs.
 */
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';

export type LegacyAppOptions = {
  host?: string;
  port?: number;
  /** sluss's JWKS URL, used to verify the identity JWT. */
  jwksUrl: string;
  /** Name of the request header that carries the identity JWT (any case). */
  jwtHeader: string;
  audience: string;
  issuer: string;
};

/** What the app saw of one request; `GET /api/whoami` returns it as JSON. */
export type WhoAmI = {
  headers: http.IncomingHttpHeaders;
  jwt: { verified: boolean; claims: JWTPayload | null; error?: string };
};

export type RunningLegacyApp = { url: string; close(): Promise<void> };

/** Starts the demo legacy app; `GET /` renders an HTML report, `GET /api/whoami` the same as JSON. */
export async function startLegacyApp(options: LegacyAppOptions): Promise<RunningLegacyApp> {
  const host = options.host ?? '127.0.0.1';
  // One JWKS per app: jose caches keys and refetches on an unknown kid (key rotation).
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  const jwtHeader = options.jwtHeader.toLowerCase();

  const inspect = async (req: http.IncomingMessage): Promise<WhoAmI> => {
    const raw = req.headers[jwtHeader];
    const token = Array.isArray(raw) ? raw[0] : raw;
    if (!token)
      return { headers: req.headers, jwt: { verified: false, claims: null, error: 'no JWT header' } };
    let claims: JWTPayload | null = null;
    try {
      claims = decodeJwt(token);
    } catch {
      // Not even decodable; verification below reports why.
    }
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
      });
      return { headers: req.headers, jwt: { verified: true, claims: payload } };
    } catch (error) {
      return { headers: req.headers, jwt: { verified: false, claims, error: describe(error) } };
    }
  };

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n');
      return;
    }
    if (path === '/api/whoami') {
      inspect(req).then((who) => send(res, 200, 'application/json', JSON.stringify(who)));
      return;
    }
    if (path === '/') {
      inspect(req).then((who) => send(res, 200, 'text/html; charset=utf-8', renderPage(who, jwtHeader)));
      return;
    }
    send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
  });
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function isIdentityHeader(name: string, jwtHeader: string): boolean {
  return name === jwtHeader || name.startsWith('x-remote-') || name.startsWith('x-sluss-');
}

function renderPage(who: WhoAmI, jwtHeader: string): string {
  const headerRows = Object.entries(who.headers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => {
      const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
      const cls = isIdentityHeader(name, jwtHeader) ? ' class="identity"' : '';
      return `<tr${cls}><th scope="row">${esc(name)}</th><td><code>${esc(text)}</code></td></tr>`;
    })
    .join('\n');
  const verdict = who.jwt.verified
    ? '<p class="verdict ok">JWT signature verified ✓</p>'
    : `<p class="verdict bad">JWT signature NOT verified ✗ (${esc(who.jwt.error ?? 'unknown reason')})</p>`;
  const claims = who.jwt.claims
    ? `<pre>${esc(JSON.stringify(who.jwt.claims, null, 2))}</pre>`
    : '<p>No decodable JWT.</p>';

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo legacy app</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
header{display:flex;justify-content:space-between;align-items:baseline}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
td code{word-break:break-all}
tr.identity{background:#fff6d6}tr.identity th{font-weight:700}
pre{background:#f4f4f4;padding:.8rem;overflow:auto}
.verdict{padding:.5rem .8rem;font-weight:600}.ok{background:#e3f6e3;color:#135c13}.bad{background:#fde8e8;color:#900}
</style></head><body>
<header><h1>Demo legacy app</h1><a href="/.sluss/logout">Log out</a></header>
<h2>Identity JWT (<code>${esc(jwtHeader)}</code>)</h2>
${verdict}
${claims}
<h2>Request headers</h2>
<p>Highlighted rows are identity headers set by sluss.</p>
<table><tbody>
${headerRows}
</tbody></table>
</body></html>`;
}

function esc(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}
