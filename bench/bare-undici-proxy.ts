/**
 * The reference bare reverse proxy for the bench: node:http in front, an undici Pool
 * (keep-alive, pipelining 1) to the upstream, `pool.stream()` writing the upstream
 * response straight into the client's ServerResponse. Copies headers minus
 * hop-by-hop ones; no auth, no X-Forwarded-*. It is the "as fast as Node proxies
 * get" baseline that sluss's overhead is measured against.
 *
 *   node bench/bare-undici-proxy.ts --upstream http://127.0.0.1:3000 [--port 0]
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { arg, listenAndReport } from './child-ipc.ts';
import { filterHeaderObject, filterRawHeaders } from './hop-by-hop.ts';

const upstream = new URL(arg('upstream', 'UPSTREAM_URL'));
const pool = new Pool(upstream.origin, {
  pipelining: 1,
  keepAliveTimeout: 60_000,
  keepAliveMaxTimeout: 600_000,
});

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function fail(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'content-type': 'text/plain', 'content-length': '11' });
  res.end('bad gateway');
}

function proxy(req: IncomingMessage, res: ServerResponse): void {
  pool.stream(
    {
      path: req.url ?? '/',
      method: req.method ?? 'GET',
      headers: filterRawHeaders(req.rawHeaders, req.headers.connection),
      body: hasBody(req) ? req : null,
    },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, filterHeaderObject(headers));
      // undici pipes the body into `res` and aborts the upstream request if `res`
      // closes early (client went away).
      return res;
    },
    (err) => {
      if (err) fail(res);
    },
  );
}

const server = createServer({ keepAliveTimeout: 60_000 }, proxy);
await listenAndReport(server, '127.0.0.1', Number(arg('port', 'PORT', '0')));
