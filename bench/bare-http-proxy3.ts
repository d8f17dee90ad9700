/**
 * A bare reverse proxy with http-proxy-3 for comparison: node:http in front,
 * `proxy.web()` with a keep-alive node:http Agent to the upstream. No auth.
 *
 *   node bench/bare-http-proxy3.ts --upstream http://127.0.0.1:3000 [--port 0]
 */
import { Agent, createServer } from 'node:http';
import { createProxyServer } from 'http-proxy-3';
import { arg, listenAndReport } from './child-ipc.ts';

const upstream = arg('upstream', 'UPSTREAM_URL');
const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: 256, maxFreeSockets: 256 });
const proxy = createProxyServer({ target: upstream, agent });

proxy.on('error', (_err, _req, res) => {
  // `res` is a Socket for websocket upgrades; this bench only proxies plain HTTP.
  if (!('writeHead' in res)) {
    res.destroy();
    return;
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'content-type': 'text/plain', 'content-length': '11' });
  res.end('bad gateway');
});

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  proxy.web(req, res);
});
await listenAndReport(server, '127.0.0.1', Number(arg('port', 'PORT', '0')));
